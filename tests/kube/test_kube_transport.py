"""Transport failures become our errors: unreachable port, a server that never answers, bad TLS."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitopsd.kube.client import KubeClient
from gitopsd.kube.credentials import ClusterCredentials
from gitopsd.kube.errors import Timeout, Unreachable

TOKEN = "never-print-this-token"


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_unreachable_cluster(tmp_path: Path) -> None:
    creds = ClusterCredentials(server=f"https://127.0.0.1:{closed_port()}", bearer_token=TOKEN)
    with KubeClient(creds, tmp_path, timeout=2) as client:
        with pytest.raises(Unreachable) as err:
            client.server_version()
        assert "cannot reach the API server" in str(err.value)
        assert TOKEN not in str(err.value)
        with pytest.raises(Unreachable):
            client.resource_info("v1", "ConfigMap")


def test_server_that_never_answers_times_out(tmp_path: Path, silent_server: int) -> None:
    creds = ClusterCredentials(server=f"http://127.0.0.1:{silent_server}", bearer_token=TOKEN)
    with KubeClient(creds, tmp_path, timeout=0.5) as client:
        with pytest.raises(Timeout) as err:
            client.server_version()
        assert "did not answer in time" in str(err.value) and TOKEN not in str(err.value)


def test_tls_to_a_plain_tcp_server_is_unreachable_not_a_crash(tmp_path: Path, silent_server: int) -> None:
    creds = ClusterCredentials(server=f"https://127.0.0.1:{silent_server}", bearer_token=TOKEN)
    with KubeClient(creds, tmp_path, timeout=0.5) as client:
        with pytest.raises((Timeout, Unreachable)):
            client.server_version()
