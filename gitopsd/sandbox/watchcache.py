"""The watch cache's rules: which resourceVersions a list or watch may still be served at.

The store keeps a bounded window of events (``Store(history=N)``, the sandbox's
``--watch-cache-size``). Within it, a list page can be rebuilt as it was at an older
resourceVersion (by undoing the later events), so continued lists are consistent snapshots at the
first page's version, as on a real API server; past it, a continue token or an ``Exact`` list
answers 410 Expired, and a watch opens (200) and ends with an ``ERROR`` event carrying the 410
Status. Also here: ``resourceVersionMatch`` checks and the BOOKMARK/ERROR event lines.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import ApiError, bad_request, invalid
from .resources import ResourceType
from .store import Entry, Store

# How often a watch with allowWatchBookmarks=true gets a BOOKMARK when nothing else happens
# (a real API server sends one about every minute).
DEFAULT_BOOKMARK_INTERVAL = 60.0

_EXPIRED_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a "
    "new list without the continue parameter, or use the continue token in this response to retrieve "
    "the remainder of the results. Continuing with the provided token results in an inconsistent list "
    "- objects that were created, modified, or deleted between the time the first chunk was returned "
    "and now may show up in the list."
)


class ExpiredContinue(ApiError):
    """410 Expired for a continue token older than the window; carries an inconsistent token."""

    def __init__(self, token: str) -> None:
        super().__init__(410, _EXPIRED_CONTINUE, "Expired")
        self.token = token

    def status(self) -> dict[str, Any]:
        body = super().status()
        body["metadata"] = {"continue": self.token}
        return body


def too_old(rv: int, store: Store) -> ApiError:
    return ApiError(410, f"too old resource version: {rv} ({store.history_floor})", "Expired")


def too_large(rv: int, store: Store) -> ApiError:
    # A real server waits a few seconds for its cache to catch up, then answers this.
    return ApiError(
        504,
        f"Too large resource version: {rv}, current: {store.resource_version}",
        "Timeout",
        {
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": 1,
        },
    )


def entries_at(store: Store, skey: str, namespace: str | None, rv: int) -> list[Entry]:
    """The objects of ``skey`` (in ``namespace``, or all) as they were at ``rv``, sorted by
    (namespace, name). Raises 410 when ``rv`` is older than the event window."""
    with store.lock:
        current, now = store.list_entries(skey, namespace)
        if rv >= now:
            return current
        later = store.events_since(rv)
        if later is None:
            raise too_old(rv, store)
        state = {(e.obj["metadata"].get("namespace", ""), e.obj["metadata"]["name"]): e for e in current}
    for ev in reversed(later):
        if ev.storage_key != skey or (namespace is not None and ev.namespace != namespace):
            continue
        key = (ev.namespace, ev.name)
        if ev.type == "ADDED":
            state.pop(key, None)
        elif ev.prior is not None:
            state[key] = ev.prior
    return [state[k] for k in sorted(state)]


def list_version(query: dict[str, str], store: Store) -> int | None:
    """The resourceVersion a list must be served at (None: the latest), per ``resourceVersion``
    and ``resourceVersionMatch``."""
    text = query.get("resourceVersion", "")
    match = query.get("resourceVersionMatch", "")
    if match and match not in ("NotOlderThan", "Exact"):
        raise invalid(
            "ListOptions.meta.k8s.io",
            "",
            "",
            [
                (
                    "resourceVersionMatch",
                    f'Unsupported value: "{match}": supported values: "Exact", "NotOlderThan"',
                )
            ],
        )
    if match and not text:
        raise invalid(
            "ListOptions.meta.k8s.io",
            "",
            "",
            [
                (
                    "resourceVersionMatch",
                    "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
                )
            ],
        )
    if match and query.get("continue"):
        raise invalid(
            "ListOptions.meta.k8s.io",
            "",
            "",
            [
                (
                    "resourceVersionMatch",
                    "Forbidden: resourceVersionMatch is forbidden when continue is provided",
                )
            ],
        )
    if not text:
        return None
    try:
        rv = int(text)
    except ValueError:
        raise bad_request(f'invalid resource version "{text}"') from None
    if match == "Exact":
        if rv == 0:
            raise invalid(
                "ListOptions.meta.k8s.io",
                "",
                "",
                [
                    (
                        "resourceVersionMatch",
                        'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
                    )
                ],
            )
        if rv > store.resource_version:
            raise too_large(rv, store)
        return rv
    # "0" (any) and NotOlderThan: the latest state is never older than what was asked.
    if rv > store.resource_version:
        raise too_large(rv, store)
    return None


def check_watch_options(query: dict[str, str]) -> None:
    """The ListOptions rules a real server applies to a watch (streaming lists need bookmarks
    and NotOlderThan; resourceVersionMatch alone is for lists)."""
    causes: list[tuple[str, str]] = []
    match = query.get("resourceVersionMatch", "")
    if "sendInitialEvents" in query:
        if match != "NotOlderThan":
            causes.append(
                (
                    "resourceVersionMatch",
                    "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                )
            )
        if query.get("allowWatchBookmarks") not in ("true", "1"):
            causes.append(
                (
                    "allowWatchBookmarks",
                    "Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true",
                )
            )
    elif match:
        causes.append(
            (
                "resourceVersionMatch",
                "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            )
        )
    if causes:
        raise invalid("ListOptions.meta.k8s.io", "", "", causes)


def error_line(err: ApiError) -> bytes:
    return json.dumps({"type": "ERROR", "object": err.status()}, separators=(",", ":")).encode() + b"\n"


def bookmark_line(rt: ResourceType, rv: int, initial_events_end: bool) -> bytes:
    """A BOOKMARK: an object of the watched kind carrying only its resourceVersion."""
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_events_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    obj = {"kind": rt.kind, "apiVersion": rt.group_version, "metadata": meta}
    return json.dumps({"type": "BOOKMARK", "object": obj}, separators=(",", ":")).encode() + b"\n"
