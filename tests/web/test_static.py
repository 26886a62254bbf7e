"""The dashboard's static side, with a plain HTTP client: the page and its assets ship in the
package and are served at `/` with a Content-Security-Policy (no inline script or style, no
framing), nosniff and no referrer; nothing outside gitopsd/web is served; and `gitopsd app get`
prints the application's dashboard URL (http.public_url when set), as `argocd app get` does."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fixtures.daemon import CLI, DaemonProcess

CSP = re.compile(r"script-src 'self';.*frame-ancestors 'none'")


def _start(tmp_path: Path, env: dict[str, str] | None = None) -> DaemonProcess:
    return DaemonProcess(data_dir=tmp_path / "data", log_path=tmp_path / "daemon.log", env=env or {}).start()


def _create(cli: CLI, tmp_path: Path, name: str) -> None:
    manifest = tmp_path / f"{name}.yaml"
    manifest.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        f"metadata: {{name: {name}}}\n"
        "spec:\n  project: default\n"
        "  source: {repoURL: 'https://git.example.invalid/apps.git', path: web, targetRevision: main}\n"
        "  destination: {server: 'https://kubernetes.default.svc', namespace: default}\n"
    )
    created = cli("app", "create", "-f", str(manifest))
    assert created.returncode == 0, created.stderr


def test_pages_and_assets_are_served_with_a_strict_policy(tmp_path: Path) -> None:
    daemon = _start(tmp_path)
    try:
        with httpx.Client(base_url=f"http://{daemon.http_address}", timeout=30) as http:
            for path in ("/", "/login", "/applications", "/applications/guestbook"):
                page = http.get(path)
                assert page.status_code == 200, path
                assert page.headers["content-type"].startswith("text/html")
                assert '<script type="module" src="/assets/js/main.js">' in page.text
                assert CSP.search(page.headers["content-security-policy"]), page.headers
                assert "unsafe-inline" not in page.headers["content-security-policy"]
                assert page.headers["x-content-type-options"] == "nosniff"
                assert page.headers["referrer-policy"] == "no-referrer"
                # No credential in a page: it is the same for everyone, before and after login.
                assert daemon.initial_password() not in page.text and daemon.token not in page.text
            html = http.get("/").text
            for src in re.findall(r'(?:src|href)="(/assets/[^"]+)"', html):
                asset = http.get(src)
                assert asset.status_code == 200, src
                assert "content-security-policy" in asset.headers
            script = http.get("/assets/js/main.js")
            assert script.headers["content-type"].startswith("text/javascript")
            # Every module the entry imports is there (no CDN, no build step).
            for module in re.findall(r'from "\./([a-z]+\.js)"', script.text):
                assert http.get(f"/assets/js/{module}").status_code == 200, module
            for bad in (
                "/assets/../server/dashboard.py",
                "/assets/%2e%2e/__init__.py",
                "/assets/__init__.py",
                "/assets/js/.hidden.js",
                "/assets/nope.js",
            ):
                refused = http.get(bad)
                assert refused.status_code == 404, bad
                assert "import" not in refused.text
            assert http.head("/assets/style.css").status_code == 200
    finally:
        daemon.stop()


@pytest.mark.parametrize("public_url", ["", "https://gitops.example.com/"])
def test_app_get_prints_the_dashboard_url(tmp_path: Path, public_url: str) -> None:
    env = {"GITOPSD_HTTP_PUBLIC_URL": public_url} if public_url else {}
    daemon = _start(tmp_path, env)
    try:
        cli = CLI(daemon.address, tmp_path)
        _create(cli, tmp_path, "guestbook")
        got = cli("app", "get", "guestbook")
        assert got.returncode == 0, got.stderr
        base = public_url.rstrip("/") or f"http://{daemon.http_address}"
        assert re.search(rf"^URL:\s+{re.escape(base)}/applications/guestbook$", got.stdout, re.M), got.stdout
    finally:
        daemon.stop()


def test_a_public_url_that_is_not_one_is_refused(tmp_path: Path) -> None:
    daemon = DaemonProcess(
        data_dir=tmp_path / "data",
        log_path=tmp_path / "daemon.log",
        env={"GITOPSD_HTTP_PUBLIC_URL": "javascript:alert(1)"},
        login=False,
    )
    try:
        with pytest.raises(RuntimeError, match="http.public_url"):
            daemon.start(timeout=20)
    finally:
        if daemon.proc is not None:
            daemon.stop()
