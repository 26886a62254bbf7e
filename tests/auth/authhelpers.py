"""Helpers shared by the auth tests: a daemon with extra accounts, logins, the secret scan, and the
Application/AppProject documents the RBAC tests send (tests/repos uses those too)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from fixtures.daemon import CLI, DaemonProcess, gitopsd_bin

from gitopsd.api.gitopsd.v1 import session_pb2, session_pb2_grpc

# viewer holds role:readonly; alice has no role at all; ci-bot may only hold API keys.
AUTH_ENV = {
    "GITOPSD_AUTH_ACCOUNTS": "{viewer: 'login, apiKey', alice: login, ci-bot: apiKey}",
    "GITOPSD_RBAC_POLICY": "g, viewer, role:readonly",
}


# The repository and the accounts of the tests that check application documents against RBAC.
APPS_REPO = "https://git.example.com/team/apps.git"
APP_POLICY = [
    # dev may do anything to applications of project default, nothing elsewhere.
    "p, role:dev, applications, *, default/*, allow",
    "g, dev, role:dev",
    # creator may create (not update) applications of project default.
    "p, creator, applications, create, default/*, allow",
    "p, creator, applications, get, default/*, allow",
]
APP_PASSWORDS = {"dev": "dev-password-1", "creator": "creator-password-1"}
KUBE_SVC = "https://kubernetes.default.svc"


def app_doc(
    name: str,
    project: str,
    namespace: str,
    *,
    repo: str = APPS_REPO,
    path: str = "guestbook",
    revision: str = "HEAD",
) -> dict[str, Any]:
    """An Application manifest deploying `path` of `repo` to `namespace` of the daemon's own cluster."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "project": project,
            "source": {"repoURL": repo, "path": path, "targetRevision": revision},
            "destination": {"server": KUBE_SVC, "namespace": namespace},
        },
    }


def project_doc(name: str, repos: list[str], namespace: str = "*", server: str = KUBE_SVC) -> dict[str, Any]:
    """An AppProject manifest allowing `repos` and one destination."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name},
        "spec": {"sourceRepos": repos, "destinations": [{"server": server, "namespace": namespace}]},
    }


def start_daemon(tmp_path: Path, env: dict[str, str] | None = None, name: str = "data") -> DaemonProcess:
    return DaemonProcess(
        data_dir=tmp_path / name, log_path=tmp_path / f"{name}.log", env={**AUTH_ENV, **(env or {})}
    ).start()


def set_password(daemon: DaemonProcess, account: str, password: str) -> None:
    """As admin (proving it with the initial password), set another account's password."""
    with daemon.channel() as channel:
        session_pb2_grpc.AccountServiceStub(channel).UpdatePassword(
            session_pb2.UpdatePasswordRequest(
                name=account, current_password=daemon.initial_password(), new_password=password
            ),
            timeout=10,
        )


def start_policy_daemon(tmp_path: Path, policy: str, passwords: dict[str, str]) -> DaemonProcess:
    """A daemon whose only extra accounts are `passwords`' (login, password set) under `policy`;
    no reconcile pass during a test (an hour apart)."""
    proc = DaemonProcess(
        data_dir=tmp_path / "data",
        log_path=tmp_path / "daemon.log",
        env={
            "GITOPSD_AUTH_ACCOUNTS": "{" + ", ".join(f"{name}: login" for name in passwords) + "}",
            "GITOPSD_RBAC_POLICY": policy,
            "GITOPSD_RECONCILE_INTERVAL": "3600",
        },
    ).start()
    try:
        for account, password in passwords.items():
            set_password(proc, account, password)
    except BaseException:
        proc.stop()
        raise
    return proc


def login(daemon: DaemonProcess, username: str, password: str) -> str:
    with daemon.channel(token="") as channel:
        return (
            session_pb2_grpc.SessionServiceStub(channel)
            .Create(session_pb2.CreateSessionRequest(username=username, password=password), timeout=30)
            .token
        )


def rpc_error(call, *args, **kwargs) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    try:
        call(*args, **kwargs)
    except grpc.RpcError as exc:
        return exc
    raise AssertionError(f"{call} succeeded")


@dataclass
class SecretScan:
    """Collects every secret a test creates and every text it sees; none may hold a secret."""

    secrets: set[str] = field(default_factory=set)
    texts: list[tuple[str, str]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def secret(self, value: str) -> str:
        assert len(value) >= 8
        self.secrets.add(value)
        return value

    def seen(self, where: str, text: str) -> None:
        self.texts.append((where, text))

    def error(self, where: str, err: grpc.RpcError) -> grpc.RpcError:
        self.seen(where, f"{err.code()} {err.details()}")
        return err

    def check(self) -> None:
        texts = list(self.texts)
        for log in self.logs:
            if log.exists():
                texts.append((str(log), log.read_text(errors="replace")))
        assert self.secrets, "the scan had no secret to look for"
        assert texts, "the scan had nothing to read"
        for where, text in texts:
            for secret in self.secrets:
                assert secret not in text, f"a secret appears in {where}"


@dataclass
class ScannedCLI:
    """The CLI fixture, recording every stdout and stderr for the secret scan."""

    cli: CLI
    scan: SecretScan

    def __call__(self, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
        result = self.cli(*args, **kwargs)
        self.scan.seen(f"gitopsd {' '.join(args[:3])} stdout", result.stdout)
        self.scan.seen(f"gitopsd {' '.join(args[:3])} stderr", result.stderr)
        return result

    def token_output(self, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
        """A command whose stdout is a token handed out on purpose: only stderr is scanned."""
        result = self.cli(*args, **kwargs)
        self.scan.seen(f"gitopsd {' '.join(args[:3])} stderr", result.stderr)
        return result


def run_local(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [gitopsd_bin(), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=60
    )
