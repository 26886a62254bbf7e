"""Sidecar process behaviour shared by every renderer (gitopsd.sidecar): sockets, health, reflection, logs, signals."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from fixtures.renderers import BIN_DIR, Sidecar, source_files
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from gitopsd.api.gitopsd.v1 import application_pb2, renderer_pb2
from gitopsd.sidecar import InvalidSource, LimitExceeded, materialize, parse_listen


def test_socket_is_private_and_a_stale_one_is_replaced(
    start_sidecar: Callable[..., Sidecar], tmp_path: Path
) -> None:
    directory = tmp_path / "run"
    directory.mkdir()
    stale = directory / "gitopsd-kustomize.sock"
    leftover = socket.socket(socket.AF_UNIX)
    leftover.bind(str(stale))  # a socket file left behind by a crashed process
    leftover.close()
    sidecar = start_sidecar("gitopsd-kustomize", directory=directory)
    mode = os.stat(sidecar.socket_path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    caps = sidecar.stub.GetCapabilities(renderer_pb2.CapabilitiesRequest(), timeout=10)
    assert caps.name == "gitopsd-kustomize"


def test_reflection_lists_the_services(kustomize_sidecar: Sidecar) -> None:
    services = set(ProtoReflectionDescriptorDatabase(kustomize_sidecar.channel).get_services())
    assert {"gitopsd.v1.Renderer", "grpc.health.v1.Health"} <= services


def test_sigterm_stops_cleanly_with_json_logs(start_sidecar: Callable[..., Sidecar]) -> None:
    sidecar = start_sidecar("gitopsd-helm", "--warm-workers", "1")
    assert sidecar.health() == health_pb2.HealthCheckResponse.SERVING
    sidecar.process.send_signal(signal.SIGTERM)
    assert sidecar.process.wait(30) == 0
    assert not sidecar.socket_path.exists()
    lines = [json.loads(line) for line in sidecar.log().splitlines() if line.strip()]
    messages = [line["msg"] for line in lines]
    assert "serving" in messages and "stopped" in messages
    assert all({"ts", "level", "logger", "msg"} <= line.keys() for line in lines)


def test_tcp_listen_on_loopback(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            str(BIN_DIR / "gitopsd-kustomize"),
            "--listen",
            f"127.0.0.1:{port}",
            "--work-dir",
            str(tmp_path / "w"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=20)
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        channel.close()
    finally:
        process.terminate()
        assert process.wait(20) == 0


def test_refuses_to_replace_a_regular_file(tmp_path: Path) -> None:
    target = tmp_path / "important.txt"
    target.write_text("keep me")
    result = subprocess.run(
        [
            str(BIN_DIR / "gitopsd-kustomize"),
            "--listen",
            f"unix://{target}",
            "--work-dir",
            str(tmp_path / "w"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "not a socket" in result.stderr
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("listen", ["relative/path.sock", "unix://relative.sock", "localhost", "host:port"])
def test_bad_listen_address_is_a_usage_error(listen: str) -> None:
    result = subprocess.run(
        [str(BIN_DIR / "gitopsd-helm"), "--listen", listen], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "--listen" in result.stderr


def test_parse_listen_forms() -> None:
    assert parse_listen("unix:///run/gitopsd/helm.sock").grpc_target == "unix:///run/gitopsd/helm.sock"
    assert parse_listen("127.0.0.1:7001").grpc_target == "127.0.0.1:7001"
    assert parse_listen("[::1]:7001").grpc_target == "[::1]:7001"
    with pytest.raises(ValueError):
        parse_listen("127.0.0.1:99999")


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({"a\x00b.yaml": "x"}, "NUL"),
        ({"../escape.yaml": "x"}, "'..'"),
        ({"a/./b.yaml": "x"}, "'.'"),
        ({"/etc/cron.d/x": "x"}, "absolute"),
        ({"a": "x", "a/b.yaml": "y"}, "both a file and a directory"),
    ],
)
def test_materialize_refuses_hostile_paths(tmp_path: Path, tree: dict[str, str], expected: str) -> None:
    with pytest.raises(InvalidSource, match=expected):
        materialize(source_files(tree), tmp_path, 1024)
    assert list(tmp_path.iterdir()) == []  # nothing written before the whole request was checked


def test_materialize_writes_regular_files_within_the_limit(tmp_path: Path) -> None:
    files = source_files({"base/kustomization.yaml": "resources: []\n", "base/run.sh": "#!/bin/sh\n"})
    files[1].executable = True
    assert materialize(files, tmp_path, 1024) == len("resources: []\n") + len("#!/bin/sh\n")
    assert (tmp_path / "base" / "kustomization.yaml").read_text() == "resources: []\n"
    assert os.access(tmp_path / "base" / "run.sh", os.X_OK)
    with pytest.raises(LimitExceeded):
        materialize(source_files({"big.yaml": "x" * 2048}), tmp_path / "other", 1024)


SPIN_CHART = {
    "spin/Chart.yaml": "apiVersion: v2\nname: spin\nversion: 0.1.0\n",
    "spin/templates/spin.yaml": (
        "{{- range until 100000 }}{{- range until 100000 }}{{- range until 100000 }}{{- end }}{{- end }}{{- end }}\n"
    ),
}


def test_sigterm_during_a_hung_render_does_not_wait_for_its_timeout(
    start_sidecar: Callable[..., Sidecar],
) -> None:
    sidecar = start_sidecar("gitopsd-helm", "--timeout", "600", "--warm-workers", "1")
    request = renderer_pb2.RenderRequest(
        source_type="Helm",
        source=application_pb2.ApplicationSource(path="spin"),
        files=source_files(SPIN_CHART),
        app_name="spin",
    )
    future = sidecar.stub.Render.future(request, timeout=600)
    # Give the render time to reach the worker, then ask the sidecar to stop.
    with pytest.raises(grpc.FutureTimeoutError):
        future.result(timeout=1.0)
    sidecar.process.send_signal(signal.SIGTERM)
    assert sidecar.process.wait(30) == 0  # well before the render's 600 s timeout
    with pytest.raises(grpc.RpcError):
        future.result(timeout=10)


def test_stops_when_its_parent_is_gone(tmp_path: Path) -> None:
    # A short-lived parent starts the sidecar and exits without stopping it, as a crashed supervisor would.
    pid_file = tmp_path / "sidecar.pid"
    launcher = (
        "import os, subprocess, sys\n"
        f"p = subprocess.Popen([{str(BIN_DIR / 'gitopsd-kustomize')!r}, '--parent-pid', str(os.getpid()), "
        f"'--listen', 'unix://{tmp_path}/k.sock', '--work-dir', '{tmp_path}/w'], "
        "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
    )
    subprocess.run([sys.executable, "-c", launcher], check=True, timeout=30)
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()
    if alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, "the sidecar kept running after its parent exited"
