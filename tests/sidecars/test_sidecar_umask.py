"""The Helm sidecar under any user: its umask stays put, so workers can always enter their cache dirs.

The sidecar once set a process-wide umask of 0177 to bind its socket while workers were starting
in other threads; a worker started in that moment made Helm's directories 0600, and every render
failed from then on for a non-root user (root enters any directory, so tests as root never saw it).
"""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures.renderers import Sidecar, helm_worker_pids, source_files

from gitopsd.api.gitopsd.v1 import application_pb2, renderer_pb2

OBSERVED_SIDECAR = Path(__file__).with_name("umask_observed_helm.py")
HELM_DIRS = ["home", "helm", "helm/cache", "helm/cache/repository", "helm/config", "helm/data", "workers"]


def umask_of(pid: int) -> int:
    """A process's umask as the kernel reports it (reading it with os.umask would change it)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("Umask:")[1].split()[0], 8)


def small_chart_request() -> renderer_pb2.RenderRequest:
    return renderer_pb2.RenderRequest(
        source_type="Helm",
        source=application_pb2.ApplicationSource(repo_url="https://git.example.com/a.git", path="chart"),
        files=source_files(
            {
                "chart/Chart.yaml": "apiVersion: v2\nname: small\nversion: 1.0.0\n",
                "chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: small\n",
            }
        ),
        app_name="a",
    )


def test_the_umask_never_changes_and_workers_can_use_their_dirs(
    start_sidecar: Callable[..., Sidecar], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = tmp_path / "umask-calls"
    monkeypatch.setenv("GITOPSD_TEST_UMASK_CALLS", str(calls))
    # Several starts with several workers each: workers start while the socket is being bound.
    for attempt in range(4):
        directory = tmp_path / f"start{attempt}"
        sidecar = start_sidecar(OBSERVED_SIDECAR, "--warm-workers", "3", directory=directory)
        assert not calls.exists(), f"the sidecar changed its umask: {calls.read_text()!r}"
        reply = sidecar.stub.Render(small_chart_request(), timeout=60)
        assert [json.loads(doc)["metadata"]["name"] for doc in reply.manifests] == ["small"]
        sidecar_umask = umask_of(sidecar.process.pid)
        workers = helm_worker_pids(sidecar, 3)
        assert workers
        assert {pid: umask_of(pid) for pid in workers} == {pid: sidecar_umask for pid in workers}
        modes = {name: stat.S_IMODE((directory / "work" / name).stat().st_mode) for name in HELM_DIRS}
        assert modes == {name: 0o700 for name in HELM_DIRS}
        assert stat.S_IMODE(sidecar.socket_path.stat().st_mode) == 0o600
        sidecar.stop()
    assert not calls.exists() or calls.read_text() == "", (
        f"the sidecar changed its umask: {calls.read_text()!r}"
    )
