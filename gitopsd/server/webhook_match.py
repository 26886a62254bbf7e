"""Which applications a push concerns: same repository (whatever URL spelling) and a target
revision that is the pushed branch or tag (HEAD or empty: the default branch).

Repositories are compared by host and path only, ignoring scheme, user and port, the way
Argo CD's webhook handler does: a provider names a repository by its web, https and ssh
URLs (Bitbucket Cloud only by its web page), while an application may use any of them.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.server.webhook import BRANCH, TAG, PushEvent
from gitopsd.sources.giturl import normalize_repo_url


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


def matching_apps(apps: Iterable[apppb.Application], event: PushEvent) -> list[str]:
    """Names of the applications the push may have changed, in the order given."""
    keys = {k for k in (repo_key(u) for u in event.repo_urls) if k}
    if not keys:
        return []
    names = []
    for app in apps:
        for source in _git_sources(app):
            if repo_key(source.repo_url) in keys and _revision_matches(source.target_revision, event):
                names.append(app.metadata.name)
                break
    return names
