"""One long-lived `git cat-file --batch-command` per cached clone: objects read without a process each.

A render from git objects (gitopsd.sources.gitcache_objects) reads a few trees and blobs; starting a
git for each would cost more than reading them (two processes per application of a cold sync of
10,000). This keeps one process per clone and asks it over a pipe: `info` for an object's type and
size, `contents` for its bytes, only once the size has been checked. Every read has a deadline (the
process is killed past it, and the next request starts a new one); git finds objects a later fetch
added (it looks at the packs again when an object is missing). Local only: no credentials, and the
environment of the cache's other local commands.

Bounded: BatchProcesses keeps at most `limit` processes open, the least recently used closed first,
and closes them all at shutdown (RepoCache.release_idle).
"""

from __future__ import annotations

import collections
import contextlib
import os
import selectors
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from gitopsd.sources.gitauth import local_environment

# Processes open at once, over every clone of the cache (each holds a few MB and its pack maps).
DEFAULT_PROCESSES = 16


class BatchError(Exception):
    """The process failed or timed out (it is closed; the next request starts another)."""


class BatchReader:
    """A `git cat-file --batch-command` on one clone, used by one thread at a time (its lock)."""

    def __init__(self, git_dir: Path, timeout: float) -> None:
        self.git_dir = git_dir
        self.timeout = timeout
        self.lock = threading.Lock()
        self.retired = False  # no longer kept by BatchProcesses: closed after its last use
        self._proc: subprocess.Popen[bytes] | None = None
        self._buf = bytearray()
        self._deadline = 0.0

    def info(self, name: str) -> tuple[str, str, int] | None:
        """(SHA, type, size) of an object (a SHA, or `<commit>:<path>`: git resolves the path, without
        following symlinks); None when the clone has no such object."""
        return self._ask(f"info {name}")

    def contents(self, name: str) -> tuple[str, bytes] | None:
        """(type, bytes) of an object the caller has checked the size of; None when missing."""
        header = self._ask(f"contents {name}")
        if header is None:
            return None
        data = self._read_exact(header[2] + 1)  # the content, then a newline
        return header[1], bytes(data[:-1])

    def close(self) -> None:
        proc, self._proc = self._proc, None
        self._buf.clear()
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin:
                proc.stdin.close()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()

    # ------------------------------------------------------------------ the pipe

    def _ask(self, command: str) -> tuple[str, str, int] | None:
        if "\n" in command:
            raise BatchError("object name with a newline")
        proc = self._start()
        try:
            assert proc.stdin is not None
            proc.stdin.write(command.encode() + b"\n")
            proc.stdin.flush()
            self._deadline = time.monotonic() + self.timeout
            line = self._read_line().decode("ascii", "replace").split()
        except (OSError, BatchError):
            self.close()
            raise BatchError("git cat-file failed") from None
        if len(line) == 2 and line[1] in ("missing", "ambiguous"):
            return None
        if len(line) != 3 or not line[2].isdigit():
            self.close()
            raise BatchError("git cat-file answered something unexpected")
        return line[0], line[1], int(line[2])

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self.close()
        self._proc = subprocess.Popen(  # noqa: S603 - a fixed git command, no shell
            ["git", "cat-file", "--batch-command"],
            cwd=self.git_dir,
            env={**os.environ, **local_environment()},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        return self._proc

    def _fill(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            left = self._deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                self.close()
                raise BatchError(f"git cat-file timed out after {self.timeout:g}s")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            self.close()
            raise BatchError("git cat-file exited")
        self._buf += chunk

    def _read_line(self) -> bytes:
        while (end := self._buf.find(b"\n")) < 0:
            self._fill()
        line = bytes(self._buf[:end])
        del self._buf[: end + 1]
        return line

    def _read_exact(self, n: int) -> bytearray:
        while len(self._buf) < n:
            self._fill()  # closes the process when it raises
        data = self._buf[:n]
        del self._buf[:n]
        return data


class BatchProcesses:
    """The open BatchReaders, by clone directory, at most `limit` of them."""

    def __init__(self, limit: int = DEFAULT_PROCESSES) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._readers: collections.OrderedDict[Path, BatchReader] = collections.OrderedDict()

    @contextlib.contextmanager
    def use(self, git_dir: Path, timeout: float) -> Iterator[BatchReader]:
        """The clone's reader, for this thread alone until the block ends."""
        with self._lock:
            reader = self._readers.get(git_dir)
            if reader is None:
                reader = self._readers[git_dir] = BatchReader(git_dir, timeout)
            self._readers.move_to_end(git_dir)
            evicted = []
            while len(self._readers) > self.limit:
                evicted.append(self._readers.popitem(last=False)[1])
        for old in evicted:
            _retire(old)
        with reader.lock:
            try:
                yield reader
            finally:
                if reader.retired:  # evicted (or closed) while in use: its process goes now
                    reader.close()

    def close_all(self) -> None:
        with self._lock:
            readers = list(self._readers.values())
            self._readers.clear()
        for reader in readers:
            _retire(reader)


def _retire(reader: BatchReader) -> None:
    """Closes a reader no longer kept, now if it is idle, else when its user is done."""
    reader.retired = True
    if reader.lock.acquire(blocking=False):
        try:
            reader.close()
        finally:
            reader.lock.release()
