// View 1: drop (or choose) a local FITS file and read its headers.
// The server's walker says which bytes it needs; the page slices exactly those from the file
// and sends them back, until the walk ends. Nothing else of the file leaves the disk.

import { api, ApiError } from "./api.js";
import { el, formatBytes, formatInt, formatSeconds } from "./format.js";
import { headerView, infoTable } from "./header.js";

const OPEN_HEADERS = 3;

async function walkFile(file) {
  let answer = await api("/api/files", { method: "POST", json: { name: file.name, size: file.size } });
  const hdus = [...answer.hdus];
  while (answer.need) {
    const [start, end] = answer.need;
    const bytes = await file.slice(start, end).arrayBuffer();
    answer = await api(`/api/files/${encodeURIComponent(answer.id)}?start=${start}`, { method: "POST", body: bytes });
    hdus.push(...answer.hdus);
  }
  return { hdus, answer };
}

function render(file, hdus, answer, seconds) {
  const result = document.getElementById("drop-result");
  const headers = document.getElementById("drop-headers");
  document.getElementById("drop-name").textContent = file.name;
  const share = file.size ? (100 * answer.bytes_read) / file.size : 100;
  document.getElementById("drop-stats").textContent =
    `${formatBytes(file.size)} · ${formatInt(hdus.length)} HDU${hdus.length === 1 ? "" : "s"} · ` +
    `read ${formatBytes(answer.bytes_read)} in ${answer.requests} slice${answer.requests === 1 ? "" : "s"} ` +
    `(${share < 0.01 ? "<0.01" : share.toFixed(share < 1 ? 2 : 1)} % of the file) · ${formatSeconds(seconds)}`;
  const errorBox = document.getElementById("drop-error");
  if (answer.error) {
    errorBox.hidden = false;
    errorBox.replaceChildren(
      el("strong", {}, answer.error.type), ": ", answer.error.message,
      answer.error.offset !== null ? el("span", { class: "muted" }, ` (at byte ${formatInt(answer.error.offset)})`) : null,
      hdus.length ? el("div", { class: "muted" }, `The ${hdus.length} HDU(s) before it are shown below.`) : null);
  } else {
    errorBox.hidden = true;
  }
  const select = (index) => {
    const section = headers.querySelector(`details[data-hdu="${index}"]`);
    if (section) {
      section.open = true;
      section.scrollIntoView({ behavior: "smooth", block: "start" });
    }
  };
  document.getElementById("drop-info").replaceChildren(infoTable(hdus, select));
  headers.replaceChildren(...hdus.map((hdu, i) => headerView(hdu, { open: i < OPEN_HEADERS })));
  result.hidden = false;
  Object.assign(result.dataset, {
    state: answer.error ? "failed" : "done",
    hdus: hdus.length,
    bytesRead: answer.bytes_read,
    requests: answer.requests,
    elapsedMs: Math.round(seconds * 1000),
  });
}

async function readFile(file) {
  const result = document.getElementById("drop-result");
  result.dataset.state = "reading";
  document.getElementById("dropzone").classList.add("compact");
  const t0 = performance.now();
  try {
    const { hdus, answer } = await walkFile(file);
    render(file, hdus, answer, (performance.now() - t0) / 1000);
  } catch (err) {
    const failure = err instanceof ApiError ? err : new ApiError({ type: "Error", message: String(err.message || err) }, 0);
    render(file, [], { bytes_read: 0, requests: 0, error: { type: failure.type, message: failure.message, offset: failure.offset } },
      (performance.now() - t0) / 1000);
  }
}

export function setupDrop() {
  const zone = document.getElementById("dropzone");
  const input = document.getElementById("file-input");
  input.addEventListener("change", () => {
    if (input.files.length) readFile(input.files[0]);
    input.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    zone.addEventListener(name, () => zone.classList.remove("over"));
  }
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer.files[0];
    if (file) readFile(file);
  });
  // A file dropped anywhere else on this view is read too, not opened by the browser.
  document.getElementById("view-drop").addEventListener("dragover", (event) => event.preventDefault());
  document.getElementById("view-drop").addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file && !zone.contains(event.target)) readFile(file);
  });
}
