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
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import grpc
from benchlib import APP, admin_token, p50_p99_ms, tls_channel  # bench/benchlib.py, beside this script

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc as appgrpc
from gitopsd.api.gitopsd.v1 import common_pb2, session_pb2, session_pb2_grpc, version_pb2_grpc


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


def _hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _five_times(pid: int, call: Callable[[], object]) -> tuple[str, float, float]:
    """Makes a call that the daemon refuses five times: (its status code, MiB the daemon's peak
    memory grew by, seconds in all)."""
    code = "OK (not refused)"
    before = _hwm_kib(pid)
    started = time.perf_counter()
    for _ in range(5):
        try:
            call()
        except grpc.RpcError as exc:
            code = exc.code().name
    took = time.perf_counter() - started
    return code, (_hwm_kib(pid) - before) / 1024, took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        proc, address = _start(data)
        try:
            with tls_channel(data, address) as anonymous:
                token = admin_token(anonymous, data)
            channels = [tls_channel(data, address, token) for _ in range(4)]
            stubs = [appgrpc.ApplicationServiceStub(c) for c in channels]
            stubs[0].Create(apppb.CreateApplicationRequest(manifest=json.dumps(APP)), timeout=30)
            version = version_pb2_grpc.VersionServiceStub(tls_channel(data, address, token))
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
                p50, p99 = p50_p99_ms(lambda: version.Version(common_pb2.Empty(), timeout=30), args.calls)
                print(f"{target:>20} {p50:>15.2f} {p99:>8.2f} {opened:>12.1f}")
            for stream in streams:
                stream.cancel()
            huge = apppb.CreateApplicationRequest(manifest="x" * (60 * 1024 * 1024))
            with tls_channel(data, address) as anonymous:
                create = appgrpc.ApplicationServiceStub(anonymous).Create
                try:
                    create(apppb.CreateApplicationRequest(), timeout=30)
                except grpc.RpcError:
                    pass
                code, grown, took = _five_times(proc.pid, lambda: create(huge, timeout=60))
            print(f"5 x 60 MB without a token: {code}, daemon VmHWM +{grown:.1f} MiB, {took:.2f} s in all")
            big_login = session_pb2.CreateSessionRequest(username="admin", password="p" * (60 * 1024 * 1024))
            with tls_channel(data, address) as anonymous:
                login = session_pb2_grpc.SessionServiceStub(anonymous).Create
                code, grown, took = _five_times(proc.pid, lambda: login(big_login, timeout=60))
            print(f"5 x 60 MB logins: {code}, daemon VmHWM +{grown:.1f} MiB, {took:.2f} s in all")
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
