"""Git's failures as RepoErrors: what went wrong (unreachable, authentication, not found, too large),
read from git's already scrubbed stderr, with the last meaningful lines kept as the detail.

Used by the repo cache's git runner (gitopsd.sources.gitcache_base).
"""

from __future__ import annotations

from gitopsd.sources.errors import RepoError, RepoErrorKind


def classify_git_error(stderr: str, repo: str, *, network: bool, timeout: float) -> RepoError:
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
            RepoErrorKind.TOO_LARGE,
            repo,
            "git was stopped writing a file past the size limit (render.max_fetch_bytes)",
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
