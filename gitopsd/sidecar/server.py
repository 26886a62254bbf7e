"""The gRPC server around a renderer: Renderer servicer, grpc.health.v1, reflection, signals.

A renderer supplies a `RenderBackend`; `run_sidecar()` parses nothing itself: `add_common_arguments`
declares the flags every sidecar shares (--listen, --log-level, --log-format, --work-dir, --timeout) and
`SidecarOptions.from_args` turns them into values.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gitopsd.api.gitopsd.v1 import renderer_pb2, renderer_pb2_grpc
from gitopsd.sidecar.errors import (
    NEEDS_CREDENTIALS_KEY,
    RenderError,
    credential_variants,
    scrub_secrets,
    truncate_message,
)
from gitopsd.sidecar.limits import DEFAULT_LIMITS, Limits, effective_limits
from gitopsd.sidecar.listen import ListenAddress, bind_private_unix_socket, parse_listen
from gitopsd.sidecar.logs import FORMATS, LEVELS, setup_logging

log = logging.getLogger("gitopsd.sidecar")

# Above the 10 MiB default input/output limits, with room for protobuf overhead and raised limits.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
RENDERER_SERVICE = "gitopsd.v1.Renderer"


class RenderBackend(Protocol):
    """What a renderer implements; the scaffolding does the rest."""

    def capabilities(self) -> renderer_pb2.Capabilities: ...

    def render(self, request: renderer_pb2.RenderRequest, limits: Limits) -> renderer_pb2.RenderResponse:
        """Render or raise a RenderError subclass (mapped to its gRPC code)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SidecarOptions:
    """The shared command-line settings of a sidecar."""

    listen: ListenAddress
    work_dir: Path
    log_level: str = "info"
    # json (read by a supervising daemon) or logfmt.
    log_format: str = "json"
    limits: Limits = DEFAULT_LIMITS
    max_workers: int = 8
    grace_seconds: float = 5.0
    # True when the work dir is a temp dir we created (removed at exit).
    owns_work_dir: bool = False
    # Stop when this process (the supervising daemon) is no longer our parent: it crashed or was killed.
    parent_pid: int = 0

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SidecarOptions:
        owns = not args.work_dir
        work_dir = Path(tempfile.mkdtemp(prefix="gitopsd-sidecar-")) if owns else Path(args.work_dir)
        work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        limits = replace(
            DEFAULT_LIMITS,
            timeout_seconds=float(args.timeout),
            max_input_bytes=int(args.max_input_bytes),
            max_output_bytes=int(args.max_output_bytes),
            max_chart_bytes=int(args.max_chart_bytes),
            max_memory_bytes=int(args.max_memory_bytes),
        )
        return cls(
            listen=args.listen,
            work_dir=work_dir.resolve(),
            log_level=args.log_level,
            log_format=args.log_format,
            limits=limits,
            owns_work_dir=owns,
            parent_pid=int(args.parent_pid),
        )


def _positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


def _listen_arg(text: str) -> ListenAddress:
    try:
        return parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_common_arguments(parser: argparse.ArgumentParser, default_listen: str) -> None:
    """Declare --listen, --log-level, --log-format, --work-dir, --timeout and the size limits."""
    parser.add_argument(
        "--listen",
        type=_listen_arg,
        default=_listen_arg(default_listen),
        help=f"unix:///abs/path.sock or HOST:PORT (default {default_listen})",
    )
    parser.add_argument("--log-level", choices=LEVELS, default="info", help="log level (default info)")
    parser.add_argument(
        "--log-format",
        choices=FORMATS,
        default="json",
        help="one JSON object (default; what a supervising gitopsd relays) or one logfmt line per event",
    )
    parser.add_argument(
        "--work-dir",
        default="",
        help="directory for temporary renders and tool caches (default: a new temp dir)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive(float),
        default=DEFAULT_LIMITS.timeout_seconds,
        help="seconds before a render is abandoned, unless the request sets limits.timeout_seconds (default 90)",
    )
    parser.add_argument(
        "--parent-pid",
        type=int,
        default=0,
        help="stop gracefully once this process is no longer the parent (supervisors pass their own pid)",
    )
    parser.add_argument(
        "--max-input-bytes",
        type=_positive(int),
        default=DEFAULT_LIMITS.max_input_bytes,
        help="combined size of the repository files of one request (default 10 MiB)",
    )
    parser.add_argument(
        "--max-output-bytes",
        type=_positive(int),
        default=DEFAULT_LIMITS.max_output_bytes,
        help="rendered output size, unless the request sets limits.max_output_bytes (default 10 MiB)",
    )
    parser.add_argument(
        "--max-memory-bytes",
        type=_positive(int),
        default=DEFAULT_LIMITS.max_memory_bytes,
        help="memory limit of each render child process (kubectl, Helm workers), enforced by the kernel (default 1 GiB)",
    )
    parser.add_argument(
        "--max-chart-bytes",
        type=_positive(int),
        default=DEFAULT_LIMITS.max_chart_bytes,
        help="expanded size of a chart archive, unless the request sets limits.max_chart_bytes (default 32 MiB)",
    )


class RendererServicer(renderer_pb2_grpc.RendererServicer):
    """Maps Renderer RPCs onto a backend, with one log line per render and errors mapped to status codes."""

    def __init__(self, backend: RenderBackend, defaults: Limits) -> None:
        self._backend = backend
        self._defaults = defaults

    def GetCapabilities(self, request, context):  # noqa: N802 (generated name)
        return self._backend.capabilities()

    def Render(self, request, context):  # noqa: N802 (generated name)
        limits = effective_limits(request.limits if request.HasField("limits") else None, self._defaults)
        remaining = context.time_remaining()
        if remaining is not None and remaining < limits.timeout_seconds:
            # The caller gives up at its own deadline: stop working then too.
            limits = replace(limits, timeout_seconds=max(remaining, 0.1))
        started = time.monotonic()
        fields = {"app": request.app_name, "source_type": request.source_type, "path": request.source.path}
        if request.chart.chart or request.chart.repo_url:
            # The URL carries no credentials (they travel as fields, which are never logged).
            fields.update({"chart": request.chart.chart, "version": request.chart.version})
        # Whatever a renderer (or a plugin) puts in a message, the request's credentials never leave.
        secrets = credential_variants(request.chart.username, request.chart.password)
        for entry in request.dependency_credentials:
            secrets.extend(credential_variants(entry.username, entry.password))
        try:
            response = self._backend.render(request, limits)
        except RenderError as exc:
            fields.update(outcome=exc.code.name, ms=round((time.monotonic() - started) * 1000, 1))
            message = truncate_message(scrub_secrets(exc.message, secrets))
            # A refused source is the user's to fix, not a fault of the sidecar: a warning.
            log.warning("render failed: %s", message, extra={"fields": fields})
            if exc.needs_credentials:
                urls = json.dumps(list(exc.needs_credentials[:100])).encode()
                context.set_trailing_metadata(((NEEDS_CREDENTIALS_KEY, urls),))
            context.abort(exc.code, message)
        except Exception as exc:  # a bug in the renderer must not take the server down
            fields.update(outcome="INTERNAL", ms=round((time.monotonic() - started) * 1000, 1))
            fields["traceback"] = scrub_secrets("".join(traceback.format_exception(exc)), secrets)
            log.error("render crashed: %s", type(exc).__name__, extra={"fields": fields})
            context.abort(grpc.StatusCode.INTERNAL, f"internal renderer error ({type(exc).__name__})")
        fields.update(
            outcome="OK", ms=round((time.monotonic() - started) * 1000, 1), manifests=len(response.manifests)
        )
        log.info("rendered", extra={"fields": fields})
        return response


def build_server(
    backend: RenderBackend, options: SidecarOptions
) -> tuple[grpc.Server, health.HealthServicer]:
    """Create (not start) the server with the Renderer, health and reflection services bound to --listen."""
    message_options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=options.max_workers), options=message_options)
    renderer_pb2_grpc.add_RendererServicer_to_server(RendererServicer(backend, options.limits), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for service in ("", RENDERER_SERVICE):
        health_servicer.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
    service_names = (
        renderer_pb2.DESCRIPTOR.services_by_name["Renderer"].full_name,
        health.SERVICE_NAME,
        reflection.SERVICE_NAME,
    )
    reflection.enable_server_reflection(service_names, server)

    address = options.listen
    if address.unix_path is not None:
        bind_private_unix_socket(server.add_insecure_port, address.unix_path)
    else:
        bound = server.add_insecure_port(address.grpc_target)
        if bound == 0:
            raise OSError(f"cannot listen on {address.grpc_target}")
    return server, health_servicer


@contextlib.contextmanager
def render_dir(work_dir: Path) -> Iterator[Path]:
    """A fresh private directory for one render under the work dir, removed afterwards."""
    base = work_dir / "renders"
    base.mkdir(exist_ok=True, mode=0o700)
    path = Path(tempfile.mkdtemp(dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run_sidecar(backend: RenderBackend, options: SidecarOptions, name: str) -> int:
    """Serve until SIGTERM/SIGINT, then stop gracefully; returns the process exit code."""
    setup_logging(options.log_level, options.log_format)
    try:
        server, health_servicer = build_server(backend, options)
    except (OSError, ValueError, RuntimeError) as exc:
        log.error("cannot listen: %s", exc, extra={"fields": {"listen": str(options.listen)}})
        backend.close()
        return 1
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("stopping", extra={"fields": {"signal": signal.Signals(signum).name}})
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    for service in ("", RENDERER_SERVICE):
        health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    log.info(
        "serving",
        extra={"fields": {"sidecar": name, "listen": str(options.listen), "work_dir": str(options.work_dir)}},
    )
    while not stop.wait(1.0):
        if options.parent_pid and os.getppid() != options.parent_pid:
            log.info("parent process is gone; stopping", extra={"fields": {"parent_pid": options.parent_pid}})
            break
    health_servicer.enter_graceful_shutdown()
    server.stop(options.grace_seconds).wait()
    backend.close()
    if options.listen.unix_path is not None:
        options.listen.unix_path.unlink(missing_ok=True)
    if options.owns_work_dir:
        shutil.rmtree(options.work_dir, ignore_errors=True)
    log.info("stopped", extra={"fields": {"sidecar": name}})
    return 0
