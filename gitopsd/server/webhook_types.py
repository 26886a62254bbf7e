"""What the webhook receiver (gitopsd.server.webhook) works with: the provider names, the error it
raises, a push event's refs and URLs, case-insensitive headers, and which provider sent a request.

Plain values; gitopsd.server.webhook_auth and gitopsd.server.webhook import them from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

GITHUB = "github"
GITLAB = "gitlab"
BITBUCKET = "bitbucket"
BITBUCKET_SERVER = "bitbucketserver"
GOGS = "gogs"
GITEA = "gitea"
AZURE_DEVOPS = "azuredevops"
UNKNOWN = "unknown"
PROVIDERS = (GITHUB, GITLAB, BITBUCKET, BITBUCKET_SERVER, GOGS, GITEA, AZURE_DEVOPS)

UNKNOWN_PROVIDER = (
    "unknown webhook provider: no X-GitHub-Event, X-Gitlab-Event, X-Event-Key, X-Gitea-Event, "
    "X-Gogs-Event or Azure DevOps (X-Vss-ActivityId) header"
)

# Refs or links one payload may list (a push of a few branches and tags has a handful).
MAX_ITEMS = 1000

BRANCH = "branch"
TAG = "tag"


class WebhookError(Exception):
    """A request refused with an HTTP status and a message safe to send back."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class PushedRef:
    kind: str  # BRANCH or TAG
    name: str  # without refs/heads/ or refs/tags/


@dataclass(frozen=True)
class PushEvent:
    provider: str
    repo_urls: tuple[str, ...]
    refs: tuple[PushedRef, ...]
    # The repository's default branch when the payload says it ("" when it does not).
    default_branch: str = ""
    # The files the push changed (gitopsd.server.webhook_paths); None when the payload does not say
    # or may not say all of them, with why in `paths_unknown`.
    changed_paths: tuple[str, ...] | None = None
    paths_unknown: str = "the payload does not list changed files"


@dataclass(frozen=True)
class Ignored:
    """A valid request that asks for nothing (ping, an event other than push)."""

    provider: str
    message: str


class Headers:
    """Request headers looked up case-insensitively (the first of repeated headers wins)."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for key, value in items:
            self._values.setdefault(key.lower(), value)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._values.get(key.lower(), default)


def detect_provider(headers: Headers) -> str:
    """The provider named by the request's headers (UNKNOWN when none matches).

    Gitea also sends GitHub's and Gogs' headers, and Bitbucket Cloud and Server share
    X-Event-Key, so the order of the checks matters."""
    if headers.get("X-Gitea-Event"):
        return GITEA
    if headers.get("X-Gogs-Event"):
        return GOGS
    if headers.get("X-GitHub-Event"):
        return GITHUB
    if headers.get("X-Gitlab-Event"):
        return GITLAB
    if headers.get("X-Event-Key"):
        # Only Bitbucket Cloud sends the hook's UUID and a request UUID.
        if headers.get("X-Hook-UUID") or headers.get("X-Request-UUID"):
            return BITBUCKET
        return BITBUCKET_SERVER
    if headers.get("X-Vss-ActivityId") or headers.get("X-VSS-SubscriptionId"):
        return AZURE_DEVOPS
    return UNKNOWN
