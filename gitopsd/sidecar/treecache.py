"""Materialized request trees kept between renders, keyed by a digest of the files sent.

The daemon sends the whole repository tree with every render request; many requests carry the same
files (several apps of one monorepo at one commit, hard refreshes, retries). Writing and removing
that tree was most of a sidecar's own cost per render, so the first request materializes it (with
`materialize`'s checks) and later requests with the same digest reuse it. Trees are shared and must
be treated as read-only: a backend that needs to edit a file works on `private_copy()`. Least
recently used trees are removed past `max_trees` or `max_bytes`, never while a render holds them.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import struct
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gitopsd.api.gitopsd.v1 import renderer_pb2
from gitopsd.sidecar.files import materialize

log = logging.getLogger("gitopsd.sidecar")


def files_digest(files: Iterable[renderer_pb2.SourceFile]) -> str:
    """A digest of paths, modes and contents; lengths are framed so no two file sets collide by concatenation."""
    digest = hashlib.blake2b(digest_size=20)
    for entry in files:
        path = entry.path.encode("utf-8", "surrogatepass")
        content = entry.content
        digest.update(struct.pack(">I?Q", len(path), entry.executable, len(content)))
        digest.update(path)
        digest.update(content)
    return digest.hexdigest()


@dataclass
class CachedTree:
    """One materialized tree; `checked` holds what a backend verified about it (e.g. app paths)."""

    key: str
    path: Path
    size: int
    refs: int = 0
    checked: set[str] = field(default_factory=set)


class TreeCache:
    """Reusable materialized trees under `base` (emptied at start: nothing survives a restart)."""

    def __init__(self, base: Path, max_trees: int = 32, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.base = base
        self.max_trees = max_trees
        self.max_bytes = max_bytes
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True, mode=0o700)
        self._entries: OrderedDict[str, CachedTree] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @contextlib.contextmanager
    def tree(self, files: Iterable[renderer_pb2.SourceFile], max_input_bytes: int) -> Iterator[CachedTree]:
        """The materialized tree of `files`, held for the duration of the block.

        Raises what `materialize` raises (InvalidSource, LimitExceeded) for a bad file set.
        """
        files = list(files)
        key = files_digest(files)
        entry = self._acquire(key)
        if entry is None:
            entry = self._materialize(key, files, max_input_bytes)
        try:
            yield entry
        finally:
            with self._lock:
                entry.refs -= 1
            self._evict()

    def _acquire(self, key: str) -> CachedTree | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self.hits += 1
            entry.refs += 1
            self._entries.move_to_end(key)
            return entry

    def _materialize(
        self, key: str, files: list[renderer_pb2.SourceFile], max_input_bytes: int
    ) -> CachedTree:
        path = Path(tempfile.mkdtemp(dir=self.base, prefix="tree-"))
        try:
            size = materialize(files, path, max_input_bytes)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        with self._lock:
            existing = self._entries.get(key)
            if existing is not None:  # another render of the same files got there first
                existing.refs += 1
                self._entries.move_to_end(key)
                duplicate: Path | None = path
                entry = existing
            else:
                entry = CachedTree(key=key, path=path, size=size, refs=1)
                self._entries[key] = entry
                duplicate = None
        if duplicate is not None:
            shutil.rmtree(duplicate, ignore_errors=True)
        return entry

    def _evict(self) -> None:
        doomed: list[Path] = []
        with self._lock:
            total = sum(e.size for e in self._entries.values())
            for key in list(self._entries):
                if len(self._entries) <= self.max_trees and total <= self.max_bytes:
                    break
                entry = self._entries[key]
                if entry.refs > 0:
                    continue
                del self._entries[key]
                total -= entry.size
                doomed.append(entry.path)
        for path in doomed:
            shutil.rmtree(path, ignore_errors=True)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "trees": len(self._entries),
                "bytes": sum(e.size for e in self._entries.values()),
                "hits": self.hits,
                "misses": self.misses,
            }


def private_copy(tree: Path, dest: Path) -> None:
    """A copy of a shared tree at `dest` (must not exist) whose files are hard links.

    Cheap, but a file of the copy must be replaced (write elsewhere, then os.replace), never
    written in place, or the shared tree changes with it.
    """
    shutil.copytree(tree, dest, copy_function=os.link)
