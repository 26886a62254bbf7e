"""Argo CD's own kinds as live objects (``argoproj.io`` Application and ApplicationSet), for clusters that
run Argo CD: an Application carries its verdict in ``status.health``; an ApplicationSet's controller writes
the conditions ErrorOccurred, ParametersGenerated, ResourcesUpToDate and RolloutProgressing.

Applications rendered by a gitopsd application become gitopsd applications and never reach a cluster:
an app of apps' parent sees its children as such objects (gitopsd.app.generators.appofapps), so its health
is the worst of theirs through this check; it also judges Application objects another tool put in a cluster.
"""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import condition, dig, text
from gitopsd.engine.health.conditions import message_of
from gitopsd.engine.health.status import HealthResult, HealthStatus


def application(obj: dict[str, Any]) -> HealthResult:
    value = text(dig(obj, "status", "health", "status"))
    message = text(dig(obj, "status", "health", "message"))
    if not value:
        return HealthResult(HealthStatus.PROGRESSING, "Waiting for the application's health")
    status = HealthStatus.parse(value)
    if status is None:
        return HealthResult(HealthStatus.UNKNOWN, f"unknown health status {value!r}")
    return HealthResult(status, message)


def application_set(obj: dict[str, Any]) -> HealthResult:
    error = condition(obj, "ErrorOccurred")
    if error is not None and error.get("status") == "True":
        return HealthResult(HealthStatus.DEGRADED, message_of(error))
    params = condition(obj, "ParametersGenerated")
    if params is not None and params.get("status") == "False":
        return HealthResult(HealthStatus.DEGRADED, message_of(params))
    rolling = condition(obj, "RolloutProgressing")
    if rolling is not None and rolling.get("status") == "True":
        return HealthResult(HealthStatus.PROGRESSING, message_of(rolling))
    current = condition(obj, "ResourcesUpToDate")
    if current is not None and current.get("status") == "True":
        return HealthResult(HealthStatus.HEALTHY, message_of(current))
    if current is not None and current.get("status") == "False":
        return HealthResult(HealthStatus.DEGRADED, message_of(current))
    return HealthResult(HealthStatus.PROGRESSING, "Waiting for the ApplicationSet controller")


CHECKS = {
    ("argoproj.io", "Application"): application,
    ("argoproj.io", "ApplicationSet"): application_set,
}
