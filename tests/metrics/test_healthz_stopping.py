"""/healthz turns 503 as soon as the daemon begins to stop, while requests are still answered.
The HTTP server alone on a loopback port (stopping a real daemon is too quick to watch)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest

from gitopsd.server.config import WebhookConfig
from gitopsd.server.http import HttpHandlers, HttpServer
from gitopsd.server.metrics import Metrics


@pytest.fixture
def server() -> Iterator[HttpServer]:
    refreshed: list[str] = []
    srv = HttpServer("127.0.0.1:0", HttpHandlers(WebhookConfig(), Metrics(), lambda: [], refreshed.append, lambda _auth, _host: None))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _get(address: str, path: str) -> tuple[int, bytes]:
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_healthz_is_503_once_stopping(server: HttpServer) -> None:
    assert _get(server.address, "/healthz") == (200, b"ok\n")
    server.begin_stop()
    assert _get(server.address, "/healthz") == (503, b"stopping\n")
    # Still serving everything else until stop().
    assert _get(server.address, "/metrics")[0] == 200


def test_stop_closes_the_listener(server: HttpServer) -> None:
    address = server.address
    server.stop()
    with pytest.raises(OSError):
        _get(address, "/healthz")
