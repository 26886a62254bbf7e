// Health and sync status as icon + word (never colour alone), for tiles, rows and tree nodes.
import { h } from "./dom.js";

const HEALTH_ICONS = {
  Healthy: "♥", Progressing: "◔", Degraded: "✖", Suspended: "⏸", Missing: "?", Unknown: "?",
};
const SYNC_ICONS = { Synced: "✔", OutOfSync: "⇄", Unknown: "?", Missing: "?", Extraneous: "✂" };

export const HEALTH = Object.keys(HEALTH_ICONS);
export const SYNC = ["Synced", "OutOfSync", "Unknown"];

export function healthIcon(status) { return HEALTH_ICONS[status] || "?"; }
export function syncIcon(status) { return SYNC_ICONS[status] || "?"; }

export function healthBadge(status) {
  const value = status || "Unknown";
  return h("span", { class: `badge health-${value}`, "data-health": value },
    h("span", { class: "icon", "aria-hidden": "true", text: healthIcon(value) }), ` ${value}`);
}

export function syncBadge(status) {
  const value = status || "Unknown";
  return h("span", { class: `badge sync-${value}`, "data-sync": value },
    h("span", { class: "icon", "aria-hidden": "true", text: syncIcon(value) }), ` ${value}`);
}

export function appHealth(app) { return app.status?.health?.status || "Unknown"; }
export function appSync(app) { return app.status?.sync?.status || "Unknown"; }
export function appSource(app) { return app.spec?.source || (app.spec?.sources || [])[0] || {}; }
export function appCluster(app) {
  const dest = app.spec?.destination || {};
  return dest.name || dest.server || "";
}
