"""What a comparison returns: per-resource results, the application's status and reason.

Pure values; gitopsd.engine.compare builds them, the sync planner and the daemon read them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitopsd.engine.desired import DesiredObject
from gitopsd.engine.health import HealthResult
from gitopsd.engine.resources import ResourceKey

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


def app_status(resources: Sequence[ResourceComparison]) -> tuple[str, str]:
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
