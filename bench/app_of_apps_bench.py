"""Benchmark of app of apps (issue 12 item 5): a parent rendering N child Applications, beside the same N
applications created directly with `gitopsd apply -f` (what a user would script without app of apps).

A real sandbox cluster (in this process), a real `gitopsd serve`, a local git repository: directory
`children/` holds N Application documents (automated, one ConfigMap each under `c/I`).

Figures:
1. parent: from `app sync PARENT` to all N children Synced and Healthy; baseline: from `gitopsd apply -f` of
   the same N documents (renamed) to all of them Synced and Healthy;
2. a no-change refresh of the parent (render cache hit, N children compared from the store), mean of 10,
   beside a no-change refresh of one plain application with N ConfigMaps.

Run: .venv/bin/python bench/app_of_apps_bench.py [--children N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fixtures.daemon import CLI, DaemonProcess  # noqa: E402
from fixtures.gitrepos import GitRepos  # noqa: E402

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb  # noqa: E402
from gitopsd.api.gitopsd.v1 import application_pb2_grpc as appgrpc  # noqa: E402
from gitopsd.sandbox import SandboxCluster  # noqa: E402


def child(name: str, repo: str, path: str, namespace: str) -> dict[str, object]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo, "targetRevision": "main", "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
        },
    }


def configmap(i: int) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"}, "data": {"i": str(i)}})


def wait_all(stub: appgrpc.ApplicationServiceStub, names: set[str], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = {
            a.metadata.name
            for a in stub.List(apppb.ListApplicationsRequest(), timeout=60).items
            if a.status.sync.status == "Synced" and a.status.health.status == "Healthy"
        }
        if names <= done:
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out: {len(names - done)} applications not Synced and Healthy")


def refresh_mean(stub: appgrpc.ApplicationServiceStub, name: str, times: int = 10) -> float:
    stub.Get(apppb.GetApplicationRequest(name=name, refresh="normal"), timeout=120)  # warm
    started = time.monotonic()
    for _ in range(times):
        stub.Get(apppb.GetApplicationRequest(name=name, refresh="normal"), timeout=120)
    return (time.monotonic() - started) / times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=50)
    n = parser.parse_args().children
    work = Path(tempfile.mkdtemp(prefix="gitopsd-aoa-bench-"))
    with SandboxCluster(ready_delay=0.2) as sandbox:
        kubeconfig = sandbox.write_kubeconfig(work / "kubeconfig")
        repo = GitRepos(work / "git").create("bench")
        files = {f"c/{i}/cm.yaml": configmap(i) for i in range(n)}
        files["children/apps.yaml"] = yaml.safe_dump_all(
            [child(f"child-{i}", repo.url, f"c/{i}", f"aoa-{i}") for i in range(n)]
        )
        files["direct/apps.yaml"] = yaml.safe_dump_all(
            [child(f"direct-{i}", repo.url, f"c/{i}", f"direct-{i}") for i in range(n)]
        )
        files["plain/all.yaml"] = "---\n".join(configmap(i) for i in range(n))
        repo.commit(files)
        daemon = DaemonProcess(
            data_dir=work / "data",
            log_path=work / "daemon.log",
            env={"GITOPSD_KUBECONFIG": str(kubeconfig), "GITOPSD_RECONCILE_INTERVAL": "3600"},
        ).start()
        try:
            cli = CLI(daemon.address, work)
            parent = child("parent", repo.url, "children", "argocd")
            parent["spec"]["syncPolicy"] = {}  # type: ignore[index]
            plain = child("plain", repo.url, "plain", "plain")
            (work / "parents.yaml").write_text(yaml.safe_dump_all([parent, plain]))
            assert cli("apply", "-f", str(work / "parents.yaml")).returncode == 0
            with daemon.channel() as channel:
                stub = appgrpc.ApplicationServiceStub(channel)
                wait_all(stub, {"plain"})

                started = time.monotonic()
                sync = cli("app", "sync", "parent", "--async")
                assert sync.returncode == 0, sync.stderr
                wait_all(stub, {f"child-{i}" for i in range(n)} | {"parent"})
                via_parent = time.monotonic() - started

                started = time.monotonic()
                applied = cli("apply", "-f", str(repo.work / "direct" / "apps.yaml"))
                assert applied.returncode == 0, applied.stderr
                wait_all(stub, {f"direct-{i}" for i in range(n)})
                direct = time.monotonic() - started

                parent_refresh = refresh_mean(stub, "parent")
                plain_refresh = refresh_mean(stub, "plain")
        finally:
            daemon.stop()
    print(f"{n} children, 2 cores shared with whatever else runs")
    print(f"  create + deploy: via the parent's sync {via_parent:6.2f} s   |  gitopsd apply -f of the same {direct:6.2f} s")
    print(
        f"  no-change refresh: parent with {n} children {parent_refresh * 1000:6.1f} ms"
        f"   |  one app with {n} ConfigMaps {plain_refresh * 1000:6.1f} ms"
    )
    subprocess.run(["rm", "-rf", str(work)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
