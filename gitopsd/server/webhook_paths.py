"""The files a push changed, as GitHub, GitLab, Gitea and Gogs push payloads list them
(`commits[].added/modified/removed`); Bitbucket and Azure DevOps payloads do not carry them.

gitopsd.server.webhook calls `changed_paths` while it parses a push; gitopsd.server.webhook_match
uses the result to refresh the applications whose paths hold a changed file first.

The list is a hint, never trusted to be whole: whenever it may be incomplete (a payload that lists
fewer commits than were pushed, a new, deleted or force-pushed branch, a shape other than the
provider documents, more files than MAX_CHANGED_PATHS), the answer is "unknown" with the reason,
and every matching application is refreshed at once, as without the list. A malformed list is not
a refused push: its refs still say which applications to refresh.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitopsd.server.webhook_types import GITEA, GITHUB, GITLAB, GOGS

# Distinct changed files kept from one payload. Past it the list says little about which
# application changed (a mass edit), and keeping it would cost memory per request: "unknown".
MAX_CHANGED_PATHS = 10_000
# GitHub documents its webhook push payload's `commits` as including at most 2048 commits (the limit
# of 20 is the Events API's timeline, not webhooks) and gives no total: a list of that length may have
# been cut, so it is taken as unknown (GitLab and Gitea give the total, and are believed).
GITHUB_MAX_COMMITS = 2048
# GitLab lists the latest 20 commits of a push; `total_commits_count` tells whether there were more.
GITLAB_MAX_COMMITS = 20
MAX_PATH_CHARS = 4096

_ZERO_SHA = "0" * 40
_FILE_LISTS = ("added", "modified", "removed")


@dataclass(frozen=True)
class ChangedPaths:
    """paths: repository-relative files the push changed, or None when not known (`why` says why)."""

    paths: tuple[str, ...] | None
    why: str = ""


def _unknown(why: str) -> ChangedPaths:
    return ChangedPaths(None, why)


def _is_zero(sha: object) -> bool:
    return isinstance(sha, str) and sha.strip("0") == "" and len(sha) >= 40


def _commit_count(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _truncated(provider: str, data: Mapping[str, Any], listed: int) -> str:
    """Why the payload's commit list may not be the whole push ("" when it is)."""
    total = _commit_count(data, "total_commits_count" if provider == GITLAB else "total_commits")
    if total is not None:
        return f"the payload lists {listed} of {total} commits" if total > listed else ""
    if provider == GITLAB and listed >= GITLAB_MAX_COMMITS:
        return f"GitLab lists at most {GITLAB_MAX_COMMITS} commits and gave no total"
    if provider == GITHUB and listed >= GITHUB_MAX_COMMITS:
        return f"GitHub lists at most {GITHUB_MAX_COMMITS} commits"
    return ""


def _add_files(commit: object, where: str, out: dict[str, None]) -> str:
    """Adds one commit's files to `out`; returns why the list is unusable ("" when it is fine)."""
    if not isinstance(commit, dict):
        return f"{where}: expected an object"
    for key in _FILE_LISTS:
        files = commit.get(key, [])
        if not isinstance(files, list):
            return f"{where}.{key}: expected an array of file paths"
        for path in files:
            if not isinstance(path, str) or not path.strip() or len(path) > MAX_PATH_CHARS:
                return f"{where}.{key}: expected file paths (non-empty strings of at most {MAX_PATH_CHARS} characters)"
            out[posixpath.normpath(path.strip().lstrip("/"))] = None
            if len(out) > MAX_CHANGED_PATHS:
                return f"more than {MAX_CHANGED_PATHS} changed files"
    return ""


def changed_paths(provider: str, data: Mapping[str, Any]) -> ChangedPaths:
    """The files a push payload says changed (see the module docstring for when it says "unknown")."""
    if provider not in (GITHUB, GITLAB, GITEA, GOGS):
        return _unknown(f"{provider} push payloads do not list changed files")
    # A branch created or deleted lists no diff against what the applications saw; a force push lists
    # the new commits only, not the files that went back to an older state.
    for flag in ("created", "deleted", "forced"):
        if data.get(flag) is True:
            return _unknown(f"the push {'was forced' if flag == 'forced' else flag + ' the branch'}")
    if _is_zero(data.get("before")) or _is_zero(data.get("after")):
        return _unknown("the push created or deleted the branch")
    commits = data.get("commits")
    if not isinstance(commits, list):
        return _unknown("commits: expected an array")
    if not commits:
        return _unknown("the payload lists no commits")
    truncated = _truncated(provider, data, len(commits))
    if truncated:
        return _unknown(truncated)
    out: dict[str, None] = {}
    for i, commit in enumerate(commits):
        why = _add_files(commit, f"commits[{i}]", out)
        if why:
            return _unknown(why)
    head = data.get("head_commit")
    if isinstance(head, dict):  # GitHub repeats the last commit here (null when the branch is deleted)
        why = _add_files(head, "head_commit", out)
        if why:
            return _unknown(why)
    return ChangedPaths(tuple(out))
