"""Health assessment: one YAML fixture per kind and state, app health order, Lua custom checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gitopsd.engine.health import HealthResult, HealthStatus, LuaHealthChecks, assess_health, worst
from gitopsd.engine.health.lua import LuaLimits, run_health_script

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "health").glob("*.yaml"))


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_builtin_health_matches_fixture(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    result = assess_health(doc["object"])
    assert result is not None
    assert result.status.value == doc["expected"]["status"]
    assert result.message == doc["expected"]["message"]


def test_every_builtin_kind_has_fixtures() -> None:
    kinds = {yaml.safe_load(p.read_text())["object"]["kind"] for p in FIXTURES}
    assert {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Pod",
        "Service",
        "Ingress",
        "PersistentVolumeClaim",
        "Job",
        "HorizontalPodAutoscaler",
        "APIService",
        "Namespace",
        "Workflow",
    } <= kinds


def test_order_is_argo_cd_is_worse_order() -> None:
    order = [s.value for s in sorted(HealthStatus)]
    assert order == ["Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"]
    assert HealthStatus.DEGRADED.is_worse(HealthStatus.MISSING)
    assert not HealthStatus.HEALTHY.is_worse(HealthStatus.SUSPENDED)


def test_app_health_is_worst_resource_and_ignores_kinds_without_health() -> None:
    configmap = assess_health({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    assert configmap is None
    results = [
        HealthResult(HealthStatus.HEALTHY),
        configmap,
        HealthResult(HealthStatus.PROGRESSING, "Waiting for rollout"),
        HealthResult(HealthStatus.SUSPENDED),
    ]
    assert worst(results) == HealthResult(HealthStatus.PROGRESSING, "Waiting for rollout")
    assert worst([]).status is HealthStatus.HEALTHY
    assert assess_health(None) == HealthResult(HealthStatus.MISSING)


def test_malformed_live_object_is_unknown_or_judged_not_crashing() -> None:
    weird = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": "nope", "spec": [1], "status": "x"}
    result = assess_health(weird)
    assert result is not None and isinstance(result.status, HealthStatus)


# ---------------------------------------------------------------- Lua

CRON_OK = """
hs = {}
if obj.status ~= nil and obj.status.phase == "Ready" then
  hs.status = "Healthy"
  hs.message = "ready: " .. obj.metadata.name
else
  hs.status = "Progressing"
  hs.message = "waiting"
end
return hs
"""

WIDGET = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": {"name": "w1"},
    "status": {"phase": "Ready"},
}


def test_lua_custom_check_overrides_and_reads_object() -> None:
    checks = LuaHealthChecks({"example.com/Widget": CRON_OK})
    assert assess_health(WIDGET, checks) == HealthResult(HealthStatus.HEALTHY, "ready: w1")
    pending = dict(WIDGET, status={"phase": "Pending"})
    assert assess_health(pending, checks) == HealthResult(HealthStatus.PROGRESSING, "waiting")


def test_lua_overrides_builtin_for_core_kind() -> None:
    checks = LuaHealthChecks({"PersistentVolumeClaim": 'return {status = "Suspended", message = "custom"}'})
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "d"},
        "status": {"phase": "Bound"},
    }
    assert assess_health(pvc, checks) == HealthResult(HealthStatus.SUSPENDED, "custom")


@pytest.mark.parametrize(
    ("script", "expected_in_message"),
    [
        ('error("broken on purpose")', "broken on purpose"),
        ("while true do end", "instruction budget exhausted"),
        ("while true do pcall(function() while true do end end) end", "instruction budget exhausted"),
        ('local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 4096) .. i end', "memory limit exceeded"),
        ('local s = string.rep("x", 1e8) return {status = "Healthy"}', "memory limit exceeded"),
        ('os.execute("touch /tmp/pwned") return {status = "Healthy"}', "field 'execute'"),
        ('local f = io.open("/etc/passwd") return {status = "Healthy"}', "global 'io'"),
        ('local m = require("os") return {status = "Healthy"}', "global 'require'"),
        ('return load("\\27Lua")()', "global 'load'"),
        ("return {status = string.dump(print)}", "field 'dump'"),
        ('return {status = ("").dump(print)}', "field 'dump'"),
        ('debug.sethook() return {status = "Healthy"}', "global 'debug'"),
        ('return {status = "Fine"}', "unknown status Fine"),
        ("return 42", "not a table"),
        ("this is not lua", "syntax error"),
    ],
)
def test_lua_hostile_or_broken_scripts_yield_unknown(script: str, expected_in_message: str) -> None:
    result = run_health_script(
        script, WIDGET, name="example.com/Widget", limits=LuaLimits(max_memory=16 * 1024 * 1024)
    )
    assert result.status is HealthStatus.UNKNOWN
    assert expected_in_message in result.message
    # The process is unharmed: the next script still runs.
    assert run_health_script('return {status = "Healthy"}', WIDGET).status is HealthStatus.HEALTHY


def test_lua_wall_clock_cap() -> None:
    limits = LuaLimits(instruction_budget=10**12, wall_clock_seconds=0.2)
    result = run_health_script("local x = 0 while true do x = x + 1 end", WIDGET, limits=limits)
    assert result == HealthResult(HealthStatus.UNKNOWN, "health script health.lua: time limit exceeded")


def test_lua_cannot_reach_python() -> None:
    result = run_health_script(
        'return {status = "Healthy", message = tostring(python) .. tostring(_G) .. tostring(getmetatable)}',
        WIDGET,
    )
    assert result == HealthResult(HealthStatus.HEALTHY, "nilnilnil")
