"""The repo cache: one bare clone per repository, updated by fetch, never re-cloned.

Sits under the daemon's data dir. Clones are keyed by (URL, credential scope): content fetched
with a project's scoped credentials is kept in that scope's clone, ls-remote answers likewise,
so an application of another project never reads what it could not fetch itself (see
`RepoAccess`). The scheduler resolves target revisions here (ls-remote,
cached per interval so N apps on one repo cost one call), the renderer checks commits out
here (a shared, refcounted worktree per commit, so renders of different commits run at
once), and manifest-generate-paths asks here which files changed between two commits.
All git runs through GitPython over the system git; every message is scrubbed.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import re
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import git

from gitopsd.sources.errors import RepoError, RepoErrorKind
from gitopsd.sources.gitauth import (
    CredentialsLookup,
    RepoCredentials,
    Scrubber,
    git_environment,
    local_environment,
)
from gitopsd.sources.giturl import normalize_repo_url, redact_url, split_credentials
from gitopsd.sources.localrepos import ProtectedPaths
from gitopsd.sources.repoaccess import (
    ANONYMOUS,
    EMBEDDED_PASSWORD_HINT,
    RepoAccess,
    clone_name,
    remove_unscoped_clones,
    scope_of,
)

log = logging.getLogger(__name__)

_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_SHORT_SHA = re.compile(r"^[0-9a-f]{4,39}$")


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
    """Counters of git work per repository (what the scheduler and tests check)."""

    ls_remote: int = 0
    fetches: int = 0
    clones: int = 0


@dataclass(frozen=True)
class GitTimeouts:
    ls_remote: float = 30.0
    fetch: float = 300.0
    local: float = 60.0


class _Repo:
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
        # sha -> (path, refcount); refcount 0 = idle, kept for the next render of that commit
        self.checkouts: dict[str, tuple[Path, int]] = {}
        self.idle: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.commit_infos: dict[str, CommitInfo] = {}
        # Worktree records left by an earlier process are pruned once per process.
        self.pruned = False
        self.removed_since_prune = 0
        # Commits known to be in the clone (objects are never deleted: gc.auto is 0).
        self.local_shas: set[str] = set()


class RepoCache:
    """Bare clones under `root`, keyed by normalized repository URL."""

    def __init__(
        self,
        root: Path,
        credentials_lookup: CredentialsLookup | None = None,
        *,
        timeouts: GitTimeouts = GitTimeouts(),
        ls_remote_ttl: float = 60.0,
        keep_idle_checkouts: int = 4,
        clock: Callable[[], float] = time.monotonic,
        max_fetch_bytes: int = 0,
        protected: ProtectedPaths | None = None,
    ) -> None:
        """max_fetch_bytes: the most one repository may put on disk at once: the largest file a fetch
        (its pack) or a checkout may write, and the total of one commit's files; 0: no limit.
        protected: directories no file:// repository may point into (this cache is always one)."""
        self.root = Path(root)
        self._lookup: CredentialsLookup = credentials_lookup or (lambda _url, _project: None)
        self.timeouts = timeouts
        self.ls_remote_ttl = ls_remote_ttl
        # Unused checkouts kept per repository: apps on one repo render the same commit.
        self.keep_idle_checkouts = keep_idle_checkouts
        self._clock = clock
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._lock = threading.Lock()
        self._interval = 0
        (self.root / "repos").mkdir(parents=True, exist_ok=True)
        self.protected = ProtectedPaths.of(
            [*(protected.roots if protected else ()), self.root]
        )
        remove_unscoped_clones(self.root / "repos")
        # Checkouts do not survive a restart: whatever is left is stale.
        shutil.rmtree(self.root / "checkouts", ignore_errors=True, onerror=_force_remove)
        (self.root / "checkouts").mkdir(parents=True, exist_ok=True)
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(exist_ok=True)
        os.chmod(self._tmp, stat.S_IRWXU)
        # The kernel enforces the fetch limit (RLIMIT_FSIZE through util-linux's prlimit): a git
        # process writing a bigger file is stopped by SIGXFSZ, before the disk fills.
        self.max_fetch_bytes = max_fetch_bytes
        self._prlimit = shutil.which("prlimit") if max_fetch_bytes > 0 else None
        if max_fetch_bytes > 0 and self._prlimit is None:
            log.warning("prlimit (util-linux) not found: repository fetches are not size-limited")

    # ------------------------------------------------------------------ bookkeeping

    def new_interval(self) -> None:
        """Starts a new polling interval: the next ls-remote of each repo goes to the server.

        The scheduler calls this once per tick; within an interval (and the TTL) every app
        on a repository shares one ls-remote.
        """
        with self._lock:
            self._interval += 1

    def stats(self, url: str) -> RepoStats:
        """Counters of one repository, all credential scopes together."""
        try:
            key = normalize_repo_url(url)
        except ValueError as exc:
            raise RepoError(RepoErrorKind.INVALID_URL, redact_url(url), str(exc)) from None
        return self.all_stats().get(key, RepoStats())

    def all_stats(self) -> dict[str, RepoStats]:
        """Counters of every repository used since start, by normalized URL (for /metrics)."""
        with self._lock:
            repos = list(self._repos.values())
        out: dict[str, RepoStats] = {}
        for r in repos:
            was = out.get(r.key, RepoStats())
            out[r.key] = RepoStats(
                ls_remote=was.ls_remote + r.ls_remote,
                fetches=was.fetches + r.fetches,
                clones=was.clones + r.clones,
            )
        return out

    def access(self, url: str, project: str = "") -> RepoAccess:
        """How an application of `project` reaches `url`: its credentials and its clone.

        Refuses URLs that embed a password (credentials belong in `repo add`) and file:// URLs
        into the daemon's own directories; checked again at every operation, since a path
        on disk may have changed since the application was written.
        """
        raw = url.strip()
        try:
            key = normalize_repo_url(raw)
            _, user, password = split_credentials(raw)
        except ValueError as exc:
            raise RepoError(RepoErrorKind.INVALID_URL, redact_url(url), str(exc)) from None
        if password:
            raise RepoError(RepoErrorKind.INVALID_URL, redact_url(url), EMBEDDED_PASSWORD_HINT)
        denial = self.protected.denial(key)
        if denial:
            raise RepoError(RepoErrorKind.INVALID_URL, redact_url(url), denial)
        creds = self._lookup(key, project)
        if creds is not None:
            return RepoAccess(raw, key, scope_of(creds), creds)
        # A user name in the URL (no secret) is passed on; the content is anyone's.
        return RepoAccess(raw, key, ANONYMOUS, RepoCredentials(username=user) if user else None)

    def _acc(self, repo: str | RepoAccess, project: str) -> RepoAccess:
        return repo if isinstance(repo, RepoAccess) else self.access(repo, project)

    def _repo(self, acc: RepoAccess) -> _Repo:
        with self._lock:
            repo = self._repos.get((acc.key, acc.scope))
            if repo is None:
                repo = _Repo(acc.key, acc.scope, self.root / "repos" / clone_name(acc))
                self._repos[(acc.key, acc.scope)] = repo
            return repo

    @staticmethod
    def _remote_url(url: str) -> str:
        clean = split_credentials(url.strip())[0]
        key = normalize_repo_url(clean)
        # Local paths are given to git as file:// URLs (same behaviour as a server).
        return key if key.startswith("file://") else clean

    # ------------------------------------------------------------------ running git

    def _git(
        self,
        args: list[str],
        *,
        acc: RepoAccess,
        cwd: Path | None = None,
        timeout: float,
        network: bool = False,
        max_file_bytes: int = 0,
    ) -> str:
        creds = acc.creds if network else None
        url = acc.url
        scrub = Scrubber(creds.secrets() if creds else ())
        cmd = ["git", *args]
        if max_file_bytes > 0 and self._prlimit is not None:
            cmd = [self._prlimit, f"--fsize={max_file_bytes}", *cmd]
        runner = git.cmd.Git(str(cwd) if cwd else None)
        with contextlib.ExitStack() as stack:
            # Only network commands get credentials (and the temp files that carry them).
            env = (
                stack.enter_context(
                    git_environment(creds, known_hosts=self.root / "known_hosts", tmp_root=self._tmp)
                )
                if network
                else local_environment()
            )
            status, out, err = runner.execute(
                cmd,
                env=env,
                with_extended_output=True,
                with_exceptions=False,
                kill_after_timeout=timeout,
                strip_newline_in_stdout=False,
            )
        if status != 0:
            raise _classify(scrub(str(err)), redact_url(url), network=network, timeout=timeout)
        return str(out)

    # ------------------------------------------------------------------ remote side

    def ls_remote(self, repo: str | RepoAccess, *, force: bool = False, project: str = "") -> dict[str, str]:
        """All refs of the remote (refs/heads/*, refs/tags/* with ^{} peeled, HEAD) -> SHA."""
        acc = self._acc(repo, project)
        state = self._repo(acc)
        with state.ls_lock:  # one call in flight per repo and scope; the others wait for its answer
            now = self._clock()
            cached = state.ls_cache
            if (
                not force
                and cached is not None
                and cached[1] == self._interval
                and now - cached[0] < self.ls_remote_ttl
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
                if ref and _FULL_SHA.match(sha):
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
        if _FULL_SHA.match(rev.lower()):
            return rev.lower()
        refs = self.ls_remote(acc, force=force)
        for candidate in _ref_candidates(rev):
            peeled = refs.get(candidate + "^{}")
            if peeled:
                return peeled
            if candidate in refs:
                return refs[candidate]
        if _SHORT_SHA.match(rev.lower()):
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

    def _ensure_clone(self, acc: RepoAccess) -> _Repo:
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
                    _remove_tree(tmp)
                    raise
                tmp.rename(repo.path)
                repo.clones += 1
        return repo

    def _fetch_locked(
        self, repo: _Repo, acc: RepoAccess, extra: tuple[str, ...] = (), *, path: Path | None = None
    ) -> None:
        refspecs = extra or ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
        try:
            self._git(
                ["fetch", "--quiet", "--prune", "--no-write-fetch-head", "--", self._remote_url(acc.url), *refspecs],
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
        if _FULL_SHA.match(sha):
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
                raise RepoError(RepoErrorKind.REVISION_NOT_FOUND, redact_url(acc.url), f"commit {sha} not found")

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
        self.ensure_commit(acc, old_sha)
        self.ensure_commit(acc, new_sha)
        out = self._git(
            ["diff", "--name-only", "--no-renames", "-z", old_sha, new_sha, "--"],
            acc=acc,
            cwd=state.path,
            timeout=self.timeouts.local,
        )
        return [p for p in out.split("\x00") if p]

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
                self._check_tree_size(state, acc, sha)
                path = self.root / "checkouts" / state.path.stem / sha
                if path.exists():
                    _remove_tree(path)
                path.parent.mkdir(parents=True, exist_ok=True)
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
                _make_read_only(path)
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

    def _check_tree_size(self, repo: _Repo, acc: RepoAccess, sha: str) -> None:
        """Refuses a commit whose files add up to more than the limit, before writing any of them
        (a small pack can hold many well-compressed files)."""
        if self.max_fetch_bytes <= 0:
            return
        listing = self._git(
            ["ls-tree", "-r", "-l", "--full-tree", sha], acc=acc, cwd=repo.path, timeout=self.timeouts.fetch
        )
        total = 0
        for line in listing.splitlines():
            size = line.split("\t", 1)[0].split()[-1] if "\t" in line else "-"
            if size.isdigit():  # "-" for submodules
                total += int(size)
        if total > self.max_fetch_bytes:
            raise RepoError(
                RepoErrorKind.TOO_LARGE,
                redact_url(acc.url),
                f"commit {sha[:12]} holds {total} bytes of files, more than render.max_fetch_bytes "
                f"({self.max_fetch_bytes})",
            )

    def _remove_checkout(self, repo: _Repo, acc: RepoAccess, sha: str) -> None:
        path, _ = repo.checkouts.pop(sha)
        _remove_tree(path)
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


def _classify(stderr: str, repo: str, *, network: bool, timeout: float) -> RepoError:
    text = stderr.strip()
    low = text.lower()
    # Keep the last meaningful lines of git's message (the first are often hints).
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("hint:")]
    detail = "; ".join(lines[-3:])[:500]
    if low.startswith("timeout:"):
        return RepoError(RepoErrorKind.UNREACHABLE, repo, f"git timed out after {timeout:g}s")
    # SIGXFSZ (25): a file passed the RLIMIT_FSIZE the fetch runs under.
    if "signal 25" in low or "file size limit exceeded" in low:
        return RepoError(
            RepoErrorKind.TOO_LARGE, repo, "git was stopped writing a file past the size limit (render.max_fetch_bytes)"
        )
    if "host key verification failed" in low or "remote host identification has changed" in low:
        return RepoError(
            RepoErrorKind.UNREACHABLE,
            repo,
            "host key verification failed: the server's SSH host key differs from the one pinned "
            "in the data dir's known_hosts (or use insecure-skip-server-verification)",
        )
    if any(
        s in low
        for s in (
            "authentication failed",
            "could not read username",
            "could not read password",
            "terminal prompts disabled",
            "permission denied (publickey",
            "http basic: access denied",
            "returned error: 401",
            "returned error: 403",
            "invalid username or password",
        )
    ):
        return RepoError(RepoErrorKind.AUTH_FAILED, repo, detail)
    if "couldn't find remote ref" in low or "not our ref" in low:
        return RepoError(RepoErrorKind.REVISION_NOT_FOUND, repo, detail)
    if any(
        s in low
        for s in (
            "repository not found",
            "not exported",
            "does not appear to be a git repository",
            "not found",
            "returned error: 404",
            "no such file or directory",
            "no such repository",
        )
    ):
        return RepoError(RepoErrorKind.NOT_FOUND, repo, detail)
    if network and any(
        s in low
        for s in (
            "could not resolve host",
            "connection refused",
            "unable to connect",
            "failed to connect",
            "couldn't connect",
            "connection timed out",
            "network is unreachable",
            "could not read from remote repository",
            "unable to access",
            "the remote end hung up",
            "ssl",
        )
    ):
        return RepoError(RepoErrorKind.UNREACHABLE, repo, detail)
    return RepoError(RepoErrorKind.FAILED, repo, detail)


def _make_read_only(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            with contextlib.suppress(OSError):
                st = os.lstat(p)
                if stat.S_ISREG(st.st_mode):
                    os.chmod(p, stat.S_IMODE(st.st_mode) & ~0o222)


def _force_remove(func, path, _exc) -> None:  # type: ignore[no-untyped-def]
    with contextlib.suppress(OSError):
        os.chmod(os.path.dirname(path), stat.S_IRWXU)
        func(path)


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, onerror=_force_remove)
