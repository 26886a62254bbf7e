// The dashboard's entry: a small router over the History API (/login, /applications,
// /applications/NAME), the session bar and log out. Pages render into <main>.
import { api, ApiError, forgetPermissions, get, whenLoggedOut } from "./api.js";
import { clear, toast } from "./dom.js";
import { renderLogin } from "./login.js";
import { renderList } from "./list.js";
import { renderApp } from "./app.js";

const main = document.getElementById("main");
let leave = () => {};
let user = null;

export function navigate(path, replace = false) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  route();
}

async function session() {
  try {
    const info = await get("/api/v1/session/userinfo");
    return info.loggedIn ? info : null;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

function showSession(info) {
  const bar = document.getElementById("session");
  bar.hidden = !info;
  document.getElementById("whoami").textContent = info ? info.username : "";
}

async function route() {
  leave();
  leave = () => {};
  const path = location.pathname;
  if (user === null && path !== "/login") {
    // The page's own calls start meanwhile: a 401 from any of them leads to the login page.
    user = "checking";
    session().then((info) => {
      user = info;
      showSession(info);
      if (!info && location.pathname !== "/login") navigate(`/login?next=${encodeURIComponent(location.pathname)}`, true);
    }, () => { user = null; });
  }
  clear(main);
  const match = path.match(/^\/applications\/([^/]+)$/);
  if (path === "/login") {
    leave = renderLogin(main, async (info) => {
      user = info;
      showSession(user);
      const next = new URLSearchParams(location.search).get("next") || "/applications";
      navigate(next.startsWith("/") && !next.startsWith("//") ? next : "/applications", true);
    });
  } else if (match) {
    leave = renderApp(main, decodeURIComponent(match[1]), navigate);
  } else {
    if (path !== "/applications") history.replaceState(null, "", "/applications");
    leave = renderList(main, navigate);
  }
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href^='/']");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) return;
  event.preventDefault();
  navigate(link.getAttribute("href"));
});
window.addEventListener("popstate", route);

document.getElementById("logout").addEventListener("click", async () => {
  try {
    await api("DELETE", "/api/v1/session");
  } catch (err) {
    toast(`Log out: ${err.message}`, "error");
  }
  user = null;
  forgetPermissions();
  showSession(null);
  navigate("/login", true);
});

whenLoggedOut(() => {
  if (location.pathname === "/login") return;
  user = null;
  forgetPermissions();
  showSession(null);
  navigate(`/login?next=${encodeURIComponent(location.pathname)}`, true);
});

route();
