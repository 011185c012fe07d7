// View 2: scan a URL, a bucket prefix or a folder; records fill a table as they arrive.

import { api, withToken } from "./api.js";
import { el, formatBytes, formatInt, formatSeconds, describeError } from "./format.js";
import { DataTable } from "./table.js";

const STATE_LABEL = { running: "Scanning", finished: "Finished", stopped: "Stopped", failed: "Failed" };

export class ScanView {
  constructor(openCatalog) {
    this.form = document.getElementById("scan-form");
    this.stopButton = document.getElementById("scan-stop");
    this.startButton = document.getElementById("scan-start");
    this.status = document.getElementById("scan-status");
    this.events = null;
    this.job = null;
    this.hdus = 0;
    this.failures = 0;
    this.table = new DataTable(document.getElementById("scan-table"), { pageSize: 50 });
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.start(); });
    const box = document.getElementById("scan-source");
    const grow = () => {
      box.rows = Math.min(8, Math.max(1, box.value.split("\n").length));
    };
    box.addEventListener("input", grow);
    box.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); this.start(); }
    });
    this.stopButton.addEventListener("click", () => this.stop());
    document.getElementById("scan-open").addEventListener("click", () => this.job && openCatalog(this.job));
  }

  formValues() {
    const v = (id) => document.getElementById(id);
    return {
      source: v("scan-source").value.trim(),
      anon: v("scan-anon").checked,
      requester_pays: v("scan-requester-pays").checked,
      endpoint_url: v("scan-endpoint").value.trim(),
      suffixes: v("scan-suffixes").value.trim(),
      keywords: v("scan-keywords").value.trim(),
    };
  }

  async start() {
    const values = this.formValues();
    const stateLabel = document.getElementById("scan-state");
    if (this.events) this.events.close();
    let answer;
    try {
      answer = await api("/api/scans", { method: "POST", json: values });
    } catch (err) {
      this.showState("failed", describeError(err));
      return;
    }
    this.job = answer.id;
    this.hdus = 0;
    this.failures = 0;
    document.getElementById("scan-failure-list").replaceChildren();
    document.getElementById("scan-failures").hidden = true;
    document.getElementById("scan-parquet").href = withToken(`/api/scans/${this.job}/catalog.parquet`);
    document.getElementById("scan-csv").href = withToken(`/api/scans/${this.job}/catalog.csv`);
    this.status.hidden = false;
    stateLabel.dataset.state = "running";
    this.showState("running", "starting…");
    this.startButton.disabled = true;
    this.stopButton.disabled = false;
    const tableBox = document.getElementById("scan-table");
    tableBox.hidden = false;
    await this.table.open(this.job);
    this.listen(this.job);
  }

  listen(job) {
    const source = new EventSource(withToken(`/api/scans/${job}/events`));
    this.events = source;
    source.addEventListener("progress", (e) => {
      const p = JSON.parse(e.data);
      this.showProgress(p);
      if (p.hdus !== this.hdus) {
        this.hdus = p.hdus;
        this.refreshTable();
      }
    });
    source.addEventListener("failed", (e) => this.addFailure(JSON.parse(e.data)));
    source.addEventListener("end", async (e) => {
      source.close();
      const end = JSON.parse(e.data);
      this.startButton.disabled = false;
      this.stopButton.disabled = true;
      await this.refreshTable(true);
      const box = document.getElementById("scan-state");
      box.dataset.state = end.state;
      this.status.dataset.state = end.state;
      if (end.error) this.showState("failed", `${end.error.type}: ${end.error.message}`);
      else box.textContent = STATE_LABEL[end.state] || end.state;
    });
  }

  async refreshTable(columns = false) {
    if (columns || this.table.columns.length === 0 || this.hdus > 0) {
      // New keyword columns may have appeared (keywords = all): take the table's columns again.
      try {
        const info = await api(`/api/tables/${encodeURIComponent(this.job)}`);
        const before = this.table.columns.map((c) => `${c.name}:${c.kind}`).join();
        const after = info.columns.map((c) => `${c.name}:${c.kind}`).join();
        if (before !== after) {
          this.table.setColumns(info.columns);
          this.table.build();
        }
      } catch (err) {
        /* the table is shown as it was */
      }
    }
    this.table.refreshSoon();
  }

  showState(state, text) {
    const box = document.getElementById("scan-state");
    box.dataset.state = state;
    box.textContent = STATE_LABEL[state] || state;
    this.status.hidden = false;
    document.getElementById("scan-progress").textContent = text;
  }

  showProgress(p) {
    const rate = p.seconds > 0 ? p.objects / p.seconds : 0;
    const parts = [
      `${formatInt(p.objects)} object${p.objects === 1 ? "" : "s"}`,
      `${formatInt(p.hdus)} HDU${p.hdus === 1 ? "" : "s"}`,
      p.failed ? `${formatInt(p.failed)} failed` : null,
      `${formatInt(p.requests || 0)} requests`,
      `${formatBytes(p.bytes || 0)} read`,
      formatSeconds(p.seconds),
      p.state === "running" && rate > 0 ? `${rate.toFixed(rate < 10 ? 1 : 0)} objects/s` : null,
    ].filter(Boolean);
    const box = document.getElementById("scan-state");
    box.dataset.state = p.state;
    box.textContent = STATE_LABEL[p.state] || p.state;
    const line = document.getElementById("scan-progress");
    line.textContent = parts.join(" · ");
    Object.assign(this.status.dataset, { state: p.state, objects: p.objects, hdus: p.hdus, failed: p.failed });
  }

  addFailure(f) {
    this.failures += 1;
    const list = document.getElementById("scan-failure-list");
    list.append(el("li", { class: "failure", dataset: { url: f.url, error: f.error } },
      el("span", { class: "badge danger" }, f.error),
      el("span", { class: "failure-url mono", title: f.url }, f.url),
      el("span", { class: "failure-message" }, f.message,
        f.offset !== null && f.offset !== undefined ? el("span", { class: "muted" }, ` (at byte ${formatInt(f.offset)})`) : null)));
    document.getElementById("scan-failures").hidden = false;
    document.getElementById("scan-failure-count").textContent = String(this.failures);
  }

  async stop() {
    if (!this.job) return;
    this.stopButton.disabled = true;
    try {
      await api(`/api/scans/${this.job}/stop`, { method: "POST" });
    } catch (err) {
      this.showState("failed", describeError(err));
    }
  }
}
