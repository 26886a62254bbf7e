"""Which applications a push concerns: same repository (whatever URL spelling) and a target
revision that is the pushed branch or tag (HEAD or empty: the default branch); and in which order
they are refreshed (`plan_refreshes`).

Repositories are compared by host and path only, ignoring scheme, user and port, the way
Argo CD's webhook handler does: a provider names a repository by its web, https and ssh
URLs (Bitbucket Cloud only by its web page), while an application may use any of them.
"""

from __future__ import annotations

import posixpath
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.server.webhook import BRANCH, TAG, PushEvent
from gitopsd.sources.giturl import normalize_repo_url
from gitopsd.sources.render_inputs import MANIFEST_GENERATE_PATHS, declared_paths


def repo_key(url: str) -> str | None:
    """host/path of a repository URL, lower-cased, without `.git` (None if not a URL)."""
    try:
        parts = urllib.parse.urlsplit(normalize_repo_url(url))
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    return f"{host}{parts.path.rstrip('/')}".lower()


def _revision_matches(target: str, event: PushEvent) -> bool:
    target = target.strip()
    for ref in event.refs:
        if ref.kind == BRANCH:
            if target in (ref.name, f"refs/heads/{ref.name}"):
                return True
            # HEAD follows the default branch; when the payload does not name it, refresh
            # anyway: an extra refresh costs one ls-remote, a missed one a stale app.
            if target in ("", "HEAD") and (not event.default_branch or ref.name == event.default_branch):
                return True
        elif ref.kind == TAG and target in (ref.name, f"refs/tags/{ref.name}"):
            return True
    return False


def _git_sources(app: apppb.Application) -> list[apppb.ApplicationSource]:
    sources = [app.spec.source] if app.spec.HasField("source") else list(app.spec.sources)
    return [s for s in sources if s.repo_url and not s.chart]  # Helm chart repos are not git


def _pushed_sources(
    apps: Iterable[apppb.Application], event: PushEvent
) -> Iterable[tuple[apppb.Application, list[apppb.ApplicationSource]]]:
    """Each application with its sources on the pushed repository and ref (those with one)."""
    keys = {k for k in (repo_key(u) for u in event.repo_urls) if k}
    if not keys:
        return
    known: dict[str, str | None] = {}  # URL -> repo_key: thousands of applications share a few URLs
    for app in apps:
        pushed = []
        for source in _git_sources(app):
            url = source.repo_url
            if url not in known:
                known[url] = repo_key(url)
            if known[url] in keys and _revision_matches(source.target_revision, event):
                pushed.append(source)
        if pushed:
            yield app, pushed


def matching_apps(apps: Iterable[apppb.Application], event: PushEvent) -> list[str]:
    """Names of the applications the push may have changed, in the order given."""
    return [app.metadata.name for app, _ in _pushed_sources(apps, event)]


@dataclass(frozen=True)
class RefreshPlan:
    """first: refreshed now (a changed file under one of their paths, or the changed files unknown);
    later: refreshed after them, on the pass workers (a change elsewhere in the repository may still
    reach them through a Kustomize base or a values file); skipped: not refreshed, because their
    manifest-generate-paths annotation names none of the changed files (Argo CD's opt-in)."""

    first: list[str] = field(default_factory=list)
    later: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _app_dir(path: str) -> str:
    norm = posixpath.normpath(path.strip().strip("/") or ".")
    return "" if norm == "." else norm


def _changed_dirs(paths: Iterable[str]) -> set[str]:
    """Every changed file and each directory above it ("" is the root): an application's path holds a
    changed file when the path is in this set, one lookup per path however many files changed."""
    out = {""}
    for path in paths:
        parts = path.split("/")
        out.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return out


def plan_refreshes(apps: Iterable[apppb.Application], event: PushEvent) -> RefreshPlan:
    """The applications the push concerns, grouped by how soon to refresh them (see RefreshPlan)."""
    plan = RefreshPlan()
    changed = None if event.changed_paths is None else _changed_dirs(event.changed_paths)
    for app, sources in _pushed_sources(apps, event):
        name = app.metadata.name
        if changed is None:
            plan.first.append(name)  # which files changed is not known: every application now
            continue
        dirs = {_app_dir(s.path) for s in sources}
        annotations = app.metadata.annotations
        if any(annotations.get(k, "").strip() for k in MANIFEST_GENERATE_PATHS):
            declared: set[str] = set()
            for d in dirs:  # relative entries are relative to each source's path
                declared |= declared_paths(annotations, d) or set()
            if declared:  # an annotation naming nothing inside the repository is not an opt-out
                (plan.first if declared & changed else plan.skipped).append(name)
                continue
        (plan.first if dirs & changed else plan.later).append(name)
    return plan
