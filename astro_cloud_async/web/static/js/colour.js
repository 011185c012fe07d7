// Colours of footprints by a column: photometric bands in their own colours, other text in a
// categorical palette (the ten most common values), numbers on a perceptual ramp (viridis).

const PALETTE = ["#f2b632", "#5cc8ff", "#ff7a8a", "#8be07a", "#c59bff", "#ffa552", "#4fd6c4", "#f57fd0", "#e8e36a", "#9fb4ff"];
const OTHER = "#9aa3b5";
const BANDS = {
  u: "#a47dff", g: "#4fd27a", r: "#ff9a3d", i: "#e8453c", z: "#b8466a", y: "#8c4f7a",
  U: "#a47dff", B: "#5aa8ff", V: "#8be07a", R: "#ff9a3d", I: "#e8453c",
  J: "#c58b5a", H: "#b0704a", K: "#955a3c", Ks: "#955a3c",
};
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

function ramp(t) {
  const x = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const c = VIRIDIS[i].map((v, k) => Math.round(v + f * (VIRIDIS[i + 1][k] - v)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** {colourOf(value), legend} for the values of `footprints` (null: one colour for all). */
export function colouring(footprints) {
  const values = footprints.map((fp) => fp.value).filter((v) => v !== null && v !== undefined);
  if (!values.length) return null;
  if (values.every((v) => typeof v === "number")) {
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) { min = Math.min(min, v); max = Math.max(max, v); }
    const span = max > min ? max - min : 1;
    return {
      colourOf: (v) => (typeof v === "number" ? ramp((v - min) / span) : OTHER),
      legend: { kind: "ramp", min, max, stops: [0, 0.25, 0.5, 0.75, 1].map(ramp) },
    };
  }
  const counts = new Map();
  for (const v of values) counts.set(String(v), (counts.get(String(v)) || 0) + 1);
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  const shown = ranked.slice(0, PALETTE.length);
  const bands = shown.every(([v]) => v.trim() in BANDS);
  const colours = new Map(shown.map(([v], i) => [v, bands ? BANDS[v.trim()] : PALETTE[i]]));
  const items = shown.map(([v, n]) => ({ label: v, colour: colours.get(v), count: n }));
  const rest = ranked.slice(PALETTE.length).reduce((sum, [, n]) => sum + n, 0);
  if (rest) items.push({ label: "other", colour: OTHER, count: rest });
  if (bands) items.sort((a, b) => "uUBgVrRiIzyJHKKs".indexOf(a.label.trim()) - "uUBgVrRiIzyJHKKs".indexOf(b.label.trim()));
  return {
    colourOf: (v) => (v === null || v === undefined ? OTHER : colours.get(String(v)) || OTHER),
    legend: { kind: "categories", items },
  };
}
