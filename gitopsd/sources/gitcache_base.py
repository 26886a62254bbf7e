"""The repo cache's foundation: its directories and settings, per-repository bookkeeping, how an
application reaches a URL (credentials and clone), and running one git command with credentials
only for network commands and every message scrubbed.

RepoCommits (gitopsd.sources.gitcache_commits) builds resolving revisions, the clone and fetches on
RepoCacheBase; RepoObjects (gitopsd.sources.gitcache_objects) reads trees and blobs without a checkout;
RepoCache (gitopsd.sources.gitcache) adds checkouts and changed paths.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterable
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
from gitopsd.sources.gitcache_state import DEFAULT_TIMEOUTS, CachedRepo, GitTimeouts, RepoStats
from gitopsd.sources.gitclassify import classify_git_error
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

log = logging.getLogger("gitopsd.sources.gitcache")


class RepoCacheBase:
    """The cache's settings and state, and the git runner its operations share."""

    """Bare clones under `root`, keyed by normalized repository URL."""

    def __init__(
        self,
        root: Path,
        credentials_lookup: CredentialsLookup | None = None,
        *,
        timeouts: GitTimeouts = DEFAULT_TIMEOUTS,
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
        self._repos: dict[tuple[str, str], CachedRepo] = {}
        self._lock = threading.Lock()
        # checkout path -> the symlinks its commit holds (git's tree listing), for the path-safety check.
        self._tree_symlinks: dict[str, tuple[str, ...]] = {}
        self._interval = 0
        (self.root / "repos").mkdir(parents=True, exist_ok=True)
        self.protected = ProtectedPaths.of([*(protected.roots if protected else ()), self.root])
        remove_unscoped_clones(self.root / "repos")
        # Checkouts do not survive a restart: whatever is left is stale.
        shutil.rmtree(self.root / "checkouts", ignore_errors=True, onerror=force_remove)
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
                diffs=was.diffs + r.diffs,
            )
        return out

    def now(self) -> float:
        """The cache's clock: what `ls_remote(asked_at=...)` takes."""
        return self._clock()

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
        # Memoized: this runs for every render, cache hits too; _git asks afresh before git reads it.
        denial = self.protected.denial(key, fresh=False)
        if denial:
            raise RepoError(RepoErrorKind.INVALID_URL, redact_url(url), denial)
        creds = self._lookup(key, project)
        if creds is not None:
            return RepoAccess(raw, key, scope_of(creds), creds)
        # A user name in the URL (no secret) is passed on; the content is anyone's.
        return RepoAccess(raw, key, ANONYMOUS, RepoCredentials(username=user) if user else None)

    def _acc(self, repo: str | RepoAccess, project: str) -> RepoAccess:
        return repo if isinstance(repo, RepoAccess) else self.access(repo, project)

    def _repo(self, acc: RepoAccess) -> CachedRepo:
        with self._lock:
            repo = self._repos.get((acc.key, acc.scope))
            if repo is None:
                repo = CachedRepo(acc.key, acc.scope, self.root / "repos" / clone_name(acc))
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
        if network:  # git is about to read the repository: is it (still) not one of ours?
            denial = self.protected.denial(acc.key)
            if denial:
                raise RepoError(RepoErrorKind.INVALID_URL, redact_url(url), denial)
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
            raise classify_git_error(scrub(str(err)), redact_url(url), network=network, timeout=timeout)
        return str(out)

    def symlinks_in(self, root: Path) -> tuple[str, ...] | None:
        """The symlinks (repository-relative) of the checkout at `root`, as git's tree lists them; None
        when `root` is not one of this cache's checkouts. Nothing else in a checkout can be a symlink:
        git writes only its tree, and an advanced checkout is cleaned of anything left in it."""
        with self._lock:
            return self._tree_symlinks.get(str(root))


def make_read_only(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            _drop_write(os.path.join(dirpath, name))


def make_files_read_only(root: Path, rels: Iterable[str]) -> None:
    """make_read_only for the named files only: those a checkout wrote again (the others kept their mode),
    so advancing a checkout of a 10,000-directory repository costs what the commit changed, not a walk."""
    for rel in rels:
        _drop_write(os.path.join(root, rel))


def _drop_write(path: str) -> None:
    """A regular file made read-only (links and missing files are left as they are)."""
    with contextlib.suppress(OSError):
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode):
            os.chmod(path, stat.S_IMODE(st.st_mode) & ~0o222)


def force_remove(func: Callable[[str], object], path: str, _exc: object) -> None:
    """shutil.rmtree's error handler: make the parent writable (checkouts are read-only) and retry."""
    with contextlib.suppress(OSError):
        os.chmod(os.path.dirname(path), stat.S_IRWXU)
        func(path)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, onerror=force_remove)
