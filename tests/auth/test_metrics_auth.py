"""GET /metrics names every application: with metrics.auth it needs a token of an account that may
get every application (users and project-role tokens that see less are refused)."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest
from authhelpers import ScannedCLI, SecretScan, login, set_password, start_daemon
from fixtures.daemon import CLI

from gitopsd.server.metrics_access import is_loopback, needs_token

ROOT = Path(__file__).resolve().parents[2]


def _metrics(address: str, token: str | None) -> tuple[int, str]:
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request(
            "GET", "/metrics", headers={"Authorization": f"Bearer {token}"} if token is not None else {}
        )
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("mode", "host", "expected"),
    [
        ("non-loopback", "127.0.0.1", False),
        ("non-loopback", "::1", False),
        ("non-loopback", "::ffff:127.0.0.1", False),
        ("non-loopback", "10.1.2.3", True),
        ("non-loopback", "2001:db8::1", True),
        ("non-loopback", "not-an-address", True),
        ("always", "127.0.0.1", True),
        ("never", "10.1.2.3", False),
    ],
)
def test_who_needs_a_token(mode: str, host: str, expected: bool) -> None:
    assert needs_token(mode, host) is expected
    assert is_loopback("127.0.0.2") and not is_loopback("192.168.1.1")


def test_metrics_need_a_token_that_sees_every_application(tmp_path: Path, scan: SecretScan) -> None:
    daemon = start_daemon(
        tmp_path,
        env={
            "GITOPSD_METRICS_AUTH": "always",
            "GITOPSD_RBAC_POLICY": "g, viewer, role:readonly\n"
            "p, alice, applications, get, */*, allow\n"
            "p, alice, applications, get, production/*, deny",
        },
    )
    scan.logs.append(daemon.log_path)
    scan.secret(daemon.token)
    cli = ScannedCLI(CLI(daemon.address, tmp_path), scan)
    try:
        assert (
            cli("proj", "create", "-f", str(ROOT / "examples/apps/production-project.yaml")).returncode == 0
        )
        app = tmp_path / "mon-app.yaml"
        app.write_text(
            (ROOT / "examples/apps/mon-app.yaml")
            .read_text()
            .replace("project: default", "project: production")
        )
        created = cli("app", "create", "-f", str(app))
        assert created.returncode == 0, created.stderr
        for account, password in (("viewer", "viewer-password-1"), ("alice", "alice-password-1")):
            set_password(daemon, account, scan.secret(password))
        viewer = scan.secret(login(daemon, "viewer", "viewer-password-1"))
        alice = scan.secret(login(daemon, "alice", "alice-password-1"))
        role = cli(
            "proj",
            "role",
            "create",
            "production",
            "ci",
            "--policy",
            "p, proj:production:ci, applications, get, production/*, allow",
        )
        assert role.returncode == 0, role.stderr
        issued = cli.token_output("proj", "role", "create-token", "production", "ci")
        project_token = scan.secret(issued.stdout.strip())

        address = daemon.http_address
        code, body = _metrics(address, None)
        assert code == 401 and "a token is required" in body
        code, body = _metrics(address, "not-a-token")
        assert code == 401
        for token in (daemon.token, viewer):
            code, body = _metrics(address, token)
            assert code == 200 and 'gitopsd_app_sync_status{name="mon-app",project="production"' in body, body
        for token, subject in ((alice, "alice"), (project_token, "proj:production:ci")):
            code, body = _metrics(address, token)
            assert code == 403 and f"{subject} may not get every application" in body
            scan.seen(f"metrics as {subject}", body)
        assert _metrics(address, None)[0] == 401  # /healthz stays open, /metrics does not
    finally:
        daemon.stop()
