"""Compare desired objects with live state: per-resource status, reason, diff, health; app status and reason.

Fast path: only the fields the desired manifest sets are compared locally (plus fields gitopsd applied
before and no longer sets, read from managedFields). Where that finds a difference, a server-side-apply
dry run through the ClusterClient confirms it, so server defaulting and list merges never show as drift.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gitopsd.engine.annotations import hook_info, option_true
from gitopsd.engine.cluster import ClusterClient
from gitopsd.engine.desired import DesiredObject, ObjectError, PreparedSet
from gitopsd.engine.diff import describe_changes, field_changes, overlay, subset_differences, unified_diff
from gitopsd.engine.health import HealthResult, HealthStatus, LuaHealthChecks, assess_health, worst
from gitopsd.engine.ignore import IgnoreSet, apply_ignores
from gitopsd.engine.jsondata import deep_copy
from gitopsd.engine.live import LiveState
from gitopsd.engine.normalize import FIELD_MANAGER, mask_secrets, normalize, secret_string_data_to_data
from gitopsd.engine.ownership import (
    drop_paths,
    foreign_additions,
    last_applied_removed,
    owned_but_unset,
)
from gitopsd.engine.resources import ResourceKey, kind_rank
from gitopsd.engine.results import (
    EXTRANEOUS,
    MISSING,
    OUT_OF_SYNC,
    SYNCED,
    UNKNOWN,
    ComparisonResult,
    ResourceComparison,
    app_status,
)
from gitopsd.engine.schema import NO_KNOWN_TYPES, KnownTypeFields, Schema, root_schema
from gitopsd.engine.tracking import owner_app
from gitopsd.engine.typed import typed_normalize
from gitopsd.kube.errors import KubeError

__all__ = [
    "EXTRANEOUS",
    "MISSING",
    "OUT_OF_SYNC",
    "SYNCED",
    "UNKNOWN",
    "CompareOptions",
    "ComparisonResult",
    "ResourceComparison",
    "compare",
]


@dataclass(frozen=True)
class CompareOptions:
    ignore: IgnoreSet = field(default_factory=IgnoreSet)
    # Confirm fast-path differences with a server-side-apply dry run (needs a client).
    server_dry_run: bool = True
    health: LuaHealthChecks | None = None
    # Built-in types of custom resources' fields (resource customizations' knownTypeFields).
    known_types: KnownTypeFields = NO_KNOWN_TYPES
    # Count fields added by mutating webhooks as drift for every resource (Argo CD's
    # compare-options IncludeMutationWebhook=true, set on the application); a resource can also ask for it.
    include_mutation_webhook: bool = False


def _secret_paths(key: ResourceKey) -> tuple[str, ...]:
    return ("data", "stringData") if key.group == "" and key.kind == "Secret" else ()


def compare(
    prepared: PreparedSet,
    live: LiveState,
    *,
    app: str,
    client: ClusterClient | None = None,
    options: CompareOptions | None = None,
) -> ComparisonResult:
    """Compare one application's prepared desired objects with its live state."""
    options = options or CompareOptions()
    resources: list[ResourceComparison] = []
    hooks: list[DesiredObject] = []
    warnings: list[str] = list(prepared.warnings) + list(options.ignore.warnings)
    errors: list[str] = []
    dry_runs = 0
    desired_keys: set[ResourceKey] = set()
    roots: dict[tuple[str, str, str], Schema | None] = {}  # one schema lookup per kind

    for err in prepared.errors:
        resources.append(_error_result(err))
        errors.append(f"{err.key.display()}: {err.message}" if err.key else err.message)

    for d in prepared.objects:
        desired_keys.add(d.key)
        if d.is_hook or d.skipped:
            hooks.append(d)
            continue
        try:
            type_id = (d.key.group, d.key.version, d.key.kind)
            if type_id not in roots:
                roots[type_id] = root_schema(*type_id, options.known_types)
            result, used_dry_run = _compare_one(
                d, live, app=app, client=client, options=options, root=roots[type_id]
            )
        except (RecursionError, ValueError, TypeError) as exc:
            # A pathological object (absurd nesting, odd types) fails alone, never the whole comparison.
            message = f"cannot compare: {type(exc).__name__}: {str(exc)[:200]}"
            result, used_dry_run = (
                ResourceComparison(key=d.key, status=UNKNOWN, message=message, desired=d, error=message),
                0,
            )
        dry_runs += used_dry_run
        resources.append(result)
        if result.shared_with:
            warnings.append(
                f"SharedResourceWarning: {d.key.display()} is part of application {result.shared_with}"
            )
        if result.error:
            errors.append(f"{d.key.display()}: {result.error}")

    for key, obj in live.objects.items():
        if key in desired_keys or owner_app(obj, key) != app:
            continue
        if _is_hook_leftover(obj):
            continue
        n = normalize(obj)
        masked, _ = mask_secrets(n, None)
        resources.append(
            ResourceComparison(
                key=key,
                status=EXTRANEOUS,
                message="requires pruning (no longer in the manifests)",
                lazy_diff=partial(unified_diff, masked, None, _diff_name(key)),
                live_yaml_obj=masked,
                live=obj,
                health=assess_health(obj, options.health),
                requires_pruning=True,
            )
        )

    resources.sort(key=lambda r: (kind_rank(r.key.kind), r.key.kind, r.key.namespace, r.key.name))
    status, reason = app_status(resources)
    health = worst(r.health for r in resources if r.status != EXTRANEOUS)
    return ComparisonResult(
        resources=tuple(resources),
        status=status,
        reason=reason,
        health=health,
        warnings=tuple(dict.fromkeys(warnings)),
        errors=tuple(errors),
        hooks=tuple(hooks),
        dry_runs=dry_runs,
    )


def _is_hook_leftover(obj: Mapping[str, Any]) -> bool:
    # Hooks are not part of the desired state: a finished hook left in the cluster is not Extraneous.
    return hook_info(obj).is_hook


def _diff_name(key: ResourceKey) -> str:
    return f"{key.group or 'core'}/{key.kind}/{key.namespace or '_cluster'}/{key.name}"


def _error_result(err: ObjectError) -> ResourceComparison:
    key = err.key or ResourceKey("", "", "", f"manifest #{err.index + 1}")
    return ResourceComparison(
        key=key,
        status=UNKNOWN,
        message=err.message,
        error=err.message,
        health=HealthResult(HealthStatus.UNKNOWN, err.message),
    )


def _normalized(obj: dict[str, Any], root: Schema | None, rules: Sequence[Any], live: Any) -> dict[str, Any]:
    n = normalize(obj)
    if root is not None:
        n = typed_normalize(n, root)
    return apply_ignores(n, rules, live) if rules else n


def _compare_one(
    d: DesiredObject,
    state: LiveState,
    *,
    app: str,
    client: ClusterClient | None,
    options: CompareOptions,
    root: Schema | None,
) -> tuple[ResourceComparison, int]:
    key = d.key
    rules = options.ignore.for_key(key)
    list_error = state.error_for(key)
    live = state.objects.get(key)
    desired_n = _normalized(secret_string_data_to_data(d.obj), root, rules, live)
    if live is None and list_error:
        return (
            ResourceComparison(
                key=key,
                status=UNKNOWN,
                message=f"cannot read live state: {list_error}",
                desired=d,
                error=list_error,
                health=HealthResult(HealthStatus.UNKNOWN, list_error),
            ),
            0,
        )
    if live is None:
        _, target = mask_secrets(None, desired_n)
        return (
            ResourceComparison(
                key=key,
                status=MISSING,
                message="missing (not in the cluster)",
                lazy_diff=partial(unified_diff, None, target, _diff_name(key)),
                target_yaml_obj=target,
                desired=d,
                health=HealthResult(HealthStatus.MISSING),
            ),
            0,
        )

    health = assess_health(live, options.health)
    owner = owner_app(live, key)
    shared_with = owner if owner is not None and owner != app else None
    live_n = _normalized(live, root, rules, live)
    # What others (mutating webhooks, controllers) added and Git never set is not drift.
    foreign = foreign_additions(live, desired_n)
    if foreign and (options.include_mutation_webhook or option_true(d.compare_options, "IncludeMutationWebhook")):
        foreign = []
    if foreign:
        live_n = drop_paths(live_n, foreign)
    secret_paths = _secret_paths(key)

    changes = subset_differences(desired_n, live_n)
    # Removed by our next apply; and labels/annotations a client-side kubectl apply set that Git dropped.
    removed = owned_but_unset(live, live_n, desired_n, root)
    unapplied = last_applied_removed(live, live_n, desired_n)
    if rules and (removed or unapplied):
        removed = [r for r in removed if not _ignored_path(r[1].path, rules)]
        unapplied = [r for r in unapplied if not _ignored_path(r[1].path, rules)]
    untracked = owner is None
    if not changes and not removed and not unapplied and not untracked:
        masked_live, masked_target = mask_secrets(live_n, live_n)
        return (
            ResourceComparison(
                key=key,
                status=SYNCED,
                desired=d,
                live=live,
                health=health,
                live_yaml_obj=masked_live,
                target_yaml_obj=masked_target,
                shared_with=shared_with,
                message=f"shared with application {shared_with}" if shared_with else "",
            ),
            0,
        )

    used = 0
    target_n: dict[str, Any] | None = None
    dry_run_error: str | None = None
    if client is not None and options.server_dry_run and not shared_with:
        used = 1
        try:
            predicted = client.server_side_apply(d.obj, field_manager=FIELD_MANAGER, force=True, dry_run=True)
            target_n = drop_paths(_normalized(predicted, root, rules, live), foreign)
        except KubeError as exc:
            dry_run_error = str(exc)
    if target_n is None:
        # Offline: live with the manifest laid over it, less the fields an apply removes.
        target_n = drop_paths(deep_copy(overlay(live_n, desired_n)), [path for path, _ in removed])
    if unapplied:
        target_n = drop_paths(deep_copy(target_n), [path for path, _ in unapplied])
    exact = field_changes(live_n, target_n)
    masked_live, masked_target = mask_secrets(live_n, target_n)

    if not exact and dry_run_error is None:
        if untracked:
            message = "not yet tracked by gitopsd (the tracking annotation will be added)"
            status = OUT_OF_SYNC
        else:
            # The server says applying changes nothing: defaulting or list merges, not drift.
            message, status = "", SYNCED
    else:
        status = OUT_OF_SYNC
        message = describe_changes(exact or changes + [c for _, c in removed + unapplied], secret_paths)
        if dry_run_error is not None:
            message = (
                f"{message} (dry run failed: {dry_run_error})"
                if message
                else f"dry run failed: {dry_run_error}"
            )
    if shared_with:
        message = f"shared with application {shared_with}" + (f"; {message}" if message else "")
    return (
        ResourceComparison(
            key=key,
            status=status,
            message=message,
            lazy_diff=partial(unified_diff, masked_live, masked_target, _diff_name(key)) if status != SYNCED else "",
            live_yaml_obj=masked_live,
            target_yaml_obj=masked_target,
            desired=d,
            live=live,
            health=health,
            shared_with=shared_with,
        ),
        used,
    )


def _ignored_path(path: str, rules: Iterable[Any]) -> bool:
    for rule in rules:
        for pointer in rule.json_pointers:
            dotted = ".".join(p for p in pointer.strip("/").split("/"))
            if path == dotted or path.startswith(dotted + ".") or path.startswith(dotted + "["):
                return True
    return False
