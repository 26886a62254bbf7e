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


@dataclass(frozen=True)
class TreeSummary:
    """What the checks of a commit need to know of its whole tree (gitopsd.sources.gitcache_objects)."""

    # Bytes of all its files (blobs; 0 when the cache has no max_fetch_bytes, which is all it is for).
    total_bytes: int
    # Repository-relative paths of its symlinks (mode 120000).
    symlinks: frozenset[str]
    # Paths git refuses to check out (a ".git" component, say): a render from objects must not
    # succeed where the checkout fails, so these send it to the checkout (and its error).
    unusual: frozenset[str]
    # Paths of its .gitattributes files: a checkout applies them (eol=crlf, ident, working-tree-encoding,
    # filters), so a render from objects of a directory they may apply to goes to the checkout.
    attributes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TreeEntry:
    """One entry of `git ls-tree -l`."""

    path: str  # repository-relative, "/"-separated
    mode: str  # git's octal mode: 100644, 100755, 120000 (symlink), 040000 (tree), 160000 (submodule)
    kind: str  # blob, tree, commit
    sha: str
    size: int  # -1 for trees and submodules


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
        # sha -> what the size and path-safety checks need of its whole tree, most recent last: the
        # next commit's is worked out from the last one's and their diff (gitopsd.sources.gitcache_objects).
        self.summaries: collections.OrderedDict[str, TreeSummary] = collections.OrderedDict()
