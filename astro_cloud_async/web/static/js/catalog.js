// View 3: a catalog as a table (paged, sorted, filtered by the server) and its footprints on
// the sky; a row or a footprint shows its header and a preview cutout.

import { api, withToken } from "./api.js";
import { el, basename, formatBytes, formatInt, debounce, describeError } from "./format.js";
import { DataTable } from "./table.js";
import { SkyMap } from "./sky.js";
import { colouring } from "./colour.js";
import { headerView, dimensions } from "./header.js";

const IMAGE_TYPES = new Set(["PrimaryHDU", "ImageHDU"]);

export class CatalogView {
  constructor() {
    this.select = document.getElementById("catalog-select");
    this.summary = document.getElementById("catalog-summary");
    this.detail = document.getElementById("detail");
    this.tableId = null;
    this.wanted = null;
    this.hasFootprints = false;
    this.detailRequest = 0;
    this.previewUrl = null;
    this.table = new DataTable(document.getElementById("catalog-table"), {
      onSelect: (row) => { this.sky.select(row); this.showDetail(row); },
      onQuery: debounce((params) => this.loadFootprints(params, false), 150),
    });
    this.sky = new SkyMap(document.getElementById("sky"), {
      onSelect: (row) => { this.table.select(row); },
    });
    this.select.addEventListener("change", () => this.open(this.select.value));
    this.colourSelect = document.getElementById("sky-colour");
    this.colourSelect.addEventListener("change", () => this.loadFootprints(this.table.params(), false));
    document.getElementById("sky-fit").addEventListener("click", () => this.sky.fit());
    document.getElementById("sky-all").addEventListener("click", () => this.sky.allSky());
    document.getElementById("sky-zoom-in").addEventListener("click", () => this.sky.zoomBy(1.6));
    document.getElementById("sky-zoom-out").addEventListener("click", () => this.sky.zoomBy(1 / 1.6));
  }

  /** Refresh the list of tables; open `wanted` (or keep the current one, or the first). */
  async show(wanted = null) {
    const tables = await api("/api/tables");
    this.select.replaceChildren(...tables.map((t) =>
      el("option", { value: t.id }, t.kind === "scan" ? `Scan: ${t.name}` : t.name)));
    const empty = tables.length === 0;
    document.getElementById("catalog-empty").hidden = !empty;
    document.getElementById("catalog-body").hidden = empty;
    if (empty) return;
    const target = wanted || this.tableId || tables[0].id;
    this.select.value = target;
    if (target !== this.tableId || wanted) await this.open(target);
  }

  async open(tableId) {
    this.tableId = tableId;
    this.detail.replaceChildren(el("p", { class: "muted detail-empty" }, "Click a footprint or a row to see its header and a preview."));
    try {
      const info = await this.table.open(tableId);
      this.hasFootprints = info.footprints;
      this.setColourChoices(info.columns);
      this.summary.textContent = `${formatInt(info.rows)} HDUs · ${info.columns.length} columns`;
      await this.loadFootprints(this.table.params(), true);
    } catch (err) {
      this.summary.textContent = describeError(err);
    }
  }

  setColourChoices(columns) {
    const skip = new Set(["url", "header_offset", "data_offset", "etag", "footprint", "footprint_ra", "footprint_dec", "footprint_radius"]);
    const usable = columns.filter((c) => (c.kind === "text" || c.kind === "number" || c.kind === "bool") && !skip.has(c.name));
    const preferred = ["FILTER", "BAND", "FILTER1", "OBJECT"].find((n) => usable.some((c) => c.name === n)) || "";
    this.colourSelect.replaceChildren(el("option", { value: "" }, "nothing"), ...usable.map((c) => el("option", { value: c.name }, c.name)));
    this.colourSelect.value = preferred;
    this.colourSelect.disabled = !this.hasFootprints;
  }

  async loadFootprints(params, fit) {
    const count = document.getElementById("sky-count");
    if (!this.hasFootprints) {
      this.sky.setFootprints([]);
      count.textContent = "· no footprints in this catalog (index it with --footprints)";
      return;
    }
    try {
      const by = this.colourSelect.value;
      const query = new URLSearchParams(params);
      if (by) query.set("by", by);
      const answer = await api(`/api/tables/${encodeURIComponent(this.tableId)}/footprints?${query}`);
      this.sky.setFootprints(answer.footprints, by ? colouring(answer.footprints) : null, by);
      let text = `· ${formatInt(answer.drawn)} footprint${answer.drawn === 1 ? "" : "s"}`;
      if (answer.without) text += ` · ${formatInt(answer.without)} HDUs without celestial WCS`;
      if (answer.capped) text += " · first 20,000 shown";
      count.textContent = text;
      if (fit) this.sky.fit();
      if (this.sky.selected !== null) this.sky.select(this.sky.selected);
    } catch (err) {
      count.textContent = `· ${describeError(err)}`;
    }
  }

  async showDetail(row) {
    const ticket = ++this.detailRequest;
    this.detail.dataset.state = "loading";
    let data;
    try {
      data = await api(`/api/tables/${encodeURIComponent(this.tableId)}/rows/${row}`);
    } catch (err) {
      this.detail.replaceChildren(el("div", { class: "error-box" }, describeError(err)));
      return;
    }
    if (ticket !== this.detailRequest) return;
    const r = data.row;
    const hdu = data.hdu || { cards: [] };
    const s = hdu.summary;
    const facts = [];
    if (s) facts.push(el("span", { class: `badge kind-${s.type}` }, s.type), el("span", { class: "mono" }, dimensions(s)));
    if (s && s.format) facts.push(el("span", { class: "mono muted" }, s.format));
    if (r.data_size !== undefined && r.data_size !== null) facts.push(el("span", { class: "muted" }, formatBytes(r.data_size)));
    const where = [];
    if (r.footprint_ra !== undefined && r.footprint_ra !== null) {
      where.push(el("div", { class: "coords" },
        el("span", {}, `RA ${Number(r.footprint_ra).toFixed(4)}°`),
        el("span", {}, `Dec ${Number(r.footprint_dec).toFixed(4)}°`),
        r.footprint_radius !== null && r.footprint_radius !== undefined ? el("span", {}, `radius ${Number(r.footprint_radius).toFixed(3)}°`) : null));
    }
    const preview = el("div", { class: "preview" });
    this.detail.replaceChildren(
      el("div", { class: "detail-head" },
        el("h3", { class: "detail-title" }, basename(r.url), el("span", { class: "muted" }, ` [${r.hdu}]`), r.extname ? ` ${r.extname}` : ""),
        el("p", { class: "detail-url mono muted", title: r.url }, r.url),
        el("div", { class: "detail-facts" }, facts),
        where),
      preview,
      hdu.cards.length ? headerView(hdu, { open: true, title: "Header" }) : el("p", { class: "muted" }, "No header text in this catalog."));
    this.detail.dataset.state = "ready";
    this.detail.dataset.row = row;
    this.loadPreview(preview, row, s, ticket);
  }

  async loadPreview(box, row, summary, ticket) {
    if (this.previewUrl) { URL.revokeObjectURL(this.previewUrl); this.previewUrl = null; }
    const isImage = summary && IMAGE_TYPES.has(summary.type) && Array.isArray(summary.dimensions) && summary.dimensions.length >= 2;
    if (!isImage) {
      box.replaceChildren(el("p", { class: "preview-note muted" }, summary ? `No preview: a ${summary.type} holds no 2-D image.` : "No preview."));
      box.dataset.state = "none";
      return;
    }
    box.replaceChildren(el("div", { class: "preview-loading muted" }, "Reading a cutout…"));
    box.dataset.state = "loading";
    try {
      const response = await fetch(withToken(`/api/tables/${encodeURIComponent(this.tableId)}/rows/${row}/preview.png`));
      if (ticket !== this.detailRequest) return;
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        const e = body.error || { type: "HTTPError", message: response.statusText };
        box.replaceChildren(el("div", { class: "error-box" }, el("strong", {}, e.type), `: ${e.message}`));
        box.dataset.state = "error";
        return;
      }
      this.previewUrl = URL.createObjectURL(await response.blob());
      const [ny, nx] = summary.dimensions.length ? [summary.dimensions[1], summary.dimensions[0]] : [0, 0];
      box.replaceChildren(
        el("img", { src: this.previewUrl, alt: "Preview cutout", class: "preview-image" }),
        el("p", { class: "preview-note muted" }, `Central cutout (at most 512 × 512 of ${formatInt(nx)} × ${formatInt(ny)} pixels), ZScale`));
      box.dataset.state = "ready";
    } catch (err) {
      box.replaceChildren(el("div", { class: "error-box" }, describeError(err)));
      box.dataset.state = "error";
    }
  }
}
