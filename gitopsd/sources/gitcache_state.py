"""What the repo cache (gitopsd.sources.gitcache) hands out and keeps: resolved commits, refs,
counters, timeouts, and the per-repository state behind its locks.

Plain data; imported by the cache, the renderer and /metrics.
"""

from __future__ import annotations

import collections
import re
import threading
from dataclasses import dataclass
from pathlib import Path

FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
SHORT_SHA = re.compile(r"^[0-9a-f]{4,39}$")


@dataclass(frozen=True)
class CommitInfo:
    """A resolved commit (the fields of gitopsd.v1.CommitInfo)."""

    sha: str
    author: str
    date: str  # RFC 3339
    message: str
    target_revision: str = ""


@dataclass(frozen=True)
class Refs:
    branches: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class RepoStats:
    """Counters of git work per repository (the scheduler checks them; /metrics exports each)."""

    ls_remote: int = 0
    fetches: int = 0
    clones: int = 0
    diffs: int = 0  # `git diff` runs between two commits (changed_paths; answers are remembered)


@dataclass(frozen=True)
class GitTimeouts:
    ls_remote: float = 30.0
    fetch: float = 300.0
    local: float = 60.0


DEFAULT_TIMEOUTS = GitTimeouts()


class CachedRepo:
    """State of one cached repository in one credential scope (guarded by its lock)."""

    def __init__(self, key: str, scope: str, path: Path) -> None:
        self.key = key
        self.scope = scope
        self.path = path
        self.lock = threading.RLock()
        self.ls_lock = threading.Lock()
        self.ls_cache: tuple[float, int, dict[str, str]] | None = None
        self.ls_remote = 0
        self.fetches = 0
        self.clones = 0
        self.diffs = 0
        # (old sha, new sha) -> the paths changed between them: commits never change, so neither does
        # this; after a push every application on the repository asks the same question.
        self.diff_cache: collections.OrderedDict[tuple[str, str], tuple[str, ...]] = collections.OrderedDict()
        # sha -> (path, refcount); refcount 0 = idle, kept for the next render of that commit
        self.checkouts: dict[str, tuple[Path, int]] = {}
        self.idle: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.commit_infos: dict[str, CommitInfo] = {}
        # Worktree records left by an earlier process are pruned once per process.
        self.pruned = False
        self.removed_since_prune = 0
        # Commits known to be in the clone (objects are never deleted: gc.auto is 0).
        self.local_shas: set[str] = set()
