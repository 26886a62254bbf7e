"""The repo cache: one bare clone per repository, updated by fetch, never re-cloned.

Sits under the daemon's data dir. Clones are keyed by (URL, credential scope): content fetched
with a project's scoped credentials is kept in that scope's clone, ls-remote answers likewise,
so an application of another project never reads what it could not fetch itself (see
`RepoAccess`). The scheduler resolves target revisions here (ls-remote,
cached per interval so N apps on one repo cost one call), the renderer checks commits out
here (a shared, refcounted worktree per commit, so renders of different commits run at
once), and manifest-generate-paths asks here which files changed between two commits.
All git runs through GitPython over the system git; every message is scrubbed.

This module holds the checkouts and changed_paths (with its memo of answers). Reading trees and
blobs without a checkout (and the whole-commit checks a checkout makes) is gitopsd.sources.gitcache_objects;
resolving revisions, the clone and fetches live in gitopsd.sources.gitcache_commits, built on
gitopsd.sources.gitcache_base (settings, bookkeeping, running git). The data types are in gitopsd.sources.gitcache_state and
git's error messages are classified in gitopsd.sources.gitclassify.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from gitopsd.sources.errors import RepoError
from gitopsd.sources.gitcache_base import make_files_read_only, make_read_only, remove_tree
from gitopsd.sources.gitcache_objects import RepoObjects
from gitopsd.sources.gitcache_state import CachedRepo, CommitInfo, GitTimeouts, Refs, RepoStats
from gitopsd.sources.repoaccess import RepoAccess

log = logging.getLogger(__name__)

# Names other modules import from here (they moved to gitcache_state).
__all__ = ["CommitInfo", "GitTimeouts", "Refs", "RepoCache", "RepoStats"]


# Answers of changed_paths remembered per repository (a push asks one question 10,000 times).
_DIFFS_KEPT = 32
_DIFF_PATHS_KEPT = 20_000


class RepoCache(RepoObjects):
    """Bare clones under `root`, keyed by normalized repository URL."""

    # ------------------------------------------------------------------ changed paths

    def changed_paths(
        self, repo: str | RepoAccess, old_sha: str, new_sha: str, *, project: str = ""
    ) -> list[str]:
        """Repository-relative paths added, removed or modified between two commits."""
        acc = self._acc(repo, project)
        state = self._ensure_clone(acc)
        with state.lock:
            known = state.diff_cache.get((old_sha, new_sha))
            if known is not None:
                state.diff_cache.move_to_end((old_sha, new_sha))
                return list(known)
        self.ensure_commit(acc, old_sha)
        self.ensure_commit(acc, new_sha)
        out = self._git(
            ["diff", "--name-only", "--no-renames", "-z", old_sha, new_sha, "--"],
            acc=acc,
            cwd=state.path,
            timeout=self.timeouts.local,
        )
        paths = tuple(p for p in out.split("\x00") if p)
        with state.lock:
            state.diffs += 1
            if len(paths) > _DIFF_PATHS_KEPT:
                return list(paths)  # a rewrite of everything: not worth the memory
            state.diff_cache[(old_sha, new_sha)] = paths
            while len(state.diff_cache) > _DIFFS_KEPT:
                state.diff_cache.popitem(last=False)
        return list(paths)

    # ------------------------------------------------------------------ checkouts

    @contextlib.contextmanager
    def checkout(self, repo: str | RepoAccess, sha: str, *, project: str = "") -> Iterator[Path]:
        """A read-only work tree of `sha`, shared by concurrent users of the same scope.

        After the last user it stays around idle (up to `keep_idle_checkouts` per repo,
        least recently used removed first), so the next render of that commit is free.
        """
        acc = self._acc(repo, project)
        state = self._ensure_clone(acc)
        self.ensure_commit(acc, sha)
        with state.lock:
            if not state.pruned:
                self._git(["worktree", "prune"], acc=acc, cwd=state.path, timeout=self.timeouts.local)
                state.pruned = True
            entry = state.checkouts.get(sha)
            state.idle.pop(sha, None)
            if entry is None:
                symlinks = self._check_tree_size(state, acc, sha)
                path = self.root / "checkouts" / state.path.stem / sha
                if path.exists():
                    remove_tree(path)
                path.parent.mkdir(parents=True, exist_ok=True)
                rewritten = self._advance_idle_checkout(state, acc, sha, path)
                if rewritten is None:
                    self._git(
                        # --force: a record of an earlier checkout of this commit may remain
                        # (records are pruned in batches, not after every render).
                        ["worktree", "add", "--force", "--detach", "--quiet", str(path), sha],
                        acc=acc,
                        cwd=state.path,
                        timeout=self.timeouts.fetch,
                        # A small pack can hold a huge, well-compressed file: the same cap per file.
                        max_file_bytes=self.max_fetch_bytes,
                    )
                    make_read_only(path)
                else:
                    make_files_read_only(path, rewritten)
                with self._lock:
                    self._tree_symlinks[str(path)] = symlinks
                entry = (path, 0)
            state.checkouts[sha] = (entry[0], entry[1] + 1)
        try:
            yield entry[0]
        finally:
            with state.lock:
                path, count = state.checkouts[sha]
                state.checkouts[sha] = (path, count - 1)
                if count == 1:
                    state.idle[sha] = None
                    while len(state.idle) > self.keep_idle_checkouts:
                        old, _ = state.idle.popitem(last=False)
                        self._remove_checkout(state, acc, old)

    def _advance_idle_checkout(
        self, repo: CachedRepo, acc: RepoAccess, sha: str, path: Path
    ) -> list[str] | None:
        """Turns the most recently used idle checkout into one of `sha`, in place: git rewrites only
        the files that differ, so a commit to one application of a 10,000-application repository
        writes one file instead of 10,000. Returns the files written again (to be made read-only);
        None (nothing changed) when there is none to take. Called with repo.lock held."""
        if not repo.idle:
            return None
        old = next(reversed(repo.idle))
        old_path, _ = repo.checkouts[old]
        try:
            self._git(
                ["worktree", "move", str(old_path), str(path)],
                acc=acc,
                cwd=repo.path,
                timeout=self.timeouts.local,
            )
        except RepoError:
            return None  # e.g. its directory vanished: a fresh checkout instead
        del repo.idle[old]
        del repo.checkouts[old]
        with self._lock:
            self._tree_symlinks.pop(str(old_path), None)
        try:
            # What git will write again: the files that differ between the commits, and any changed
            # in place since (only root writes a read-only file). The others keep their read-only mode.
            rewritten = self._git(
                ["diff", "--name-only", "--no-renames", "-z", old, sha, "--"],
                acc=acc,
                cwd=repo.path,
                timeout=self.timeouts.local,
            ) + "\x00" + self._git(
                ["-c", "core.trustctime=false", "diff", "--name-only", "--no-renames", "-z"],
                acc=acc,
                cwd=path,
                timeout=self.timeouts.local,
            )
            # chmod (make_read_only) changed every file's ctime, not its content: trustctime off,
            # or git would read and hash every file again. clean: nothing a renderer may have
            # left in the tree survives into the next commit's.
            for args in (
                ["-c", "core.trustctime=false", "checkout", "--force", "--detach", "--quiet", sha],
                ["clean", "-ffdxq"],
            ):
                self._git(
                    args, acc=acc, cwd=path, timeout=self.timeouts.fetch, max_file_bytes=self.max_fetch_bytes
                )
        except RepoError:
            remove_tree(path)
            repo.removed_since_prune += 1
            return None
        return [p for p in rewritten.split("\x00") if p]

    def _remove_checkout(self, repo: CachedRepo, acc: RepoAccess, sha: str) -> None:
        path, _ = repo.checkouts.pop(sha)
        with self._lock:
            self._tree_symlinks.pop(str(path), None)
        remove_tree(path)
        repo.removed_since_prune += 1
        if repo.removed_since_prune >= 64:
            repo.removed_since_prune = 0
            with contextlib.suppress(RepoError):
                self._git(["worktree", "prune"], acc=acc, cwd=repo.path, timeout=self.timeouts.local)

    def release_idle(self) -> None:
        """Removes every unused checkout and stops the cat-file processes (daemon shutdown, tests)."""
        self._batch.close_all()
        with self._lock:
            repos = list(self._repos.values())
        for repo in repos:
            # Local git commands only: no credentials needed.
            acc = RepoAccess(repo.key, repo.key, repo.scope)
            with repo.lock:
                while repo.idle:
                    sha, _ = repo.idle.popitem(last=False)
                    self._remove_checkout(repo, acc, sha)
