"""Slow and greedy clients cannot take the HTTP listener from others (issue 10, item 5): hundreds of
connections trickling their request heads leave /healthz, /metrics and webhooks answering; a head
that never completes is cut off by the deadline; one client address cannot hold more than its share.

Attackers connect from other loopback addresses (127.0.0.2, ...: all of 127/8 is local), each
address within the per-client cap, so that only the total cap and the deadline are at stake; the
checks come from 127.0.0.1 on fresh connections, as a load balancer's probe would."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fixtures.daemon import DaemonProcess
from webhooks.payloads import get, post

from gitopsd.server.config import HttpConfig, WebhookConfig
from gitopsd.server.http import HttpHandlers, HttpServer
from gitopsd.server.metrics import Metrics

PER_CLIENT = 16  # the default http.max_connections_per_client


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    """A daemon with the default HTTP limits (and no webhook secrets: a ping is answered)."""
    tmp = tmp_path_factory.mktemp("slow")
    proc = DaemonProcess(data_dir=tmp / "data", log_path=tmp / "daemon.log", login=False).start()
    try:
        yield proc
    finally:
        proc.stop()


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


SLOW_HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
SLOW_BODY = b"POST /api/webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: ping\r\nContent-Length: 1000\r\n\r\n{"


def _slow_clients(
    address: str, count: int, per_address: int = PER_CLIENT, start: bytes = SLOW_HEAD, first: int = 2
) -> list[socket.socket]:
    """`count` connections that have sent the start of a request (a head, by default), `per_address`
    from each of 127.0.0.FIRST, 127.0.0.FIRST+1, ..."""
    socks = []
    for i in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((f"127.0.0.{first + i // per_address}", 0))
        sock.settimeout(10)
        sock.connect(_split(address))
        try:
            sock.sendall(start)
        except OSError:
            pass  # already closed by the listener: what eviction does
        socks.append(sock)
    return socks


def _trickle(socks: list[socket.socket]) -> None:
    for sock in socks:
        try:
            sock.send(b"a")
        except OSError:
            pass


def _ping(address: str) -> int:
    body = json.dumps({"zen": "still here"}).encode()
    return post(address, {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d1"}, body).status


def _serves_others(address: str, webhook: bool = True) -> None:
    assert get(address, "/healthz") == (200, "ok\n")
    assert get(address, "/metrics")[0] == 200
    if webhook:
        assert _ping(address) == 200


def test_healthz_metrics_and_webhooks_answer_while_200_clients_trickle_their_heads(
    daemon: DaemonProcess,
) -> None:
    address = daemon.http_address
    socks = _slow_clients(address, 200)
    try:
        for _ in range(3):  # a byte every 2 s from each, for a few rounds
            _trickle(socks)
            _serves_others(address)
            time.sleep(2)
    finally:
        for sock in socks:
            sock.close()
    _serves_others(address)


def _closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(0.05)
    try:
        return sock.recv(4096) == b""
    except TimeoutError:
        return False
    except OSError:
        return True  # reset


def test_a_head_that_never_completes_is_closed_by_the_deadline(daemon: DaemonProcess) -> None:
    # A byte every 2 s never lets a single read wait long enough to time out; the whole-head
    # deadline (http.header_timeout, 10 s by default) must end it. Bounded: 40 s of trickling.
    sock = socket.create_connection(_split(daemon.http_address), timeout=10)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        closed = False
        for _ in range(20):
            try:
                sock.send(b"a")
            except OSError:
                closed = True
                break
            time.sleep(2)
            if _closed_by_server(sock):
                closed = True
                break
        assert closed, "the listener kept a connection whose head never completed"
    finally:
        sock.close()
    assert get(daemon.http_address, "/healthz") == (200, "ok\n")


def test_a_body_nobody_reads_cannot_hold_the_connection(daemon: DaemonProcess) -> None:
    # /healthz answers without reading the body the client announced and trickles; the listener
    # must not go on reading it for ever. Bounded: 40 s of trickling.
    sock = socket.create_connection(_split(daemon.http_address), timeout=10)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n0123")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        closed = False
        for _ in range(40):
            try:
                sock.send(b"a")
            except OSError:
                closed = True
                break
            time.sleep(1)
            if _closed_by_server(sock):
                closed = True
                break
        assert closed, "the listener kept reading a body nobody asked for"
    finally:
        sock.close()


def test_one_client_address_cannot_hold_more_than_its_share(daemon: DaemonProcess) -> None:
    address = daemon.http_address
    held = _slow_clients(address, PER_CLIENT)  # all from 127.0.0.2
    try:
        extra = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        extra.bind(("127.0.0.2", 0))
        extra.settimeout(30)
        extra.connect(_split(address))
        with extra:
            answer = extra.recv(4096)
            assert answer.startswith(b"HTTP/1.1 429"), answer[:100]
            assert b"too many open connections from your address" in answer
            assert _closed_by_server(extra) or extra.recv(4096) == b""
        # Others are not affected.
        _serves_others(address)
    finally:
        for sock in held:
            sock.close()
    # Once its connections are closed, the address is served again.
    answer = b""
    for _ in range(50):  # the listener sees the closes a moment later
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as again:
            again.bind(("127.0.0.2", 0))
            again.settimeout(30)
            again.connect(_split(address))
            again.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = again.recv(4096)
        if answer.startswith(b"HTTP/1.1 200"):
            break
        time.sleep(0.1)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]


@pytest.fixture
def small_server() -> Iterator[HttpServer]:
    """A listener of at most 64 connections, as main's was (the HTTP server alone: the limits,
    not the daemon, are under test)."""
    handlers = HttpHandlers(WebhookConfig(), Metrics(), lambda: [], lambda _name: None, lambda _a, _h: None)
    srv = HttpServer("127.0.0.1:0", handlers, HttpConfig(max_connections=64))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_slow_clients_beyond_the_total_cap_do_not_take_the_place_of_fresh_ones(
    small_server: HttpServer,
) -> None:
    socks = _slow_clients(small_server.address, 100)
    # Bodies trickled as slowly (to another set of addresses): the body deadline is 30 s.
    socks += _slow_clients(small_server.address, 100, start=SLOW_BODY, first=20)
    try:
        for _ in range(3):
            time.sleep(1)  # the listener has read what each sent: heads and bodies under way
            _trickle(socks)
            _serves_others(small_server.address, webhook=False)
    finally:
        for sock in socks:
            sock.close()


def test_limits_are_read_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "gitopsd.yaml"
    path.write_text(yaml.safe_dump({"http": {"max_connections_per_client": 2, "header_timeout": 5}}))
    proc = DaemonProcess(
        data_dir=tmp_path / "data", log_path=tmp_path / "daemon.log", extra_args=["--config", str(path)],
        login=False,
    ).start()
    try:
        held = _slow_clients(proc.http_address, 2)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as extra:
                extra.bind(("127.0.0.2", 0))
                extra.settimeout(30)
                extra.connect(_split(proc.http_address))
                assert extra.recv(4096).startswith(b"HTTP/1.1 429")
        finally:
            for sock in held:
                sock.close()
    finally:
        proc.stop()
