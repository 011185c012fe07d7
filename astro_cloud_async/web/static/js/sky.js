// The sky map: footprints drawn as polygons on a Hammer-Aitoff projection of the celestial
// sphere, centred anywhere (the sphere is rotated first), with zoom and drag. East is to the
// left, as on the sky. Edges are drawn as great circles, so large footprints curve as they
// should; a polygon cut by the map's edge (the meridian opposite the centre) is not drawn.

import { el, formatCell } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;
const SQRT2 = Math.SQRT2;
// ICRS -> Galactic rotation (rows); its transpose takes galactic vectors back to ICRS.
const GAL = [
  [-0.0548755604, 0.4941094279, -0.867666149],
  [-0.8734370902, -0.44482963, -0.1980763734],
  [-0.4838350155, 0.7469822445, 0.4559837762],
];

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
  return node;
}

function vector(ra, dec) {
  const a = ra * D2R;
  const d = dec * D2R;
  return [Math.cos(d) * Math.cos(a), Math.cos(d) * Math.sin(a), Math.sin(d)];
}

function angles(v) {
  const ra = Math.atan2(v[1], v[0]) * R2D;
  return [(ra + 360) % 360, Math.asin(Math.max(-1, Math.min(1, v[2]))) * R2D];
}

/** Points along the great circle from a to b (unit vectors), `n` steps. */
function arc(a, b, n) {
  const dot = Math.max(-1, Math.min(1, a[0] * b[0] + a[1] * b[1] + a[2] * b[2]));
  const omega = Math.acos(dot);
  if (omega < 1e-9) return [a];
  const s = Math.sin(omega);
  const points = [];
  for (let i = 0; i < n; i += 1) {
    const t = i / n;
    const wa = Math.sin((1 - t) * omega) / s;
    const wb = Math.sin(t * omega) / s;
    points.push([wa * a[0] + wb * b[0], wa * a[1] + wb * b[1], wa * a[2] + wb * b[2]]);
  }
  return points;
}

function formatRA(deg, step) {
  const hours = (((deg % 360) + 360) % 360) / 15;
  const totalSeconds = Math.round(hours * 3600);
  const h = Math.floor(totalSeconds / 3600) % 24;
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (step >= 15) return `${h}h`;
  if (step >= 0.25) return `${h}h${String(m).padStart(2, "0")}m`;
  return `${h}h${String(m).padStart(2, "0")}m${String(s).padStart(2, "0")}s`;
}

function formatDec(deg, step) {
  const sign = deg < -1e-9 ? "−" : deg > 1e-9 ? "+" : "";
  const abs = Math.abs(deg);
  if (step >= 1) return `${sign}${Math.round(abs)}°`;
  const d = Math.floor(abs + 1e-9);
  const m = Math.round((abs - d) * 60);
  return `${sign}${d}°${String(m).padStart(2, "0")}′`;
}

const DEC_STEPS = [30, 15, 10, 5, 2, 1, 0.5, 0.25, 1 / 6, 1 / 12, 1 / 30, 1 / 60];
const RA_STEPS = [30, 15, 7.5, 3.75, 2.5, 1.25, 0.5, 0.25, 0.125, 1 / 24, 1 / 48, 1 / 120];

export class SkyMap {
  constructor(container, { onSelect = null } = {}) {
    this.container = container;
    this.onSelect = onSelect;
    this.footprints = [];
    this.selected = null;
    this.ra0 = 0;
    this.dec0 = 0;
    this.zoom = 1;
    this.root = svg("svg", { class: "sky-svg", role: "img", "aria-label": "Footprints on the sky" });
    this.caption = el("div", { class: "sky-caption" });
    this.tooltip = el("div", { class: "sky-tooltip", hidden: true });
    this.legend = el("div", { class: "sky-legend", hidden: true });
    this.colours = null;
    container.replaceChildren(this.root, this.caption, this.legend, this.tooltip);
    this.pending = false;
    new ResizeObserver(() => this.render()).observe(container);
    this.setupInput();
  }

  get width() { return this.container.clientWidth || 800; }
  get height() { return this.container.clientHeight || 420; }
  get scale() { return this.zoom * Math.min(this.width / (4 * SQRT2), this.height / (2 * SQRT2)) * 0.96; }

  /** Screen position of a unit vector, with its longitude in the rotated frame (for seams). */
  projectVector(v) {
    const a = this.ra0 * D2R;
    const d = this.dec0 * D2R;
    const x1 = v[0] * Math.cos(a) + v[1] * Math.sin(a);
    const y1 = -v[0] * Math.sin(a) + v[1] * Math.cos(a);
    const x2 = x1 * Math.cos(d) + v[2] * Math.sin(d);
    const z2 = -x1 * Math.sin(d) + v[2] * Math.cos(d);
    const lon = Math.atan2(y1, x2);
    const lat = Math.asin(Math.max(-1, Math.min(1, z2)));
    const den = Math.sqrt(1 + Math.cos(lat) * Math.cos(lon / 2));
    const hx = (2 * SQRT2 * Math.cos(lat) * Math.sin(lon / 2)) / den;
    const hy = (SQRT2 * Math.sin(lat)) / den;
    const s = this.scale;
    return [this.width / 2 - hx * s, this.height / 2 - hy * s, lon];
  }

  /** Path data for a line through unit vectors, broken where it crosses the map's edge. */
  pathOf(vectors, close = false) {
    let d = "";
    let last = null;
    let broken = false;
    for (const v of vectors) {
      const [x, y, lon] = this.projectVector(v);
      if (last === null || Math.abs(lon - last) > Math.PI) {
        if (last !== null) broken = true;
        d += `M${x.toFixed(1)},${y.toFixed(1)}`;
      } else {
        d += `L${x.toFixed(1)},${y.toFixed(1)}`;
      }
      last = lon;
    }
    if (close && !broken) d += "Z";
    return { d, broken };
  }

  /** Footprints to draw; `colours` ({colourOf, legend}) colours them by their `value`. */
  setFootprints(list, colours = null, column = "") {
    this.colours = colours;
    this.drawLegend(column);
    this.footprints = list.map((fp) => {
      const corners = fp.polygon.map(([ra, dec]) => vector(ra, dec));
      const ring = [];
      for (let i = 0; i < corners.length; i += 1) {
        const a = corners[i];
        const b = corners[(i + 1) % corners.length];
        const sep = Math.acos(Math.max(-1, Math.min(1, a[0] * b[0] + a[1] * b[1] + a[2] * b[2]))) * R2D;
        ring.push(...arc(a, b, Math.max(1, Math.min(24, Math.ceil(sep / 1.5)))));
      }
      return { ...fp, corners, ring };
    });
    this.render();
  }

  drawLegend(column) {
    const c = this.colours;
    if (!c) {
      this.legend.hidden = true;
      return;
    }
    const title = el("div", { class: "legend-title" }, column);
    if (c.legend.kind === "ramp") {
      const bar = el("div", { class: "legend-ramp" });
      bar.style.background = `linear-gradient(90deg, ${c.legend.stops.join(", ")})`;
      this.legend.replaceChildren(title, bar, el("div", { class: "legend-ends" },
        el("span", {}, formatCell(c.legend.min, "number")), el("span", {}, formatCell(c.legend.max, "number"))));
    } else {
      this.legend.replaceChildren(title, ...c.legend.items.map((item) => {
        const swatch = el("span", { class: "swatch" });
        swatch.style.background = item.colour;
        return el("div", { class: "legend-item" }, swatch, el("span", {}, item.label), el("span", { class: "legend-count" }, item.count));
      }));
    }
    this.legend.hidden = false;
  }

  fit() {
    if (!this.footprints.length) return this.allSky();
    let sx = 0, sy = 0, sz = 0;
    for (const fp of this.footprints) for (const v of fp.corners) { sx += v[0]; sy += v[1]; sz += v[2]; }
    const norm = Math.hypot(sx, sy, sz);
    if (norm < 1e-6) return this.allSky();
    const centre = [sx / norm, sy / norm, sz / norm];
    [this.ra0, this.dec0] = angles(centre);
    // Zoom so that every corner fits, with a margin, projected around the new centre.
    this.zoom = 1;
    let dx = 0;
    let dy = 0;
    for (const fp of this.footprints) {
      for (const v of fp.corners) {
        const [x, y] = this.projectVector(v);
        dx = Math.max(dx, Math.abs(x - this.width / 2));
        dy = Math.max(dy, Math.abs(y - this.height / 2));
      }
    }
    const wanted = Math.min((0.46 * this.width) / Math.max(dx, 1e-6), (0.42 * this.height) / Math.max(dy, 1e-6));
    this.zoom = Math.max(1, Math.min(20000, wanted));
    this.render();
  }

  allSky() {
    this.ra0 = this.footprints.length ? this.ra0 : 0;
    this.dec0 = 0;
    this.zoom = 1;
    this.render();
  }

  zoomBy(factor) {
    this.zoom = Math.max(1, Math.min(20000, this.zoom * factor));
    this.render();
  }

  select(row) {
    this.selected = row;
    this.root.querySelectorAll("path.fp.selected").forEach((p) => p.classList.remove("selected"));
    const path = this.root.querySelector(`path.fp[data-row="${row}"]`);
    if (path) {
      path.classList.add("selected");
      path.parentNode.append(path); // on top
    }
  }

  setupInput() {
    let drag = null;
    this.root.addEventListener("pointerdown", (e) => {
      drag = { x: e.clientX, y: e.clientY, ra: this.ra0, dec: this.dec0, moved: false };
      this.root.setPointerCapture(e.pointerId);
    });
    this.root.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (!drag.moved) return;
      const s = this.scale;
      this.dec0 = Math.max(-89.9, Math.min(89.9, drag.dec + (dy / s) * R2D));
      this.ra0 = (drag.ra + ((dx / s) * R2D) / Math.max(0.05, Math.cos(this.dec0 * D2R)) + 360) % 360;
      this.render();
    });
    const end = (e) => {
      if (drag && !drag.moved) {
        const target = document.elementFromPoint(e.clientX, e.clientY);
        if (target && target.classList && target.classList.contains("fp")) {
          const row = Number(target.dataset.row);
          this.select(row);
          if (this.onSelect) this.onSelect(row);
        }
      }
      drag = null;
    };
    this.root.addEventListener("pointerup", end);
    this.root.addEventListener("pointercancel", () => { drag = null; });
    this.root.addEventListener("wheel", (e) => {
      e.preventDefault();
      this.zoomBy(Math.exp(-e.deltaY * 0.0015));
    }, { passive: false });
    this.root.addEventListener("mouseover", (e) => {
      if (e.target.classList && e.target.classList.contains("fp")) {
        this.tooltip.textContent = e.target.dataset.label;
        this.tooltip.hidden = false;
      }
    });
    this.root.addEventListener("mousemove", (e) => {
      if (this.tooltip.hidden) return;
      const box = this.container.getBoundingClientRect();
      this.tooltip.style.left = `${e.clientX - box.left + 14}px`;
      this.tooltip.style.top = `${e.clientY - box.top + 12}px`;
    });
    this.root.addEventListener("mouseout", (e) => {
      if (e.target.classList && e.target.classList.contains("fp")) this.tooltip.hidden = true;
    });
  }

  render() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  steps() {
    const halfHeight = (this.height / 2 / this.scale) * R2D; // degrees from centre to top
    const span = Math.min(180, 2 * halfHeight);
    const decStep = DEC_STEPS.find((s) => span / s >= 4) || DEC_STEPS[DEC_STEPS.length - 1];
    const raSpan = Math.min(360, span / Math.max(0.1, Math.cos(this.dec0 * D2R)) * (this.width / this.height));
    const raStep = RA_STEPS.find((s) => raSpan / s >= 5) || RA_STEPS[RA_STEPS.length - 1];
    return { decStep, raStep, halfHeight, raSpan };
  }

  draw() {
    const w = this.width;
    const h = this.height;
    const s = this.scale;
    this.root.setAttribute("viewBox", `0 0 ${w} ${h}`);
    this.root.setAttribute("width", w);
    this.root.setAttribute("height", h);
    const defs = svg("defs");
    const gradient = svg("radialGradient", { id: "sky-fill", cx: "50%", cy: "45%", r: "65%" });
    gradient.append(svg("stop", { offset: "0%", "stop-color": "#1b2a4a" }), svg("stop", { offset: "100%", "stop-color": "#0c1428" }));
    const clip = svg("clipPath", { id: "sky-clip" });
    clip.append(svg("ellipse", { cx: w / 2, cy: h / 2, rx: 2 * SQRT2 * s, ry: SQRT2 * s }));
    defs.append(gradient, clip);
    const sky = svg("ellipse", { class: "sky-disc", cx: w / 2, cy: h / 2, rx: 2 * SQRT2 * s, ry: SQRT2 * s, fill: "url(#sky-fill)" });
    const grid = svg("g", { class: "graticule", "clip-path": "url(#sky-clip)" });
    const labels = svg("g", { class: "grid-labels" });
    const { decStep, raStep, halfHeight, raSpan } = this.steps();
    const whole = this.zoom < 2.5 || halfHeight > 60;
    const decLo = whole ? -90 : Math.max(-90, this.dec0 - 1.6 * halfHeight);
    const decHi = whole ? 90 : Math.min(90, this.dec0 + 1.6 * halfHeight);
    const raHalf = whole || decHi > 88 || decLo < -88 ? 180 : Math.min(180, raSpan);
    const fine = Math.max(decStep, raStep) / 20;
    // Parallels.
    for (let dec = Math.ceil(decLo / decStep) * decStep; dec <= decHi + 1e-9; dec += decStep) {
      if (Math.abs(dec) > 89.999) continue;
      const pts = [];
      const n = Math.min(720, Math.ceil((2 * raHalf) / Math.max(fine, 0.01)));
      for (let i = 0; i <= n; i += 1) pts.push(vector(this.ra0 - raHalf + (2 * raHalf * i) / n, dec));
      grid.append(svg("path", { d: this.pathOf(pts).d, class: Math.abs(dec) < 1e-9 ? "equator" : "" }));
    }
    // Meridians.
    const raFirst = Math.ceil((this.ra0 - raHalf) / raStep) * raStep;
    for (let ra = raFirst; ra <= this.ra0 + raHalf + 1e-9; ra += raStep) {
      const pts = [];
      const n = Math.min(720, Math.ceil((decHi - decLo) / Math.max(fine, 0.01)));
      for (let i = 0; i <= n; i += 1) pts.push(vector(ra, decLo + ((decHi - decLo) * i) / n));
      grid.append(svg("path", { d: this.pathOf(pts).d }));
      // RA label just below the centre's parallel (the equator on the whole sky).
      const labelDec = whole ? 0 : this.dec0 - 0.82 * halfHeight;
      const [x, y] = this.projectVector(vector(ra, labelDec));
      if (x > 16 && x < w - 16 && y > 10 && y < h - 6) {
        labels.append(Object.assign(svg("text", { x: x, y: y + 14, "text-anchor": "middle" }), { textContent: formatRA(ra, raStep) }));
      }
    }
    // Dec labels along the meridian left of centre.
    const labelRA = whole ? this.ra0 : this.ra0 + (0.95 * (w / 2 / s) * R2D) / Math.max(0.1, Math.cos(this.dec0 * D2R));
    for (let dec = Math.ceil(decLo / decStep) * decStep; dec <= decHi + 1e-9; dec += decStep) {
      if (Math.abs(dec) > 89.999 || (whole && Math.abs(dec) < 1e-9)) continue;
      const [x, y] = this.projectVector(vector(labelRA, dec));
      if (x > 4 && x < w - 30 && y > 12 && y < h - 4) {
        labels.append(Object.assign(svg("text", { x: x + 4, y: y - 4 }), { textContent: formatDec(dec, decStep) }));
      }
    }
    // The galactic plane.
    const plane = [];
    for (let l = 0; l <= 360; l += whole ? 2 : 0.5) {
      const g = vector(l, 0);
      plane.push([0, 1, 2].map((i) => GAL[0][i] * g[0] + GAL[1][i] * g[1] + GAL[2][i] * g[2]));
    }
    grid.append(svg("path", { d: this.pathOf(plane).d, class: "galactic" }));
    // Footprints.
    const shapes = svg("g", { class: "footprints", "clip-path": "url(#sky-clip)" });
    let drawn = 0;
    let cut = 0;
    for (const fp of this.footprints) {
      const { d, broken } = this.pathOf(fp.ring, true);
      if (broken) { cut += 1; continue; }
      const label = fp.value !== undefined && fp.value !== null ? `${fp.label} · ${fp.value}` : fp.label;
      const path = svg("path", { d, class: `fp${fp.row === this.selected ? " selected" : ""}`, "data-row": fp.row, "data-label": label });
      if (this.colours) path.style.setProperty("--fp", this.colours.colourOf(fp.value));
      shapes.append(path);
      drawn += 1;
    }
    const selected = shapes.querySelector("path.fp.selected");
    if (selected) shapes.append(selected);
    this.root.replaceChildren(defs, sky, grid, shapes, labels);
    const field = Math.min(360, 2 * halfHeight);
    this.caption.textContent = `centre ${formatRA(this.ra0, 0.1)} ${formatDec(this.dec0, 0.5)} · field ${field >= 10 ? field.toFixed(0) : field.toFixed(2)}° high` +
      (cut ? ` · ${cut} on the map's edge not drawn` : "");
    Object.assign(this.container.dataset, { drawn, cut, zoom: this.zoom.toFixed(2) });
  }
}
