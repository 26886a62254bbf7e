"""Sync planning (pure) and execution (through the ClusterClient protocol).

``plan_sync`` orders work by phase, wave and kind (Argo CD's order), marks objects already in sync as
unchanged (no request), plans prunes (only objects tracked by this app; Prune=false honoured; PruneLast
after everything else) and refuses to touch objects another app tracks. ``execute`` runs tasks group by
group (phase, wave, kind), in parallel within a group, and turns every failure into a per-resource result.
The caller (the sync operation) decides when to move on between waves (health, hooks).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import Any

from gitopsd.engine import deletion
from gitopsd.engine.annotations import PHASE_ORDER, option_false, option_true, sync_options, sync_wave
from gitopsd.engine.cluster import ClusterClient
from gitopsd.engine.compare import EXTRANEOUS, MISSING, OUT_OF_SYNC, SYNCED, UNKNOWN, ComparisonResult
from gitopsd.engine.desired import DesiredObject
from gitopsd.engine.normalize import FIELD_MANAGER
from gitopsd.engine.resources import ResourceKey, kind_rank
from gitopsd.kube.errors import Conflict, Invalid, KubeError, NotFound, UnknownKind

# Actions a task can take.
APPLY = "apply"
REPLACE = "replace"
HOOK = "hook"
PRUNE = "prune"
NAMESPACE = "create-namespace"
UNCHANGED = "unchanged"
SKIP = "skip"  # reported without a request: prune not allowed, shared object, invalid manifest

# Result statuses (proto ResourceResult.status) and actions (ResourceResult.action).
STATUS_SYNCED = "Synced"
STATUS_FAILED = "SyncFailed"
STATUS_PRUNED = "Pruned"
STATUS_PRUNE_SKIPPED = "PruneSkipped"


@dataclass(frozen=True)
class SyncOptions:
    """Operation-wide options (syncPolicy.syncOptions and the sync request). Per-resource annotations
    refine Prune, PruneLast, Replace, ServerSideApply and Validate."""

    prune: bool = False
    dry_run: bool = False
    force: bool = False
    create_namespace: bool = False
    namespace: str = ""  # the destination namespace (for CreateNamespace)
    replace: bool = False
    server_side_apply: bool = True
    validate: bool = True
    apply_out_of_sync_only: bool = True
    prune_last: bool = False
    prune_propagation: str = "Background"
    max_workers: int = 8
    # How long a re-create (--force replace, BeforeHookCreation) waits for the old object to be gone.
    deletion_timeout: float = 300.0

    @staticmethod
    def from_list(items: Iterable[str], **kwargs: Any) -> SyncOptions:
        """Parse Argo CD style ``Name=value`` options, e.g. ``["CreateNamespace=true", "PruneLast=true"]``."""
        values: dict[str, Any] = {}
        names = {
            "CreateNamespace": "create_namespace",
            "Replace": "replace",
            "ServerSideApply": "server_side_apply",
            "Validate": "validate",
            "ApplyOutOfSyncOnly": "apply_out_of_sync_only",
            "PruneLast": "prune_last",
        }
        for item in items:
            name, _, value = item.partition("=")
            attr = names.get(name.strip())
            if attr:
                values[attr] = value.strip().lower() == "true"
            elif name.strip() == "Prune" and value.strip().lower() == "false":
                values["prune"] = False
            elif name.strip() == "PrunePropagationPolicy" and value.strip():
                values["prune_propagation"] = value.strip().capitalize()
        values.update(kwargs)
        return SyncOptions(**values)


@dataclass(frozen=True)
class SyncTask:
    key: ResourceKey
    action: str
    phase: str = "Sync"
    wave: int = 0
    obj: dict[str, Any] | None = None  # what to apply (with tracking annotation)
    live: dict[str, Any] | None = None
    reason: str = ""  # for SKIP/UNCHANGED: the message to report
    skip_status: str = ""  # for SKIP: the status to report
    prune_last: bool = False
    delete_policies: tuple[str, ...] = ()
    replace: bool = False

    @property
    def order(self) -> tuple[int, int, int, int, str, str, str]:
        # Prunes go after applies of the same wave, in reverse kind order; PruneLast after everything.
        is_prune = 1 if self.action == PRUNE else 0
        rank = kind_rank(self.key.kind)
        return (
            PHASE_ORDER.get(self.phase, 1),
            self.wave,
            is_prune,
            -rank if is_prune else rank,
            self.key.kind,
            self.key.namespace,
            self.key.name,
        )


@dataclass(frozen=True)
class SyncPlan:
    tasks: tuple[SyncTask, ...]

    def groups(self) -> list[tuple[tuple[str, int], list[SyncTask]]]:
        """Tasks grouped by (phase, wave), in order: the caller may wait for health between groups."""
        out: list[tuple[tuple[str, int], list[SyncTask]]] = []
        for k, items in groupby(self.tasks, key=lambda t: (t.phase, t.wave)):
            out.append((k, list(items)))
        return out


@dataclass(frozen=True)
class ResourceResult:
    key: ResourceKey
    status: str  # Synced, SyncFailed, Pruned, PruneSkipped
    action: str  # created, configured, unchanged, pruned, failed, skipped
    message: str
    phase: str = "Sync"
    wave: int = 0
    hook_type: str = ""
    live: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def failed(self) -> bool:
        return self.status == STATUS_FAILED


# ---------------------------------------------------------------- planning (pure)


def plan_sync(
    comparison: ComparisonResult,
    options: SyncOptions,
    *,
    resources: set[ResourceKey] | None = None,
) -> SyncPlan:
    """Order what a sync must do. ``resources`` limits the sync to these keys (``--resource``)."""
    tasks: list[SyncTask] = []
    max_wave = 0

    def selected(key: ResourceKey) -> bool:
        return resources is None or key in resources

    if options.create_namespace and options.namespace:
        tasks.append(
            SyncTask(
                ResourceKey("", "Namespace", "", options.namespace, "v1"),
                NAMESPACE,
                phase="PreSync",
                wave=-(2**31),
            )
        )

    for r in comparison.resources:
        if not selected(r.key):
            continue
        d = r.desired
        wave = d.hook.wave if d is not None else (sync_wave(r.live) if r.live else 0)
        max_wave = max(max_wave, wave)
        if r.error and d is None:
            tasks.append(SyncTask(r.key, SKIP, wave=wave, reason=r.error, skip_status=STATUS_FAILED))
            continue
        if r.status == EXTRANEOUS:
            live = r.live or {}
            opts = sync_options(live)
            if option_false(opts, "Prune"):
                tasks.append(
                    SyncTask(
                        r.key,
                        SKIP,
                        wave=wave,
                        live=live,
                        reason="ignored (Prune=false)",
                        skip_status=STATUS_PRUNE_SKIPPED,
                    )
                )
            elif not options.prune:
                tasks.append(
                    SyncTask(
                        r.key,
                        SKIP,
                        wave=wave,
                        live=live,
                        reason="ignored (requires pruning)",
                        skip_status=STATUS_PRUNE_SKIPPED,
                    )
                )
            else:
                last = options.prune_last or option_true(opts, "PruneLast")
                tasks.append(SyncTask(r.key, PRUNE, wave=wave, live=live, prune_last=last))
            continue
        if d is None:
            continue
        if r.shared_with:
            tasks.append(
                SyncTask(
                    r.key,
                    SKIP,
                    wave=wave,
                    live=r.live,
                    reason=f"not applied: the live object is part of application {r.shared_with} (shared resource)",
                    skip_status=STATUS_FAILED,
                )
            )
            continue
        if r.status == SYNCED and options.apply_out_of_sync_only and not options.force:
            tasks.append(SyncTask(r.key, UNCHANGED, wave=wave, live=r.live, reason="unchanged"))
            continue
        if r.status == UNKNOWN and r.error:
            # Live state could not be read: applying blind could clobber what we cannot see.
            tasks.append(SyncTask(r.key, SKIP, wave=wave, reason=r.message, skip_status=STATUS_FAILED))
            continue
        use_replace = options.replace or option_true(d.sync_options, "Replace")
        tasks.append(SyncTask(r.key, APPLY, wave=wave, obj=d.obj, live=r.live, replace=use_replace))

    for d in comparison.hooks:
        if d.skipped or not selected(d.key):
            continue
        for hook_type in d.hook.types:
            if hook_type not in PHASE_ORDER and hook_type != "Sync":
                continue
            tasks.append(
                SyncTask(
                    d.key,
                    HOOK,
                    phase=hook_type,
                    wave=d.hook.wave,
                    obj=d.obj,
                    delete_policies=d.hook.delete_policies,
                )
            )

    # PruneLast prunes run in a final wave of the Sync phase, after every other Sync task.
    last_wave = max([t.wave for t in tasks if t.phase == "Sync"] + [max_wave]) + 1
    tasks = [replace(t, wave=last_wave) if t.action == PRUNE and t.prune_last else t for t in tasks]
    tasks.sort(key=lambda t: t.order)
    # SyncFail hooks only run when the sync fails: the executor is told which phase to run.
    return SyncPlan(tuple(tasks))


# ---------------------------------------------------------------- execution


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
    try:
        live = client.get("v1", "Namespace", task.key.name)
        return _result(task, STATUS_SYNCED, "unchanged", "namespace exists", live)
    except NotFound:
        pass
    obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": task.key.name}}
    live = client.server_side_apply(obj, field_manager=FIELD_MANAGER, dry_run=options.dry_run)
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
            progress(_result(task, STATUS_SYNCED, deletion.DELETING, f"re-creating: the old object is {reason}"))

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
