"""The repo cache's commits: resolving a revision to a commit (ls-remote, cached per interval and
credential scope, so N apps on one repo cost one call), the bare clone made once and updated by
fetch (never re-cloned), and commit metadata.

Built on gitopsd.sources.gitcache_base (settings, bookkeeping, running git); RepoCache
(gitopsd.sources.gitcache) adds checkouts and changed paths on top of RepoCommits.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from gitopsd.sources.errors import RepoError, RepoErrorKind
from gitopsd.sources.gitcache_base import RepoCacheBase, remove_tree
from gitopsd.sources.gitcache_state import FULL_SHA, SHORT_SHA, CachedRepo, CommitInfo, Refs
from gitopsd.sources.giturl import normalize_repo_url, redact_url
from gitopsd.sources.repoaccess import RepoAccess


class RepoCommits(RepoCacheBase):
    """Revisions resolved and commits made local, in bare clones under `root`."""

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
        if (repo.path / "HEAD").exists():
            # A clone is made under a temporary name and renamed into place whole: once its HEAD is
            # there it is complete, and no render has to wait for the lock a fetch or checkout holds.
            return repo
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


def _ref_candidates(rev: str) -> list[str]:
    if rev == "HEAD":
        return ["HEAD"]
    if rev.startswith("refs/"):
        return [rev]
    return [f"refs/heads/{rev}", f"refs/tags/{rev}", f"refs/{rev}"]
