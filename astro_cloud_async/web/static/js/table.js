// A table of a server-side catalog: pages of rows, sorted and filtered by the server.
// Used for catalogs and for a scan's growing result alike.

import { api } from "./api.js";
import { el, basename, formatBytes, formatCell, formatInt, debounce, describeError } from "./format.js";

const HIDDEN = new Set([
  "n_hdus", "header_offset", "data_offset", "truncated", "object_size", "etag",
  "footprint", "footprint_radius",
]);
const LABELS = { footprint_ra: "RA (°)", footprint_dec: "Dec (°)", footprint_radius: "radius (°)" };
const BYTES = new Set(["data_size", "object_size"]);
const PLACEHOLDER = { number: "e.g. >100", text: "contains…", bool: "T / F", other: "" };

export class DataTable {
  constructor(container, { pageSize = 50, onSelect = null, onQuery = null } = {}) {
    this.container = container;
    this.pageSize = pageSize;
    this.onSelect = onSelect;
    this.onQuery = onQuery;
    this.columns = [];
    this.visible = new Set();
    this.loading = null;
    this.refreshSoon = debounce(() => this.refresh(), 250);
    this.reset(null);
  }

  /** Show table `tableId` from its first row, unfiltered and unsorted. */
  reset(tableId) {
    Object.assign(this, { tableId, filters: {}, search: "", sort: null, desc: false, offset: 0, selected: null });
  }

  async open(tableId) {
    this.reset(tableId);
    const info = await api(`/api/tables/${encodeURIComponent(tableId)}`);
    this.setColumns(info.columns);
    this.build();
    await this.refresh();
    return info;
  }

  setColumns(columns) {
    const known = new Set(this.columns.map((c) => c.name));
    this.columns = columns;
    for (const c of columns) {
      if (!known.has(c.name) && !HIDDEN.has(c.name)) this.visible.add(c.name);
    }
  }

  /** The query as URL parameters (also used for the footprints of the sky map). */
  params() {
    const p = new URLSearchParams();
    for (const [name, text] of Object.entries(this.filters)) if (text.trim()) p.set(`f.${name}`, text);
    if (this.search.trim()) p.set("search", this.search);
    if (this.sort) {
      p.set("sort", this.sort);
      if (this.desc) p.set("desc", "1");
    }
    return p;
  }

  build() {
    const search = el("input", { type: "search", class: "table-search", placeholder: "Search all header cards…", value: this.search });
    search.addEventListener("input", debounce(() => { this.search = search.value; this.changed(); }, 300));
    this.countLabel = el("span", { class: "muted table-count" });
    const chooser = el("details", { class: "column-chooser" },
      el("summary", { class: "button small" }, "Columns"),
      el("div", { class: "chooser-menu" }, this.columns.map((c) => {
        const box = el("input", { type: "checkbox", checked: this.visible.has(c.name) });
        box.addEventListener("change", () => {
          if (box.checked) this.visible.add(c.name); else this.visible.delete(c.name);
          this.buildHead();
          this.refresh();
        });
        return el("label", { class: "check" }, box, " ", LABELS[c.name] || c.name);
      })));
    this.errorBox = el("div", { class: "filter-error", hidden: true });
    this.table = el("table", { class: "data grid" });
    this.body = el("tbody");
    this.pager = el("div", { class: "pager" });
    this.container.replaceChildren(
      el("div", { class: "table-tools" }, search, this.countLabel, el("span", { class: "spacer" }), chooser),
      this.errorBox,
      el("div", { class: "table-scroll" }, this.table),
      this.pager);
    this.buildHead();
  }

  shown() {
    return this.columns.filter((c) => this.visible.has(c.name));
  }

  buildHead() {
    const names = el("tr", {});
    const filters = el("tr", { class: "filters" });
    for (const c of this.shown()) {
      const arrow = this.sort === c.name ? (this.desc ? " ▼" : " ▲") : "";
      const th = el("th", {
        class: `sortable ${c.kind === "number" ? "num" : ""} ${this.sort === c.name ? "sorted" : ""}`,
        dataset: { column: c.name }, title: `Sort by ${c.name}`,
      }, LABELS[c.name] || c.name, el("span", { class: "sort-arrow" }, arrow));
      th.addEventListener("click", () => {
        if (this.sort === c.name) {
          if (!this.desc) this.desc = true;
          else { this.sort = null; this.desc = false; }
        } else {
          this.sort = c.name;
          this.desc = false;
        }
        this.buildHead();
        this.changed();
      });
      names.append(th);
      const input = el("input", {
        type: "text", class: "filter-input", spellcheck: "false", placeholder: PLACEHOLDER[c.kind] || "",
        value: this.filters[c.name] || "", dataset: { column: c.name }, "aria-label": `Filter ${c.name}`,
      });
      input.addEventListener("input", debounce(() => { this.filters[c.name] = input.value; this.changed(); }, 300));
      filters.append(el("th", {}, input));
    }
    this.table.replaceChildren(el("thead", {}, names, filters), this.body);
  }

  changed() {
    this.offset = 0;
    this.refresh();
    if (this.onQuery) this.onQuery(this.params());
  }

  async refresh() {
    if (!this.tableId) return;
    const params = this.params();
    params.set("offset", String(this.offset));
    params.set("limit", String(this.pageSize));
    const request = `/api/tables/${encodeURIComponent(this.tableId)}/rows?${params}`;
    this.loading = request;
    let page;
    try {
      page = await api(request);
    } catch (err) {
      if (this.loading !== request) return;
      this.errorBox.hidden = false;
      this.errorBox.textContent = describeError(err);
      this.container.dataset.state = "error";
      this.table.querySelectorAll(".filter-input").forEach((input) => {
        input.classList.toggle("invalid", err.message.startsWith(`${input.dataset.column}:`));
      });
      return;
    }
    if (this.loading !== request) return;
    this.errorBox.hidden = true;
    this.table.querySelectorAll(".filter-input.invalid").forEach((i) => i.classList.remove("invalid"));
    this.renderRows(page);
  }

  renderRows(page) {
    const cols = this.shown();
    this.body.replaceChildren(...page.rows.map((row) => {
      const tr = el("tr", { class: `clickable${row.__row === this.selected ? " selected" : ""}`, dataset: { row: row.__row } },
        cols.map((c) => {
          const value = row[c.name];
          if (c.name === "url") return el("td", { class: "url", title: value }, basename(value));
          if (BYTES.has(c.name) && typeof value === "number") return el("td", { class: "num", title: formatInt(value) }, formatBytes(value));
          return el("td", { class: c.kind === "number" ? "num" : c.kind === "bool" ? "center" : "" }, formatCell(value, c.kind));
        }));
      tr.addEventListener("click", () => this.select(row.__row, true));
      return tr;
    }));
    if (!page.rows.length) {
      this.body.append(el("tr", {}, el("td", { class: "empty-row", colspan: Math.max(cols.length, 1) },
        page.total ? "No row matches these filters." : "No rows yet.")));
    }
    const first = page.matched ? page.offset + 1 : 0;
    const last = page.offset + page.rows.length;
    const filtered = page.matched !== page.total ? ` (filtered from ${formatInt(page.total)})` : "";
    this.countLabel.textContent = `${formatInt(page.matched)} row${page.matched === 1 ? "" : "s"}${filtered}`;
    const prev = el("button", { class: "button small", type: "button", disabled: page.offset === 0 }, "‹ Previous");
    const next = el("button", { class: "button small", type: "button", disabled: last >= page.matched }, "Next ›");
    prev.addEventListener("click", () => { this.offset = Math.max(0, this.offset - this.pageSize); this.refresh(); });
    next.addEventListener("click", () => { this.offset += this.pageSize; this.refresh(); });
    const size = el("select", { class: "page-size", "aria-label": "Rows per page" },
      [25, 50, 100, 250].map((n) => el("option", { value: n, selected: n === this.pageSize }, `${n} per page`)));
    size.addEventListener("change", () => { this.pageSize = Number(size.value); this.offset = 0; this.refresh(); });
    this.pager.replaceChildren(
      el("span", { class: "muted" }, `Rows ${formatInt(first)}–${formatInt(last)} of ${formatInt(page.matched)}`),
      el("span", { class: "spacer" }), size, prev, next);
    Object.assign(this.container.dataset, {
      state: "ready", table: this.tableId, matched: page.matched, total: page.total, offset: page.offset,
    });
  }

  select(row, fromTable = false) {
    this.selected = row;
    this.body.querySelectorAll("tr.selected").forEach((tr) => tr.classList.remove("selected"));
    const tr = this.body.querySelector(`tr[data-row="${row}"]`);
    if (tr) tr.classList.add("selected");
    if (this.onSelect) this.onSelect(row, fromTable);
  }
}
