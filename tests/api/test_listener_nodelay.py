"""The HTTP listener's connections have Nagle's algorithm off. The listening socket used to be made
with protocol 0, so asyncio left TCP_NODELAY unset on accepted connections and every answer on a
keep-alive connection (a script's or the dashboard's second call on) waited for the client's
delayed ACK: ~45 ms per call instead of ~0.2 ms (bench/api_streams.py). Timings are not asserted
here; the socket option that causes them is."""

from __future__ import annotations

import socket

from fixtures.daemon import wait_for

from gitopsd.server.config import WebhookConfig
from gitopsd.server.http import HttpHandlers, HttpServer
from gitopsd.server.metrics import Metrics


def test_keep_alive_connections_are_served_without_nagle() -> None:
    handlers = HttpHandlers(WebhookConfig(), Metrics(), lambda: [], lambda _name: None, lambda _a, _h: None)
    server = HttpServer("127.0.0.1:0", handlers)
    server.start()
    try:
        host, _, port = server.address.rpartition(":")
        with socket.create_connection((host, int(port)), timeout=10) as client:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while not answer.endswith(b"ok\n"):
                answer += client.recv(4096)
            assert answer.startswith(b"HTTP/1.1 200 ")
            # Idle between requests now: the guard lists it among the connections waiting for a head.
            waiting = wait_for(lambda: list(server.guard.waiting), what="the idle keep-alive connection")
            served = waiting[0].transport.get_extra_info("socket")
            assert served.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        server.stop()
