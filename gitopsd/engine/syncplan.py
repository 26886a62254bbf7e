"""Sync planning (pure): what a sync will do, in Argo CD's order.

``plan_sync`` orders work by phase, wave and kind, marks objects already in sync as unchanged (no
request), plans prunes (only objects tracked by this app; Prune=false honoured; PruneLast after
everything else) and refuses to touch objects another app tracks. The task, plan, option and result
types live here too; gitopsd.engine.sync executes a plan and re-exports these names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import Any

from gitopsd.engine.annotations import PHASE_ORDER, option_false, option_true, sync_options, sync_wave
from gitopsd.engine.compare import EXTRANEOUS, SYNCED, UNKNOWN, ComparisonResult
from gitopsd.engine.resources import ResourceKey, kind_rank

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
    # syncPolicy.managedNamespaceMetadata: labels and annotations of the namespace CreateNamespace manages.
    namespace_labels: tuple[tuple[str, str], ...] = ()
    namespace_annotations: tuple[tuple[str, str], ...] = ()
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
