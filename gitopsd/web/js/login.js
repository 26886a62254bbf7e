// The login page: a local account through POST /api/v1/session (the server's lockout applies).
// The reply sets the session cookie; its token is not kept by the page.
import { api } from "./api.js";
import { h } from "./dom.js";

export function renderLogin(main, done) {
  const error = h("p", { class: "error", role: "alert" });
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const password = h("input", {
    id: "password", name: "password", type: "password", autocomplete: "current-password", required: true,
  });
  const submit = h("button", { type: "submit", text: "Sign in" });
  const form = h("form", { class: "login card", method: "post", onsubmit: async (event) => {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    try {
      await api("POST", "/api/v1/session", { username: username.value, password: password.value });
      password.value = "";
      const info = await api("GET", "/api/v1/session/userinfo");
      done(info);
    } catch (err) {
      password.value = "";
      error.textContent = err.message;
      password.focus();
    } finally {
      submit.disabled = false;
    }
  } },
  h("h1", { text: "Sign in to gitopsd" }),
  h("label", { for: "username", text: "Username" }), username,
  h("label", { for: "password", text: "Password" }), password,
  error, submit);
  main.append(form);
  username.focus();
  return () => {};
}
