"""The repo cache: one bare clone per repository, updated by fetch, never re-cloned.

Sits under the daemon's data dir. Clones are keyed by (URL, credential scope): content fetched
with a project's scoped credentials is kept in that scope's clone, ls-remote answers likewise,
so an application of another project never reads what it could not fetch itself (see
`RepoAccess`). The scheduler resolves target revisions here (ls-remote,
cached per interval so N apps on one repo cost one call), the renderer checks commits out
here (a shared, refcounted worktree per commit, so renders of different commits run at
once), and manifest-generate-paths asks here which files changed between two commits.
All git runs through GitPython over the system git; every message is scrubbed.

Built on gitopsd.sources.gitcache_base (settings, bookkeeping, running git); its data types are in
gitopsd.sources.gitcache_state and git's error messages are classified in gitopsd.sources.gitclassify.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

from gitopsd.sources.errors import RepoError, RepoErrorKind
from gitopsd.sources.gitcache_base import RepoCacheBase, make_files_read_only, make_read_only, remove_tree
from gitopsd.sources.gitcache_state import (
    FULL_SHA,
    SHORT_SHA,
    CachedRepo,
    CommitInfo,
    GitTimeouts,
    Refs,
    RepoStats,
)
from gitopsd.sources.giturl import normalize_repo_url, redact_url
from gitopsd.sources.repoaccess import RepoAccess

log = logging.getLogger(__name__)

# Names other modules import from here (they moved to gitcache_state).
__all__ = ["CommitInfo", "GitTimeouts", "Refs", "RepoCache", "RepoStats"]


# Answers of changed_paths remembered per repository (a push asks one question 10,000 times).
_DIFFS_KEPT = 32
_DIFF_PATHS_KEPT = 20_000

class RepoCache(RepoCacheBase):
    """Bare clones under `root`, keyed by normalized repository URL."""

    # ------------------------------------------------------------------ remote side

    def ls_remote(
        self, repo: str | RepoAccess, *, force: bool = False, project: str = "", asked_at: float | None = None
    ) -> dict[str, str]:
        """All refs of the remote (refs/heads/*, refs/tags/* with ^{} peeled, HEAD) -> SHA.
        force: an answer the server gave after asked_at (default: now; see now()) at the oldest."""
        acc = self._acc(repo, project)
        state = self._repo(acc)
        # A refresh asked for at T and run later (queued behind thousands) needs an answer from after
        # T, not from after it ran: one ls-remote then serves every refresh asked for before it began.
        asked = self._clock() if asked_at is None else min(asked_at, self._clock())
        with state.ls_lock:  # one call in flight per repo and scope; the others wait for its answer
            now = self._clock()
            cached = state.ls_cache
            if cached is not None and (
                # force: an answer the server gave after the caller asked is as fresh as a new call.
                # So a burst of forced calls (10,000 applications created at once, each resolving its
                # branch) costs one ls-remote per burst, not one per application.
                cached[0] > asked
                or (not force and cached[1] == self._interval and now - cached[0] < self.ls_remote_ttl)
            ):
                return dict(cached[2])
            out = self._git(
                ["ls-remote", "--", self._remote_url(acc.url)],
                acc=acc,
                timeout=self.timeouts.ls_remote,
                network=True,
            )
            state.ls_remote += 1
            refs: dict[str, str] = {}
            for line in out.splitlines():
                sha, _, ref = line.partition("\t")
                if ref and FULL_SHA.match(sha):
                    refs[ref] = sha
            state.ls_cache = (now, self._interval, refs)
            return dict(refs)

    def list_refs(self, repo: str | RepoAccess, *, project: str = "") -> Refs:
        refs = self.ls_remote(repo, project=project)
        branches = sorted(r[len("refs/heads/") :] for r in refs if r.startswith("refs/heads/"))
        tags = sorted(
            r[len("refs/tags/") :] for r in refs if r.startswith("refs/tags/") and not r.endswith("^{}")
        )
        return Refs(tuple(branches), tuple(tags))

    def invalidate(self, url: str) -> None:
        """Forgets the cached ls-remote answers of a repository, in every scope (a webhook said it changed)."""
        try:
            key = normalize_repo_url(url)
        except ValueError as exc:
            raise RepoError(RepoErrorKind.INVALID_URL, redact_url(url), str(exc)) from None
        with self._lock:
            states = [r for (k, _), r in self._repos.items() if k == key]
        for state in states:
            with state.ls_lock:
                state.ls_cache = None

    def resolve_sha(
        self, repo: str | RepoAccess, revision: str, *, force: bool = False, project: str = ""
    ) -> str:
        """The SHA a revision points to, from ls-remote when possible (no fetch for refs).

        force: ask the server now instead of reusing this interval's ls-remote answer.
        """
        acc = self._acc(repo, project)
        rev = (revision or "HEAD").strip()
        if FULL_SHA.match(rev.lower()):
            return rev.lower()
        refs = self.ls_remote(acc, force=force)
        for candidate in _ref_candidates(rev):
            peeled = refs.get(candidate + "^{}")
            if peeled:
                return peeled
            if candidate in refs:
                return refs[candidate]
        if SHORT_SHA.match(rev.lower()):
            return self._expand_short_sha(acc, rev.lower())
        raise RepoError(
            RepoErrorKind.REVISION_NOT_FOUND, redact_url(acc.url), f"no branch, tag or commit {rev!r}"
        )

    def resolve(
        self, repo: str | RepoAccess, revision: str, *, force: bool = False, project: str = ""
    ) -> CommitInfo:
        """Resolves a target revision (branch, tag, full or short SHA, HEAD) to a commit."""
        acc = self._acc(repo, project)
        sha = self.resolve_sha(acc, revision, force=force)
        self.ensure_commit(acc, sha)
        info = self.commit_info(acc, sha)
        return CommitInfo(info.sha, info.author, info.date, info.message, revision or "HEAD")

    # ------------------------------------------------------------------ local clone

    def _ensure_clone(self, acc: RepoAccess) -> CachedRepo:
        repo = self._repo(acc)
        with repo.lock:
            if not (repo.path / "HEAD").exists():
                tmp = repo.path.with_name(repo.path.name + ".init")
                shutil.rmtree(tmp, ignore_errors=True)
                self._git(["init", "--bare", "--quiet", str(tmp)], acc=acc, timeout=self.timeouts.local)
                # No remote URL is stored: fetches name the URL each time, so no URL (and no
                # credential) ever lands in the clone's config.
                self._git(["config", "gc.auto", "0"], acc=acc, cwd=tmp, timeout=self.timeouts.local)
                try:
                    self._fetch_locked(repo, acc, path=tmp)
                except RepoError:
                    remove_tree(tmp)
                    raise
                tmp.rename(repo.path)
                repo.clones += 1
        return repo

    def _fetch_locked(
        self, repo: CachedRepo, acc: RepoAccess, extra: tuple[str, ...] = (), *, path: Path | None = None
    ) -> None:
        refspecs = extra or ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
        try:
            self._git(
                [
                    "fetch",
                    "--quiet",
                    "--prune",
                    "--no-write-fetch-head",
                    "--",
                    self._remote_url(acc.url),
                    *refspecs,
                ],
                acc=acc,
                cwd=path or repo.path,
                timeout=self.timeouts.fetch,
                network=True,
                max_file_bytes=self.max_fetch_bytes,
            )
        except RepoError as exc:
            if exc.kind == RepoErrorKind.TOO_LARGE:
                raise RepoError(
                    RepoErrorKind.TOO_LARGE,
                    exc.repo,
                    f"fetching it would write more than {self.max_fetch_bytes} bytes at once "
                    "(render.max_fetch_bytes)",
                ) from None
            raise
        repo.fetches += 1

    def fetch(self, repo: str | RepoAccess, *, project: str = "") -> None:
        acc = self._acc(repo, project)
        state = self._ensure_clone(acc)
        with state.lock:
            self._fetch_locked(state, acc)

    def has_commit(self, repo: str | RepoAccess, sha: str, *, project: str = "") -> bool:
        acc = self._acc(repo, project)
        state = self._repo(acc)
        if sha in state.local_shas:
            return True
        if not (state.path / "HEAD").exists():
            return False
        try:
            self._git(
                ["cat-file", "-e", f"{sha}^{{commit}}"], acc=acc, cwd=state.path, timeout=self.timeouts.local
            )
        except RepoError:
            return False
        if FULL_SHA.match(sha):
            state.local_shas.add(sha)
        return True

    def ensure_commit(self, repo: str | RepoAccess, sha: str, *, project: str = "") -> None:
        """Makes the commit local: fetches only when it is not there yet."""
        acc = self._acc(repo, project)
        state = self._ensure_clone(acc)
        if self.has_commit(acc, sha):
            return
        with state.lock:
            if self.has_commit(acc, sha):
                return
            self._fetch_locked(state, acc)
            if self.has_commit(acc, sha):
                return
            # A commit not on any branch or tag: ask for it by SHA (servers that allow it).
            with contextlib.suppress(RepoError):
                self._fetch_locked(state, acc, (sha,))
            if not self.has_commit(acc, sha):
                raise RepoError(
                    RepoErrorKind.REVISION_NOT_FOUND, redact_url(acc.url), f"commit {sha} not found"
                )

    def _expand_short_sha(self, acc: RepoAccess, short: str) -> str:
        repo = self._ensure_clone(acc)
        for attempt in range(2):
            try:
                out = self._git(
                    ["rev-parse", "--verify", "--quiet", f"{short}^{{commit}}"],
                    acc=acc,
                    cwd=repo.path,
                    timeout=self.timeouts.local,
                )
                return out.strip()
            except RepoError:
                if attempt == 0:
                    with repo.lock:
                        self._fetch_locked(repo, acc)
        raise RepoError(
            RepoErrorKind.REVISION_NOT_FOUND,
            redact_url(acc.url),
            f"no branch, tag or commit {short!r} (or the short SHA is ambiguous)",
        )

    def commit_info(self, repo: str | RepoAccess, sha: str, *, project: str = "") -> CommitInfo:
        """SHA, author ("Name <email>"), author date (RFC 3339) and message of a commit."""
        acc = self._acc(repo, project)
        state = self._ensure_clone(acc)
        cached = state.commit_infos.get(sha)
        if cached:
            return cached
        self.ensure_commit(acc, sha)
        out = self._git(
            ["log", "-1", "--format=%H%x00%an <%ae>%x00%aI%x00%B", sha, "--"],
            acc=acc,
            cwd=state.path,
            timeout=self.timeouts.local,
        )
        full, author, date, message = (out.split("\x00", 3) + ["", "", ""])[:4]
        info = CommitInfo(full.strip(), author, date.strip(), message.strip())
        state.commit_infos[sha] = info
        return info

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
        """Removes every unused checkout (daemon shutdown, tests)."""
        with self._lock:
            repos = list(self._repos.values())
        for repo in repos:
            # Local git commands only: no credentials needed.
            acc = RepoAccess(repo.key, repo.key, repo.scope)
            with repo.lock:
                while repo.idle:
                    sha, _ = repo.idle.popitem(last=False)
                    self._remove_checkout(repo, acc, sha)


def _ref_candidates(rev: str) -> list[str]:
    if rev == "HEAD":
        return ["HEAD"]
    if rev.startswith("refs/"):
        return [rev]
    return [f"refs/heads/{rev}", f"refs/tags/{rev}", f"refs/{rev}"]
