"""Custom health checks in Lua 5.4 (lupa), as Argo CD's ``resource.customizations`` health.lua.

Scripts written for Argo CD (whose Lua is 5.1) run unchanged: ``table.getn``, ``unpack`` and ``math.pow`` exist, and of ``os``
only the clock functions ``os.time``, ``os.date`` and ``os.clock``. Scripts are untrusted configuration: each
check runs in a fresh Lua state with nothing else of os, no io/require/dofile/loadfile/load/string.dump/debug, a
memory cap, an instruction budget (debug.sethook inside a coroutine) and a wall-clock cap. Whatever the script
does, the outcome is a HealthResult: Unknown with the error when the script fails, loops or exhausts memory.
Messages are kept up to 16 KiB: far above any real message, a cap only on what one script can make us store.

Keys are ``group/Kind`` (``Kind`` alone for the core group) and may hold ``*`` wildcards, as Argo CD allows:
``*.crossplane.io/*``, ``example.com/*``. An exact key wins over a wildcard one; among wildcards, the most
specific (most characters that are not wildcards) wins.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import lupa.lua54 as lua54

from gitopsd.engine.health.status import HealthResult, HealthStatus

# The trusted loader. It runs before any script, captures the few functions it needs, builds the
# allow-listed environment and removes everything dangerous from the global table.
_BOOTSTRAP = r"""
local code, name, obj, budget, deadline, now, max_subject = ...
local os_time, os_date, os_clock = os.time, os.date, os.clock
local coroutine, debug, load, error, tostring, type, pcall = coroutine, debug, load, error, tostring, type, pcall
local sethook, string, table, math, utf8 = debug.sethook, string, table, math, utf8
local select, pairs, ipairs, next, rawget, rawset, rawequal, rawlen, tonumber, setmetatable, getmetatable =
  select, pairs, ipairs, next, rawget, rawset, rawequal, rawlen, tonumber, setmetatable, getmetatable

local function guard(fn)
  -- Pattern matching runs in C where the hook cannot fire: refuse huge subjects and patterns.
  return function(s, p, ...)
    if type(s) == "string" and #s > max_subject then error("string too long for pattern matching", 2) end
    if type(p) == "string" and #p > 1024 then error("pattern too long", 2) end
    return fn(s, p, ...)
  end
end
local safe_string = {}
for _, k in ipairs({"byte", "char", "format", "len", "lower", "upper", "rep", "reverse", "sub"}) do
  safe_string[k] = string[k]
end
for _, k in ipairs({"find", "match", "gmatch", "gsub"}) do safe_string[k] = guard(string[k]) end
-- os.date formats in C, out of the hook's reach: a bounded format keeps each call short.
local function safe_date(fmt, ...)
  if type(fmt) == "string" and #fmt > 1024 then error("date format too long", 2) end
  return os_date(fmt, ...)
end
local safe_table = {}
for _, k in ipairs({"concat", "insert", "remove", "sort", "unpack", "pack", "move"}) do safe_table[k] = table[k] end
-- Lua 5.1's table.getn (Argo CD's interpreter is 5.1; its own scripts use it).
safe_table.getn = function(t) return #t end
local safe_math = {}
for k, v in pairs(math) do if k ~= "random" and k ~= "randomseed" then safe_math[k] = v end end
safe_math.pow = function(x, y) return x ^ y end  -- Lua 5.1's, gone from 5.4

-- pcall must not swallow the budget/time errors raised by the hook: once exhausted, re-raise.
local exhausted = nil
local table_pack, table_unpack = table.pack, table.unpack
local function safe_pcall(...)
  local r = table_pack(pcall(...))
  if exhausted then error(exhausted, 0) end
  return table_unpack(r, 1, r.n)
end

local env = {
  obj = obj, string = safe_string, table = safe_table, math = safe_math, unpack = table.unpack,
  -- Only the clock of os: reading the time cannot touch the host (os.date checks its format string).
  os = {time = os_time, date = safe_date, clock = os_clock},
  utf8 = {char = utf8.char, len = utf8.len, codepoint = utf8.codepoint, offset = utf8.offset},
  pairs = pairs, ipairs = ipairs, next = next, select = select, type = type, tostring = tostring,
  tonumber = tonumber, error = error, pcall = safe_pcall, assert = assert,
  rawget = rawget, rawset = rawset, rawequal = rawequal, rawlen = rawlen,
}
-- No setmetatable: a __gc metamethod would run at close time, outside the hook's reach.
-- Strings share one metatable: point it at the safe table so ("").dump and friends are unreachable.
getmetatable("").__index = safe_string
string.dump = nil
-- Nothing of the real globals stays reachable from the script's environment.
for k in pairs(_G) do if k ~= "_G" then _G[k] = nil end end

local chunk, err = load(code, "=" .. name, "t", env)
if not chunk then return false, "syntax error: " .. tostring(err) end
local co = coroutine.create(chunk)
local count = 0
sethook(co, function()
  count = count + 1
  if count > budget then exhausted = "instruction budget exhausted (endless loop?)" end
  if not exhausted and now() > deadline then exhausted = "time limit exceeded" end
  if exhausted then error(exhausted, 0) end
end, "", 1000)
local ok, result = coroutine.resume(co)
if not ok then return false, tostring(result) end
if coroutine.status(co) ~= "dead" then return false, "script yielded instead of returning" end
if type(result) ~= "table" then return false, "script returned " .. type(result) .. ", not a table" end
local status, message = rawget(result, "status"), rawget(result, "message")
if type(status) ~= "string" then return false, "script returned no status" end
if message ~= nil and type(message) ~= "string" then message = tostring(message) end
return true, status, message or ""
"""


# The longest message a script may return (longer ones are clipped, ending in "...").
MAX_MESSAGE = 16 * 1024
_MATCH_CACHE = 4096


@dataclass(frozen=True)
class LuaLimits:
    max_memory: int = 32 * 1024 * 1024
    # Hook fires every 1,000 VM instructions: 20,000 fires ≈ 20 M instructions.
    instruction_budget: int = 20_000
    wall_clock_seconds: float = 1.0
    max_pattern_subject: int = 64 * 1024


def _to_lua(runtime: Any, value: Any, depth: int = 0) -> Any:
    if depth > 64:
        return None
    if isinstance(value, Mapping):
        return runtime.table_from({str(k): _to_lua(runtime, v, depth + 1) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return runtime.table_from([_to_lua(runtime, v, depth + 1) for v in value])
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class LuaHealthChecks:
    """Health scripts keyed by ``group/Kind`` (``Kind`` alone for the core group), as Argo CD keys them; keys
    with ``*`` match many kinds."""

    def __init__(self, scripts: Mapping[str, str], limits: LuaLimits | None = None) -> None:
        self._scripts = {str(k): str(v) for k, v in scripts.items() if "*" not in str(k)}
        wildcards = [(str(k), str(v)) for k, v in scripts.items() if "*" in str(k)]
        # Most specific first, then by key, so the choice never depends on the order of the config file.
        wildcards.sort(key=lambda kv: (-len(kv[0].replace("*", "")), kv[0]))
        self._wildcards = wildcards
        self._matched: dict[str, tuple[str, str] | None] = {}
        self.limits = limits or LuaLimits()

    def _script_for(self, group_kind: str) -> tuple[str, str] | None:
        """(key, script) of the check for a kind: the exact key, else the most specific wildcard."""
        script = self._scripts.get(group_kind)
        if script is not None:
            return group_kind, script
        if not self._wildcards:
            return None
        if group_kind not in self._matched:
            found = next(
                ((key, code) for key, code in self._wildcards if fnmatch.fnmatchcase(group_kind, key)), None
            )
            if len(self._matched) >= _MATCH_CACHE:  # kinds come from clusters: keep the memo bounded
                self._matched.clear()
            self._matched[group_kind] = found
        return self._matched[group_kind]

    def has(self, group_kind: str) -> bool:
        return self._script_for(group_kind) is not None

    def assess(self, group_kind: str, obj: Mapping[str, Any]) -> HealthResult | None:
        found = self._script_for(group_kind)
        if found is None:
            return None
        key, script = found
        name = group_kind if key == group_kind else f"{key} ({group_kind})"
        return run_health_script(script, obj, name=name, limits=self.limits)


def run_health_script(
    script: str, obj: Mapping[str, Any], *, name: str = "health.lua", limits: LuaLimits | None = None
) -> HealthResult:
    limits = limits or LuaLimits()
    try:
        runtime = lua54.LuaRuntime(
            register_eval=False,
            register_builtins=False,
            max_memory=limits.max_memory,
            unpack_returned_tuples=True,
        )
    except Exception as exc:  # a state that cannot even start is an Unknown, not a crash
        return HealthResult(HealthStatus.UNKNOWN, f"health script {name}: cannot start Lua: {exc}")
    try:
        runtime.globals().python = None
        bootstrap = runtime.eval("function(...) " + _BOOTSTRAP + " end")
        lua_obj = _to_lua(runtime, obj)
        deadline = time.monotonic() + limits.wall_clock_seconds
        result = bootstrap(
            script,
            name,
            lua_obj,
            limits.instruction_budget,
            deadline,
            time.monotonic,
            limits.max_pattern_subject,
        )
    except lua54.LuaMemoryError:
        return HealthResult(HealthStatus.UNKNOWN, f"health script {name}: memory limit exceeded")
    except lua54.LuaError as exc:
        return HealthResult(HealthStatus.UNKNOWN, f"health script {name}: {_clip(str(exc))}")
    except MemoryError:
        return HealthResult(HealthStatus.UNKNOWN, f"health script {name}: memory limit exceeded")
    except Exception as exc:
        return HealthResult(HealthStatus.UNKNOWN, f"health script {name}: {_clip(str(exc))}")
    if not isinstance(result, tuple) or not result or result[0] is not True:
        detail = result[1] if isinstance(result, tuple) and len(result) > 1 else result
        text = _clip(str(detail))
        if "not enough memory" in text:
            text = "memory limit exceeded"
        return HealthResult(HealthStatus.UNKNOWN, f"health script {name}: {text}")
    status = HealthStatus.parse(str(result[1]))
    message = str(result[2]) if len(result) > 2 and result[2] is not None else ""
    if status is None:
        return HealthResult(
            HealthStatus.UNKNOWN, f"health script {name}: unknown status {_clip(str(result[1]))}"
        )
    return HealthResult(status, _clip(message))


def _clip(text: str, limit: int = MAX_MESSAGE) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
