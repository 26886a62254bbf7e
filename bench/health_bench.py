"""Benchmark: the cost of judging one custom resource's health, built-in check vs the same rule in Lua.

Times ``assess_health`` on a cert-manager Certificate with the built-in Python check, then with a Lua
customization of the same rule (a fresh, sandboxed Lua state per call, as the daemon runs it), then a
wildcard-keyed Lua check on a Crossplane Bucket; side by side, per call. Prints figures; asserts nothing.

    .venv/bin/python bench/health_bench.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from gitopsd.engine.health import LuaHealthChecks, assess_health

CERTIFICATE = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "Certificate",
    "metadata": {"name": "web-tls", "namespace": "prod", "generation": 1},
    "spec": {"secretName": "web-tls", "dnsNames": ["web.example.com"]},
    "status": {
        "conditions": [{"type": "Ready", "status": "True", "message": "up to date", "observedGeneration": 1}]
    },
}
BUCKET = {
    "apiVersion": "s3.aws.crossplane.io/v1beta1",
    "kind": "Bucket",
    "metadata": {"name": "assets"},
    "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "True"}]},
}
READY_LUA = """
hs = {status = "Progressing", message = "Waiting for the certificate"}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for i, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" and c.status == "True" then hs.status = "Healthy"; hs.message = c.message end
    if c.type == "Ready" and c.status == "False" then hs.status = "Degraded"; hs.message = c.message end
  end
end
return hs
"""


def _per_call(fn: Callable[[], object], calls: int, runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - started) / calls)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    calls = parser.parse_args().calls
    exact = LuaHealthChecks({"cert-manager.io/Certificate": READY_LUA})
    wildcard = LuaHealthChecks({"*.crossplane.io/*": READY_LUA, "*/*": 'return {status = "Healthy"}'})
    rows = [
        ("built-in check (Certificate)", _per_call(lambda: assess_health(CERTIFICATE), calls)),
        ("built-in check (Crossplane, suffix)", _per_call(lambda: assess_health(BUCKET), calls)),
        ("Lua, exact key (Certificate)", _per_call(lambda: assess_health(CERTIFICATE, exact), calls // 10)),
        ("Lua, wildcard key (Crossplane)", _per_call(lambda: assess_health(BUCKET, wildcard), calls // 10)),
    ]
    for name, seconds in rows:
        print(f"{name:40s} {seconds * 1e6:10.1f} µs/call")


if __name__ == "__main__":
    main()
