// The HDU table (like astropy's fits.info) and the header of an HDU, card by card:
// parsed (keyword, typed value, comment) or as written (the 80-character card images).

import { el, formatBytes, formatInt } from "./format.js";

const TYPE_LABEL = {
  int: "integer", float: "real", complex: "complex", bool: "logical", str: "string",
  undefined: "undefined", text: "commentary",
};

export function dimensions(summary) {
  const dims = summary.dimensions;
  if (Array.isArray(dims)) return dims.length ? dims.join(" × ") : "—";
  return dims || "—";
}

/** The table of HDUs; onSelect(index) when a row is clicked. */
export function infoTable(hdus, onSelect) {
  const head = ["No.", "Name", "Ver", "Type", "Cards", "Dimensions", "Format", "Header at", "Data at", "Data size"];
  const numeric = new Set([0, 2, 4, 7, 8, 9]);
  const table = el("table", { class: "data info-table" },
    el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { class: numeric.has(i) ? "num" : "" }, h)))));
  const body = el("tbody");
  for (const hdu of hdus) {
    const s = hdu.summary;
    const size = formatBytes(hdu.data_size) + (hdu.truncated ? " (truncated)" : "");
    const row = el("tr", { class: "clickable", dataset: { hdu: hdu.index }, onclick: () => onSelect && onSelect(hdu.index) },
      el("td", { class: "num" }, s.no),
      el("td", { class: "strong" }, s.name),
      el("td", { class: "num" }, s.ver),
      el("td", {}, el("span", { class: `badge kind-${s.type}` }, s.type)),
      el("td", { class: "num" }, s.cards),
      el("td", { class: "mono" }, dimensions(s)),
      el("td", { class: "mono" }, s.format),
      el("td", { class: "num mono" }, formatInt(hdu.header_offset)),
      el("td", { class: "num mono" }, formatInt(hdu.data_offset)),
      el("td", { class: hdu.truncated ? "num warn" : "num" }, size));
    body.append(row);
  }
  table.append(body);
  return el("div", { class: "table-scroll" }, table);
}

function parsedRow(card, n) {
  const kind = card.type;
  const attrs = {
    class: `card-row${card.problem ? " problem" : ""}`,
    dataset: { index: n, keyword: card.keyword, type: kind, value: card.value, comment: card.comment },
    title: card.problem ? `Not standard: ${card.problem}` : undefined,
  };
  const mark = card.problem ? el("span", { class: "problem-mark", "aria-label": "not standard" }, "⚠") : null;
  if (kind === "text") {
    return el("tr", attrs,
      el("td", { class: "num muted" }, n + 1),
      el("td", { class: "kw commentary" }, card.keyword || "", mark),
      el("td", { class: "commentary-text", colspan: 2 }, card.value));
  }
  const shown = kind === "undefined" ? "(undefined)" : kind === "str" ? card.value : card.value;
  return el("tr", attrs,
    el("td", { class: "num muted" }, n + 1),
    el("td", { class: "kw" }, card.keyword, mark),
    el("td", { class: `val t-${kind}`, title: TYPE_LABEL[kind] }, shown),
    el("td", { class: "comment" }, card.comment));
}

function writtenLines(card, n) {
  const image = card.image;
  const lines = [];
  for (let i = 0; i < image.length; i += 80) lines.push(image.slice(i, i + 80));
  return el("span", { class: `card-image${card.problem ? " problem" : ""}`, dataset: { index: n } },
    lines.map((line) => el("span", { class: "card-line" },
      el("span", { class: "ci-key" }, line.slice(0, 8)), line.slice(8), "\n")));
}

/** One HDU's header as a collapsible section, with a parsed / as-written switch and a finder. */
export function headerView(hdu, { open = true, title = null } = {}) {
  const s = hdu.summary;
  const cards = hdu.cards;
  const parsed = el("table", { class: "cards parsed" },
    el("thead", {}, el("tr", {}, el("th", { class: "num" }, "#"), el("th", {}, "Keyword"), el("th", {}, "Value"), el("th", {}, "Comment"))),
    el("tbody", {}, cards.map(parsedRow)));
  const written = el("pre", { class: "cards-written", hidden: true }, cards.map(writtenLines));
  const parsedButton = el("button", { type: "button", class: "active", "aria-pressed": "true" }, "Parsed");
  const writtenButton = el("button", { type: "button", "aria-pressed": "false" }, "As written");
  const setMode = (mode) => {
    const isParsed = mode === "parsed";
    parsed.hidden = !isParsed;
    written.hidden = isParsed;
    parsedButton.classList.toggle("active", isParsed);
    writtenButton.classList.toggle("active", !isParsed);
    parsedButton.setAttribute("aria-pressed", String(isParsed));
    writtenButton.setAttribute("aria-pressed", String(!isParsed));
  };
  parsedButton.addEventListener("click", () => setMode("parsed"));
  writtenButton.addEventListener("click", () => setMode("written"));
  const search = el("input", { type: "search", class: "card-search", placeholder: "Find a keyword, value or comment…" });
  search.addEventListener("input", () => {
    const needle = search.value.trim().toLowerCase();
    parsed.querySelectorAll("tbody tr").forEach((row, i) => {
      const card = cards[i];
      const hay = `${card.keyword} ${card.value} ${card.comment}`.toLowerCase();
      row.hidden = needle !== "" && !hay.includes(needle);
    });
    written.querySelectorAll(".card-image").forEach((span, i) => {
      span.hidden = needle !== "" && !cards[i].image.toLowerCase().includes(needle);
    });
  });
  const problems = cards.filter((c) => c.problem).length;
  const facts = [`${formatInt(cards.length)} cards`];
  if (hdu.header_offset !== undefined) facts.push(`header at byte ${formatInt(hdu.header_offset)}`);
  if (hdu.data_size) facts.push(`${formatBytes(hdu.data_size)} of data at byte ${formatInt(hdu.data_offset)}`);
  if (problems) facts.push(`${problems} non-standard`);
  const summary = el("summary", {},
    el("span", { class: "hdu-no" }, title || `HDU ${hdu.index}`),
    s ? el("span", { class: "hdu-name" }, s.name || "") : null,
    s ? el("span", { class: `badge kind-${s.type}` }, s.type) : null,
    s && Array.isArray(s.dimensions) && s.dimensions.length ? el("span", { class: "mono muted" }, dimensions(s)) : null,
    el("span", { class: "muted hdu-facts" }, facts.join(" · ")));
  return el("details", { class: "card hdu", open, dataset: { hdu: hdu.index ?? "" } },
    summary,
    el("div", { class: "hdu-tools" }, el("div", { class: "segmented" }, parsedButton, writtenButton), search),
    el("div", { class: "cards-scroll" }, parsed, written));
}
