"""Local (file://) repositories that must never be read: the daemon's own files.

A file:// repository URL is read by git on the daemon's host with the daemon's rights. Into
the data dir it would let any user with an application expose the repo cache (other
projects' private clones), the database, keys and sockets. `ProtectedPaths` says whether a
URL reaches one of those places, following what git itself follows: symlinks and `..`, the
suffixes git tries (`x`, `x.git`, `x/.git`), `gitdir:` files, `commondir` and object
alternates. It is checked when a repository is registered, when an application is written and
before every fetch (a path can become a symlink later).
"""

from __future__ import annotations

import os
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gitopsd.sources.giturl import normalize_repo_url

# Indirections followed per repository at most (a hostile chain of alternates stays cheap).
_MAX_HOPS = 16
# Without `fresh`, a path's answer is reused for this long: every render asks (10,000 applications on
# one file:// repository asked 10,000 times a pass, each a walk of realpath and stat calls), while git
# reads the path only on a fetch or an ls-remote, which ask with fresh=True right before git runs.
_MEMO_SECONDS = 1.0
_MEMO_MAX = 4096


def local_path_of(url: str) -> str | None:
    """The filesystem path a repository URL names, or None for a remote URL."""
    try:
        key = normalize_repo_url(url)
    except ValueError:
        return None
    if not key.startswith("file://"):
        return None
    return urllib.parse.unquote(key.removeprefix("file://")) or "/"


@dataclass(frozen=True)
class ProtectedPaths:
    """Directories no file:// repository may point into (the data dir, caches, sockets, keys)."""

    roots: tuple[Path, ...] = ()
    _memo: dict[str, tuple[float, str | None]] = field(default_factory=dict, compare=False, repr=False)
    _memo_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @classmethod
    def of(cls, paths: Iterable[Path | str]) -> ProtectedPaths:
        return cls(tuple(Path(os.path.realpath(p)) for p in paths if str(p)))

    def denial(self, url: str, fresh: bool = True) -> str | None:
        """Why git may not read this URL, or None when it may (remote URLs always may). fresh=False:
        an answer up to _MEMO_SECONDS old will do (nothing reads the path on the strength of it)."""
        path = local_path_of(url)
        if path is None or not self.roots:
            return None
        now = time.monotonic()
        if not fresh:
            with self._memo_lock:
                known = self._memo.get(path)
            if known is not None and now - known[0] < _MEMO_SECONDS:
                return known[1]
        answer = self._walk(path)
        with self._memo_lock:
            if len(self._memo) >= _MEMO_MAX:
                self._memo.clear()
            self._memo[path] = (now, answer)
        return answer

    def _walk(self, path: str) -> str | None:
        for candidate in _git_dirs(path):
            real = Path(os.path.realpath(candidate))
            if any(real == root or real.is_relative_to(root) for root in self.roots):
                return (
                    "a file:// repository may not point into gitopsd's own data dir, caches, "
                    "sockets or keys"
                )
        return None


def _git_dirs(path: str) -> Iterator[str]:
    """Every directory git could read for a local URL: the candidates it tries and where they lead."""
    base = path.rstrip("/") or "/"
    queue = [base, base + ".git", os.path.join(base, ".git"), base + ".git/.git"]
    seen: set[str] = set()
    while queue and len(seen) < _MAX_HOPS * 4:
        candidate = queue.pop(0)
        if candidate in seen:
            continue
        seen.add(candidate)
        yield candidate
        queue.extend(_indirections(candidate))


def _indirections(candidate: str) -> list[str]:
    out: list[str] = []
    if os.path.isfile(candidate):  # a `.git` file: "gitdir: PATH"
        text = _read_small(candidate)
        if text.startswith("gitdir:"):
            out.append(_relative_to(candidate, text.removeprefix("gitdir:").strip(), file=True))
        return out
    if not os.path.isdir(candidate):
        return out
    common = _read_small(os.path.join(candidate, "commondir")).strip()
    if common:
        out.append(_relative_to(candidate, common))
    for line in _read_small(os.path.join(candidate, "objects", "info", "alternates")).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(_relative_to(os.path.join(candidate, "objects"), line))
    return out


def _relative_to(anchor: str, target: str, *, file: bool = False) -> str:
    base = os.path.dirname(anchor) if file else anchor
    return os.path.normpath(os.path.join(base, target))


def _read_small(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(64 * 1024)
    except OSError:
        return ""
