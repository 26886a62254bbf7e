// The application page: summary (repo, revision and commit message, sync policy, conditions,
// operation), the resource tree, and the operations: sync dialog, refresh / hard refresh,
// terminate, history with rollback, delete (cascade choice). Kept current by two streams: the
// application's (its status) and its resource tree's. Buttons `can-i` denies are not shown;
// the server checks every call regardless.
import { api, appPath, canI, get, query, stream } from "./api.js";
import { ago, clear, h, openDialog, shortSha, toast } from "./dom.js";
import { appCluster, appHealth, appSource, appSync, healthBadge, syncBadge } from "./status.js";
import { keyOf, renderTree, treeNodes } from "./tree.js";
import { renderResource } from "./resource.js";

function policyText(app) {
  const auto = app.spec?.syncPolicy?.automated;
  if (!auto || auto.enabled === false) return "Manual";
  return ["Automated", auto.prune && "Prune", auto.selfHeal && "Self Heal"].filter(Boolean).join(" · ");
}

function summary(app) {
  const src = appSource(app);
  const sync = app.status?.sync || {};
  const op = app.status?.operationState;
  const facts = [
    ["Project", app.spec?.project || "default"],
    ["Repository", src.repoURL],
    [src.chart ? "Chart" : "Path", src.chart || src.path || "."],
    ["Target revision", src.targetRevision || "HEAD"],
    ["Revision", shortSha(sync.revision)],
    ["Commit", sync.commit?.message ? `${sync.commit.message.split("\n")[0]}${sync.commit.author ? ` — ${sync.commit.author}` : ""}` : ""],
    ["Destination", `${appCluster(app)} / ${app.spec?.destination?.namespace || ""}`],
    ["Sync policy", policyText(app)],
    ["Sync options", (app.spec?.syncPolicy?.syncOptions || []).join(", ")],
    ["Drift", sync.reason || ""],
    ["Last operation", op ? `${op.phase}${op.message ? `: ${op.message}` : ""} (${ago(op.finishedAt || op.startedAt)})` : ""],
    ["Reconciled", ago(app.status?.reconciledAt)],
  ].filter(([, v]) => v);
  const conditions = app.status?.conditions || [];
  return h("section", { class: "card summary", "aria-label": "Summary" },
    h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", { text: k }),
      h("dd", { text: v, "data-fact": k })])),
    conditions.length ? h("ul", { class: "conditions", "aria-label": "Conditions" },
      conditions.map((c) => h("li", { class: `condition ${/Error/.test(c.type) ? "error" : "warning"}` },
        h("strong", { text: c.type }), ` ${c.message}`))) : null);
}

function syncDialog(app, done) {
  const name = app.metadata.name;
  const revision = h("input", { id: "sync-revision", value: appSource(app).targetRevision || "HEAD" });
  const box = (id, label, checked = false) => h("div", { class: "check" },
    h("input", { type: "checkbox", id, checked }), h("label", { for: id, text: label }));
  const resources = app.status?.resources || [];
  const picks = resources.map((r, i) => h("div", { class: "check" },
    h("input", { type: "checkbox", id: `sync-res-${i}`, checked: true, "data-key": keyOf(r) }),
    h("label", { for: `sync-res-${i}`, text: `${r.kind}/${r.name}${r.namespace ? ` (${r.namespace})` : ""} — ${r.status || ""}` })));
  const body = h("div", { class: "dialog-body" },
    h("label", { for: "sync-revision", text: "Revision" }), revision,
    box("sync-prune", "Prune"), box("sync-dry-run", "Dry run"), box("sync-force", "Force"),
    resources.length ? h("fieldset", { class: "sync-resources" }, h("legend", { text: "Resources" }), picks) : null);
  const start = h("button", { type: "button", id: "sync-start", text: "Synchronize", onclick: async () => {
    const chosen = resources.filter((_, i) => picks[i].querySelector("input").checked);
    const request = {
      revision: revision.value.trim(),
      prune: body.querySelector("#sync-prune").checked,
      dryRun: body.querySelector("#sync-dry-run").checked,
      force: body.querySelector("#sync-force").checked,
    };
    if (chosen.length !== resources.length) {
      request.resources = chosen.map((r) => ({ group: r.group || "", kind: r.kind, name: r.name, namespace: r.namespace || "" }));
    }
    start.disabled = true;
    try {
      await api("POST", `${appPath(name)}/sync`, request);
      dialog.close();
      toast(request.dryRun ? "Dry run started" : "Sync started");
      done();
    } catch (err) {
      toast(`Sync: ${err.message}`, "error");
      start.disabled = false;
    }
  } });
  const dialog = openDialog(`Synchronize ${name}`, body, start);
  revision.focus();
}

function deleteDialog(app, navigate) {
  const name = app.metadata.name;
  const cascade = h("input", { type: "checkbox", id: "delete-cascade", checked: true });
  const policy = h("select", { id: "delete-policy" },
    ["foreground", "background"].map((p) => h("option", { value: p, text: p })));
  const confirm = h("input", { id: "delete-confirm", autocomplete: "off" });
  const body = h("div", { class: "dialog-body" },
    h("p", { text: `Type the application's name (${name}) to delete it.` }),
    h("label", { for: "delete-confirm", text: "Name" }), confirm,
    h("div", { class: "check" }, cascade, h("label", { for: "delete-cascade", text: "Cascade: delete its resources from the cluster" })),
    h("label", { for: "delete-policy", text: "Propagation policy" }), policy);
  const go = h("button", { type: "button", class: "danger", text: "Delete", onclick: async () => {
    if (confirm.value !== name) { toast("The name does not match", "error"); return; }
    try {
      await api("DELETE", appPath(name) + query({ cascade: cascade.checked, propagationPolicy: policy.value }));
      dialog.close();
      toast(`Deleting ${name}`);
      navigate("/applications");
    } catch (err) {
      toast(`Delete: ${err.message}`, "error");
    }
  } });
  const dialog = openDialog(`Delete ${name}`, body, go);
  confirm.focus();
}

async function historyDialog(app, allowed) {
  const name = app.metadata.name;
  const list = h("div", { class: "dialog-body history" }, h("p", { class: "muted", text: "Loading…" }));
  const dialog = openDialog(`History of ${name}`, list, []);
  try {
    const doc = await get(`${appPath(name)}/history`);
    const items = [...(doc.items || [])].reverse();
    clear(list).append(items.length ? h("table", { class: "history-table" },
      h("thead", {}, h("tr", {}, ["ID", "Revision", "Commit", "Deployed", "By", "Phase", ""].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, items.map((entry) => h("tr", { "data-history": entry.id },
        h("td", { text: entry.id }), h("td", { text: shortSha(entry.revision) }),
        h("td", { text: (entry.commit?.message || "").split("\n")[0] }),
        h("td", { text: ago(entry.deployedAt) }),
        h("td", { text: entry.initiatedBy?.automated ? "automated" : (entry.initiatedBy?.username || "") }),
        h("td", { text: entry.phase || "" }),
        h("td", {}, allowed ? h("button", { type: "button", class: "secondary", text: "Rollback",
          "aria-label": `Rollback to ${entry.id}`, onclick: async () => {
            try {
              await api("POST", `${appPath(name)}/rollback`, { id: entry.id });
              dialog.close();
              toast(`Rolling back to ${shortSha(entry.revision)}`);
            } catch (err) {
              toast(`Rollback: ${err.message}`, "error");
            }
          } }) : null))))) : h("p", { class: "muted", text: "Nothing deployed yet." }));
  } catch (err) {
    clear(list).append(h("p", { class: "error", text: err.message }));
  }
}

export function renderApp(main, name, navigate) {
  let app = null;
  let tree = null;
  let selected = null;
  let frame = 0;
  let can = { sync: false, delete: false, update: false };
  const header = h("div", { class: "app-header" });
  const summaryBox = h("div");
  const treeBox = h("section", { class: "card tree-card", "aria-label": "Resource tree" });
  const panel = h("section", { class: "card resource-panel", hidden: true, "aria-label": "Resource" });
  let closePanel = () => {};
  main.append(h("section", { class: "app-page" },
    h("a", { href: "/applications", class: "back", text: "← Applications" }), header, summaryBox,
    h("div", { class: "app-body" }, treeBox, panel)));

  function select(node) {
    closePanel();
    selected = keyOf(node);
    panel.hidden = false;
    closePanel = renderResource(panel, app, node, () => { selected = null; panel.hidden = true; schedule(); });
    schedule();
  }

  function buttons() {
    const op = app.status?.operationState;
    const running = op && (op.phase === "Running" || op.phase === "Terminating");
    const refresh = (hard) => async () => {
      try {
        app = await get(appPath(name) + query({ refresh: hard ? "hard" : "normal" }));
        toast(hard ? "Hard refresh done" : "Refreshed");
        schedule();
      } catch (err) { toast(`Refresh: ${err.message}`, "error"); }
    };
    return h("div", { class: "actions", role: "toolbar", "aria-label": "Application actions" },
      can.sync ? h("button", { type: "button", id: "btn-sync", text: "Sync", onclick: () => syncDialog(app, () => {}) }) : null,
      h("button", { type: "button", class: "secondary", id: "btn-refresh", text: "Refresh", onclick: refresh(false) }),
      h("button", { type: "button", class: "secondary", id: "btn-hard-refresh", text: "Hard refresh", onclick: refresh(true) }),
      h("button", { type: "button", class: "secondary", id: "btn-history", text: can.sync ? "History and rollback" : "History",
        onclick: () => historyDialog(app, can.sync) }),
      can.sync && running ? h("button", { type: "button", class: "secondary", id: "btn-terminate", text: "Terminate", onclick: async () => {
        try { await api("DELETE", `${appPath(name)}/operation`); toast("Terminating the operation"); } catch (err) { toast(`Terminate: ${err.message}`, "error"); }
      } }) : null,
      can.delete ? h("button", { type: "button", class: "danger", id: "btn-delete", text: "Delete", onclick: () => deleteDialog(app, navigate) }) : null);
  }

  function render() {
    frame = 0;
    if (!app) return;
    const op = app.status?.operationState;
    clear(header).append(
      h("h1", { text: name }),
      h("div", { class: "badges", id: "app-status" }, healthBadge(appHealth(app)), syncBadge(appSync(app)),
        op?.phase ? h("span", { class: `badge op-${op.phase}`, "data-operation": op.phase, text: `Operation ${op.phase}` }) : null),
      buttons());
    clear(summaryBox).append(summary(app));
    clear(treeBox).append(h("h2", { text: "Resources" }),
      renderTree(app, treeNodes(tree, app.status?.resources), selected, select));
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(render);
  }

  const closers = [];
  get(appPath(name)).then(async (doc) => {
    app = doc;
    const object = `${app.spec?.project || "default"}/${name}`;
    const [sync, del, update] = await Promise.all(["sync", "delete", "update"].map((a) => canI("applications", a, object)));
    can = { sync, delete: del, update };
    schedule();
    closers.push(stream(`/api/v1/stream/applications${query({ name })}`, (event) => {
      if (event.application?.metadata?.name !== name) return;
      if (event.type === "DELETED") { toast(`${name} was deleted`); navigate("/applications"); return; }
      app = event.application;
      schedule();
    }));
    closers.push(stream(`/api/v1/stream/applications/${encodeURIComponent(name)}/resource-tree`, (result) => {
      tree = result;
      schedule();
    }));
  }, (err) => {
    main.append(h("p", { class: "error", role: "alert", text: `Cannot open ${name}: ${err.message}` }));
  });
  return () => { for (const close of closers) close(); closePanel(); if (frame) cancelAnimationFrame(frame); };
}
