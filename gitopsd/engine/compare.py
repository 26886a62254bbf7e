"""Compare desired objects with live state: per-resource status, reason, diff, health; app status and reason.

Fast path: only the fields the desired manifest sets are compared locally (plus fields gitopsd applied
before and no longer sets, read from managedFields). Where that finds a difference, a server-side-apply
dry run through the ClusterClient confirms it, so server defaulting and list merges never show as drift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gitopsd.engine.annotations import hook_info
from gitopsd.engine.cluster import ClusterClient
from gitopsd.engine.desired import DesiredObject, ObjectError, PreparedSet
from gitopsd.engine.diff import (
    MISSING_VALUE,
    FieldChange,
    describe_changes,
    field_changes,
    overlay,
    subset_differences,
    unified_diff,
)
from gitopsd.engine.health import HealthResult, HealthStatus, LuaHealthChecks, assess_health, worst
from gitopsd.engine.live import LiveState
from gitopsd.engine.normalize import (
    FIELD_MANAGER,
    IGNORED_ANNOTATIONS,
    IgnoreSet,
    apply_ignores,
    managed_paths,
    mask_secrets,
    normalize,
    remove_path,
    secret_string_data_to_data,
)
from gitopsd.engine.resources import ResourceKey, kind_rank
from gitopsd.engine.tracking import owner_app
from gitopsd.kube.errors import KubeError

SYNCED = "Synced"
OUT_OF_SYNC = "OutOfSync"
MISSING = "Missing"
EXTRANEOUS = "Extraneous"
UNKNOWN = "Unknown"

_MAX_REASON = 300


@dataclass(frozen=True)
class ResourceComparison:
    key: ResourceKey
    status: str  # Synced, OutOfSync, Missing, Extraneous, Unknown (could not be compared)
    message: str = ""  # why, e.g. "spec.replicas 5 → 3"
    # The unified YAML diff live → desired (normalized, Secret data masked), or how to make it:
    # only `app diff` reads it, so a sync of 1,000 new objects does not render 1,000 diffs.
    lazy_diff: str | Callable[[], str] = field(default="", repr=False, compare=False)
    live_yaml_obj: dict[str, Any] | None = None  # normalized, masked: for ResourceDiff.live_state
    target_yaml_obj: dict[str, Any] | None = None  # normalized, masked: for ResourceDiff.target_state
    desired: DesiredObject | None = None
    live: dict[str, Any] | None = None
    health: HealthResult | None = None
    requires_pruning: bool = False
    shared_with: str | None = None  # another application tracking this live object
    error: str | None = None

    @property
    def diff(self) -> str:
        """The unified YAML diff live → desired ("" when in sync)."""
        if callable(self.lazy_diff):
            object.__setattr__(self, "lazy_diff", self.lazy_diff())  # computed once, then kept
        return str(self.lazy_diff)

    @property
    def reason(self) -> str:
        """``Deployment production/mon-app: spec.replicas 5 → 3``."""
        return f"{self.key.display()}: {self.message}" if self.message else self.key.display()

    @property
    def hook(self) -> str:
        if self.desired is None or not self.desired.hook.types:
            return ""
        return ",".join(self.desired.hook.types)

    @property
    def wave(self) -> int:
        return self.desired.hook.wave if self.desired is not None else 0


@dataclass(frozen=True)
class ComparisonResult:
    resources: tuple[ResourceComparison, ...]
    status: str  # Synced, OutOfSync or Unknown
    reason: str
    health: HealthResult
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    hooks: tuple[DesiredObject, ...] = ()
    dry_runs: int = 0

    def by_key(self) -> dict[ResourceKey, ResourceComparison]:
        return {r.key: r for r in self.resources}

    @property
    def shared_resource_warnings(self) -> list[str]:
        return [
            f"{r.key.display()} is part of application {r.shared_with} and cannot be managed by this one"
            for r in self.resources
            if r.shared_with
        ]


@dataclass(frozen=True)
class CompareOptions:
    ignore: IgnoreSet = field(default_factory=IgnoreSet)
    # Confirm fast-path differences with a server-side-apply dry run (needs a client).
    server_dry_run: bool = True
    health: LuaHealthChecks | None = None


def _secret_paths(key: ResourceKey) -> tuple[str, ...]:
    return ("data", "stringData") if key.group == "" and key.kind == "Secret" else ()


def _owned_but_unset(live: Mapping[str, Any], desired: Mapping[str, Any]) -> list[FieldChange]:
    """Fields gitopsd applied before and the manifest no longer sets: an apply would remove them."""
    out: list[FieldChange] = []
    for path in managed_paths(live, [FIELD_MANAGER]):
        if path[:1] == ["metadata"] and path[1:2] not in (["labels"], ["annotations"]):
            continue
        if path[:2] == ["metadata", "annotations"] and path[2:3] and path[2] in IGNORED_ANNOTATIONS:
            continue  # normalized away on both sides
        if not _path_exists(desired, path) and _path_exists(live, path):
            out.append(FieldChange(_path_text(path), _value_at(live, path), MISSING_VALUE))
            if len(out) >= 10:
                break
    return out


def _path_text(path: list[Any]) -> str:
    parts: list[str] = []
    for step in path:
        if isinstance(step, dict):
            label = step.get("name") or ",".join(f"{k}={v}" for k, v in step.items())
            parts[-1:] = [f"{parts[-1] if parts else ''}[{label}]"]
        elif isinstance(step, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{step}]"]
        else:
            parts.append(str(step))
    return ".".join(parts)


# List-map key fields the API server defaults before it keys an item (a port's protocol): a
# manifest that leaves them out still names the item managedFields keys with the default.
_KEY_DEFAULTS = {"protocol": "TCP"}


def _step_into(obj: Any, step: Any) -> tuple[bool, Any]:
    if isinstance(step, dict):
        if isinstance(obj, list):
            for item in obj:
                if isinstance(item, Mapping) and all(
                    item.get(k, _KEY_DEFAULTS.get(k)) == v for k, v in step.items()
                ):
                    return True, item
        return False, None
    if isinstance(step, int):
        if isinstance(obj, list) and 0 <= step < len(obj):
            return True, obj[step]
        return False, None
    if isinstance(obj, Mapping) and step in obj:
        return True, obj[step]
    return False, None


def _path_exists(obj: Any, path: list[Any]) -> bool:
    for step in path:
        ok, obj = _step_into(obj, step)
        if not ok:
            return False
    return True


def _value_at(obj: Any, path: list[Any]) -> Any:
    for step in path:
        _, obj = _step_into(obj, step)
    return obj


def _ignored(obj: dict[str, Any], rules: Sequence[Any], live: Mapping[str, Any] | None) -> dict[str, Any]:
    return apply_ignores(obj, rules, live)


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

    for err in prepared.errors:
        resources.append(_error_result(err))
        errors.append(f"{err.key.display()}: {err.message}" if err.key else err.message)

    for d in prepared.objects:
        desired_keys.add(d.key)
        if d.is_hook or d.skipped:
            hooks.append(d)
            continue
        try:
            result, used_dry_run = _compare_one(d, live, app=app, client=client, options=options)
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
    status, reason = _app_status(resources)
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


def _compare_one(
    d: DesiredObject,
    state: LiveState,
    *,
    app: str,
    client: ClusterClient | None,
    options: CompareOptions,
) -> tuple[ResourceComparison, int]:
    key = d.key
    rules = options.ignore.for_key(key)
    list_error = state.error_for(key)
    live = state.objects.get(key)
    desired_n = _ignored(normalize(secret_string_data_to_data(d.obj)), rules, live)
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
    live_n = _ignored(normalize(live), rules, live)
    secret_paths = _secret_paths(key)

    changes = subset_differences(desired_n, live_n)
    removed = [c for c in _owned_but_unset(live, desired_n) if not _ignored_path(c.path, rules)]
    untracked = owner is None
    if not changes and not removed and not untracked:
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
            target_n = _ignored(normalize(predicted), rules, live)
        except KubeError as exc:
            dry_run_error = str(exc)
    if target_n is None:
        target_n = overlay(live_n, desired_n)
        for c in removed:
            for path in managed_paths(live, [FIELD_MANAGER]):
                if _path_text(path) == c.path:
                    remove_path(target_n, path)
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
        message = describe_changes(exact or changes + removed, secret_paths)
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


def _app_status(resources: Sequence[ResourceComparison]) -> tuple[str, str]:
    differing = [r for r in resources if r.status in (OUT_OF_SYNC, MISSING, EXTRANEOUS)]
    unknown = [r for r in resources if r.status == UNKNOWN]
    if not differing and not unknown:
        return SYNCED, "Synced"
    if not differing:
        head = unknown[0].reason
        more = f" and {len(unknown) - 1} more" if len(unknown) > 1 else ""
        return UNKNOWN, _clip(f"Unknown ({head}{more})")
    if len(differing) == 1:
        return OUT_OF_SYNC, _clip(f"OutOfSync ({differing[0].reason})")
    listed = "; ".join(r.reason for r in differing[:3])
    more = f"; and {len(differing) - 3} more" if len(differing) > 3 else ""
    return OUT_OF_SYNC, _clip(f"OutOfSync ({len(differing)} resources differ: {listed}{more})")


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 4] + "...)"
