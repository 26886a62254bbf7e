"""Git provider webhooks: which provider sent a request, whether it carries the shared
secret, and what a push event says (repository URLs, pushed refs, default branch).

Pure functions over headers and body bytes; the HTTP server (gitopsd/server/http.py) reads
the request and the matcher (gitopsd/server/webhook_match.py) picks the applications.
Every payload is hostile until proven otherwise: any shape that is not what the provider
documents becomes a `WebhookError` with status 400 and a message naming the field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gitopsd.server.config import WebhookConfig

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


# ---------------------------------------------------------------------- authentication


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _check_hmac(secret: str, body: bytes, header_value: str | None, header: str, prefix: str) -> None:
    if not header_value:
        raise WebhookError(401, f"missing {header} signature")
    given = header_value.strip()
    if prefix:
        if not given.lower().startswith(prefix):
            raise WebhookError(401, f"{header} is not a {prefix.rstrip('=')} signature")
        given = given[len(prefix) :]
    # compare_digest on ASCII bytes: constant time whatever the input (str needs ASCII).
    expected = _hmac_hex(secret, body).encode()
    if not hmac.compare_digest(expected, given.lower().encode("utf-8", "replace")):
        raise WebhookError(401, f"{header} signature does not match")


def _check_token(expected: str, given: str | None, header: str) -> None:
    if not given:
        raise WebhookError(401, f"missing {header}")
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise WebhookError(401, f"{header} does not match")


def _check_basic_auth(username: str, password: str, authorization: str | None) -> None:
    if not authorization or not authorization.lower().startswith("basic "):
        raise WebhookError(401, "missing basic authentication")
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookError(401, "basic authentication is not valid base64") from None
    user, sep, pw = decoded.partition(b":")
    # Both compared, always, so the time taken does not tell which one was wrong.
    user_ok = hmac.compare_digest(username.encode(), user)
    pw_ok = hmac.compare_digest(password.encode(), pw)
    if not (sep and user_ok and pw_ok):
        raise WebhookError(401, "basic authentication does not match")


def _has_secret(provider: str, config: WebhookConfig) -> bool:
    return bool(
        {
            GITHUB: config.github_secret,
            GITLAB: config.gitlab_secret,
            BITBUCKET: config.bitbucket_uuid or config.bitbucket_secret,
            BITBUCKET_SERVER: config.bitbucketserver_secret,
            GOGS: config.gogs_secret,
            GITEA: config.gogs_secret,
            AZURE_DEVOPS: config.azuredevops_username or config.azuredevops_password,
        }.get(provider)
    )


def authenticate(provider: str, headers: Headers, body: bytes, config: WebhookConfig) -> None:
    """Raises WebhookError(401) unless the request carries the provider's configured secret.

    With no secret configured at all, every provider is accepted unsigned (as Argo CD). Once
    any secret is set, a provider without one is refused: otherwise anyone could skip the
    check by sending another provider's headers."""
    if not _has_secret(provider, config):
        if any(_has_secret(p, config) for p in PROVIDERS):
            raise WebhookError(401, f"no secret is configured for {provider} webhooks")
        return
    if provider == GITHUB and config.github_secret:
        _check_hmac(
            config.github_secret, body, headers.get("X-Hub-Signature-256"), "X-Hub-Signature-256", "sha256="
        )
    elif provider == GITLAB and config.gitlab_secret:
        _check_token(config.gitlab_secret, headers.get("X-Gitlab-Token"), "X-Gitlab-Token")
    elif provider == BITBUCKET:
        if config.bitbucket_uuid:
            _check_token(config.bitbucket_uuid, headers.get("X-Hook-UUID"), "X-Hook-UUID")
        if config.bitbucket_secret:
            _check_hmac(
                config.bitbucket_secret, body, headers.get("X-Hub-Signature"), "X-Hub-Signature", "sha256="
            )
    elif provider == BITBUCKET_SERVER and config.bitbucketserver_secret:
        _check_hmac(
            config.bitbucketserver_secret, body, headers.get("X-Hub-Signature"), "X-Hub-Signature", "sha256="
        )
    elif provider in (GOGS, GITEA) and config.gogs_secret:
        header = "X-Gitea-Signature" if provider == GITEA else "X-Gogs-Signature"
        _check_hmac(config.gogs_secret, body, headers.get(header), header, "")
    elif provider == AZURE_DEVOPS and (config.azuredevops_username or config.azuredevops_password):
        _check_basic_auth(
            config.azuredevops_username, config.azuredevops_password, headers.get("Authorization")
        )


# ---------------------------------------------------------------------- payload access


def _load(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise WebhookError(400, "empty payload")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        hint = " (set the webhook's content type to application/json)" if body.startswith(b"payload=") else ""
        raise WebhookError(400, f"payload is not JSON{hint}") from None
    if not isinstance(data, dict):
        raise WebhookError(400, f"payload: expected a JSON object, got {_kind(data)}")
    return data


def _kind(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _obj(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise WebhookError(400, f"{where}{key}: expected an object, got {_kind(value)}")
    return value


def _list(data: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        raise WebhookError(400, f"{where}{key}: expected an array, got {_kind(value)}")
    if not value:
        raise WebhookError(400, f"{where}{key}: empty")
    if len(value) > MAX_ITEMS:
        # Each item is matched against every application: keep the work per request bounded.
        raise WebhookError(400, f"{where}{key}: more than {MAX_ITEMS} items")
    return value


def _str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise WebhookError(400, f"{where}{key}: expected a non-empty string, got {_kind(value)}")
    return value.strip()


def _opt_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def _urls(data: Mapping[str, Any], keys: tuple[str, ...], where: str) -> tuple[str, ...]:
    urls = tuple(u for u in (_opt_str(data, k) for k in keys) if u)
    if not urls:
        raise WebhookError(400, f"{where.rstrip('.')}: no repository URL (one of {', '.join(keys)})")
    return urls


def parse_ref(ref: str, where: str) -> PushedRef:
    if ref.startswith("refs/heads/") and len(ref) > len("refs/heads/"):
        return PushedRef(BRANCH, ref[len("refs/heads/") :])
    if ref.startswith("refs/tags/") and len(ref) > len("refs/tags/"):
        return PushedRef(TAG, ref[len("refs/tags/") :])
    raise WebhookError(400, f"{where}: {ref[:200]!r} is not refs/heads/... or refs/tags/...")


def _branch_name(ref: str) -> str:
    return ref.removeprefix("refs/heads/")


# ---------------------------------------------------------------------- providers

_GITHUB_URLS = ("html_url", "clone_url", "ssh_url", "git_url", "svn_url", "url")


def _github(event: str, data: dict[str, Any], provider: str) -> PushEvent | Ignored:
    if event != "push":
        return Ignored(provider, f"{event} event ignored" if event != "ping" else "pong")
    repo = _obj(data, "repository", "")
    return PushEvent(
        provider,
        _urls(repo, _GITHUB_URLS, "repository."),
        (parse_ref(_str(data, "ref", ""), "ref"),),
        _opt_str(repo, "default_branch") or _opt_str(repo, "master_branch"),
    )


def _gitlab(event: str, data: dict[str, Any]) -> PushEvent | Ignored:
    kind = _opt_str(data, "object_kind") or _opt_str(data, "event_name")
    if event not in ("Push Hook", "Tag Push Hook", "System Hook") or kind not in ("push", "tag_push"):
        return Ignored(GITLAB, f"{event or kind} event ignored")
    project = _obj(data, "project", "")
    urls = list(
        _urls(project, ("web_url", "git_http_url", "git_ssh_url", "http_url", "ssh_url", "url"), "project.")
    )
    repository = data.get("repository")
    if isinstance(repository, dict):
        urls += [
            u for u in (_opt_str(repository, k) for k in ("git_http_url", "git_ssh_url", "homepage")) if u
        ]
    return PushEvent(
        GITLAB, tuple(urls), (parse_ref(_str(data, "ref", ""), "ref"),), _opt_str(project, "default_branch")
    )


def _bitbucket(event: str, data: dict[str, Any]) -> PushEvent | Ignored:
    if event != "repo:push":
        return Ignored(BITBUCKET, f"{event} event ignored")
    repo = _obj(data, "repository", "")
    links = _obj(repo, "links", "repository.")
    html = _obj(links, "html", "repository.links.")
    urls = [_str(html, "href", "repository.links.html.")]
    refs = []
    for i, change in enumerate(_list(_obj(data, "push", ""), "changes", "push.")):
        where = f"push.changes[{i}]."
        if not isinstance(change, dict):
            raise WebhookError(400, f"{where.rstrip('.')}: expected an object, got {_kind(change)}")
        # A deleted branch has new: null; its old name still tells which apps to refresh.
        side = change.get("new") if change.get("new") is not None else change.get("old")
        if not isinstance(side, dict):
            raise WebhookError(400, f"{where}new: expected an object, got {_kind(side)}")
        kind = _str(side, "type", where + "new.")
        if kind not in ("branch", "tag", "named_branch", "annotated_tag"):
            raise WebhookError(400, f"{where}new.type: {kind[:50]!r} is not branch or tag")
        refs.append(PushedRef(TAG if "tag" in kind else BRANCH, _str(side, "name", where + "new.")))
    main = repo.get("mainbranch")
    return PushEvent(
        BITBUCKET, tuple(urls), tuple(refs), _opt_str(main, "name") if isinstance(main, dict) else ""
    )


def _bitbucket_server(event: str, data: dict[str, Any]) -> PushEvent | Ignored:
    if event == "diagnostics:ping":
        return Ignored(BITBUCKET_SERVER, "pong")
    if event != "repo:refs_changed":
        return Ignored(BITBUCKET_SERVER, f"{event} event ignored")
    repo = _obj(data, "repository", "")
    links = _obj(repo, "links", "repository.")
    urls = []
    for i, link in enumerate(_list(links, "clone", "repository.links.")):
        if not isinstance(link, dict):
            raise WebhookError(400, f"repository.links.clone[{i}]: expected an object, got {_kind(link)}")
        urls.append(_str(link, "href", f"repository.links.clone[{i}]."))
    refs = []
    for i, change in enumerate(_list(data, "changes", "")):
        if not isinstance(change, dict):
            raise WebhookError(400, f"changes[{i}]: expected an object, got {_kind(change)}")
        ref = change.get("ref")
        ref_id = (
            _str(ref, "id", f"changes[{i}].ref.")
            if isinstance(ref, dict)
            else _str(change, "refId", f"changes[{i}].")
        )
        refs.append(parse_ref(ref_id, f"changes[{i}].ref.id"))
    return PushEvent(BITBUCKET_SERVER, tuple(urls), tuple(refs))


def _azure_devops(data: dict[str, Any]) -> PushEvent | Ignored:
    event = _opt_str(data, "eventType")
    if event != "git.push":
        return Ignored(AZURE_DEVOPS, f"{event or 'unnamed'} event ignored")
    resource = _obj(data, "resource", "")
    repo = _obj(resource, "repository", "resource.")
    urls = _urls(repo, ("remoteUrl", "sshUrl", "webUrl"), "resource.repository.")
    refs = []
    for i, update in enumerate(_list(resource, "refUpdates", "resource.")):
        if not isinstance(update, dict):
            raise WebhookError(400, f"resource.refUpdates[{i}]: expected an object, got {_kind(update)}")
        refs.append(
            parse_ref(_str(update, "name", f"resource.refUpdates[{i}]."), f"resource.refUpdates[{i}].name")
        )
    return PushEvent(AZURE_DEVOPS, urls, tuple(refs), _branch_name(_opt_str(repo, "defaultBranch")))


_EVENT_HEADER: dict[str, str] = {
    GITHUB: "X-GitHub-Event",
    GITEA: "X-Gitea-Event",
    GOGS: "X-Gogs-Event",
    GITLAB: "X-Gitlab-Event",
    BITBUCKET: "X-Event-Key",
    BITBUCKET_SERVER: "X-Event-Key",
}

_PARSERS: dict[str, Callable[[str, dict[str, Any]], PushEvent | Ignored]] = {
    GITHUB: lambda e, d: _github(e, d, GITHUB),
    GITEA: lambda e, d: _github(e, d, GITEA),  # Gitea and Gogs send GitHub's push payload shape
    GOGS: lambda e, d: _github(e, d, GOGS),
    GITLAB: _gitlab,
    BITBUCKET: _bitbucket,
    BITBUCKET_SERVER: _bitbucket_server,
    AZURE_DEVOPS: lambda _e, d: _azure_devops(d),
}


def parse(provider: str, headers: Headers, body: bytes) -> PushEvent | Ignored:
    """The event a provider's request describes; WebhookError(400) for any malformed payload."""
    parser = _PARSERS.get(provider)
    if parser is None:
        raise WebhookError(400, UNKNOWN_PROVIDER)
    # Event names are short; a long one is only ever echoed back, so it is cut.
    event = (headers.get(_EVENT_HEADER.get(provider, "")) or "").strip()[:100]
    if provider == BITBUCKET_SERVER and event == "diagnostics:ping" and not body.strip():
        return Ignored(provider, "pong")  # Bitbucket Server's "Test connection" may send no body
    return parser(event, _load(body))
