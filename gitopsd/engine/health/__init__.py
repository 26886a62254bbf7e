"""Resource health: built-in checks (one module per Kubernetes kind, one per project for the custom resources
people run: Argo, cert-manager, Flux, Crossplane...; see registry.py) and Lua overrides, which win.

``assess_health(obj)`` returns a HealthResult, or None for kinds with no health notion (ConfigMap...),
which then do not count in the application's health.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitopsd.engine.health.lua import LuaHealthChecks, LuaLimits, run_health_script
from gitopsd.engine.health.registry import lookup
from gitopsd.engine.health.status import HealthResult, HealthStatus, worst

__all__ = [
    "HealthResult",
    "HealthStatus",
    "LuaHealthChecks",
    "LuaLimits",
    "assess_health",
    "run_health_script",
    "worst",
]


def _group_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    group = api_version.partition("/")[0] if isinstance(api_version, str) and "/" in api_version else ""
    return group, kind if isinstance(kind, str) else ""


def assess_health(
    obj: Mapping[str, Any] | None, custom: LuaHealthChecks | None = None
) -> HealthResult | None:
    """Health of one live object (None live → Missing). Custom Lua checks override built-in ones."""
    if obj is None:
        return HealthResult(HealthStatus.MISSING)
    meta = obj.get("metadata")
    if isinstance(meta, Mapping) and meta.get("deletionTimestamp"):
        return HealthResult(HealthStatus.PROGRESSING, "Pending deletion")
    group, kind = _group_kind(obj)
    if custom is not None:
        result = custom.assess(f"{group}/{kind}" if group else kind, obj)
        if result is not None:
            return result
    check = lookup(group, kind)
    if check is None:
        return None
    try:
        return check(dict(obj))
    except Exception as exc:  # a malformed live object is Unknown, never a crash of the refresh
        return HealthResult(HealthStatus.UNKNOWN, f"cannot assess health: {exc}")
