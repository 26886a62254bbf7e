"""Lua health scripts behave as Argo CD's: Lua 5.1 helpers and os clock functions exist, nothing else of os/io
does, long messages survive (up to 16 KiB), and keys may hold wildcards."""

from __future__ import annotations

import time

import pytest

from gitopsd.engine.health import HealthResult, HealthStatus, LuaHealthChecks, assess_health
from gitopsd.engine.health.lua import MAX_MESSAGE, run_health_script

OBJ = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": {"name": "w1"},
    "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "True"}]},
}


def test_argo_cd_style_script_with_lua_51_helpers() -> None:
    script = """
hs = {}
local n = table.getn(obj.status.conditions)
local a, b = unpack({"x", "y"})
hs.status = "Healthy"
hs.message = n .. " conditions " .. a .. b .. " " .. math.floor(math.pow(2, 10))
return hs
"""
    assert run_health_script(script, OBJ) == HealthResult(HealthStatus.HEALTHY, "2 conditions xy 1024")


def test_os_clock_functions_are_available() -> None:
    script = """
local now = os.time()
local t = os.date("!*t", 0)
local when = os.time({year = 2026, month = 1, day = 2, hour = 12})
return {status = "Healthy", message = string.format("%d|%s|%d|%s|%s", now, os.date("!%Y-%m-%d", 86400),
  t.year, type(os.clock()), tostring(when > 0))}
"""
    result = run_health_script(script, OBJ)
    assert result.status is HealthStatus.HEALTHY, result.message
    now, day, year, clock, positive = result.message.split("|")
    assert abs(int(now) - time.time()) < 600
    assert (day, year, clock, positive) == ("1970-01-02", "1970", "number", "true")


@pytest.mark.parametrize(
    ("script", "expected_in_message"),
    [
        ('local f = io.open("/etc/passwd") return {status = "Healthy"}', "global 'io'"),
        ('os.execute("touch /tmp/pwned") return {status = "Healthy"}', "field 'execute'"),
        ('return {status = "Healthy", message = os.getenv("HOME")}', "field 'getenv'"),
        ('os.remove("/tmp/x") return {status = "Healthy"}', "field 'remove'"),
        ('os.exit(1) return {status = "Healthy"}', "field 'exit'"),
        ('return {status = "Healthy", message = os.tmpname()}', "field 'tmpname'"),
        ('local m = require("os") return {status = "Healthy"}', "global 'require'"),
        ('dofile("/etc/passwd") return {status = "Healthy"}', "global 'dofile'"),
        ('loadfile("/etc/passwd") return {status = "Healthy"}', "global 'loadfile'"),
        ('return load("\\27Lua")()', "global 'load'"),
        ('return loadstring("return 1")()', "global 'loadstring'"),
        ("return {status = string.dump(function() end)}", "field 'dump'"),
        ('collectgarbage() return {status = "Healthy"}', "global 'collectgarbage'"),
        ('return {status = "Healthy", message = package.path}', "global 'package'"),
    ],
)
def test_nothing_else_of_the_host_is_reachable(script: str, expected_in_message: str) -> None:
    result = run_health_script(script, OBJ, name="example.com/Widget")
    assert result.status is HealthStatus.UNKNOWN
    assert expected_in_message in result.message


def test_os_date_refuses_bad_or_huge_formats_instead_of_crashing_or_stalling() -> None:
    result = run_health_script('return {status = "Healthy", message = os.date("%Ez")}', OBJ)
    assert result.status is HealthStatus.UNKNOWN and "invalid conversion specifier" in result.message
    # Formatting runs in C where the instruction budget cannot stop it: a huge format is refused up front.
    result = run_health_script('return {status = "Healthy", message = os.date(string.rep("%Y", 4e6))}', OBJ)
    assert result.status is HealthStatus.UNKNOWN and "date format too long" in result.message


def test_messages_are_not_clipped_at_500_characters_but_capped_at_16_kib() -> None:
    long_ok = run_health_script('return {status = "Degraded", message = string.rep("ab", 1500)}', OBJ)
    assert long_ok == HealthResult(HealthStatus.DEGRADED, "ab" * 1500)
    huge = run_health_script('return {status = "Degraded", message = string.rep("x", 100000)}', OBJ)
    assert huge.status is HealthStatus.DEGRADED
    assert len(huge.message) == MAX_MESSAGE == 16 * 1024 and huge.message.endswith("...")


def _bucket(api_version: str = "s3.aws.crossplane.io/v1beta1", kind: str = "Bucket") -> dict:  # type: ignore[type-arg]
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": "b"}, "status": {}}


def test_wildcard_keys_match_groups_and_kinds() -> None:
    checks = LuaHealthChecks(
        {
            "*.crossplane.io/*": 'return {status = "Healthy", message = "any crossplane"}',
            "example.com/*": 'return {status = "Suspended", message = "any example.com"}',
        }
    )
    assert assess_health(_bucket(), checks) == HealthResult(HealthStatus.HEALTHY, "any crossplane")
    assert assess_health(_bucket("ec2.aws.crossplane.io/v1", "VPC"), checks) == HealthResult(
        HealthStatus.HEALTHY, "any crossplane"
    )
    assert assess_health(OBJ, checks) == HealthResult(HealthStatus.SUSPENDED, "any example.com")
    # "*.crossplane.io" needs a subdomain; other groups fall through to the built-ins (none for this kind).
    assert assess_health(_bucket("other.io/v1"), checks) is None


def test_exact_key_beats_wildcards_and_the_most_specific_wildcard_wins() -> None:
    checks = LuaHealthChecks(
        {
            "*/*": 'return {status = "Degraded", message = "catch-all"}',
            "*.crossplane.io/*": 'return {status = "Progressing", message = "crossplane"}',
            "*.aws.crossplane.io/*": 'return {status = "Suspended", message = "aws"}',
            "s3.aws.crossplane.io/Bucket": 'return {status = "Healthy", message = "exact"}',
        }
    )
    assert assess_health(_bucket(), checks) == HealthResult(HealthStatus.HEALTHY, "exact")
    assert assess_health(_bucket("ec2.aws.crossplane.io/v1", "VPC"), checks) == HealthResult(
        HealthStatus.SUSPENDED, "aws"
    )
    assert assess_health(_bucket("pkg.crossplane.io/v1", "Provider"), checks) == HealthResult(
        HealthStatus.PROGRESSING, "crossplane"
    )
    assert assess_health(OBJ, checks) == HealthResult(HealthStatus.DEGRADED, "catch-all")


def test_a_failing_wildcard_script_names_its_key_and_the_kind() -> None:
    checks = LuaHealthChecks({"*.crossplane.io/*": 'error("nope")'})
    result = assess_health(_bucket(), checks)
    assert result is not None and result.status is HealthStatus.UNKNOWN
    assert "*.crossplane.io/* (s3.aws.crossplane.io/Bucket)" in result.message and "nope" in result.message
