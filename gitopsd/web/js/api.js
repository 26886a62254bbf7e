// The JSON API as the page uses it. The session is the HttpOnly cookie the login set (the page
// never sees or stores a token); every state-changing call sends the X-CSRF-Token header with the
// readable csrf cookie's value (double submit), as the server requires.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === "gitopsd.csrf") return decodeURIComponent(rest.join("="));
  }
  return "";
}

let onUnauthenticated = () => {};
export function whenLoggedOut(handler) { onUnauthenticated = handler; }

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const reply = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let doc = {};
  const text = await reply.text();
  if (text) {
    try { doc = JSON.parse(text); } catch { doc = { message: text.slice(0, 300) }; }
  }
  if (!reply.ok) {
    if (reply.status === 401 && !path.endsWith("/session")) onUnauthenticated();
    throw new ApiError(reply.status, doc.message || doc.error || `${reply.status} ${reply.statusText}`);
  }
  return doc;
}

export const get = (path) => api("GET", path);

export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") q.set(key, String(value));
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

export const appPath = (name) => `/api/v1/applications/${encodeURIComponent(name)}`;

// A server-sent event stream of the API: onResult(result) per `data: {"result": ...}` line.
// EventSource reconnects by itself after a dropped connection; a stream that ends with an
// {"error"} line is closed and reported.
export function stream(path, onResult, onError = () => {}) {
  const source = new EventSource(path, { withCredentials: true });
  source.onmessage = (event) => {
    let doc;
    try { doc = JSON.parse(event.data); } catch { return; }
    if (doc.error) {
      source.close();
      onError(doc.error.message || "stream ended with an error");
    } else if (doc.result) {
      onResult(doc.result);
    }
  };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) onError("stream closed");
  };
  return () => source.close();
}

// can-i answers per page view: the UI hides what is denied; the server still checks each call.
const canCache = new Map();
export function canI(resource, action, object) {
  const key = `${resource} ${action} ${object}`;
  if (!canCache.has(key)) {
    const path = `/api/v1/account/can-i/${encodeURIComponent(resource)}/${encodeURIComponent(action)}/` +
      object.split("/").map(encodeURIComponent).join("/");
    canCache.set(key, get(path).then((doc) => doc.value === "yes", () => false));
  }
  return canCache.get(key);
}
export function forgetPermissions() { canCache.clear(); }
