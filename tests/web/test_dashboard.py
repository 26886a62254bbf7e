"""The dashboard in headless Chromium against a real daemon, the sandbox cluster and a real git
repository: log in, the list (tiles, list view, filters, counts), an application's page (tree,
summary), a `kubectl scale` shown as OutOfSync and healed back without a reload, sync from the
dialog, the diff of a resource, rollback from history, streamed logs, and what a read-only user
sees and may do. The tests of this module share one daemon and run in order."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from reconcile.apps import application, create, deployment
from webhelpers import VIEWER_PASSWORD, WebEnv, log_in, screenshot, wait_js


@pytest.fixture(scope="module")
def env(web_env: WebEnv) -> WebEnv:
    repo = web_env.repo
    repo.commit(
        {"web/deploy.yaml": deployment("web", replicas=2), "api/deploy.yaml": deployment("api", replicas=2)},
        message="first release of web and api",
    )
    root = web_env.cli.cwd
    # web: automated with self-heal; api: synced by hand from the dashboard.
    create(web_env.cli, root, application("web", repo.url, "web", "shop", automated=True))
    create(web_env.cli, root, application("api", repo.url, "api", "backend"))
    with httpx.Client(
        base_url=web_env.base_url, headers={"Authorization": f"Bearer {web_env.daemon.token}"}
    ) as http:
        reply = http.put(
            "/api/v1/account/password",
            json={
                "name": "viewer",
                "currentPassword": web_env.daemon.initial_password(),
                "newPassword": VIEWER_PASSWORD,
            },
        )
        assert reply.status_code == 200, reply.text
    return web_env


def _admin(page: Any, env: WebEnv, path: str = "/applications") -> None:
    log_in(page, env, "admin", env.daemon.initial_password(), path)


def _replicas(env: WebEnv, namespace: str, name: str) -> int:
    out = env.kubectl("-n", namespace, "get", "deploy", name, "-o", "json")
    return int(json.loads(out.stdout)["spec"]["replicas"]) if out.returncode == 0 else -1


def test_log_in_then_the_list_with_filters_and_counts(env: WebEnv, page: Any) -> None:
    page.goto(env.base_url + "/")
    page.wait_for_url("**/login?next=*")
    assert page.get_by_role("button", name="Log out").is_hidden()
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").filter(has_text="invalid").wait_for()
    screenshot(page, "login")
    page.get_by_label("Password").fill(env.daemon.initial_password())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/applications")
    # The session is an HttpOnly cookie: the page's script cannot read it, and no page holds it.
    assert "gitopsd.token" not in page.evaluate("document.cookie")
    assert env.daemon.initial_password() not in page.content()

    web = page.locator(".tile[data-app=web]")
    web.locator("[data-sync=Synced]").wait_for()  # automated: synced by itself
    page.locator(".tile[data-app=api] [data-sync=OutOfSync]").wait_for()
    page.locator("#counts", has_text="2 of 2 applications").wait_for()
    page.locator("#counts", has_text="OutOfSync 1").wait_for()
    screenshot(page, "applications-tiles")

    page.get_by_label("OutOfSync").check()
    page.locator("#counts", has_text="1 of 2 applications").wait_for()
    assert page.locator(".tile").count() == 1 and page.locator(".tile[data-app=api]").is_visible()
    page.get_by_role("button", name="Clear filters").click()
    page.get_by_label("Search applications by name").fill("we")
    page.locator("#counts", has_text="1 of 2 applications").wait_for()
    assert page.locator(".tile[data-app=web]").is_visible()
    page.get_by_label("Search applications by name").fill("")
    page.get_by_label("backend").check()  # namespace facet
    page.locator("#counts", has_text="1 of 2 applications").wait_for()
    page.get_by_role("button", name="Clear filters").click()

    page.get_by_role("button", name="List", exact=True).click()
    page.locator("table.apps-table tr[data-app=api]").wait_for()
    screenshot(page, "applications-list")
    # Phone width: one column, nothing wider than the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("table.apps-table tr[data-app=web]").wait_for()
    too_wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
          .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
          .map((el) => el.tagName + '.' + el.className)"""
    )
    assert too_wide == [], too_wide
    screenshot(page, "applications-phone")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("button", name="Tiles").click()

    web.click()
    page.wait_for_url("**/applications/web")
    tree = page.locator("svg.tree")
    for kind in ("Application", "Deployment", "ReplicaSet", "Pod"):
        tree.locator(f".node[data-kind={kind}]").first.wait_for()
    assert tree.locator(".node[data-kind=Pod]").count() == 2
    # Every node is drawn inside the graph (none clipped off its bottom).
    box = tree.bounding_box()
    for node in tree.locator(".node").all():
        inner = node.bounding_box()
        assert inner is not None and box is not None
        assert inner["y"] + inner["height"] <= box["y"] + box["height"] + 1, (inner, box)
    page.locator("[data-fact='Sync policy']", has_text="Automated").wait_for()
    page.locator("[data-fact='Commit']", has_text="first release of web and api").wait_for()
    screenshot(page, "application")
    # At a phone's width the page fits; only the graph scrolls sideways, inside its box.
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("button", name="Sync", exact=True).wait_for()
    too_wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
          .filter((el) => !el.closest('.tree-scroll') && el.getBoundingClientRect().right > window.innerWidth + 1)
          .map((el) => el.tagName + '.' + el.className)"""
    )
    assert too_wide == [], too_wide
    screenshot(page, "application-phone")


def test_kubectl_scale_shows_out_of_sync_then_self_heal_without_reload(env: WebEnv, page: Any) -> None:
    _admin(page, env, "/applications/web")
    status = page.locator("#app-status")
    status.locator("[data-sync=Synced]").wait_for()
    # Every sync status the page shows, however briefly: self-heal may undo the drift quickly.
    page.evaluate(
        """() => {
          window.seenSync = [];
          window.notReloaded = true;
          const record = () => {
            for (const el of document.querySelectorAll('#app-status [data-sync]')) window.seenSync.push(el.dataset.sync);
          };
          new MutationObserver(record).observe(document.body, {subtree: true, childList: true, attributes: true});
        }"""
    )
    scaled = env.kubectl("-n", "shop", "scale", "deploy", "web", "--replicas=5")
    assert scaled.returncode == 0, scaled.stderr
    wait_js(page, "window.seenSync.includes('OutOfSync')")
    wait_js(page, "window.seenSync.lastIndexOf('Synced') > window.seenSync.indexOf('OutOfSync')")
    status.locator("[data-sync=Synced]").wait_for()
    assert page.evaluate("window.notReloaded") is True
    assert _replicas(env, "shop", "web") == 2


def test_sync_from_the_dialog_then_diff_and_rollback(env: WebEnv, page: Any) -> None:
    _admin(page, env, "/applications/api")
    status = page.locator("#app-status")
    status.locator("[data-sync=OutOfSync]").wait_for()
    page.get_by_role("button", name="Sync", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Revision").wait_for()
    page.keyboard.press("Escape")  # a dialog closes on Escape
    dialog.wait_for(state="detached")
    page.get_by_role("button", name="Sync", exact=True).click()
    dialog.get_by_label("Prune").check()
    screenshot(page, "sync-dialog")
    dialog.get_by_role("button", name="Synchronize").click()
    status.locator("[data-sync=Synced]").wait_for()
    status.locator("[data-health=Healthy]").wait_for()
    assert _replicas(env, "backend", "api") == 2

    # A new commit: the refresh shows the drift, the Deployment's diff says what.
    env.repo.commit({"api/deploy.yaml": deployment("api", replicas=3)}, message="api: three replicas")
    page.get_by_role("button", name="Refresh", exact=True).click()
    status.locator("[data-sync=OutOfSync]").wait_for()
    page.locator("svg.tree .node[data-kind=Deployment]").click()
    page.get_by_role("tab", name="Diff").click()
    diff = page.locator("pre.diff")
    diff.locator(".del", has_text="replicas: 2").wait_for()
    diff.locator(".add", has_text="replicas: 3").wait_for()
    page.get_by_role("tab", name="Desired manifest").click()
    page.locator("pre[data-manifest=desired]", has_text="replicas: 3").wait_for()
    page.get_by_role("tab", name="Live manifest").click()
    page.locator("pre[data-manifest=live]", has_text='"replicas": 2').wait_for()
    page.get_by_role("tab", name="Diff").click()
    diff.wait_for()
    screenshot(page, "application-diff")

    page.get_by_role("button", name="Sync", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Synchronize").click()
    status.locator("[data-sync=Synced]").wait_for()
    assert _replicas(env, "backend", "api") == 3

    # Rollback to the first deployment (two replicas) from the history dialog.
    page.get_by_role("button", name="History and rollback").click()
    history = page.get_by_role("dialog")
    history.locator("tr[data-history]").nth(1).wait_for()
    screenshot(page, "history")
    first = history.locator("tr[data-history]").last
    first.get_by_role("button", name="Rollback").click()
    history.wait_for(state="detached")
    page.locator("[data-fact='Last operation']", has_text="Succeeded").wait_for()
    deadline_replicas = [_replicas(env, "backend", "api")]
    for _ in range(100):
        if deadline_replicas[-1] == 2:
            break
        page.wait_for_timeout(200)
        deadline_replicas.append(_replicas(env, "backend", "api"))
    assert deadline_replicas[-1] == 2, deadline_replicas


def test_logs_stream_of_a_pod(env: WebEnv, page: Any) -> None:
    _admin(page, env, "/applications/web")
    pod = page.locator("svg.tree .node[data-kind=Pod]").first
    pod.focus()
    page.keyboard.press("Enter")  # tree nodes are keyboard buttons
    page.get_by_role("tab", name="Logs").click()
    page.locator("pre[data-logs]", has_text="sandbox: container web is running").wait_for()
    screenshot(page, "pod-panel")
    page.keyboard.press("Escape")  # closes the resource panel
    page.locator(".resource-panel").wait_for(state="hidden")

    # A resource action: restart the Deployment (its pod template gets a restartedAt annotation).
    page.locator("svg.tree .node[data-kind=Deployment]").click()
    page.get_by_role("tab", name="Actions").click()
    page.locator("button[data-action=restart]").click()
    page.locator("#toast", has_text="restart: done").wait_for()
    live = json.loads(env.kubectl("-n", "shop", "get", "deploy", "web", "-o", "json").stdout)
    assert "kubectl.kubernetes.io/restartedAt" in live["spec"]["template"]["metadata"].get("annotations", {})


def test_a_read_only_user_sees_no_sync_and_a_forged_call_is_refused(env: WebEnv, page: Any) -> None:
    log_in(page, env, "viewer", VIEWER_PASSWORD, "/applications/api")
    page.get_by_role("button", name="Refresh", exact=True).wait_for()
    page.locator("svg.tree .node[data-kind=Deployment]").wait_for()
    assert page.get_by_role("button", name="Sync", exact=True).count() == 0
    assert page.get_by_role("button", name="Delete").count() == 0
    screenshot(page, "read-only")
    forged = page.evaluate(
        """async () => {
          const csrf = document.cookie.split('; ').find((c) => c.startsWith('gitopsd.csrf=')).split('=')[1];
          const r = await fetch('/api/v1/applications/api/sync', {method: 'POST',
            headers: {'X-CSRF-Token': csrf, 'Content-Type': 'application/json'}, body: '{}'});
          return [r.status, (await r.json()).message];
        }"""
    )
    assert forged[0] == 403, forged
    assert "permission denied" in forged[1].lower(), forged


def test_a_state_changing_call_without_the_csrf_header_is_refused(env: WebEnv, page: Any) -> None:
    _admin(page, env)
    refused = page.evaluate(
        """async () => {
          const r = await fetch('/api/v1/applications/api/sync', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: '{}'});
          return [r.status, (await r.json()).message];
        }"""
    )
    assert refused[0] == 403 and "missing CSRF token" in refused[1], refused
    # Logging out ends the session: the next call is 401 and the page asks to log in.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    status = page.evaluate("async () => (await fetch('/api/v1/applications')).status")
    assert status == 401


def test_delete_an_application_from_the_dialog_with_cascade(env: WebEnv, page: Any) -> None:
    _admin(page, env, "/applications/api")
    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("api")
    assert dialog.get_by_label("Cascade").is_checked()
    dialog.get_by_role("button", name="Delete").click()
    page.wait_for_url("**/applications")
    page.locator(".tile[data-app=web]").wait_for()
    page.locator(".tile[data-app=api]").wait_for(state="detached")
    for _ in range(150):
        if _replicas(env, "backend", "api") == -1:
            break
        page.wait_for_timeout(200)
    assert _replicas(env, "backend", "api") == -1, "the cascade left the Deployment"
