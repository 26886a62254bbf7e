"""Deleting an object and waiting until the cluster has really removed it.

A DELETE is a request, not a removal: an object with finalizers stays (with a ``deletionTimestamp``)
until they are removed, a Pod until its grace period is over, a Foreground-deleted owner until its
dependents are gone. Prune, ``--force`` replacement, BeforeHookCreation and an application's cascade
delete all go through here, so each waits for the same thing and says the same about what it waits for.
A 404 on delete means the object is already gone, not an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gitopsd.engine.cluster import ClusterClient
from gitopsd.engine.resources import ResourceKey
from gitopsd.kube.errors import KubeError, NotFound

# The action of a result while the object is still being deleted (a later result replaces it).
DELETING = "deleting"

Progress = Callable[[str], None]


class DeletionTimeout(KubeError):
    """The object is still there (finalizers, grace period, dependents) when the wait ran out."""

    default_reason = "Timeout"


def _meta(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    return meta if isinstance(meta, Mapping) else {}


def is_terminating(obj: Mapping[str, Any] | None) -> bool:
    return bool(_meta(obj).get("deletionTimestamp"))


def pending_reason(live: Mapping[str, Any] | None) -> str:
    """What an object being deleted waits for, in words: its finalizers and grace period."""
    meta = _meta(live)
    finalizers = [str(f) for f in meta.get("finalizers") or [] if isinstance(f, str)]
    grace = meta.get("deletionGracePeriodSeconds")
    parts = []
    if finalizers:
        parts.append("waiting for finalizers: " + ", ".join(finalizers))
    if isinstance(grace, int) and grace > 0:
        parts.append(f"grace period {grace}s")
    return "pending deletion" + (f" ({'; '.join(parts)})" if parts else "")


def delete(
    client: ClusterClient, key: ResourceKey, *, propagation: str, dry_run: bool = False
) -> dict[str, Any] | None:
    """Ask for deletion. Returns the object while the cluster still holds it, None once it is gone
    (the answer was a Status, or 404: somebody deleted it first)."""
    try:
        answer = client.delete(
            key.api_version, key.kind, key.name, key.namespace or None, propagation=propagation, dry_run=dry_run
        )
    except NotFound:
        return None
    if dry_run or not isinstance(answer, Mapping) or answer.get("kind") == "Status":
        return None
    # Kinds that answer with the object even once it is removed (Pods, Services...) carry no
    # deletionTimestamp then: only a terminating answer means "still there".
    return dict(answer) if is_terminating(answer) else None


def still_there(client: ClusterClient, key: ResourceKey, uid: str | None) -> dict[str, Any] | None:
    """The object if it still exists (as the same object: a new one of that name does not count)."""
    try:
        live = client.get(key.api_version, key.kind, key.name, key.namespace or None)
    except NotFound:
        return None
    if uid and _meta(live).get("uid") not in (None, uid):
        return None
    return live


def wait_gone(
    client: ClusterClient,
    key: ResourceKey,
    live: Mapping[str, Any],
    *,
    timeout: float,
    progress: Progress | None = None,
    stopped: Callable[[], bool] | None = None,
    poll: float = 0.1,
) -> None:
    """Wait until ``live`` (being deleted) is gone; raises DeletionTimeout naming what holds it."""
    uid = _meta(live).get("uid")
    deadline = time.monotonic() + timeout
    said = ""
    current: Mapping[str, Any] | None = live
    delay = poll
    while current is not None:
        reason = pending_reason(current)
        if progress is not None and reason != said:
            progress(reason)
            said = reason
        if time.monotonic() >= deadline or (stopped is not None and stopped()):
            raise DeletionTimeout(f"{key.display()} is still there after {timeout:.0f}s: {reason}")
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 2.0)
        current = still_there(client, key, str(uid) if uid else None)


def delete_and_wait(
    client: ClusterClient,
    key: ResourceKey,
    *,
    propagation: str,
    timeout: float,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> None:
    """Delete and return once the object is really gone (what a re-create must wait for)."""
    live = delete(client, key, propagation=propagation, dry_run=dry_run)
    if live is None and not dry_run:
        # A plain Status answer can still mean "not yet" (e.g. a Foreground delete that the server
        # answered before setting the finalizer): look once more.
        live = still_there(client, key, None)
    if live is not None:
        wait_gone(client, key, live, timeout=timeout, progress=progress)


def wait_all_gone(
    client: ClusterClient,
    held: Sequence[tuple[ResourceKey, Mapping[str, Any]]],
    *,
    timeout: float,
    poll: float = 0.1,
) -> list[tuple[ResourceKey, dict[str, Any]]]:
    """Wait until every object in ``held`` (each being deleted) is gone; returns those still there
    when ``timeout`` ran out, as last seen."""
    deadline = time.monotonic() + timeout
    waiting = [(key, str(_meta(live).get("uid") or ""), dict(live)) for key, live in held]
    delay = poll
    while True:
        still = []
        for key, uid, _ in waiting:
            live = still_there(client, key, uid or None)
            if live is not None:
                still.append((key, uid, live))
        waiting = still
        if not waiting or time.monotonic() >= deadline:
            return [(key, live) for key, _, live in waiting]
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 2.0)
