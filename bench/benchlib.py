"""Processes and measurements shared by the bench scripts: git repositories of one-ConfigMap
applications, a sandbox and a daemon started as a user would start them, kubectl runs, the API
benches' application document, admin login and TLS channel, open Watch streams, call latencies, what /proc says of a
process (RSS, CPU seconds, children), and a table of figures per size.

Nothing here imports gitopsd beyond its generated API stubs: the daemon is a separate process.
"""

from __future__ import annotations

import calendar
import contextlib
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import grpc
import yaml

from gitopsd.api.gitopsd.v1 import application_pb2, application_pb2_grpc, session_pb2, session_pb2_grpc

BIN = Path(sys.executable).parent
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The one application the API benches create: its repository need not exist (they never sync it).
APP: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "bench"},
    "spec": {
        "source": {"repoURL": "https://git.invalid/bench", "targetRevision": "main", "path": "."},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "bench"},
    },
}


def configmap(i: int, namespace: str | None = None, index: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": f"cm-{i:05d}", "labels": {"bench": "reconcile"}}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": {"index": index or str(i), "payload": "x" * 64},
    }


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env={**os.environ, **GIT_ENV}
    )
    return done.stdout.strip()


def make_repos(root: Path, apps: int, repos: int) -> list[Path]:
    """`repos` bare repositories; application i lives in repo i % repos under apps/app-NNNNN.
    Returns the working clones' paths (push to their bare twin `<name>.git` beside them)."""
    works = []
    for r in range(repos):
        work = root / f"work-{r:03d}"
        for i in range(r, apps, repos):
            d = work / "apps" / f"app-{i:05d}"
            d.mkdir(parents=True)
            (d / "configmap.yaml").write_text(yaml.safe_dump(configmap(i)))
        work.mkdir(parents=True, exist_ok=True)
        git("init", "--quiet", "--initial-branch=main", ".", cwd=work)
        git("add", "-A", cwd=work)
        git("commit", "--quiet", "--allow-empty", "-m", "applications", cwd=work)
        git("clone", "--quiet", "--bare", str(work), str(bare_of(work)), cwd=root)
        git("remote", "add", "bare", str(bare_of(work)), cwd=work)
        works.append(work)
    return works


def bare_of(work: Path) -> Path:
    return work.parent / (work.name.replace("work-", "repo-") + ".git")


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used (its own threads, not its children)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


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


class _Bearer(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    def __init__(self, token: str) -> None:
        self._metadata = [("authorization", f"Bearer {token}")]

    def _with(self, details: Any) -> Any:
        return details._replace(metadata=[*(details.metadata or []), *self._metadata])

    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._with(details), request)

    def intercept_unary_stream(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._with(details), request)


def admin_token(channel: grpc.Channel, data: Path) -> str:
    """A session token of the admin, logged in with the initial password of the daemon's data dir."""
    password = (data / "initial-admin-password").read_text().strip()
    request = session_pb2.CreateSessionRequest(username="admin", password=password)
    return str(session_pb2_grpc.SessionServiceStub(channel).Create(request, timeout=30).token)


def tls_channel(data: Path, address: str, token: str = "") -> grpc.Channel:
    """A channel to the daemon's TLS gRPC port trusting its certificate (DATA/run/grpc.crt); with a
    token, every call carries it."""
    creds = grpc.ssl_channel_credentials(root_certificates=(data / "run" / "grpc.crt").read_bytes())
    channel = grpc.secure_channel(address, creds)
    return grpc.intercept_channel(channel, _Bearer(token)) if token else channel


def start_sandbox(work: Path, procs: list[subprocess.Popen[bytes]]) -> tuple[subprocess.Popen[bytes], Path]:
    kubeconfig = work / "kubeconfig"
    log = work / "sandbox.log"
    sandbox = subprocess.Popen(
        [str(BIN / "gitopsd"), "sandbox", "--listen", "127.0.0.1:0", "--kubeconfig-out", str(kubeconfig)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    procs.append(sandbox)
    wait_file(kubeconfig, sandbox, "gitopsd sandbox", log)
    return sandbox, kubeconfig


def start_daemon(
    work: Path, kubeconfig: Path, env_extra: dict[str, str], procs: list[subprocess.Popen[bytes]]
) -> tuple[subprocess.Popen[bytes], grpc.Channel, Path]:
    """The daemon on loopback (plaintext gRPC, a free HTTP port), logged in as its admin."""
    data = work / "data"
    log = work / "daemon.log"
    env = {
        **os.environ,
        "GITOPSD_KUBECONFIG": str(kubeconfig),
        "GITOPSD_RECONCILE_JITTER": "0",
        "GITOPSD_TLS_ENABLED": "false",
        "GITOPSD_HTTP_LISTEN": "127.0.0.1:0",
        **env_extra,
    }
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
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    procs.append(daemon)
    wait_file(data / "run" / "grpc.addr", daemon, "gitopsd serve", log)
    wait_file(data / "run" / "http.addr", daemon, "gitopsd serve (HTTP)", log)
    address = (data / "run" / "grpc.addr").read_text().strip()
    channel = grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 512 * 1024 * 1024)])
    if (data / "initial-admin-password").exists():
        channel = grpc.intercept_channel(channel, _Bearer(admin_token(channel, data)))
    return daemon, channel, data


def stop_all(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process still running, the last started first; SIGKILL one that takes over 30 s."""
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def p50_p99_ms(call: Callable[[], object], calls: int) -> tuple[float, float]:
    """Median and 99th percentile in milliseconds of `calls` calls, one after another (after one
    unmeasured call)."""
    call()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


class SizeFigures(Protocol):
    """One size's run of a bench: its size, figures (name -> value) and notes (what -> text)."""

    n: int
    fig: dict[str, float]
    notes: dict[str, str]


def table(runs: Sequence[SizeFigures]) -> None:
    """The figures of each size side by side, with the ratio of the largest size's to the smallest's,
    then each size's notes."""
    sizes = [r.n for r in runs]
    print(
        f"\n{'figure':<46}"
        + "".join(f"{n:>12,}" for n in sizes)
        + (f"{'ratio':>10}" if len(runs) > 1 else "")
    )
    for key in runs[-1].fig:
        values = [r.fig.get(key, float("nan")) for r in runs]
        line = f"{key:<46}" + "".join(f"{v:>12.2f}" for v in values)
        if len(runs) > 1 and values[0]:
            line += f"{values[-1] / values[0]:>10.1f}"
        print(line)
    for r in runs:
        for key, note in r.notes.items():
            print(f"  {r.n:,} apps, {key}: {note}")
    if len(runs) > 1:
        print(f"  ratio: largest over smallest size ({sizes[-1] / sizes[0]:.0f}x the applications)")


class Watchers:
    """`count` Watch streams of every application, each read in a thread of its own as a dashboard
    reads its stream; `events` counts what they received. For measuring what open streams cost."""

    def __init__(self, channel: grpc.Channel, count: int) -> None:
        stub = application_pb2_grpc.ApplicationServiceStub(channel)
        self.events = 0
        self._lock = threading.Lock()
        self._streams = [stub.Watch(application_pb2.WatchApplicationsRequest(), timeout=None) for _ in range(count)]
        for stream in self._streams:
            threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        with contextlib.suppress(grpc.RpcError):  # cancelled by stop()
            for _event in stream:
                with self._lock:
                    self.events += 1

    def stop(self) -> int:
        for stream in self._streams:
            stream.cancel()
        return self.events

