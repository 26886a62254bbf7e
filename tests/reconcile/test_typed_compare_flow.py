"""Through the daemon against the sandbox: quantities stored canonical and server-filled port fields are not
drift, and a refresh of an app with ports costs no server dry run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, create, status

NS = "typed"


def web(explicit_defaults: bool) -> str:
    """A Deployment and a Service with ports; with ``explicit_defaults`` Git spells out what the server
    defaults (protocol, targetPort, terminationMessagePath)."""
    port: dict[str, Any] = {"containerPort": 80}
    service_port: dict[str, Any] = {"name": "http", "port": 80}
    container: dict[str, Any] = {
        "name": "web",
        "image": "nginx:1.27",
        "ports": [port],
        "resources": {"limits": {"cpu": "1000m", "memory": "2048Mi"}, "requests": {"cpu": 0.5}},
    }
    if explicit_defaults:
        port["protocol"] = "TCP"
        service_port.update(protocol="TCP", targetPort=80)
        container["terminationMessagePath"] = "/dev/termination-log"
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}},
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [service_port]},
    }
    return yaml.safe_dump_all([deployment, service])


def test_canonical_quantities_and_server_filled_ports_are_not_drift_and_cost_no_dry_run(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, sandbox, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("typed")
    repo.commit({"web/all.yaml": web(explicit_defaults=True)}, message="feat: web")
    create(cli, tmp_path, application("typed", repo.url, "web", NS))
    synced = cli("app", "sync", "typed")
    assert synced.returncode == 0, synced.stdout + synced.stderr

    # The cluster returns quantities canonical, as a real API server stores them (Git holds 1000m, 2048Mi, 0.5).
    patch = [
        {
            "op": "replace",
            "path": "/spec/template/spec/containers/0/resources",
            "value": {"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "500m"}},
        }
    ]
    patched = kubectl("-n", NS, "patch", "deploy", "web", "--type=json", "-p", json.dumps(patch))
    assert patched.returncode == 0, patched.stderr
    live = json.loads(kubectl("-n", NS, "get", "deploy", "web", "-o", "json").stdout)
    assert live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "1", "memory": "2Gi"}

    # Git stops spelling out the server's defaults: nothing an apply would change.
    repo.commit({"web/all.yaml": web(explicit_defaults=False)}, message="chore: drop defaults")

    dry_runs = sandbox.faults.add("dryRun=All", status=None, times=1_000_000, method="PATCH")
    for _ in range(3):
        st = status(cli, "typed", refresh=True)
        assert st["sync"]["status"] == "Synced", st["sync"].get("reason")
    assert {r["name"]: r["status"] for r in st["resources"]} == {"web": "Synced"}
    count = 1_000_000 - (dry_runs.times or 0)
    print(f"server dry runs over 3 refreshes of a Deployment+Service with ports: {count}")
    assert count == 0

    # A real change is still drift, named in canonical form.
    kubectl("-n", NS, "patch", "deploy", "web", "--type=json", "-p", json.dumps(
        [{"op": "replace", "path": "/spec/template/spec/containers/0/resources/limits/cpu", "value": "2"}]
    ))
    st = wait_for(
        lambda: (s := status(cli, "typed", refresh=True))["sync"]["status"] == "OutOfSync" and s, what="drift"
    )
    assert "resources.limits.cpu 2 → 1" in st["sync"]["reason"]
