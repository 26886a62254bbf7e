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
        raise argparse.ArgumentTypeError(f"{value!r}: must be between 0 and 3600 seconds")
    return delay


def _scale(value: str) -> float:
    try:
        scale = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0 <= scale <= 1:
        raise argparse.ArgumentTypeError("the pod grace scale must be between 0 and 1")
    return scale


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
    parser.add_argument(
        "--pod-grace-scale",
        type=_scale,
        default=0.05,
        metavar="FACTOR",
        help="how much of a pod's terminationGracePeriodSeconds the sandbox kubelet waits on delete "
        "(default 0.05: the default 30 s take 1.5 s; 1 waits as long as a real kubelet)",
    )
    parser.add_argument(
        "--pod-grace-max",
        type=_delay,
        default=10.0,
        metavar="SECONDS",
        help="the longest the sandbox kubelet waits for a deleted pod (default 10)",
    )
    parser.add_argument("--token", default=None, help="bearer token to accept (default: a random one)")
    parser.add_argument(
        "--watch-cache-size",
        type=_positive_int,
        default=50_000,
        metavar="N",
        help="events kept for watches and continued lists; older resourceVersions get 410 Expired (default 50000)",
    )
    parser.add_argument(
        "--bookmark-interval",
        type=_interval,
        default=60.0,
        metavar="SECONDS",
        help="how often watches with allowWatchBookmarks=true get a BOOKMARK when idle (default 60)",
    )


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0.01 <= value <= 3600:
        raise argparse.ArgumentTypeError("the interval must be between 0.01 and 3600 seconds")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run(args: argparse.Namespace) -> int:
    host, port = args.listen
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        sandbox = SandboxCluster(
            host=host,
            port=port,
            token=args.token,
            ready_delay=args.ready_delay,
            watch_cache_size=args.watch_cache_size,
            bookmark_interval=args.bookmark_interval,
            pod_grace_scale=args.pod_grace_scale,
            pod_grace_max=args.pod_grace_max,
        ).start()
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
