"""Helpers of the ApplicationSet tests: documents, and reading what the daemon made of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from fixtures.daemon import CLI

IN_CLUSTER = "https://kubernetes.default.svc"


def appset(
    name: str, generators: list[dict[str, Any]], template: dict[str, Any], **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {"generators": generators, "template": template, **spec},
    }


def template(
    name: str, repo: str, path: str, namespace: str, server: str = IN_CLUSTER, **extra: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "project": "default",
        "source": {"repoURL": repo, "targetRevision": "main", "path": path},
        "destination": {"server": server, "namespace": namespace},
        **extra,
    }
    return {"metadata": {"name": name}, "spec": spec}


def create(cli: CLI, tmp: Path, doc: dict[str, Any], *flags: str) -> Any:
    path = tmp / f"{doc['metadata']['name']}-appset.yaml"
    path.write_text(yaml.safe_dump(doc))
    return cli("appset", "create", "-f", str(path), *flags)


def get(cli: CLI, name: str) -> dict[str, Any]:
    out = cli("appset", "get", name, "-o", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def conditions(cli: CLI, name: str) -> dict[str, tuple[str, str]]:
    return {
        c["type"]: (c["status"], c.get("message", "")) for c in get(cli, name)["status"].get("conditions", [])
    }


def apps(cli: CLI) -> dict[str, dict[str, Any]]:
    out = cli("app", "list", "-o", "json")
    assert out.returncode == 0, out.stderr
    return {a["metadata"]["name"]: a for a in json.loads(out.stdout)}


def github_push(http_address: str, clone_url: str, branch: str = "main") -> dict[str, Any]:
    """A GitHub push webhook for the repository at clone_url; returns the daemon's answer."""
    import http.client

    body = json.dumps(
        {"ref": f"refs/heads/{branch}", "repository": {"clone_url": clone_url, "default_branch": "main"}}
    )
    host, _, port = http_address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request(
            "POST",
            "/api/webhook",
            body=body,
            headers={"Content-Type": "application/json", "X-GitHub-Event": "push"},
        )
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        return json.loads(resp.read())  # type: ignore[no-any-return]
    finally:
        conn.close()


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n"
