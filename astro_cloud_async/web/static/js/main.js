// The page: three views behind tabs (the URL's #hash says which), errors as toasts.

import { api, token } from "./api.js";
import { describeError, toast } from "./format.js";
import { setupDrop } from "./drop.js";
import { ScanView } from "./scan.js";
import { CatalogView } from "./catalog.js";

const VIEWS = ["drop", "scan", "catalog"];
let catalog = null;
let defaultView = "drop";

function showView(name) {
  if (!VIEWS.includes(name)) name = defaultView;
  for (const view of VIEWS) {
    document.getElementById(`view-${view}`).hidden = view !== name;
    const tab = document.getElementById(`tab-${view}`);
    tab.classList.toggle("active", view === name);
    tab.setAttribute("aria-selected", String(view === name));
  }
  document.body.dataset.view = name;
  if (name === "catalog" && catalog) {
    const wanted = catalog.wanted;
    catalog.wanted = null;
    catalog.show(wanted).catch((err) => toast(describeError(err)));
  }
}

async function main() {
  window.addEventListener("unhandledrejection", (event) => toast(describeError(event.reason)));
  if (!token) {
    toast("This page needs its token: open the URL that `astro-cloud-async serve` printed.");
  }
  setupDrop();
  catalog = new CatalogView();
  new ScanView((job) => {
    catalog.wanted = job;
    if (location.hash === "#catalog") showView("catalog");
    else location.hash = "#catalog";
  });
  try {
    const info = await api("/api/info");
    document.getElementById("version").textContent = `v${info.version}`;
    if (info.catalogs.length) defaultView = "catalog";
  } catch (err) {
    toast(describeError(err));
  }
  window.addEventListener("hashchange", () => showView(location.hash.slice(1)));
  showView(location.hash.slice(1));
  document.body.dataset.ready = "true";
}

main();
