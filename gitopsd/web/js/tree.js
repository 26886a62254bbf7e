// The resource tree as an SVG graph in layers: the application, its managed resources, then what
// they own through ownerReferences (ReplicaSets, then Pods...). Each node shows kind, name, health
// and sync; it is a focusable button (Enter or Space opens it, as a click does).
import { h, s } from "./dom.js";
import { healthIcon, syncIcon } from "./status.js";

const W = 210, H = 54, GAP_X = 48, GAP_Y = 14, PAD = 12;

export const keyOf = (r) => `${r.group || ""}/${r.kind}/${r.namespace || ""}/${r.name}`;

// Tree nodes (live objects) plus the managed resources not live (Missing): one list.
export function treeNodes(tree, resources) {
  const nodes = (tree?.nodes || []).map((n) => ({ ...n }));
  const byKey = new Map(nodes.map((n) => [keyOf(n), n]));
  for (const r of resources || []) {
    const live = byKey.get(keyOf(r));
    if (live) {
      live.syncStatus = live.syncStatus || r.status;
      live.managed = true;
    } else {
      const node = { group: r.group, version: r.version, kind: r.kind, namespace: r.namespace, name: r.name,
        syncStatus: r.status, health: r.health || (r.status === "Missing" ? { status: "Missing" } : undefined),
        managed: true, missing: true };
      nodes.push(node);
      byKey.set(keyOf(node), node);
    }
  }
  return nodes;
}

function layout(nodes) {
  const byKey = new Map(nodes.map((n) => [keyOf(n), n]));
  const parentsOf = (n) => (n.parentRefs || []).map((p) => byKey.get(keyOf(p))).filter(Boolean);
  const depth = new Map();
  const depthOf = (n, seen = new Set()) => {
    if (depth.has(n)) return depth.get(n);
    if (seen.has(n)) return 1;  // a cycle of owners: not drawn deeper
    seen.add(n);
    const parents = parentsOf(n);
    const d = parents.length ? 1 + Math.max(...parents.map((p) => depthOf(p, seen))) : 1;
    depth.set(n, d);
    return d;
  };
  const columns = [];
  for (const n of nodes) {
    const d = depthOf(n);
    (columns[d] ||= []).push(n);
  }
  const position = new Map();
  const order = (a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`);
  for (let d = 1; d < columns.length; d++) {
    const column = columns[d] || [];
    const parentRow = (n) => Math.min(...parentsOf(n).map((p) => position.get(p)?.row ?? 0), Infinity);
    column.sort((a, b) => (d === 1 ? order(a, b) : (parentRow(a) - parentRow(b)) || order(a, b)));
    column.forEach((n, row) => position.set(n, { col: d, row }));
  }
  return { columns, position, parentsOf };
}

export function renderTree(app, nodes, selected, onSelect) {
  const { columns, position, parentsOf } = layout(nodes);
  const rows = Math.max(1, ...columns.filter(Boolean).map((c) => c.length));
  const width = PAD * 2 + columns.length * (W + GAP_X) - GAP_X + (columns.length ? 0 : W);
  const height = PAD * 2 + rows * (H + GAP_Y) - GAP_Y;
  const at = (col, row) => ({ x: PAD + col * (W + GAP_X), y: PAD + row * (H + GAP_Y) });
  const svg = s("svg", { class: "tree", viewBox: `0 0 ${width} ${height}`, width, height, role: "group",
    "aria-label": `Resource tree of ${app.metadata.name}` });
  const edges = s("g", { class: "edges" });
  svg.append(edges);
  const edge = (from, to) => {
    const x1 = from.x + W, y1 = from.y + H / 2, x2 = to.x, y2 = to.y + H / 2, mid = (x1 + x2) / 2;
    edges.append(s("path", { d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` }));
  };
  const root = at(0, 0);
  const appHealth = app.status?.health?.status || "Unknown";
  const appSync = app.status?.sync?.status || "Unknown";
  svg.append(nodeBox(root, "Application", app.metadata.name, appHealth, appSync, false, null));
  for (const [node, pos] of position) {
    const xy = at(pos.col, pos.row);
    const parents = parentsOf(node);
    if (parents.length === 0) edge(root, xy);
    for (const p of parents) edge(at(position.get(p).col, position.get(p).row), xy);
    svg.append(nodeBox(xy, node.kind, node.name, node.health?.status || "", node.syncStatus || "",
      selected === keyOf(node), () => onSelect(node), node));
  }
  return h("div", { class: "tree-scroll" }, svg);
}

function nodeBox(xy, kind, name, health, sync, isSelected, onOpen, node) {
  const label = [kind, name, health && `health ${health}`, sync && `sync ${sync}`].filter(Boolean).join(", ");
  const g = s("g", {
    class: `node${isSelected ? " selected" : ""}${node?.missing ? " missing" : ""}`,
    transform: `translate(${xy.x},${xy.y})`, "data-kind": kind, "data-name": name,
    "data-health": health || undefined, "data-sync": sync || undefined,
    tabindex: onOpen ? "0" : undefined, role: onOpen ? "button" : "img", "aria-label": label,
  },
  s("title", { text: label }),
  s("rect", { width: W, height: H, rx: 6 }),
  s("text", { x: 10, y: 19, class: "kind", text: kind }),
  s("text", { x: 10, y: 40, class: "name", text: name.length > 24 ? `${name.slice(0, 23)}…` : name }),
  health ? s("text", { x: W - 30, y: 20, class: `icon health-${health}`, text: healthIcon(health) }) : null,
  sync ? s("text", { x: W - 30, y: 42, class: `icon sync-${sync}`, text: syncIcon(sync) }) : null);
  if (onOpen) {
    g.addEventListener("click", onOpen);
    g.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        onOpen();
      }
    });
  }
  return g;
}
