"""Health of an Argo CD Application: the child application's own health (status.health), as Argo CD's
documented `argoproj.io/Application` health customization gives it; Progressing until it has one.

An app of apps' parent takes the worst of its children's health through this check."""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import dig
from gitopsd.engine.health.status import HealthResult, HealthStatus


def assess(obj: dict[str, Any]) -> HealthResult:
    status = dig(obj, "status", "health", "status")
    message = dig(obj, "status", "health", "message")
    text = message if isinstance(message, str) else ""
    for known in HealthStatus:
        if status == known.value:
            return HealthResult(known, text)
    return HealthResult(HealthStatus.PROGRESSING, text or "waiting for the application's first health assessment")
