// One resource of the application (a node of the tree): its live manifest, desired manifest,
// unified diff, Kubernetes events, logs (streamed, for pods and what owns pods) and actions.
import { api, appPath, canI, get, query, stream } from "./api.js";
import { ago, clear, h, toast } from "./dom.js";
import { healthBadge, syncBadge } from "./status.js";

const LOG_KINDS = new Set(["Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Rollout"]);

// The live object without metadata.managedFields (bookkeeping of the API server, as Argo CD hides it).
function pretty(manifest) {
  try {
    const doc = JSON.parse(manifest);
    if (doc?.metadata) delete doc.metadata.managedFields;
    return JSON.stringify(doc, null, 2);
  } catch { return manifest || ""; }
}

function diffView(text) {
  return h("pre", { class: "diff", "data-diff": "" }, text.split("\n").map((line) => h("span", {
    class: line.startsWith("+++") || line.startsWith("---") ? "file" : line.startsWith("@@") ? "hunk"
      : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "",
    text: `${line}\n`,
  })));
}

export function renderResource(panel, app, node, onClose) {
  const name = app.metadata.name;
  const base = appPath(name);
  const ref = { namespace: node.namespace || "", resourceName: node.name, version: node.version || "",
    group: node.group || "", kind: node.kind };
  let stopLogs = () => {};
  const body = h("div", { class: "tab-body", role: "tabpanel", id: "resource-tab" });
  const tabs = [
    ["summary", "Summary"], ["live", "Live manifest"], ["desired", "Desired manifest"], ["diff", "Diff"],
    ["events", "Events"], ...(LOG_KINDS.has(node.kind) ? [["logs", "Logs"]] : []), ["actions", "Actions"],
  ];
  const tabButtons = tabs.map(([id, label]) => h("button", {
    type: "button", role: "tab", class: "tab", "data-tab": id, "aria-controls": "resource-tab",
    "aria-selected": "false", text: label, onclick: () => show(id),
  }));
  const close = () => { stopLogs(); onClose(); };
  // Escape closes the panel while focus is inside it (a fresh wrapper per resource: no stale listener).
  clear(panel).append(h("div", { onkeydown: (event) => { if (event.key === "Escape") close(); } },
    h("div", { class: "panel-head" },
      h("h2", {}, h("span", { class: "muted", text: `${node.kind} ` }), node.name),
      h("button", { type: "button", class: "secondary", "aria-label": "Close resource", text: "Close",
        onclick: close })),
    h("div", { class: "tabs", role: "tablist" }, tabButtons), body));

  async function managed() {
    if (!node.managed) return null;
    const doc = await get(`${base}/managed-resources${query({ group: ref.group, kind: ref.kind, namespace: ref.namespace, name: ref.resourceName })}`);
    return (doc.items || [])[0] || null;
  }

  const views = {
    summary: async () => h("dl", { class: "facts" },
      h("dt", { text: "Kind" }), h("dd", { text: `${node.group ? `${node.group}/` : ""}${node.kind}` }),
      h("dt", { text: "Namespace" }), h("dd", { text: node.namespace || "(cluster)" }),
      h("dt", { text: "Health" }), h("dd", {}, node.health ? healthBadge(node.health.status) : "—"),
      h("dt", { text: "Sync" }), h("dd", {}, node.syncStatus ? syncBadge(node.syncStatus) : "— (owned by a managed resource)"),
      h("dt", { text: "Created" }), h("dd", { text: ago(node.createdAt) }),
      h("dt", { text: "Images" }), h("dd", { text: (node.images || []).join(", ") }),
      (node.info || []).map((i) => [h("dt", { text: i.name }), h("dd", { text: i.value })])),
    live: async () => {
      if (node.missing) return h("p", { class: "muted", text: "Not in the cluster (Missing)." });
      const doc = await get(`${base}/resource${query(ref)}`);
      return h("pre", { class: "manifest", "data-manifest": "live", text: pretty(doc.manifest) });
    },
    desired: async () => {
      const item = await managed();
      if (!item) return h("p", { class: "muted", text: "Not managed by the application: created by its owner." });
      return h("pre", { class: "manifest", "data-manifest": "desired", text: item.targetState || "(not in Git: extraneous)" });
    },
    diff: async () => {
      const item = await managed();
      if (!item) return h("p", { class: "muted", text: "Not managed by the application: nothing to compare." });
      if (!item.diff) return h("p", { class: "muted", "data-diff": "none", text: "No difference: live is as desired." });
      return diffView(item.diff);
    },
    events: async () => {
      const doc = await get(`${base}/events${query({ resourceNamespace: ref.namespace, resourceName: ref.resourceName, resourceUID: node.uid })}`);
      const items = doc.items || [];
      if (!items.length) return h("p", { class: "muted", text: "No events." });
      return h("table", { class: "events-table" },
        h("thead", {}, h("tr", {}, ["Type", "Reason", "Message", "Count", "Last seen"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, items.map((e) => h("tr", { class: e.type === "Warning" ? "warning" : "" },
          h("td", { text: e.type }), h("td", { text: e.reason }), h("td", { text: e.message }),
          h("td", { text: e.count || 1 }), h("td", { text: ago(e.lastTimestamp || e.firstTimestamp) })))));
    },
    logs: async () => {
      const out = h("pre", { class: "logs", "aria-live": "polite", "data-logs": "" });
      const params = node.kind === "Pod"
        ? { namespace: ref.namespace, podName: node.name, follow: true, tailLines: 200 }
        : { namespace: ref.namespace, kind: node.kind, group: ref.group, resourceName: node.name, follow: true, tailLines: 200 };
      stopLogs = stream(`${base}/logs${query(params)}`, (entry) => {
        if (entry.last) return;
        out.append(h("span", { class: "log-pod", text: node.kind === "Pod" ? "" : `${entry.podName} ` }), `${entry.content}\n`);
        if (out.childNodes.length > 4000) out.firstChild.remove();
        out.scrollTop = out.scrollHeight;
      }, (message) => out.append(h("span", { class: "error", text: `\n${message}\n` })));
      return out;
    },
    actions: async () => {
      const doc = await get(`${base}/resource/actions${query(ref)}`);
      const object = `${app.spec?.project || "default"}/${name}`;
      const actions = doc.actions || [];
      const allowed = await Promise.all(actions.map((a) => canI("applications", `action/${ref.group}/${ref.kind}/${a.name}`, object)));
      const shown = actions.filter((_, i) => allowed[i]);
      if (!shown.length) return h("p", { class: "muted", text: actions.length ? "No action you may run." : "No actions for this kind." });
      return h("div", { class: "actions" }, shown.map((a) => h("button", {
        type: "button", class: "secondary", disabled: a.disabled, "data-action": a.name, text: a.displayName || a.name,
        onclick: async () => {
          try {
            await api("POST", `${base}/resource/actions${query(ref)}`, a.name);
            toast(`${a.displayName || a.name}: done`);
          } catch (err) { toast(`${a.name}: ${err.message}`, "error"); }
        },
      })));
    },
  };

  let current = "";
  async function show(id) {
    stopLogs();
    stopLogs = () => {};
    current = id;
    for (const b of tabButtons) b.setAttribute("aria-selected", String(b.dataset.tab === id));
    clear(body).append(h("p", { class: "muted", text: "Loading…" }));
    try {
      const view = await views[id]();
      if (current === id) clear(body).append(view);
    } catch (err) {
      if (current === id) clear(body).append(h("p", { class: "error", role: "alert", text: err.message }));
    }
  }
  show(node.managed ? "diff" : "summary");
  tabButtons[0].focus();
  return () => stopLogs();
}
