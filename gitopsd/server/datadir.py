"""The daemon's hold on its data dir: one daemon per data dir (an exclusive lock), and the run
files it writes there for clients on the same host (DATA_DIR/run: addresses, the gRPC certificate).

Used by gitopsd.server.daemon at start and stop.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


def lock_data_dir(data: Path) -> int:
    """An exclusive lock on DATA_DIR/daemon.lock for the daemon's life (the kernel drops it when the
    process dies, however it dies). Two daemons on one data dir would both reconcile every
    application: two writers of every cluster, and every sync run twice. Returns the lock's fd."""
    fd = os.open(data / "daemon.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        raise RuntimeError(
            f"another gitopsd serve (pid {holder or 'unknown'}) is using the data dir {data}: "
            "stop it first, or give this one its own --data-dir"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def write_run_file(data: Path, name: str, text: str) -> None:
    """DATA_DIR/run/NAME, replaced atomically; 0600 like every file of the data dir: clients running
    as the daemon's user read them."""
    run = data / "run"
    run.mkdir(exist_ok=True, mode=0o700)
    os.chmod(run, 0o700)
    tmp = run / f"{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(text + "\n")
    tmp.replace(run / name)
