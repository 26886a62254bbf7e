"""List of applications at 1,000, 5,000 and 10,000 applications, through a real daemon, over gRPC and
over the JSON API.

Everything runs as separate processes, as a user would run them: ``gitopsd sandbox`` (the cluster the
daemon is pointed at) and ``gitopsd serve``. For each size a fresh sandbox and daemon are started and
the applications are created with BatchCreate (500 a call). They are never synced: each names the one
repository https://git.invalid/bench (one failed ls-remote per pass, whatever the size), automated
sync is off and the reconcile interval is an hour, so the daemon is idle while List is timed. Their
statuses are therefore small (a comparison error): a List of synced applications moves more bytes.

Figures per size (p50 of 5 calls, after one unmeasured call), with the ratio of the largest size to
the smallest (linear growth: ratio ≈ size ratio):
- List of all, List with name= (one application), List with a selector (a tenth of them), over gRPC;
- the same three as GET /api/v1/applications (JSON);
- the size of the gRPC reply of all, and the daemon's CPU seconds over the List calls;
- List of all asking only for the fields `gitopsd app list` prints (its LIST_FIELDS), gRPC and JSON,
  and that reply's size;
- ``gitopsd app list`` as a fresh process (p50 of 3), beside ``gitopsd --version`` as a fresh process
  (the interpreter and imports alone) and, with ``--old-tree DIR``, the ``app list`` of another tree of
  the code (e.g. main before a change) against the same daemon.

To compare two trees of the code, run it once per tree: the daemon imports gitopsd from PYTHONPATH,
e.g. ``PYTHONPATH=/work/main .venv/bin/python bench/list_bench.py --sizes 1000,5000``.

Run: .venv/bin/python bench/list_bench.py [--sizes 1000,5000,10000] [--keep] [--old-tree DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from benchlib import BIN, admin_token, cpu_s, start_daemon, start_sandbox, stop_all, table

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc
from gitopsd.cli.app_cmd import LIST_FIELDS

BATCH = 500
CALLS = 5
TEAMS = 10  # label team=tK on every TEAMS-th application: a selector matches a tenth of them


def application(i: int) -> str:
    return json.dumps(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": f"app-{i:05d}", "labels": {"team": f"t{i % TEAMS}", "bench": "list"}},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://git.invalid/bench", "targetRevision": "main", "path": f"apps/{i}"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "bench-list"},
            },
        }
    )


def p50_s(call: Callable[[], object]) -> float:
    call()
    took = []
    for _ in range(CALLS):
        start = time.perf_counter()
        call()
        took.append(time.perf_counter() - start)
    return sorted(took)[len(took) // 2]


class Run:
    """One size: its processes, and the figures measured."""

    def __init__(self, n: int, work: Path, old_tree: str = "") -> None:
        self.n, self.work, self.old_tree = n, work, old_tree
        self.procs: list[subprocess.Popen[bytes]] = []
        self.fig: dict[str, float] = {}
        self.notes: dict[str, str] = {}

    def run(self) -> None:
        _, kubeconfig = start_sandbox(self.work, self.procs)
        env = {"GITOPSD_RECONCILE_INTERVAL": "3600"}
        daemon, channel, data = start_daemon(self.work, kubeconfig, env, self.procs)
        stub = application_pb2_grpc.ApplicationServiceStub(channel)
        docs = [application(i) for i in range(self.n)]
        batches = [docs[k : k + BATCH] for k in range(0, self.n, BATCH)]

        def create(batch: list[str]) -> None:
            requests = [apppb.CreateApplicationRequest(manifest=doc) for doc in batch]
            stub.BatchCreate(apppb.BatchCreateApplicationsRequest(requests=requests), timeout=300)

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(create, batches))
        self.fig[f"create all, BatchCreate of {BATCH} (s)"] = time.perf_counter() - start
        time.sleep(5)  # the first refresh of each (a failed ls-remote) is done before anything is timed

        address = (data / "run" / "grpc.addr").read_text().strip()
        with grpc.insecure_channel(address) as plain:
            token = admin_token(plain, data)
        http = (data / "run" / "http.addr").read_text().strip()

        def grpc_list(**fields: str) -> Callable[[], object]:
            return lambda: stub.List(apppb.ListApplicationsRequest(**fields), timeout=300)

        def json_list(**query: str) -> Callable[[], object]:
            url = f"http://{http}/api/v1/applications"
            if query:
                url += "?" + urllib.parse.urlencode(query)
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})

            def call() -> object:
                with urllib.request.urlopen(request, timeout=300) as reply:
                    return reply.read()

            return call

        one = {"name": f"app-{self.n // 2:05d}"}
        tenth = {"selector": "team=t3"}
        cpu = cpu_s(daemon.pid)
        self.fig["gRPC List of all, p50 (s)"] = p50_s(grpc_list())
        self.fig["gRPC List name=, p50 (s)"] = p50_s(grpc_list(**one))
        self.fig["gRPC List selector (a tenth), p50 (s)"] = p50_s(grpc_list(**tenth))
        self.fig["JSON List of all, p50 (s)"] = p50_s(json_list())
        self.fig["JSON List name=, p50 (s)"] = p50_s(json_list(**one))
        self.fig["JSON List selector (a tenth), p50 (s)"] = p50_s(json_list(**tenth))
        self.fig["daemon CPU over the List calls (s)"] = cpu_s(daemon.pid) - cpu
        self.fig["gRPC List of all, app list's fields, p50 (s)"] = p50_s(grpc_list(fields=LIST_FIELDS))  # type: ignore[arg-type]
        self.fig["JSON List of all, app list's fields, p50 (s)"] = p50_s(json_list(fields=",".join(LIST_FIELDS)))
        self.cli(address, token)
        reply = stub.List(apppb.ListApplicationsRequest(), timeout=300)
        self.fig["gRPC reply of all (MB)"] = reply.ByteSize() / 1e6
        selected = stub.List(apppb.ListApplicationsRequest(fields=LIST_FIELDS), timeout=300)
        self.fig["gRPC reply of all, app list's fields (MB)"] = selected.ByteSize() / 1e6
        counts = (
            len(reply.items),
            len(stub.List(apppb.ListApplicationsRequest(**one), timeout=60).items),
            len(stub.List(apppb.ListApplicationsRequest(**tenth), timeout=60).items),
        )
        self.notes["items (all, name=, selector)"] = str(counts)
        if counts != (self.n, 1, self.n // TEAMS):
            self.notes["WRONG"] = f"expected {(self.n, 1, self.n // TEAMS)}"

    def cli(self, address: str, token: str) -> None:
        """`gitopsd app list` and `gitopsd --version` as fresh processes, p50 of 3 each, taken in turns
        (after one unmeasured run each, which also leaves the bytecode cache written)."""
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.work),
            "GITOPSD_SERVER": address,
            "GITOPSD_PLAINTEXT": "true",
            "GITOPSD_AUTH_TOKEN": token,
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        }
        runs = [("gitopsd --version, fresh process (s)", ["--version"], env)]
        runs.append(("gitopsd app list, fresh process (s)", ["app", "list"], env))
        if self.old_tree:
            runs.append(("app list of --old-tree, fresh process (s)", ["app", "list"], {**env, "PYTHONPATH": self.old_tree}))
        calls = []
        for label, args, run_env in runs:

            def call(args: list[str] = args, run_env: dict[str, str] = run_env, label: str = label) -> None:
                done = subprocess.run(
                    [str(BIN / "gitopsd"), *args], capture_output=True, env=run_env, timeout=600
                )
                if done.returncode != 0:
                    self.notes[label] = f"failed ({done.returncode}): {done.stderr[-300:]!r}"
                elif args == ["app", "list"] and (lines := done.stdout.count(b"\n")) != self.n + 1:
                    self.notes[label] = f"WRONG: {lines} lines, expected {self.n + 1}"

            call()
            calls.append((label, call))
        took: dict[str, list[float]] = {label: [] for label, _ in calls}
        for _ in range(3):  # in turns: a burst of load elsewhere hits each command alike
            for label, call in calls:
                start = time.perf_counter()
                call()
                took[label].append(time.perf_counter() - start)
        for label, samples in took.items():
            self.fig[label] = sorted(samples)[1]

    def stop(self) -> None:
        stop_all(self.procs)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000", help="comma-separated numbers of applications")
    parser.add_argument("--keep", action="store_true", help="keep the work directories (logs) for inspection")
    parser.add_argument("--old-tree", default="", help="a tree of the code whose `app list` runs as a baseline")
    args = parser.parse_args()
    runs = []
    for n in (int(s) for s in args.sizes.split(",")):
        work = Path(tempfile.mkdtemp(prefix=f"gitopsd-list-{n}-"))
        run = Run(n, work, args.old_tree)
        try:
            run.run()
        finally:
            run.stop()
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        runs.append(run)
        print(f"{n:,} applications done", flush=True)
        table(runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
