"""Helpers of the JSON API tests: an httpx client on a running daemon's HTTP listener."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
from fixtures.daemon import DaemonProcess

# viewer holds role:readonly; the admin account sets its password through the API itself.
AUTH_ENV = {
    "GITOPSD_AUTH_ACCOUNTS": "{viewer: login}",
    "GITOPSD_RBAC_POLICY": "g, viewer, role:readonly",
}
VIEWER_PASSWORD = "viewer-pass-1234"


def start_daemon(tmp_path: Path, env: dict[str, str] | None = None, name: str = "data") -> DaemonProcess:
    return DaemonProcess(
        data_dir=tmp_path / name, log_path=tmp_path / f"{name}.log", env={**AUTH_ENV, **(env or {})}
    ).start()


def client(daemon: DaemonProcess, token: str | None = None, https: bool = False) -> httpx.Client:
    """A client of the daemon's HTTP listener sending `token` as a bearer token (default admin's;
    "" for none)."""
    token = daemon.token if token is None else token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    verify: ssl.SSLContext | bool = False
    if https:
        verify = ssl.create_default_context(cafile=str(daemon.cert_path))
    scheme = "https" if https else "http"
    return httpx.Client(
        base_url=f"{scheme}://{daemon.http_address}", headers=headers, timeout=30, verify=verify
    )


def app_doc(name: str, labels: dict[str, str] | None = None, project: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, **({"labels": labels} if labels else {})},
        "spec": {
            "project": project,
            "source": {
                "repoURL": "https://git.example.invalid/apps.git",
                "path": name,
                "targetRevision": "main",
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"},
        },
    }


def set_viewer_password(daemon: DaemonProcess) -> None:
    with client(daemon) as http:
        reply = http.put(
            "/api/v1/account/password",
            json={
                "name": "viewer",
                "currentPassword": daemon.initial_password(),
                "newPassword": VIEWER_PASSWORD,
            },
        )
        assert reply.status_code == 200, reply.text


def login(daemon: DaemonProcess, username: str, password: str, https: bool = False) -> httpx.Response:
    with client(daemon, token="", https=https) as http:
        return http.post("/api/v1/session", json={"username": username, "password": password})
