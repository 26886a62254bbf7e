"""Git provider webhooks: which provider sent a request, whether it carries the shared
secret, and what a push event says (repository URLs, pushed refs, default branch, and the changed
files where the payload lists them: gitopsd.server.webhook_paths).

Pure functions over headers and body bytes; the HTTP server (gitopsd/server/http.py) reads
the request and the matcher (gitopsd/server/webhook_match.py) picks the applications.
Every payload is hostile until proven otherwise: any shape that is not what the provider
documents becomes a `WebhookError` with status 400 and a message naming the field.

The provider names and event types are gitopsd.server.webhook_types', the shared-secret checks
gitopsd.server.webhook_auth'; both are re-exported here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from gitopsd.server.webhook_auth import authenticate
from gitopsd.server.webhook_paths import changed_paths
from gitopsd.server.webhook_types import (
    AZURE_DEVOPS,
    BITBUCKET,
    BITBUCKET_SERVER,
    BRANCH,
    GITEA,
    GITHUB,
    GITLAB,
    GOGS,
    MAX_ITEMS,
    PROVIDERS,
    TAG,
    UNKNOWN,
    UNKNOWN_PROVIDER,
    Headers,
    Ignored,
    PushedRef,
    PushEvent,
    WebhookError,
    detect_provider,
)

__all__ = [
    "AZURE_DEVOPS",
    "BITBUCKET",
    "BITBUCKET_SERVER",
    "BRANCH",
    "GITEA",
    "GITHUB",
    "GITLAB",
    "GOGS",
    "MAX_ITEMS",
    "PROVIDERS",
    "TAG",
    "UNKNOWN",
    "UNKNOWN_PROVIDER",
    "Headers",
    "Ignored",
    "PushEvent",
    "PushedRef",
    "WebhookError",
    "authenticate",
    "detect_provider",
    "parse",
    "parse_ref",
]


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
    changed = changed_paths(provider, data)
    return PushEvent(
        provider,
        _urls(repo, _GITHUB_URLS, "repository."),
        (parse_ref(_str(data, "ref", ""), "ref"),),
        _opt_str(repo, "default_branch") or _opt_str(repo, "master_branch"),
        changed.paths,
        changed.why,
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
    changed = changed_paths(GITLAB, data)
    return PushEvent(
        GITLAB,
        tuple(urls),
        (parse_ref(_str(data, "ref", ""), "ref"),),
        _opt_str(project, "default_branch"),
        changed.paths,
        changed.why,
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
