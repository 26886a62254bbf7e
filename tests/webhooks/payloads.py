"""Webhook requests as each Git provider sends them (headers, JSON body, signature), and a raw
HTTP client for the cases a well-behaved client library cannot produce."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

PROVIDERS = ("github", "gitlab", "bitbucket", "bitbucketserver", "gitea", "gogs", "azuredevops")

# The environment variable that configures each provider's secret (Azure DevOps: a password,
# with GITOPSD_WEBHOOK_AZUREDEVOPS_USERNAME set too).
SECRET_ENV = {
    "github": "GITOPSD_WEBHOOK_GITHUB_SECRET",
    "gitlab": "GITOPSD_WEBHOOK_GITLAB_SECRET",
    "bitbucket": "GITOPSD_WEBHOOK_BITBUCKET_UUID",
    "bitbucketserver": "GITOPSD_WEBHOOK_BITBUCKETSERVER_SECRET",
    "gitea": "GITOPSD_WEBHOOK_GOGS_SECRET",
    "gogs": "GITOPSD_WEBHOOK_GOGS_SECRET",
    "azuredevops": "GITOPSD_WEBHOOK_AZUREDEVOPS_PASSWORD",
}
AZURE_USER = "gitopsd-hook"


@dataclass(frozen=True)
class Repo:
    """How a provider names the repository NAME served on 127.0.0.1 (any scheme, same host/path)."""

    name: str
    host: str = "127.0.0.1"

    @property
    def web(self) -> str:
        return f"https://{self.host}/{self.name}"

    @property
    def https(self) -> str:
        return f"https://{self.host}/{self.name}.git"

    @property
    def scp(self) -> str:
        return f"git@{self.host}:{self.name}.git"

    @property
    def ssh(self) -> str:
        return f"ssh://git@{self.host}:7999/{self.name}.git"


def _hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def push_body(provider: str, repo: Repo, ref: str, default_branch: str = "main") -> dict[str, Any]:
    """The JSON body of a push of `ref` (refs/heads/X or refs/tags/X) as `provider` sends it."""
    kind, name = (
        ("tag", ref.removeprefix("refs/tags/"))
        if ref.startswith("refs/tags/")
        else (
            "branch",
            ref.removeprefix("refs/heads/"),
        )
    )
    if provider in ("github", "gitea", "gogs"):
        return {
            "ref": ref,
            "before": "0" * 40,
            "after": "1" * 40,
            "repository": {
                "name": repo.name,
                "full_name": f"org/{repo.name}",
                "html_url": repo.web,
                "clone_url": repo.https,
                "ssh_url": repo.scp,
                "default_branch": default_branch,
            },
            "pusher": {"name": "dev"},
            "commits": [],
        }
    if provider == "gitlab":
        return {
            "object_kind": "tag_push" if kind == "tag" else "push",
            "event_name": "tag_push" if kind == "tag" else "push",
            "ref": ref,
            "project": {
                "name": repo.name,
                "web_url": repo.web,
                "git_ssh_url": repo.scp,
                "git_http_url": repo.https,
                "default_branch": default_branch,
            },
            "repository": {"name": repo.name, "url": repo.scp, "homepage": repo.web},
            "commits": [],
        }
    if provider == "bitbucket":
        return {
            "repository": {
                "full_name": f"org/{repo.name}",
                "links": {"html": {"href": repo.web}},
                "mainbranch": {"name": default_branch},
            },
            "push": {"changes": [{"new": {"type": kind, "name": name}, "old": None}]},
        }
    if provider == "bitbucketserver":
        return {
            "eventKey": "repo:refs_changed",
            "repository": {
                "slug": repo.name,
                "links": {
                    "clone": [
                        {"href": f"https://{repo.host}/scm/proj/{repo.name}.git", "name": "http"},
                        {"href": repo.ssh, "name": "ssh"},
                    ]
                },
            },
            "changes": [
                {
                    "ref": {"id": ref, "displayId": name, "type": kind.upper()},
                    "refId": ref,
                    "fromHash": "0" * 40,
                    "toHash": "1" * 40,
                    "type": "UPDATE",
                }
            ],
        }
    if provider == "azuredevops":
        return {
            "eventType": "git.push",
            "resource": {
                "refUpdates": [{"name": ref, "oldObjectId": "0" * 40, "newObjectId": "1" * 40}],
                "repository": {
                    "name": repo.name,
                    "remoteUrl": repo.https,
                    "sshUrl": repo.scp,
                    "defaultBranch": f"refs/heads/{default_branch}",
                },
            },
        }
    raise ValueError(provider)


def event_headers(provider: str, event: str = "push") -> dict[str, str]:
    """The event headers of `provider` for a push (or `event`: "ping" and the like)."""
    push = event == "push"
    if provider == "github":
        return {"X-GitHub-Event": event, "X-GitHub-Delivery": "d1"}
    if provider == "gitlab":
        return {"X-Gitlab-Event": "Push Hook" if push else event}
    if provider == "bitbucket":
        return {"X-Event-Key": "repo:push" if push else event, "X-Request-UUID": "r1"}
    if provider == "bitbucketserver":
        return {"X-Event-Key": "repo:refs_changed" if push else event, "X-Request-Id": "r1"}
    if provider == "gitea":
        # Gitea also sends GitHub's and Gogs' event headers.
        return {"X-Gitea-Event": event, "X-Gogs-Event": event, "X-GitHub-Event": event}
    if provider == "gogs":
        return {"X-Gogs-Event": event}
    if provider == "azuredevops":
        return {"X-Vss-ActivityId": "a1"}
    raise ValueError(provider)


def auth_headers(provider: str, secret: str | None, body: bytes) -> dict[str, str]:
    """What proves the sender knows `secret` (None: nothing)."""
    if secret is None:
        return {}
    if provider == "github":
        return {"X-Hub-Signature-256": "sha256=" + _hex(secret, body)}
    if provider == "gitlab":
        return {"X-Gitlab-Token": secret}
    if provider == "bitbucket":
        return {"X-Hook-UUID": secret}
    if provider == "bitbucketserver":
        return {"X-Hub-Signature": "sha256=" + _hex(secret, body)}
    if provider == "gitea":
        return {"X-Gitea-Signature": _hex(secret, body)}
    if provider == "gogs":
        return {"X-Gogs-Signature": _hex(secret, body)}
    if provider == "azuredevops":
        token = base64.b64encode(f"{AZURE_USER}:{secret}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    raise ValueError(provider)


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


def post(address: str, headers: dict[str, str], body: bytes, path: str = "/api/webhook") -> Reply:
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    try:
        payload = json.loads(data) if data else {}
    except ValueError:
        payload = {"raw": data.decode(errors="replace")}
    return Reply(resp.status, payload)


def get(address: str, path: str) -> tuple[int, str]:
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def raw_exchange(
    address: str, head: bytes, body_parts: Iterable[bytes] = (), half_close: bool = False
) -> int:
    """Sends a hand-made request (the body from a thread, as a client that will not stop) and
    returns the status of the answer; the sender's errors (the server closing) are expected."""
    host, _, port = address.rpartition(":")
    sock = socket.create_connection((host, int(port)), timeout=30)

    def send() -> None:
        try:
            sock.sendall(head)
            for part in body_parts:
                sock.sendall(part)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered and closed: what a too-large body gets

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        sender.join(timeout=10)
        sock.close()
    status_line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = status_line.split()
    assert len(parts) >= 2 and parts[0].startswith("HTTP/"), f"no HTTP answer: {data[:200]!r}"
    return int(parts[1])
