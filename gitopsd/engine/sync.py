"""Sync execution (through the ClusterClient protocol), and the sync API of the engine.

``plan_sync`` orders work by phase, wave and kind (Argo CD's order), marks objects already in sync as
unchanged (no request), plans prunes (only objects tracked by this app; Prune=false honoured; PruneLast
after everything else) and refuses to touch objects another app tracks. ``execute`` runs tasks group by
group (phase, wave, kind), in parallel within a group, and turns every failure into a per-resource result.
The caller (the sync operation) decides when to move on between waves (health, hooks).

Planning is gitopsd.engine.syncplan's; its names are re-exported here, where callers import them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from itertools import groupby
from typing import Any

from gitopsd.engine import deletion
from gitopsd.engine.cluster import ClusterClient
from gitopsd.engine.compare import MISSING, OUT_OF_SYNC
from gitopsd.engine.desired import DesiredObject
from gitopsd.engine.normalize import FIELD_MANAGER
from gitopsd.engine.resources import kind_rank
from gitopsd.engine.syncplan import (
    APPLY,
    HOOK,
    NAMESPACE,
    PRUNE,
    SKIP,
    STATUS_FAILED,
    STATUS_PRUNED,
    STATUS_SYNCED,
    UNCHANGED,
    ResourceResult,
    SyncOptions,
    SyncPlan,
    SyncTask,
    plan_sync,
)
from gitopsd.kube.errors import Conflict, Invalid, KubeError, NotFound, UnknownKind


def _hook_type(task: SyncTask) -> str:
    return task.phase if task.action == HOOK else ""


def _result(
    task: SyncTask, status: str, action: str, message: str, live: dict[str, Any] | None = None
) -> ResourceResult:
    return ResourceResult(
        key=task.key,
        status=status,
        action=action,
        message=message,
        phase=task.phase,
        wave=task.wave,
        hook_type=_hook_type(task),
        live=live,
    )


Report = Callable[[ResourceResult], None]


def execute(
    tasks: Sequence[SyncTask],
    client: ClusterClient,
    options: SyncOptions,
    progress: Report | None = None,
) -> list[ResourceResult]:
    """Run tasks in plan order; tasks of one (phase, wave, kind) group run in parallel.

    Returns one result per task, in task order. Never raises for a resource's failure. ``progress`` hears
    interim results (action ``deleting``: a re-create waiting for the old object to go).
    """
    results: list[ResourceResult] = []
    ordered = list(tasks)
    for _, group in groupby(
        ordered, key=lambda t: (t.phase, t.wave, t.action == PRUNE, kind_rank(t.key.kind), t.key.kind)
    ):
        batch = list(group)
        if len(batch) == 1 or options.max_workers <= 1:
            results.extend(_run_one(t, client, options, progress) for t in batch)
            continue
        with ThreadPoolExecutor(max_workers=min(options.max_workers, len(batch))) as pool:
            results.extend(pool.map(lambda t: _run_one(t, client, options, progress), batch))
    return results


def _run_one(
    task: SyncTask, client: ClusterClient, options: SyncOptions, progress: Report | None = None
) -> ResourceResult:
    suffix = " (dry run)" if options.dry_run else ""
    try:
        if task.action == UNCHANGED:
            return _result(task, STATUS_SYNCED, "unchanged", task.reason or "unchanged", task.live)
        if task.action == SKIP:
            action = "failed" if task.skip_status == STATUS_FAILED else "skipped"
            return _result(task, task.skip_status or STATUS_SYNCED, action, task.reason, task.live)
        if task.action == NAMESPACE:
            return _ensure_namespace(task, client, options, suffix)
        if task.action == PRUNE:
            assert task.live is not None
            held = deletion.delete(
                client, task.key, propagation=options.prune_propagation, dry_run=options.dry_run
            )
            if held is not None:
                # Still there (finalizers, grace period): the sync operation waits until it is gone.
                return _result(task, STATUS_PRUNED, deletion.DELETING, deletion.pending_reason(held), held)
            return _result(task, STATUS_PRUNED, "pruned", "pruned" + suffix)
        if task.action == HOOK:
            return _run_hook(task, client, options, suffix, progress)
        return _apply(task, client, options, suffix, progress)
    except KubeError as exc:
        return _result(task, STATUS_FAILED, "failed", str(exc), task.live)
    except Exception as exc:  # never let one object stop the others
        return _result(task, STATUS_FAILED, "failed", f"unexpected error: {exc}", task.live)


def _ensure_namespace(
    task: SyncTask, client: ClusterClient, options: SyncOptions, suffix: str
) -> ResourceResult:
    managed = bool(options.namespace_labels or options.namespace_annotations)
    existing: Mapping[str, Any] | None = None
    try:
        existing = client.get("v1", "Namespace", task.key.name)
        if not managed:
            return _result(task, STATUS_SYNCED, "unchanged", "namespace exists", existing)
    except NotFound:
        pass
    metadata: dict[str, Any] = {"name": task.key.name}
    if options.namespace_labels:
        metadata["labels"] = dict(options.namespace_labels)
    if options.namespace_annotations:
        metadata["annotations"] = dict(options.namespace_annotations)
    obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}
    # Server-side apply as gitopsd's field manager: labels others set on the namespace stay.
    live = client.server_side_apply(obj, field_manager=FIELD_MANAGER, dry_run=options.dry_run)
    if existing is not None:
        action = _applied_action(task, existing, live, options.dry_run)
        return _result(task, STATUS_SYNCED, action, f"namespace metadata {action}{suffix}", live)
    message = "namespace would be created (dry run)" if options.dry_run else "namespace created"
    return _result(task, STATUS_SYNCED, "created", message, live)


def _applied_action(
    task: SyncTask, before: Mapping[str, Any] | None, after: Mapping[str, Any], dry_run: bool
) -> str:
    if before is None:
        return "created"
    if dry_run:
        return "configured"
    rv_before = (before.get("metadata") or {}).get("resourceVersion")
    rv_after = (after.get("metadata") or {}).get("resourceVersion")
    return "unchanged" if rv_before is not None and rv_before == rv_after else "configured"


def _apply(
    task: SyncTask, client: ClusterClient, options: SyncOptions, suffix: str, progress: Report | None = None
) -> ResourceResult:
    assert task.obj is not None
    obj = task.obj
    live = task.live
    try:
        if task.replace:
            after = _wait_for_kind(lambda: _replace(obj, live, client, options))
        else:
            after = _wait_for_kind(
                lambda: client.server_side_apply(
                    obj, field_manager=FIELD_MANAGER, force=True, dry_run=options.dry_run
                )
            )
    except NotFound as exc:
        if _namespace_to_be_created(task, client, options):
            return _would_create_in_new_namespace(task)
        if live is not None and not task.replace:
            raise
        # The object vanished between compare and apply (replace path), or its namespace is missing.
        return _result(task, STATUS_FAILED, "failed", str(exc))
    except (Invalid, Conflict) as exc:
        immutable = isinstance(exc, Invalid) and exc.immutable
        if not (options.force and immutable and live is not None):
            return _result(task, STATUS_FAILED, "failed", str(exc), live)
        after = _recreate(task, client, options, progress)
        return _result(
            task,
            STATUS_SYNCED,
            "configured",
            "replaced (deleted and recreated: immutable field)" + suffix,
            after,
        )
    action = _applied_action(task, live, after, options.dry_run)
    return _result(task, STATUS_SYNCED, action, action + suffix, after)


def _namespace_to_be_created(task: SyncTask, client: ClusterClient, options: SyncOptions) -> bool:
    """In a dry run, whether ``task``'s object lives in the destination namespace that CreateNamespace would
    create first (the API server refuses a dry run into a namespace that does not exist yet)."""
    if not (options.dry_run and options.create_namespace and options.namespace):
        return False
    if task.live is not None or task.key.namespace != options.namespace:
        return False
    try:
        client.get("v1", "Namespace", options.namespace)
    except NotFound:
        return True
    return False  # the namespace exists: the NotFound was about something else


def _would_create_in_new_namespace(task: SyncTask) -> ResourceResult:
    # Nothing to dry-run against: as Argo CD does, report the object as it would be created.
    return _result(
        task,
        STATUS_SYNCED,
        "created",
        f"created (dry run; namespace {task.key.namespace} would be created first)",
    )


def _wait_for_kind(call: Callable[[], dict[str, Any]], timeout: float = 10.0) -> dict[str, Any]:
    """Run ``call``; while the kind is unknown (its CRD was applied a moment ago), retry with backoff."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        try:
            return call()
        except UnknownKind:
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def _replace(
    obj: dict[str, Any], live: Mapping[str, Any] | None, client: ClusterClient, options: SyncOptions
) -> dict[str, Any]:
    if live is None:
        return client.create(obj, field_manager=FIELD_MANAGER, dry_run=options.dry_run)
    body = dict(obj)
    meta = dict(body.get("metadata") or {})
    rv = (live.get("metadata") or {}).get("resourceVersion")
    if rv is not None:
        meta["resourceVersion"] = rv
    body["metadata"] = meta
    return client.replace(body, field_manager=FIELD_MANAGER, dry_run=options.dry_run)


def _recreate(
    task: SyncTask, client: ClusterClient, options: SyncOptions, progress: Report | None = None
) -> dict[str, Any]:
    """Delete the live object, wait until the cluster has really removed it (finalizers, grace period,
    Foreground dependents), then create it anew."""
    assert task.obj is not None

    def waiting(reason: str) -> None:
        if progress is not None:
            progress(
                _result(task, STATUS_SYNCED, deletion.DELETING, f"re-creating: the old object is {reason}")
            )

    deletion.delete_and_wait(
        client,
        task.key,
        propagation="Foreground",
        timeout=options.deletion_timeout,
        dry_run=options.dry_run,
        progress=waiting,
    )
    return client.server_side_apply(
        task.obj, field_manager=FIELD_MANAGER, force=True, dry_run=options.dry_run
    )


def _run_hook(
    task: SyncTask, client: ClusterClient, options: SyncOptions, suffix: str, progress: Report | None = None
) -> ResourceResult:
    """Create a hook object; with BeforeHookCreation an existing one is deleted first.

    Waiting for the hook to finish and HookSucceeded/HookFailed deletion belong to the sync operation.
    """
    assert task.obj is not None
    key = task.key
    existing: dict[str, Any] | None
    try:
        existing = client.get(key.api_version, key.kind, key.name, key.namespace or None)
    except NotFound:
        existing = None
    if existing is not None and "BeforeHookCreation" in task.delete_policies:
        replaced = replace(task, live=existing)
        after = _recreate(replaced, client, options, progress)
        return _result(task, STATUS_SYNCED, "created", "recreated (BeforeHookCreation)" + suffix, after)
    try:
        after = client.server_side_apply(
            task.obj, field_manager=FIELD_MANAGER, force=True, dry_run=options.dry_run
        )
    except NotFound:
        if existing is None and _namespace_to_be_created(task, client, options):
            return _would_create_in_new_namespace(task)
        raise
    action = "created" if existing is None else _applied_action(task, existing, after, options.dry_run)
    return _result(task, STATUS_SYNCED, action, action + suffix, after)


def sync_failed(results: Iterable[ResourceResult]) -> bool:
    return any(r.failed for r in results)


__all__ = [
    "APPLY",
    "HOOK",
    "MISSING",
    "OUT_OF_SYNC",
    "PRUNE",
    "ResourceResult",
    "SyncOptions",
    "SyncPlan",
    "SyncTask",
    "execute",
    "plan_sync",
    "sync_failed",
    "DesiredObject",
]
