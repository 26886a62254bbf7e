"""Transport: failures become our errors (unreachable port, a server that never answers, bad TLS),
requests carry the server URL's path prefix and the credentials' header, hostile credentials are refused."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitopsd.kube.client import KubeClient
from gitopsd.kube.credentials import ClusterCredentials
from gitopsd.kube.errors import Invalid, Timeout, Unreachable

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


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).seen.append((self.path, self.headers.get("Authorization", "")))
        body = json.dumps({"gitVersion": "v1.31.0"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[int, list[tuple[str, str]]]]:
    """A plain-HTTP server on 127.0.0.1 answering /version-style GETs and recording path and auth."""
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Recorder.seen
    server.shutdown()
    server.server_close()


def test_server_url_path_prefix_and_credentials_reach_the_server(
    tmp_path: Path, recorder: tuple[int, list[tuple[str, str]]]
) -> None:
    port, seen = recorder
    # Behind a proxy such as Rancher the API server lives under a path: every request keeps it.
    creds = ClusterCredentials(server=f"http://127.0.0.1:{port}/k8s/clusters/c-1/", bearer_token=TOKEN)
    with KubeClient(creds, tmp_path / "a", timeout=5) as client:
        assert client.server_version() == "v1.31.0"
    basic = ClusterCredentials(server=f"http://127.0.0.1:{port}", username="admin", password="pw")
    with KubeClient(basic, tmp_path / "b", timeout=5) as client:
        client.server_version()
    assert seen == [
        ("/k8s/clusters/c-1/version", f"Bearer {TOKEN}"),
        ("/version", "Basic YWRtaW46cHc="),
    ]


@pytest.mark.parametrize("token", [TOKEN + "\r\nX-Injected: 1", TOKEN + "\x00", TOKEN + "\u2019"])
def test_credentials_that_cannot_be_a_header_are_refused_unshown(tmp_path: Path, token: str) -> None:
    creds = ClusterCredentials(server="https://127.0.0.1:6443", bearer_token=token)
    with pytest.raises(Invalid) as err:
        KubeClient(creds, tmp_path)
    assert "control characters" in str(err.value)
    assert TOKEN not in str(err.value)
