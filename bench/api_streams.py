"""Benchmark: unary call latency of a real daemon, over gRPC and over the JSON API, while event
streams are open: 0, 100 and 1,000 SSE streams (`GET /api/v1/stream/applications`) and as many
gRPC Watch streams at once.

Starts `gitopsd serve` (gRPC over TLS, HTTP on loopback, a fresh data dir), creates one
application, opens the streams (each one served: its first event has arrived), then times unary
calls meanwhile: gRPC `Version` and `Get`, HTTP `GET /api/version` and
`GET /api/v1/applications/bench` (keep-alive connection); then again while the application changes
10 times a second (an event on every stream each time). Target: p99 < 100 ms with 1,000 of each
open. Prints figures; asserts nothing.

    .venv/bin/python bench/api_streams.py [--calls 300] [--streams 0,100,1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import httpx
from benchlib import APP, p50_p99_ms, tls_channel  # bench/benchlib.py, beside this script

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc as appgrpc
from gitopsd.api.gitopsd.v1 import common_pb2, version_pb2_grpc


def _start(data: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    exe = Path(sys.executable).parent / "gitopsd"
    proc = subprocess.Popen(
        [
            str(exe),
            "serve",
            "--data-dir",
            str(data),
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={
            **os.environ,
            "GITOPSD_RECONCILE_INTERVAL": "3600",
            "GITOPSD_GRPC_MAX_STREAMS_PER_USER": "5000",
            "GITOPSD_HTTP_MAX_CONNECTIONS": "3000",
            "GITOPSD_HTTP_MAX_CONNECTIONS_PER_CLIENT": "3000",
        },
    )
    grpc_addr, http_addr = data / "run" / "grpc.addr", data / "run" / "http.addr"
    for _ in range(600):
        if grpc_addr.exists() and http_addr.exists():
            return proc, grpc_addr.read_text().strip(), http_addr.read_text().strip()
        time.sleep(0.05)
    raise SystemExit("the daemon did not start")


class SseClients:
    """Open SSE connections held by an event loop in a thread of this process (raw sockets: a
    thousand httpx clients would measure httpx)."""

    def __init__(self, http_addr: str, token: str) -> None:
        self._host, _, port = http_addr.rpartition(":")
        self._port = int(port)
        self._token = token
        self._loop = asyncio.new_event_loop()
        self._writers: list[asyncio.StreamWriter] = []
        threading.Thread(target=self._loop.run_forever, daemon=True).start()

    async def _open_one(self) -> None:
        reader, writer = await asyncio.open_connection(self._host, self._port)
        writer.write(
            (
                "GET /api/v1/stream/applications HTTP/1.1\r\n"
                f"Host: {self._host}\r\nAuthorization: Bearer {self._token}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        status = await reader.readline()
        if b" 200 " not in status:
            raise SystemExit(f"SSE stream refused: {status!r}")
        while not (await reader.readline()).startswith(b"data: "):  # headers, then the ADDED event
            pass
        self._writers.append(writer)
        asyncio.ensure_future(self._drain(reader))

    async def _drain(self, reader: asyncio.StreamReader) -> None:
        while await reader.read(65536):
            pass

    def open(self, count: int) -> None:
        async def batch() -> None:
            for start in range(0, count, 50):
                await asyncio.gather(*(self._open_one() for _ in range(min(50, count - start))))

        asyncio.run_coroutine_threadsafe(batch(), self._loop).result(600)

    def close(self) -> None:
        for writer in self._writers:
            self._loop.call_soon_threadsafe(writer.close)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--streams", default="0,100,1000")
    args = parser.parse_args()
    levels = [int(n) for n in args.streams.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        proc, grpc_addr, http_addr = _start(data)
        try:
            password = (data / "initial-admin-password").read_text().strip()
            base = f"http://{http_addr}"
            token = httpx.post(
                f"{base}/api/v1/session", json={"username": "admin", "password": password}
            ).json()["token"]
            http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
            assert http.post("/api/v1/applications", json=APP).status_code == 200
            channels = [tls_channel(data, grpc_addr, token) for _ in range(4)]
            watch_stubs = [appgrpc.ApplicationServiceStub(c) for c in channels]
            unary = tls_channel(data, grpc_addr, token)
            version = version_pb2_grpc.VersionServiceStub(unary)
            apps = appgrpc.ApplicationServiceStub(unary)
            sse = SseClients(http_addr, token)
            watches: list[grpc.Future] = []
            calls: dict[str, Callable[[], object]] = {
                "grpc Version": lambda: version.Version(common_pb2.Empty(), timeout=30),
                "grpc Get": lambda: apps.Get(apppb.GetApplicationRequest(name="bench"), timeout=30),
                "http /api/version": lambda: http.get("/api/version").raise_for_status(),
                "http GET app": lambda: http.get("/api/v1/applications/bench").raise_for_status(),
            }
            print(f"{'SSE + Watch streams':>20} {'call':>18} {'p50 ms':>8} {'p99 ms':>8}   (opening took s)")
            opened = 0
            for target in levels:
                started = time.perf_counter()
                if target > opened:
                    sse.open(target - opened)
                    while len(watches) < target:
                        stream = watch_stubs[len(watches) % 4].Watch(
                            apppb.WatchApplicationsRequest(send_initial=True), timeout=3600
                        )
                        next(stream)  # served
                        watches.append(stream)
                    opened = target
                took = time.perf_counter() - started
                for i, (name, call) in enumerate(calls.items()):
                    p50, p99 = p50_p99_ms(call, args.calls)
                    suffix = f"   ({took:.1f})" if i == 0 else ""
                    print(f"{f'{target} + {target}':>20} {name:>18} {p50:>8.2f} {p99:>8.2f}{suffix}")
            if levels and levels[-1] > 0:
                # The same, while the application changes 10 times a second: each change is an event
                # on every open stream (sent as one encoded line per event, however many streams).
                stop = threading.Event()

                def churn() -> None:
                    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as writer:
                        n = 0
                        while not stop.wait(0.1):
                            n += 1
                            doc = {**APP, "metadata": {"name": "bench", "labels": {"n": str(n)}}}
                            writer.put("/api/v1/applications/bench", json=doc).raise_for_status()

                threading.Thread(target=churn, daemon=True).start()
                for name, call in calls.items():
                    p50, p99 = p50_p99_ms(call, args.calls)
                    print(
                        f"{f'{levels[-1]} + {levels[-1]}, 10 changes/s':>20} {name:>18} {p50:>8.2f} {p99:>8.2f}"
                    )
                stop.set()
            sse.close()
            for stream in watches:
                stream.cancel()
            print(json.dumps({"daemon_threads": len(os.listdir(f"/proc/{proc.pid}/task"))}))
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
