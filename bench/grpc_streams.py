"""Benchmark: unary RPC latency of a real daemon while Watch streams are open.

Starts `gitopsd serve` (TLS, loopback, a fresh data dir), creates one application, opens
0, 100 and 1,000 Watch streams (each one served: its first event has arrived), and times
`Version` calls meanwhile (p50/p99). Then sends 60 MB requests without a token, and 60 MB
logins, and prints how much the daemon's peak memory (VmHWM) grew. Prints figures; asserts
nothing.

(Before the asyncio server, each stream held one of 32 worker threads: from 32 streams on,
every unary call waited for its deadline.)

    .venv/bin/python bench/grpc_streams.py [--calls 300]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc as appgrpc
from gitopsd.api.gitopsd.v1 import common_pb2, session_pb2, session_pb2_grpc, version_pb2_grpc

APP = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "bench"},
    "spec": {
        "source": {"repoURL": "https://git.invalid/bench", "targetRevision": "main", "path": "."},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "bench"},
    },
}


class _Token(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):  # type: ignore[misc]
    def __init__(self, token: str) -> None:
        self._md = ("authorization", f"Bearer {token}")

    def _details(self, details):  # type: ignore[no-untyped-def]
        return details._replace(metadata=[*(details.metadata or []), self._md])

    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._details(details), request)


def _start(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    exe = Path(sys.executable).parent / "gitopsd"
    proc = subprocess.Popen(
        [str(exe), "serve", "--data-dir", str(data), "--listen", "127.0.0.1:0", "--http-listen", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "GITOPSD_RECONCILE_INTERVAL": "3600", "GITOPSD_GRPC_MAX_STREAMS_PER_USER": "5000"},
    )
    addr = data / "run" / "grpc.addr"
    for _ in range(600):
        if addr.exists():
            return proc, addr.read_text().strip()
        time.sleep(0.05)
    raise SystemExit("the daemon did not start")


def _channel(data: Path, address: str, token: str = "") -> grpc.Channel:
    creds = grpc.ssl_channel_credentials(root_certificates=(data / "run" / "grpc.crt").read_bytes())
    channel = grpc.secure_channel(address, creds)
    return grpc.intercept_channel(channel, _Token(token)) if token else channel


def _latencies(version: version_pb2_grpc.VersionServiceStub, calls: int) -> tuple[float, float]:
    version.Version(common_pb2.Empty(), timeout=30)
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        version.Version(common_pb2.Empty(), timeout=30)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def _hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        proc, address = _start(data)
        try:
            with _channel(data, address) as anonymous:
                token = (
                    session_pb2_grpc.SessionServiceStub(anonymous)
                    .Create(
                        session_pb2.CreateSessionRequest(
                            username="admin", password=(data / "initial-admin-password").read_text().strip()
                        ),
                        timeout=30,
                    )
                    .token
                )
            channels = [_channel(data, address, token) for _ in range(4)]
            stubs = [appgrpc.ApplicationServiceStub(c) for c in channels]
            stubs[0].Create(apppb.CreateApplicationRequest(manifest=json.dumps(APP)), timeout=30)
            version = version_pb2_grpc.VersionServiceStub(_channel(data, address, token))
            streams: list[grpc.Future] = []
            print(f"{'open Watch streams':>20} {'Version p50 ms':>15} {'p99 ms':>8} {'open took s':>12}")
            for target in (0, 100, 1000):
                started = time.perf_counter()
                while len(streams) < target:
                    stream = stubs[len(streams) % 4].Watch(
                        apppb.WatchApplicationsRequest(send_initial=True), timeout=600
                    )
                    next(stream)  # served
                    streams.append(stream)
                opened = time.perf_counter() - started
                p50, p99 = _latencies(version, args.calls)
                print(f"{target:>20} {p50:>15.2f} {p99:>8.2f} {opened:>12.1f}")
            for stream in streams:
                stream.cancel()
            huge = apppb.CreateApplicationRequest(manifest="x" * (60 * 1024 * 1024))
            with _channel(data, address) as anonymous:
                create = appgrpc.ApplicationServiceStub(anonymous).Create
                try:
                    create(apppb.CreateApplicationRequest(), timeout=30)
                except grpc.RpcError:
                    pass
                before = _hwm_kib(proc.pid)
                started = time.perf_counter()
                for _ in range(5):
                    try:
                        create(huge, timeout=60)
                    except grpc.RpcError as exc:
                        code = exc.code().name
                took = time.perf_counter() - started
                grown = (_hwm_kib(proc.pid) - before) / 1024
            print(f"5 x 60 MB without a token: {code}, daemon VmHWM +{grown:.1f} MiB, {took:.2f} s in all")
            big_login = session_pb2.CreateSessionRequest(username="admin", password="p" * (60 * 1024 * 1024))
            with _channel(data, address) as anonymous:
                login = session_pb2_grpc.SessionServiceStub(anonymous).Create
                before = _hwm_kib(proc.pid)
                started = time.perf_counter()
                for _ in range(5):
                    try:
                        login(big_login, timeout=60)
                    except grpc.RpcError as exc:
                        code = exc.code().name
                took = time.perf_counter() - started
                grown = (_hwm_kib(proc.pid) - before) / 1024
            print(f"5 x 60 MB logins: {code}, daemon VmHWM +{grown:.1f} MiB, {took:.2f} s in all")
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
