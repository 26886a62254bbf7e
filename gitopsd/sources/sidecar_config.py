"""The sidecar supervisor's vocabulary (used by gitopsd/sources/sidecars.py): its configuration, the
status it reports per renderer, the builtin sidecar commands and how they are found, and the state
kept for each managed sidecar process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitopsd.sources.renderer_client import RendererClient

# sun_path holds 108 bytes on Linux, with the terminating NUL.
MAX_SOCKET_PATH = 100

BUILTIN_COMMANDS: dict[str, str] = {
    "helm": "gitopsd-helm",
    "kustomize": "gitopsd-kustomize",
    # The .jsonnet files of Directory sources (gitopsd.sources.jsonnet_source).
    "jsonnet": "gitopsd-jsonnet",
}
# Argo CD Config Management Plugins (plugin.yaml): started only when SidecarConfig.cmp_path is set.
CMP_NAME = "cmp"
CMP_COMMAND = "gitopsd-cmp"


@dataclass(frozen=True)
class SidecarConfig:
    """Config keys under `sources.sidecars`."""

    # Where managed sidecars' sockets go (0700).
    socket_dir: Path
    # name -> target ("unix:///run/gitopsd/helm.sock" or "127.0.0.1:7001") of sidecars run
    # by someone else (systemd). A builtin renderer named here is not started.
    endpoints: Mapping[str, str] = field(default_factory=dict)
    # Config management plugins: name -> target; `source.plugin.name` selects one.
    plugins: Mapping[str, str] = field(default_factory=dict)
    # Start the builtin sidecars that have no endpoint (a plain `gitopsd serve`).
    manage_builtins: bool = True
    # Extra or overriding managed sidecars: name -> argv (the supervisor appends
    # `--listen unix://<socket_dir>/<name>.sock`).
    commands: Mapping[str, Sequence[str]] = field(default_factory=dict)
    render_timeout: float = 90.0
    ready_timeout: float = 30.0
    restart_backoff_initial: float = 0.5
    restart_backoff_max: float = 30.0
    # Uptime after which the backoff starts from the beginning again.
    backoff_reset_after: float = 30.0
    health_interval: float = 5.0
    health_timeout: float = 2.0
    # Consecutive failed health checks before a managed sidecar is killed as hung.
    hung_after_failures: int = 3
    stop_grace: float = 5.0
    # Largest gRPC message (files sent to a renderer); 0 = repository limit + overhead.
    max_message_bytes: int = 0
    # Memory limit of each render child of the builtin sidecars (passed as --max-memory-bytes).
    max_memory_bytes: int = 1024 * 1024 * 1024
    # cmp.path: a plugin.yaml or a directory of them, for a managed gitopsd-cmp; empty: none.
    cmp_path: str = ""


@dataclass(frozen=True)
class SidecarStatus:
    name: str
    target: str
    managed: bool
    # starting, ready, down (restart pending), unhealthy, stopped
    state: str
    pid: int | None
    restarts: int
    message: str


def find_command(name: str) -> str | None:
    """A console script next to the running interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


class ManagedSidecar:
    """One sidecar process the supervisor runs: its command, socket, client and restart state."""

    def __init__(self, name: str, argv: list[str], socket: Path, client: RendererClient) -> None:
        self.name = name
        self.argv = argv
        self.socket = socket
        self.client = client
        self.proc: subprocess.Popen[bytes] | None = None
        self.state = "stopped"
        self.message = ""
        self.restarts = 0
        self.started_at = 0.0
        self.next_start = 0.0
        self.backoff = 0.0
        self.failed_checks = 0
        self.last_check = 0.0
