"""Benchmark: what authenticating a call costs the daemon, beside a call that skips authentication.

Starts `gitopsd serve` (a fresh data dir, plaintext gRPC on loopback, no cluster), logs in as admin,
creates one application, then makes N calls of each kind from 4 client threads (one channel each):
- `grpc.health.v1.Health/Check`: no token, no authentication (the baseline);
- `VersionService/Version`: the token checked, a trivial servicer;
- `ApplicationService/Get`: the token checked, RBAC, the application read;
- the same with a project role's token (`proj:bench-proj:ci`), whose RBAC rules come from its project.
For each it prints the wall time and the daemon's own CPU seconds per call (from /proc, its threads
only), side by side in the same run. Asserts nothing.

Before/after: run it on this tree, then with an older checkout first on the path (the daemon is
started from this interpreter's `gitopsd` script, which imports whatever `gitopsd` comes first):

    .venv/bin/python bench/auth_calls.py [--calls 5000]
    PYTHONPATH=/tmp/old-checkout .venv/bin/python bench/auth_calls.py
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
from benchlib import APP, BIN, admin_token, cpu_s, wait_file  # bench/benchlib.py, beside this script
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import (
    application_pb2_grpc,
    common_pb2,
    project_pb2_grpc,
    version_pb2_grpc,
)
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb

THREADS = 4
PROJECT = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "AppProject",
    "metadata": {"name": "bench-proj"},
    "spec": {
        "sourceRepos": ["*"],
        "destinations": [{"server": "*", "namespace": "*"}],
        "roles": [
            {"name": "ci", "policies": ["p, proj:bench-proj:ci, applications, get, bench-proj/*, allow"]}
        ],
    },
}


def _role_token(channel: grpc.Channel, auth: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Creates PROJECT and an application in it; the metadata of a token of its role `ci`."""
    projects = project_pb2_grpc.ProjectServiceStub(channel)
    projects.Create(projpb.CreateProjectRequest(manifest=json.dumps(PROJECT)), metadata=auth, timeout=30)
    doc = {**APP, "metadata": {"name": "bench-role"}, "spec": {**APP["spec"], "project": "bench-proj"}}
    application_pb2_grpc.ApplicationServiceStub(channel).Create(
        apppb.CreateApplicationRequest(manifest=json.dumps(doc)), metadata=auth, timeout=30
    )
    reply = projects.CreateToken(
        projpb.CreateProjectTokenRequest(project="bench-proj", role="ci"), metadata=auth, timeout=30
    )
    return [("authorization", f"Bearer {reply.token}")]


def _start(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    data, log = work / "data", work / "daemon.log"
    env = {
        **os.environ,
        "GITOPSD_TLS_ENABLED": "false",
        "GITOPSD_RECONCILE_INTERVAL": "3600",
        "GITOPSD_HTTP_LISTEN": "",
    }
    proc = subprocess.Popen(
        [str(BIN / "gitopsd"), "serve", "--data-dir", str(data), "--listen", "127.0.0.1:0"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    wait_file(data / "run" / "grpc.addr", proc, "gitopsd serve", log)
    return proc, (data / "run" / "grpc.addr").read_text().strip()


def _measure(pid: int, calls: int, call: Callable[[int], Any]) -> tuple[float, float]:
    """(wall seconds, daemon CPU seconds) of `calls` calls spread over THREADS threads."""
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(call, range(THREADS * 20)))  # warm: connections up, caches filled
        cpu0, t0 = cpu_s(pid), time.perf_counter()
        list(pool.map(call, range(calls), chunksize=50))
        return time.perf_counter() - t0, cpu_s(pid) - cpu0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--creates", type=int, default=0, help="then create this many applications too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, address = _start(Path(tmp))
        try:
            channels = [grpc.insecure_channel(address) for _ in range(THREADS)]
            token = admin_token(channels[0], Path(tmp) / "data")
            auth = [("authorization", f"Bearer {token}")]
            apps = [application_pb2_grpc.ApplicationServiceStub(c) for c in channels]
            apps[0].Create(
                apppb.CreateApplicationRequest(manifest=json.dumps(APP)), metadata=auth, timeout=30
            )
            health = [health_pb2_grpc.HealthStub(c) for c in channels]
            version = [version_pb2_grpc.VersionServiceStub(c) for c in channels]
            get = apppb.GetApplicationRequest(name="bench")
            role_auth = _role_token(channels[0], auth)
            role_get = apppb.GetApplicationRequest(name="bench-role")
            kinds: list[tuple[str, Callable[[int], Any]]] = [
                (
                    "Health/Check (no auth)",
                    lambda i: health[i % THREADS].Check(health_pb2.HealthCheckRequest()),
                ),
                ("Version (auth)", lambda i: version[i % THREADS].Version(common_pb2.Empty(), metadata=auth)),
                ("Application/Get (auth)", lambda i: apps[i % THREADS].Get(get, metadata=auth)),
                ("Application/Get (role)", lambda i: apps[i % THREADS].Get(role_get, metadata=role_auth)),
            ]

            names = itertools.count()  # warm-up calls included: each create a new name

            def create(i: int) -> Any:
                doc = {**APP, "metadata": {"name": f"bench-{next(names):05d}"}}
                request = apppb.CreateApplicationRequest(manifest=json.dumps(doc))
                return apps[i % THREADS].Create(request, metadata=auth, timeout=60)

            if args.creates:
                # Its figures also hold what the create itself costs (it grows with the apps stored).
                kinds.append((f"Create x{args.creates} (auth)", create))
            print(f"{args.calls} calls each, {THREADS} client threads, gitopsd from {_origin()}")
            print(f"{'call':<24} {'wall s':>8} {'calls/s':>9} {'daemon CPU s':>13} {'CPU us/call':>12}")
            for name, call in kinds:
                calls = args.creates if name.startswith("Create") else args.calls
                wall, cpu = _measure(proc.pid, calls, call)
                print(f"{name:<24} {wall:>8.2f} {calls / wall:>9.0f} {cpu:>13.2f} {cpu / calls * 1e6:>12.0f}")
            for c in channels:
                c.close()
        finally:
            proc.terminate()
            proc.wait(30)


def _origin() -> str:
    done = subprocess.run(
        [sys.executable, "-c", "import gitopsd; print(gitopsd.__file__)"],
        capture_output=True,
        text=True,
        cwd="/",  # as the daemon's script imports it: not from the current directory
    )
    return str(Path(done.stdout.strip()).parent.parent)


if __name__ == "__main__":
    main()
