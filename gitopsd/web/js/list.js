// The applications page: tiles or a list, filters (project, sync, health, cluster, namespace,
// labels, name), counts per status. Fed by GET /api/v1/applications, then kept current by the
// application stream (ADDED / MODIFIED / DELETED events): no reload, no polling.
import { get, stream } from "./api.js";
import { clear, h, shortSha } from "./dom.js";
import { appCluster, appHealth, appSource, appSync, healthBadge, HEALTH, SYNC, syncBadge } from "./status.js";

const FACETS = [
  { key: "sync", title: "Sync status", of: appSync, order: SYNC },
  { key: "health", title: "Health", of: appHealth, order: HEALTH },
  { key: "project", title: "Projects", of: (a) => a.spec?.project || "default" },
  { key: "cluster", title: "Clusters", of: appCluster },
  { key: "namespace", title: "Namespaces", of: (a) => a.spec?.destination?.namespace || "" },
];

// Kept across visits of the page in this tab.
const state = {
  view: localStorage.getItem("gitopsd.view") === "list" ? "list" : "tiles",
  search: "",
  labels: "",
  chosen: Object.fromEntries(FACETS.map((f) => [f.key, new Set()])),
};

function labelMatch(app, text) {
  const labels = app.metadata?.labels || {};
  return text.split(",").map((t) => t.trim()).filter(Boolean).every((term) => {
    const [key, value] = term.split("=").map((x) => x.trim());
    return value === undefined ? key in labels : labels[key] === value;
  });
}

function visible(app) {
  if (state.search && !app.metadata.name.toLowerCase().includes(state.search.toLowerCase())) return false;
  if (state.labels && !labelMatch(app, state.labels)) return false;
  return FACETS.every((f) => state.chosen[f.key].size === 0 || state.chosen[f.key].has(f.of(app)));
}

function tile(app) {
  const src = appSource(app);
  const name = app.metadata.name;
  return h("a", { class: `tile tile-${appHealth(app)}`, href: `/applications/${encodeURIComponent(name)}`, "data-app": name },
    h("div", { class: "tile-head" }, h("strong", { class: "app-name", text: name }),
      h("span", { class: "muted", text: app.spec?.project || "default" })),
    h("div", { class: "badges" }, healthBadge(appHealth(app)), syncBadge(appSync(app))),
    h("dl", { class: "facts" },
      h("dt", { text: "Repo" }), h("dd", { text: src.repoURL || "" }),
      h("dt", { text: src.chart ? "Chart" : "Path" }), h("dd", { text: src.chart || src.path || "." }),
      h("dt", { text: "Target" }), h("dd", { text: src.targetRevision || "HEAD" }),
      h("dt", { text: "Revision" }), h("dd", { text: shortSha(app.status?.sync?.revision) }),
      h("dt", { text: "Destination" }),
      h("dd", { text: `${appCluster(app)} / ${app.spec?.destination?.namespace || ""}` })));
}

function row(app) {
  const src = appSource(app);
  const name = app.metadata.name;
  return h("tr", { "data-app": name },
    h("td", {}, h("a", { href: `/applications/${encodeURIComponent(name)}`, class: "app-name", text: name })),
    h("td", { text: app.spec?.project || "default" }),
    h("td", {}, healthBadge(appHealth(app))),
    h("td", {}, syncBadge(appSync(app))),
    h("td", { text: `${src.repoURL || ""} ${src.chart || src.path || ""}` }),
    h("td", { text: `${appCluster(app)} / ${app.spec?.destination?.namespace || ""}` }));
}

export function renderList(main, navigate) {
  const apps = new Map();
  // name -> {app, view, el}: an event re-renders only the tile or row of the application it changed.
  const built = new Map();
  let loaded = false;
  let marked = false;
  let frame = 0;
  const facetBoxes = new Map();
  const results = h("div", { id: "results", "aria-live": "off" });
  const counts = h("p", { id: "counts", class: "counts" });
  // Filters fold away on a phone (open by default on a wide screen).
  const sidebar = h("details", { open: !matchMedia("(max-width: 760px)").matches },
    h("summary", { text: "Filters" }));
  const search = h("input", {
    type: "search", id: "search", placeholder: "Search by name", "aria-label": "Search applications by name",
    value: state.search, oninput: () => { state.search = search.value; schedule(); },
  });
  const labels = h("input", {
    id: "labels", placeholder: "team=web,tier", "aria-label": "Filter by labels",
    value: state.labels, oninput: () => { state.labels = labels.value; schedule(); },
  });
  const viewButtons = ["tiles", "list"].map((view) => h("button", {
    type: "button", class: "secondary", "data-view": view, "aria-pressed": String(state.view === view),
    text: view === "tiles" ? "Tiles" : "List",
    onclick: () => {
      state.view = view;
      localStorage.setItem("gitopsd.view", view);
      for (const b of viewButtons) b.setAttribute("aria-pressed", String(b.dataset.view === view));
      schedule();
    },
  }));
  const clearButton = h("button", { type: "button", class: "link", text: "Clear filters", onclick: () => {
    for (const f of FACETS) state.chosen[f.key].clear();
    state.search = search.value = "";
    state.labels = labels.value = "";
    for (const box of sidebar.querySelectorAll("input[type=checkbox]")) box.checked = false;
    schedule();
  } });
  sidebar.append(h("label", { for: "labels", text: "Labels" }), labels, clearButton);
  main.append(h("section", { class: "list-page" },
    h("div", { class: "toolbar" }, h("h1", { text: "Applications" }), search,
      h("div", { class: "view-toggle", role: "group", "aria-label": "View" }, viewButtons)),
    counts, h("div", { class: "list-body" }, h("aside", { class: "filters", "aria-label": "Filters" }, sidebar), results)));

  function facet(f, values, tally) {
    let entry = facetBoxes.get(f.key);
    const key = values.join("\u0000");
    if (!entry || entry.key !== key) {
      const spans = new Map();
      const box = h("fieldset", { class: "facet", "data-facet": f.key }, h("legend", { text: f.title }),
        values.map((value) => {
          const id = `f-${f.key}-${value}`.replace(/[^A-Za-z0-9_-]/g, "_");
          const count = h("span", { class: "count" });
          spans.set(value, count);
          return h("div", { class: "check" },
            h("input", { type: "checkbox", id, value, checked: state.chosen[f.key].has(value), onchange: (e) => {
              if (e.target.checked) state.chosen[f.key].add(value); else state.chosen[f.key].delete(value);
              schedule();
            } }),
            h("label", { for: id, text: value || "(none)" }), count);
        }));
      if (entry) entry.box.replaceWith(box); else sidebar.insertBefore(box, sidebar.querySelector("label[for=labels]"));
      entry = { key, box, spans };
      facetBoxes.set(f.key, entry);
    }
    for (const [value, span] of entry.spans) span.textContent = String(tally.get(value) || 0);
  }

  function render() {
    frame = 0;
    const all = [...apps.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    for (const f of FACETS) {
      const tally = new Map();
      for (const app of all) tally.set(f.of(app), (tally.get(f.of(app)) || 0) + 1);
      const values = [...new Set([...(f.order || []).filter((v) => tally.has(v)), ...[...tally.keys()].sort()])];
      facet(f, values, tally);
    }
    const shown = all.filter(visible);
    const bySync = (s) => all.filter((a) => appSync(a) === s).length;
    const byHealth = (s) => all.filter((a) => appHealth(a) === s).length;
    counts.textContent = `${shown.length} of ${all.length} applications · ` +
      `Synced ${bySync("Synced")} · OutOfSync ${bySync("OutOfSync")} · ` +
      `Healthy ${byHealth("Healthy")} · Progressing ${byHealth("Progressing")} · Degraded ${byHealth("Degraded")}` +
      ` · Missing ${byHealth("Missing")}`;
    clear(results);
    if (!loaded) {
      results.append(h("p", { class: "muted", text: "Loading…" }));
    } else if (shown.length === 0) {
      results.append(h("p", { class: "empty", text: all.length ? "No application matches the filters." :
        "No applications yet. Create one with `gitopsd app create`." }));
    } else if (state.view === "list") {
      results.append(h("table", { class: "apps-table" },
        h("thead", {}, h("tr", {}, ["Name", "Project", "Health", "Sync", "Source", "Destination"].map(
          (t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, shown.map(element))));
    } else {
      results.append(h("div", { class: "tiles" }, shown.map(element)));
    }
    for (const name of built.keys()) if (!apps.has(name)) built.delete(name);
    if (loaded && !marked) {
      marked = true;
      // For bench/dashboard_bench.py: the first frame after the list was drawn.
      requestAnimationFrame(() => performance.mark("gitopsd:list-rendered"));
    }
  }

  function element(app) {
    const name = app.metadata.name;
    const cached = built.get(name);
    if (cached && cached.app === app && cached.view === state.view) return cached.el;
    const el = state.view === "list" ? row(app) : tile(app);
    built.set(name, { app, view: state.view, el });
    return el;
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(render);
  }

  render();
  let closeStream = () => {};
  get("/api/v1/applications").then((doc) => {
    performance.mark("gitopsd:list-fetched");
    for (const app of doc.items || []) apps.set(app.metadata.name, app);
    loaded = true;
    schedule();
    closeStream = stream("/api/v1/stream/applications", (event) => {
      const app = event.application;
      if (!app?.metadata?.name) return;
      if (event.type === "DELETED") apps.delete(app.metadata.name);
      else apps.set(app.metadata.name, app);
      schedule();
    });
  }, (err) => {
    clear(results).append(h("p", { class: "error", role: "alert", text: `Cannot list applications: ${err.message}` }));
  });
  void navigate;
  return () => { closeStream(); if (frame) cancelAnimationFrame(frame); };
}
