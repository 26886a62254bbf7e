"""Manifests and helpers shared by the reconcile tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from fixtures.daemon import CLI, wait_for


def deployment(
    name: str = "web", replicas: int = 2, image: str = "nginx:1.25", annotations: dict[str, str] | None = None
) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, **({"annotations": annotations} if annotations else {})},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": name, "image": image}]},
                },
            },
        }
    )


def configmap(
    name: str, data: dict[str, str] | None = None, annotations: dict[str, str] | None = None
) -> str:
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {"k": "v"}}
    )


def job(name: str, annotations: dict[str, str]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "annotations": annotations},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "run", "image": "busybox"}]}
                },
            },
        }
    )


def presync_hook(name: str, seconds: int) -> str:
    """A PreSync hook Job the sandbox runs for `seconds`: it holds the sync operation that long."""
    return job(name, {"argocd.argoproj.io/hook": "PreSync", "sandbox.gitopsd.io/job-duration": str(seconds)})


def application(
    name: str, repo: str, path: str, namespace: str, automated: bool = False, **policy: Any
) -> dict[str, Any]:
    app: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo, "targetRevision": "main", "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
        },
    }
    if automated:
        app["spec"]["syncPolicy"]["automated"] = {
            "prune": policy.get("prune", True),
            "selfHeal": policy.get("self_heal", True),
        }
    return app


def create(cli: CLI, tmp: Path, app: dict[str, Any]) -> None:
    path = tmp / f"{app['metadata']['name']}.yaml"
    path.write_text(yaml.safe_dump(app))
    result = cli("app", "create", "-f", str(path))
    assert result.returncode == 0, result.stderr


def status(cli: CLI, name: str, refresh: bool = False) -> dict[str, Any]:
    result = cli("app", "get", name, "-o", "json", *(["--refresh"] if refresh else []))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout).get("status", {})


def create_compared(cli: CLI, tmp: Path, app: dict[str, Any]) -> dict[str, Any]:
    """Create the application and wait for its first comparison to find it OutOfSync; its status then."""
    create(cli, tmp, app)
    name = app["metadata"]["name"]
    return wait_for(
        lambda: (s := status(cli, name)).get("sync", {}).get("status") == "OutOfSync" and s,
        what=f"{name} compared",
    )
