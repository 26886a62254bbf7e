"""Reading a render child's pipes within a deadline and an output cap, and killing its process group.

Shared by the sidecars that run tools as children (gitopsd-kustomize's kubectl, gitopsd-jsonnet's
evaluator, gitopsd-cmp's plugin commands); the limits on memory are in gitopsd.sidecar.childproc.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time

from gitopsd.sidecar.errors import DeadlineExceeded, LimitExceeded

# Enough of a failing child's stderr for its message; the rest is read and dropped.
MAX_STDERR_BYTES = 65536


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the child's process group and reap the child."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def read_with_deadline(process: subprocess.Popen[bytes], deadline: float, max_bytes: int) -> tuple[bytes, bytes]:
    """Read the child's stdout and stderr to EOF before `deadline` (time.monotonic()).

    Returns (stdout, the first 64 KiB of stderr); LimitExceeded once stdout passes `max_bytes`.
    One poll() wakes on data or at the deadline: no helper thread, no sleeping wait loop
    (Popen.wait(timeout=) polls with sleeps, which cost tens of ms per render), no temp files.
    """
    assert process.stdout is not None and process.stderr is not None
    out_fd, err_fd = process.stdout.fileno(), process.stderr.fileno()
    poller = select.poll()
    open_fds = {out_fd, err_fd}
    for fd in open_fds:
        poller.register(fd, select.POLLIN | select.POLLHUP)
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    sizes = {out_fd: 0, err_fd: 0}
    try:
        while open_fds:
            left = deadline - time.monotonic()
            events = poller.poll(left * 1000) if left > 0 else []
            if not events:
                raise subprocess.TimeoutExpired(process.args, 0)
            for fd, _event in events:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    poller.unregister(fd)
                    open_fds.discard(fd)
                    continue
                sizes[fd] += len(chunk)
                if fd == out_fd and sizes[fd] > max_bytes:
                    raise LimitExceeded(f"rendered output exceeds the limit of {max_bytes} bytes")
                if fd == out_fd or sizes[fd] - len(chunk) < MAX_STDERR_BYTES:
                    chunks[fd].append(chunk)
    finally:
        process.stdout.close()
        process.stderr.close()
    return b"".join(chunks[out_fd]), b"".join(chunks[err_fd])[:MAX_STDERR_BYTES]


def run_child(
    argv: list[str],
    *,
    cwd: str,
    env: dict[str, str],
    deadline: float,
    max_stdout: int,
    what: str,
    timeout_seconds: float,
) -> tuple[int, bytes, bytes]:
    """Runs one render child to its end: (exit code, stdout, the head of stderr).

    The child gets its own process group (the deadline kill reaches whatever it started, and so does
    the clean-up once it has exited: a plugin's background job does not outlive its render). Raises
    DeadlineExceeded at `deadline` (time.monotonic()), LimitExceeded once stdout passes `max_stdout`.
    """
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = read_with_deadline(process, deadline, max_stdout)
        code = process.wait(timeout=max(deadline - time.monotonic(), 0.001))
    except subprocess.TimeoutExpired:
        kill_group(process)
        raise DeadlineExceeded(f"{what} did not finish within {timeout_seconds:g} s") from None
    except BaseException:
        kill_group(process)
        raise
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    return code, out, err
