"""Benchmark: server dry runs per refresh of a Deployment + Service with ports (the engine against the sandbox).

A compare confirms fast-path differences with a server-side-apply dry run; one that reads server-filled
fields (a port's protocol, targetPort from port, canonical quantities) as drift pays a dry run per object on
every refresh. Cases:
  1. synced as written (ports without protocol), refreshed;
  2. Git stops spelling out what the server defaults (protocol, targetPort, terminationMessagePath);
  3. the cluster holds the quantities canonical (Git 1000m/2048Mi/0.5, live 1/2Gi/500m), as a real server does.
Run: .venv/bin/python bench/compare_dry_runs.py [--refreshes N]
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path
from typing import Any

from gitopsd.engine import SyncOptions, compare_app, sync_app
from gitopsd.kube.client import KubeClient
from gitopsd.kube.credentials import from_kubeconfig
from gitopsd.sandbox import SandboxCluster

NS = "bench-dry-runs"


def manifests(explicit_defaults: bool) -> list[dict[str, Any]]:
    port: dict[str, Any] = {"containerPort": 80}
    service_port: dict[str, Any] = {"port": 80}
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
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [service_port]},
        },
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refreshes", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitopsd-bench-") as tmp, SandboxCluster() as sandbox:
        kubeconfig = sandbox.write_kubeconfig(Path(tmp) / "kubeconfig")
        client = KubeClient(from_kubeconfig(kubeconfig, "sandbox"), Path(tmp) / "cache", timeout=30)

        def sync(objs: list[dict[str, Any]], ns: str = NS) -> None:
            comparison = compare_app(client, objs, app="bench", namespace=ns)
            sync_app(client, comparison.result, SyncOptions(create_namespace=True, namespace=ns))

        def refreshes(objs: list[dict[str, Any]], ns: str = NS) -> tuple[float, str, float]:
            dry_runs = 0
            status = ""
            start = time.perf_counter()
            for _ in range(args.refreshes):
                result = compare_app(client, copy.deepcopy(objs), app="bench", namespace=ns).result
                dry_runs += result.dry_runs
                status = result.status
            return dry_runs / args.refreshes, status, (time.perf_counter() - start) / args.refreshes

        rows = []
        sync(manifests(explicit_defaults=False))
        rows.append(("as written", *refreshes(manifests(explicit_defaults=False))))
        # Applied once with the defaults spelled out (gitopsd owns them), then Git drops them.
        sync(manifests(explicit_defaults=True), NS + "-2")
        rows.append(("Git drops server defaults", *refreshes(manifests(explicit_defaults=False), NS + "-2")))
        live = client.get("apps/v1", "Deployment", "web", NS)
        live["spec"]["template"]["spec"]["containers"][0]["resources"] = {
            "limits": {"cpu": "1", "memory": "2Gi"},
            "requests": {"cpu": "500m"},
        }
        live["metadata"].pop("managedFields", None)
        client.replace(live, field_manager="kube-apiserver-canonical")
        rows.append(("live quantities canonical", *refreshes(manifests(explicit_defaults=False))))
        client.close()
    print(f"\n{args.refreshes} refreshes per case of a Deployment + Service with ports")
    print(f"{'case':<28} {'dry runs/refresh':>17} {'status':>10} {'ms/refresh':>11}")
    for name, per_refresh, status, seconds in rows:
        print(f"{name:<28} {per_refresh:>17.1f} {status:>10} {seconds * 1000:>11.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
