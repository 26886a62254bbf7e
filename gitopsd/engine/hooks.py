"""Hook progress for the sync operation: the phase of a running hook and whether to delete it afterwards.

Pure: the caller fetches the hook's live object (Job, Pod or anything else) and asks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gitopsd.engine.health import HealthStatus, assess_health

RUNNING = "Running"
SUCCEEDED = "Succeeded"
FAILED = "Failed"


def hook_phase(live: Mapping[str, Any] | None) -> tuple[str, str]:
    """(phase, message) of a hook object: Jobs and Pods run until they complete or fail; any other kind
    has succeeded once it exists (as in Argo CD)."""
    if live is None:
        return RUNNING, "waiting for the hook to be created"
    if live.get("kind") not in ("Job", "Pod"):
        return SUCCEEDED, ""
    health = assess_health(live)
    if health is None:
        return SUCCEEDED, ""
    if health.status is HealthStatus.HEALTHY:
        return SUCCEEDED, health.message
    if health.status is HealthStatus.DEGRADED:
        return FAILED, health.message or "hook failed"
    return RUNNING, health.message


def delete_after(policies: Iterable[str], phase: str) -> bool:
    """Whether a finished hook is deleted now (HookSucceeded / HookFailed); BeforeHookCreation deletes at
    the next creation instead."""
    wanted = set(policies)
    return (phase == SUCCEEDED and "HookSucceeded" in wanted) or (phase == FAILED and "HookFailed" in wanted)
