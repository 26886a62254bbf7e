"""Benchmark: /healthz from a fresh connection while slow clients trickle their request heads.

Runs the HTTP listener alone in a child process (so the attacking threads here do not share its
GIL): this tree's (uvicorn + the guarded protocol) and, when git can show it, main's
(gitopsd/server/http.py of the `main` branch, the stdlib threading server) side by side. For each
number of slow connections (a byte every 2 s each, 16 per source address 127.0.0.2, 127.0.0.3, ...,
or all from 127.0.0.2 for "N@1")
it probes /healthz from 127.0.0.1 for a few seconds and prints answers and latencies, and how many
slow connections the listener still holds at the end. Prints figures; asserts nothing.

    .venv/bin/python bench/http_slowloris.py [--seconds 8] [--counts 0,70,200,500]
"""

from __future__ import annotations

import argparse
import http.client
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import importlib.util, sys
from gitopsd.server.config import WebhookConfig
from gitopsd.server.metrics import Metrics
path = sys.argv[1]
if path == "new":
    from gitopsd.server import http as mod
else:
    spec = importlib.util.spec_from_file_location("baseline_http", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["baseline_http"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
handlers = mod.HttpHandlers(WebhookConfig(), Metrics(), lambda: [], lambda n: None, lambda a, c: None)
srv = mod.HttpServer("127.0.0.1:0", handlers)
srv.start()
print(srv.address, flush=True)
sys.stdin.read()
srv.stop()
"""


def _probe(host: str, port: int) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("GET", "/healthz")
        status = conn.getresponse().status
        conn.close()
    except OSError:
        status = 0
    return status, (time.perf_counter() - started) * 1000


def _attack(host: str, port: int, count: int, per_address: int) -> list[socket.socket]:
    socks = []
    for i in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((f"127.0.0.{2 + i // per_address}", 0))
        sock.settimeout(5)
        try:
            sock.connect((host, port))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        except OSError:
            pass
        socks.append(sock)
    return socks


def _still_open(socks: list[socket.socket]) -> int:
    n = 0
    for sock in socks:
        sock.settimeout(0.001)
        try:
            sock.recv(1)  # b"": closed; data: refused with an answer (503/429)
        except TimeoutError:
            n += 1
            continue
        except OSError:
            pass
    return n


def run(label: str, impl: str, counts: list[str], seconds: float) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, impl],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert child.stdout is not None
        host, _, port_text = child.stdout.readline().strip().rpartition(":")
        port = int(port_text)
        for spec in counts:
            # "N": 16 per source address; "N@1": all N from one address (the per-client cap's case)
            count_text, _, one = spec.partition("@")
            count = int(count_text)
            socks = _attack(host, port, count, count or 1 if one else 16)
            statuses: list[int] = []
            times: list[float] = []
            deadline = time.monotonic() + seconds
            next_trickle = 0.0
            while time.monotonic() < deadline:
                if time.monotonic() >= next_trickle:
                    for sock in socks:
                        try:
                            sock.send(b"a")
                        except OSError:
                            pass
                    next_trickle = time.monotonic() + 2
                status, ms = _probe(host, port)
                statuses.append(status)
                times.append(ms)
                time.sleep(0.1)
            held = _still_open(socks)
            for sock in socks:
                sock.close()
            ok = statuses.count(200)
            refused = statuses.count(503)
            other = len(statuses) - ok - refused
            times.sort()
            p50 = statistics.median(times)
            p95 = times[int(len(times) * 0.95) - 1] if len(times) > 1 else times[0]
            print(
                f"{label:<8} {spec:>6} slow  healthz 200: {ok:>3}  503: {refused:>3}  other: {other:>3}  "
                f"p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  slow still held: {held}",
                flush=True,
            )
            time.sleep(1)  # let the listener see the closes
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="probing time per count")
    parser.add_argument(
        "--counts", default="0,70,200,500,200@1", help="numbers of slow connections (N@1: from one address)"
    )
    args = parser.parse_args()
    counts = args.counts.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        baseline = Path(tmp) / "baseline_http.py"
        shown = subprocess.run(
            ["git", "-C", str(REPO), "show", "main:gitopsd/server/http.py"], capture_output=True, text=True
        )
        if shown.returncode == 0 and "ThreadingHTTPServer" in shown.stdout:
            baseline.write_text(shown.stdout)
            run("main", str(baseline), counts, args.seconds)
        else:
            print("main's stdlib listener not available from git: no baseline", flush=True)
        run("uvicorn", "new", counts, args.seconds)


if __name__ == "__main__":
    main()
