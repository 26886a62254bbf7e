#!/usr/bin/env python3
"""The demo driver (run through scripts/demo.sh): everything it starts, it stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(*args: str, env: dict[str, str]) -> None:
    print(f"\n$ gitopsd {' '.join(args)}", flush=True)
    subprocess.run([str(BIN / "gitopsd"), *args], env=env, check=False)


def main() -> int:
    data = Path(tempfile.mkdtemp(prefix="gitopsd-demo-"))
    env = {**os.environ}
    daemon = subprocess.Popen(
        [str(BIN / "gitopsd"), "serve", "--data-dir", str(data / "data"), "--listen", "127.0.0.1:0"],
        env=env,
        stderr=open(data / "daemon.log", "wb"),  # noqa: SIM115 - lives as long as the daemon
    )
    try:
        addr_file = data / "data" / "run" / "grpc.addr"
        deadline = time.monotonic() + 30
        while not addr_file.exists():
            if daemon.poll() is not None or time.monotonic() > deadline:
                sys.stderr.write((data / "daemon.log").read_text())
                return 1
            time.sleep(0.1)
        env["GITOPSD_SERVER"] = addr_file.read_text().strip()
        print(f"gitopsd is serving gRPC on {env['GITOPSD_SERVER']} (data dir {data / 'data'}, log {data / 'daemon.log'})")
        run("version", env=env)
        run("app", "create", "-f", str(ROOT / "examples" / "apps" / "mon-app.yaml"), env=env)
        run("app", "list", env=env)
        run("app", "get", "mon-app", env=env)
        print(
            f"\nTry: GITOPSD_SERVER={env['GITOPSD_SERVER']} {BIN / 'gitopsd'} app get mon-app -o yaml"
            "\nPress Ctrl-C to stop the daemon.",
            flush=True,
        )
        while daemon.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        daemon.terminate()
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
        print("\nstopped the daemon")
    return 0


if __name__ == "__main__":
    # SIGTERM ends the demo like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    sys.exit(main())
