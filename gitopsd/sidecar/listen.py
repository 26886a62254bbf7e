"""Parsing of the sidecars' `--listen` address: `unix:///abs/path.sock` or `HOST:PORT`."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ListenAddress:
    """Where a sidecar listens: a unix socket path, or a TCP host and port."""

    unix_path: Path | None = None
    host: str = ""
    port: int = 0

    @property
    def grpc_target(self) -> str:
        """The address in the form grpc's add_insecure_port and channels accept."""
        if self.unix_path is not None:
            return f"unix://{self.unix_path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __str__(self) -> str:
        return self.grpc_target


def parse_listen(value: str) -> ListenAddress:
    """Parse `unix:///abs/path.sock` or `HOST:PORT` (`[::1]:PORT` for IPv6); ValueError if malformed."""
    if value.startswith("unix://"):
        path = value[len("unix://") :]
        if not path.startswith("/"):
            raise ValueError(f"unix socket path must be absolute (unix:///abs/path.sock), got {value!r}")
        if "\x00" in path:
            raise ValueError("unix socket path contains a NUL byte")
        return ListenAddress(unix_path=Path(path))
    if value.startswith("["):
        host, sep, port_text = value[1:].partition("]:")
    else:
        host, sep, port_text = value.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(f"--listen must be unix:///abs/path.sock or HOST:PORT, got {value!r}")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ValueError(f"port out of range in {value!r}")
    return ListenAddress(host=host, port=port)


def prepare_unix_socket(path: Path) -> None:
    """Make way for a new socket: create the parent dir, remove a stale socket, refuse other files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ValueError(f"{path} exists and is not a socket; refusing to replace it")
    path.unlink()


def bind_private_unix_socket(bind: Callable[[str], object], path: Path) -> None:
    """Bind a unix socket at `path` that no other user can connect to at any moment, umask untouched.

    `bind` takes a grpc target (`unix:///...`). The umask is process-wide: changing it around the
    bind (as this once did) also changes it for whatever other threads do meanwhile, and the Helm
    sidecar's workers, started from other threads, then made their cache dirs 0600 and could not
    enter them. Instead the socket is bound inside a fresh directory beside `path` that only we can
    enter, made 0600 there, and renamed into place (same directory, so the rename is atomic).
    """
    prepare_unix_socket(path)
    private = Path(tempfile.mkdtemp(prefix=".", dir=path.parent))
    try:
        os.chmod(private, 0o700)  # mkdtemp's 0700 is filtered by the umask too
        temporary = private / "s"
        bind(f"unix://{temporary}")
        if not temporary.exists():
            raise OSError(f"cannot listen on unix://{path}")
        os.chmod(temporary, 0o600)
        os.rename(temporary, path)
    finally:
        shutil.rmtree(private, ignore_errors=True)
