"""The HTTP listener carries tokens now: with `http.tls` it serves HTTPS with the daemon's own
certificate (the one gRPC serves) and marks the session cookie Secure; plaintext off loopback is
refused at start, as for gRPC."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest
from apihelpers import client, login, start_daemon
from fixtures.daemon import gitopsd_bin


def test_https_with_the_daemons_certificate_and_a_secure_cookie(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path, env={"GITOPSD_HTTP_TLS": "true"})
    try:
        logged = login(daemon, "admin", daemon.initial_password(), https=True)
        assert logged.status_code == 200
        cookies = logged.headers.get_list("set-cookie")
        assert all("Secure" in c for c in cookies) and len(cookies) == 2
        with client(daemon, https=True) as http:
            assert http.get("/api/v1/applications").json() == {"items": []}
            assert http.get("/healthz").text == "ok\n"
        with pytest.raises(httpx.HTTPError):  # not spoken in clear
            httpx.get(f"http://{daemon.http_address}/healthz", timeout=10)
    finally:
        daemon.stop()


def test_plaintext_http_off_loopback_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [gitopsd_bin(), "serve", "--data-dir", str(tmp_path / "data"), "--listen", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GITOPSD_HTTP_LISTEN": "0.0.0.0:0"},
    )
    assert result.returncode == 1
    assert "refusing to serve plaintext HTTP on 0.0.0.0:0" in result.stderr
    assert "http.tls: true" in result.stderr
