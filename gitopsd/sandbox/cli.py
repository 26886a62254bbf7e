"""``gitopsd sandbox``: run a sandbox cluster in the foreground and write a kubeconfig for it."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .cluster import SandboxCluster


def _listen(value: str) -> tuple[str, int]:
    host, sep, port_text = value.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    try:
        port = int(port_text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the port in {value!r} is not a number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"the port in {value!r} is out of range")
    return host.strip("[]"), port


def _delay(value: str) -> float:
    try:
        delay = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 0 <= delay <= 3600:
        raise argparse.ArgumentTypeError("the ready delay must be between 0 and 3600 seconds")
    return delay


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--listen",
        type=_listen,
        default=("127.0.0.1", 0),
        metavar="HOST:PORT",
        help="address to listen on (port 0 picks a free port; default 127.0.0.1:0)",
    )
    parser.add_argument(
        "--kubeconfig-out",
        type=Path,
        default=None,
        metavar="FILE",
        help="write a kubeconfig for the sandbox here (default: ./sandbox.kubeconfig)",
    )
    parser.add_argument(
        "--ready-delay",
        type=_delay,
        default=1.0,
        metavar="SECONDS",
        help="seconds from a pod being scheduled to Running and Ready; also how long Job pods run (default 1)",
    )
    parser.add_argument("--token", default=None, help="bearer token to accept (default: a random one)")


def run(args: argparse.Namespace) -> int:
    host, port = args.listen
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        sandbox = SandboxCluster(host=host, port=port, token=args.token, ready_delay=args.ready_delay).start()
    except OSError as exc:
        print(f"gitopsd sandbox: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    try:
        kubeconfig = sandbox.write_kubeconfig(args.kubeconfig_out or Path("sandbox.kubeconfig"))
    except OSError as exc:
        sandbox.stop()
        print(f"gitopsd sandbox: cannot write the kubeconfig: {exc}", file=sys.stderr)
        return 1
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"sandbox cluster listening on {sandbox.url}", flush=True)
        print(f"kubeconfig written to {kubeconfig.resolve()}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("sandbox cluster stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gitopsd sandbox", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
