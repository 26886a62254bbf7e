"""Argo Rollouts (``argoproj.io``): Rollout, AnalysisRun and Experiment health.

A Rollout (v1.0+) reports its own verdict in ``status.phase`` (Healthy, Progressing, Paused, Degraded) with
``status.message``; it is only trusted once ``status.observedGeneration`` (a string of digits) has caught up with
``metadata.generation``. AnalysisRuns and Experiments share the analysis phases: Pending and Running are still
going, Successful is done, Failed and Error are failures, Inconclusive waits for a person to decide (Suspended).
"""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import condition, dig, text, truthy
from gitopsd.engine.health.conditions import generation_lag, message_of
from gitopsd.engine.health.status import HealthResult, HealthStatus

_ROLLOUT_PHASES = {
    "Healthy": HealthStatus.HEALTHY,
    "Progressing": HealthStatus.PROGRESSING,
    "Paused": HealthStatus.SUSPENDED,
    "Degraded": HealthStatus.DEGRADED,
}

_ANALYSIS_PHASES = {
    "": HealthStatus.PROGRESSING,
    "Pending": HealthStatus.PROGRESSING,
    "Running": HealthStatus.PROGRESSING,
    "Successful": HealthStatus.HEALTHY,
    "Failed": HealthStatus.DEGRADED,
    "Error": HealthStatus.DEGRADED,
    "Inconclusive": HealthStatus.SUSPENDED,
}


def rollout(obj: dict[str, Any]) -> HealthResult:
    if not isinstance(obj.get("status"), dict) or not obj["status"]:
        return HealthResult(HealthStatus.PROGRESSING, "Waiting for the rollout controller")
    lag = generation_lag(obj)
    if lag is not None:
        return lag
    invalid = condition(obj, "InvalidSpec")
    if invalid is not None and invalid.get("status") == "True":
        return HealthResult(HealthStatus.DEGRADED, message_of(invalid))
    message = text(dig(obj, "status", "message"))
    if truthy(dig(obj, "status", "abort")):
        return HealthResult(HealthStatus.DEGRADED, message or "Rollout aborted")
    phase = text(dig(obj, "status", "phase"))
    if phase in _ROLLOUT_PHASES:
        return HealthResult(_ROLLOUT_PHASES[phase], message)
    if phase:
        return HealthResult(HealthStatus.UNKNOWN, f"unknown rollout phase {phase!r}")
    # Controllers before v1.0 wrote no phase: paused is all that can be told apart.
    if truthy(dig(obj, "spec", "paused")) or dig(obj, "status", "pauseConditions"):
        return HealthResult(HealthStatus.SUSPENDED, "Rollout is paused")
    return HealthResult(HealthStatus.PROGRESSING, "Waiting for the rollout status")


def analysis(obj: dict[str, Any]) -> HealthResult:
    """AnalysisRun and Experiment: by the analysis phase."""
    phase = text(dig(obj, "status", "phase"))
    message = text(dig(obj, "status", "message"))
    status = _ANALYSIS_PHASES.get(phase)
    if status is None:
        return HealthResult(HealthStatus.UNKNOWN, f"unknown phase {phase!r}")
    if status is HealthStatus.SUSPENDED and not message:
        message = "Analysis inconclusive: waiting for a decision"
    return HealthResult(status, message)


CHECKS = {
    ("argoproj.io", "Rollout"): rollout,
    ("argoproj.io", "AnalysisRun"): analysis,
    ("argoproj.io", "Experiment"): analysis,
}
