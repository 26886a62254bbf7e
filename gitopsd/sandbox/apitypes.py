"""The values the sandbox's API semantics (gitopsd.sandbox.api) take and give: a parsed Request,
a Reply, an open WatchStream, plus the small pure helpers its operations share (query integers,
patch dispatch, dotted paths, selectors).

HTTP-free, like the API itself; the server module builds Requests and renders Replies.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from . import eventsv1
from . import patch as patches
from .errors import bad_request
from .resources import ResourceType
from .store import Entry, Watcher, encode

PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)
NAMESPACES = "/namespaces"
CRDS = "apiextensions.k8s.io/customresourcedefinitions"
RETURNS_DELETED = frozenset(
    {"/pods", "/services", "/serviceaccounts", "/persistentvolumeclaims", "/resourcequotas"}
)
REVIEWS = frozenset(
    {"authorization.k8s.io/selfsubjectaccessreviews", "authorization.k8s.io/selfsubjectrulesreviews"}
)


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Request:
    method: str
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str = ""
    query: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_type: str = ""
    user_agent: str = ""
    as_table: bool = False  # the client asked for a meta.k8s.io Table (kubectl get)

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun") == "All"

    @property
    def sends_yaml(self) -> bool:
        return self.content_type.split(";", 1)[0].strip().lower() in (
            "application/yaml",
            "application/x-yaml",
        )

    @property
    def manager(self) -> str:
        mgr = self.query.get("fieldManager")
        if mgr is None:
            mgr = self.user_agent.split("/", 1)[0] or "unknown"
        return mgr[:128]


@dataclass(frozen=True)
class Reply:
    code: int
    body: bytes
    warnings: tuple[str, ...] = ()  # sent as `Warning: 299 - "..."` headers


@dataclass
class WatchStream:
    """An open watch for the HTTP layer to stream, with its deadline in seconds."""

    watcher: Watcher
    rt: ResourceType
    timeout: float
    bookmark_rv: int | None  # send an initial-events-end BOOKMARK at this resourceVersion
    as_table: bool = False
    include: str = "Metadata"
    error: bytes | None = None  # an ERROR event to send at once, then end (watchcache)
    bookmark_interval: float | None = None  # allowWatchBookmarks: BOOKMARK this often when idle


def entry_bytes(entry: Entry, rt: ResourceType) -> bytes:
    """The stored JSON, re-labelled when the object is read through another version of its kind."""
    if eventsv1.is_v1(rt.group, rt.storage_key):
        return encode(eventsv1.view(entry.obj, rt.group_version))  # sandbox point 2
    if entry.obj.get("apiVersion") == rt.group_version:
        return entry.raw
    return encode({**entry.obj, "apiVersion": rt.group_version})


def strip_for_compare(obj: dict[str, Any]) -> dict[str, Any]:
    meta = dict(obj.get("metadata") or {})
    meta.pop("resourceVersion", None)
    mf = meta.pop("managedFields", None) or []
    meta["__managed"] = [{k: v for k, v in e.items() if k != "time"} for e in mf if isinstance(e, dict)]
    return {**obj, "metadata": meta}


def spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def pos(e: Entry) -> tuple[str, str]:
    meta = e.obj.get("metadata", {})
    return (meta.get("namespace", ""), meta.get("name", ""))


def int_param(q: dict[str, str], key: str, default: int) -> int:
    text = q.get(key)
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except ValueError:
        raise bad_request(f"{key} must be an integer, not {text!r}") from None
    if value < 0:
        raise bad_request(f"{key} must not be negative")
    return value


def apply_patch(ctype: str, current: Any, patch_doc: Any) -> Any:
    if ctype == "application/json-patch+json":
        return patches.json_patch(current, patch_doc)
    if not isinstance(patch_doc, dict):
        raise bad_request("a merge patch must be a JSON object")
    if ctype == "application/merge-patch+json":
        return patches.merge_patch(current, patch_doc)
    return patches.strategic_merge(current, patch_doc)


def dig(obj: Any, path: str) -> Any:
    cur = obj
    for part in path.strip(".").split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def set_dig(obj: dict[str, Any], path: str, value: Any) -> None:
    parts = path.strip(".").split(".")
    cur = obj
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = cur[part] = {}
        cur = nxt
    cur[parts[-1]] = value


def selector_text(obj: dict[str, Any]) -> str:
    sel = (obj.get("spec") or {}).get("selector")
    if not isinstance(sel, dict):
        return ""
    labels = sel.get("matchLabels") if "matchLabels" in sel or "matchExpressions" in sel else sel
    if not isinstance(labels, dict):
        return ""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
