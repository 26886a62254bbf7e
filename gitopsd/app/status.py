"""Turning the engine's comparison into the application's status (pure: no I/O).

Conditions keep their lastTransitionTime while they persist, so `app get` shows
since when a problem exists, not when it was last seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.app.generators.appofapps import child_summary
from gitopsd.engine.compare import ComparisonResult, ResourceComparison
from gitopsd.engine.resources import ResourceKey
from gitopsd.store import utcnow

COMPARISON_ERROR = "ComparisonError"
INVALID_SPEC = "InvalidSpecError"
SHARED_RESOURCE = "SharedResourceWarning"
SYNC_ERROR = "SyncError"
ANNOTATION_WARNING = "AnnotationWarning"
# An automated sync is due but the project's sync windows hold it back (gitopsd.app.syncwindows).
SYNC_WINDOW_BLOCKED = "SyncWindowBlocked"


def strip_reason(reason: str, status: str) -> str:
    """The engine says `OutOfSync (X)`; the status keeps X (the CLI adds the status word)."""
    prefix = f"{status} ("
    if reason.startswith(prefix) and reason.endswith(")"):
        return reason[len(prefix) : -1]
    return "" if reason == status else reason


def resource_status(r: ResourceComparison) -> apppb.ResourceStatus:
    out = apppb.ResourceStatus(
        group=r.key.group,
        version=r.key.version,
        kind=r.key.kind,
        namespace=r.key.namespace,
        name=r.key.name,
        status=r.status,
        hook=r.hook,
        requires_pruning=r.requires_pruning,
        sync_wave=r.wave,
        message=r.error or r.message or child_summary(r.key.group, r.key.kind, r.live),
    )
    if r.health is not None:
        out.health.status = r.health.status.value
        out.health.message = r.health.message
    return out


def conditions(
    previous: Sequence[common_pb2.Condition], wanted: Iterable[tuple[str, str]]
) -> list[common_pb2.Condition]:
    """The new condition list; unchanged (type, message) pairs keep their transition time."""
    before = {(c.type, c.message): c.last_transition_time for c in previous}
    now = utcnow()
    out, seen = [], set()
    for ctype, message in wanted:
        if (ctype, message) in seen:
            continue
        seen.add((ctype, message))
        out.append(
            common_pb2.Condition(
                type=ctype, message=message, last_transition_time=before.get((ctype, message), now)
            )
        )
    return out


def comparison_conditions(result: ComparisonResult) -> list[tuple[str, str]]:
    wanted: list[tuple[str, str]] = []
    for message in result.errors:
        wanted.append((COMPARISON_ERROR, message))
    for message in result.shared_resource_warnings:
        wanted.append((SHARED_RESOURCE, message))
    for message in result.warnings:
        ctype = ANNOTATION_WARNING if "annotation" in message.lower() else "Warning"
        wanted.append((ctype, message))
    return wanted


def images_of(manifests: Iterable[dict[str, Any]]) -> list[str]:
    images: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key in ("containers", "initContainers"):
                for c in node.get(key) or []:
                    if isinstance(c, dict) and isinstance(c.get("image"), str):
                        images.add(c["image"])
            for value in node.values():
                if isinstance(value, (dict, list)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for m in manifests:
        walk(m.get("spec"))
    return sorted(images)


def tracked_keys(status: apppb.ApplicationStatus) -> list[ResourceKey]:
    """Keys the application managed at its last comparison (to find what to prune)."""
    return [
        ResourceKey(r.group, r.kind, r.namespace, r.name, r.version) for r in status.resources if not r.hook
    ]


def live_kinds(status: apppb.ApplicationStatus, manifests: Iterable[Any]) -> set[tuple[str, str]]:
    """(apiVersion, kind) of everything the application manages: what a hard refresh lists again."""
    kinds = {(k.api_version, k.kind) for k in tracked_keys(status) if k.version and k.kind}
    for m in manifests:
        if isinstance(m, dict) and isinstance(m.get("apiVersion"), str) and isinstance(m.get("kind"), str):
            kinds.add((m["apiVersion"], m["kind"]))
    return kinds
