"""`gitopsd serve`: wires the store, the application layer and the gRPC API together,
and owns the process lifecycle (readiness, signals, graceful shutdown)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gitopsd import __version__
from gitopsd.api.gitopsd.v1 import (
    application_pb2,
    application_pb2_grpc,
    cluster_pb2,
    cluster_pb2_grpc,
    project_pb2,
    project_pb2_grpc,
    renderer_pb2,
    repository_pb2,
    repository_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
    version_pb2,
    version_pb2_grpc,
)
from gitopsd.app.applications import Applications
from gitopsd.app.events import EventBus
from gitopsd.app.projects import Projects
from gitopsd.server.config import Config
from gitopsd.server.logs import fields
from gitopsd.server.notify import sd_notify
from gitopsd.server.servicers.application import ApplicationServicer
from gitopsd.server.servicers.base import not_yet
from gitopsd.server.servicers.project import ProjectServicer
from gitopsd.server.servicers.version import VersionServicer
from gitopsd.store import Store

log = logging.getLogger("gitopsd.server")

# Large enough for rendered manifests and local-diff uploads (the render limits are 10 MiB).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

SERVICE_NAMES = [
    application_pb2.DESCRIPTOR.services_by_name["ApplicationService"].full_name,
    project_pb2.DESCRIPTOR.services_by_name["ProjectService"].full_name,
    cluster_pb2.DESCRIPTOR.services_by_name["ClusterService"].full_name,
    repository_pb2.DESCRIPTOR.services_by_name["RepositoryService"].full_name,
    session_pb2.DESCRIPTOR.services_by_name["SessionService"].full_name,
    session_pb2.DESCRIPTOR.services_by_name["AccountService"].full_name,
    version_pb2.DESCRIPTOR.services_by_name["VersionService"].full_name,
]
# The Renderer service is implemented by sidecars, not the daemon; named for reflection clients.
RENDERER_SERVICE = renderer_pb2.DESCRIPTOR.services_by_name["Renderer"].full_name


@dataclass
class Daemon:
    config: Config
    store: Store = field(init=False)
    events: EventBus = field(init=False)
    address: str = field(init=False, default="")
    _server: grpc.Server = field(init=False)
    _health: health.HealthServicer = field(init=False)
    _stopped: threading.Event = field(init=False, default_factory=threading.Event)

    def start(self) -> None:
        data = self.config.data_path
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.store = Store.open_data_dir(data)
        self.events = EventBus()
        apps = Applications(self.store, self.events)
        projects = Projects(self.store)

        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="grpc"),
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        application_pb2_grpc.add_ApplicationServiceServicer_to_server(
            ApplicationServicer(apps, self.events), server
        )
        project_pb2_grpc.add_ProjectServiceServicer_to_server(ProjectServicer(projects), server)
        cluster_pb2_grpc.add_ClusterServiceServicer_to_server(
            not_yet(cluster_pb2_grpc.ClusterServiceServicer, "cluster management")(), server
        )
        repository_pb2_grpc.add_RepositoryServiceServicer_to_server(
            not_yet(repository_pb2_grpc.RepositoryServiceServicer, "repository management")(), server
        )
        session_pb2_grpc.add_SessionServiceServicer_to_server(
            not_yet(session_pb2_grpc.SessionServiceServicer, "authentication")(), server
        )
        session_pb2_grpc.add_AccountServiceServicer_to_server(
            not_yet(session_pb2_grpc.AccountServiceServicer, "accounts")(), server
        )
        version_pb2_grpc.add_VersionServiceServicer_to_server(VersionServicer(), server)

        self._health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            [
                *SERVICE_NAMES,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            server,
        )
        self.address = self._bind(server, self.config.listen)
        server.start()
        self._server = server
        for name in ["", *SERVICE_NAMES]:
            self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._write_address()
        log.info("serving", extra=fields(grpc=self.address, data_dir=str(data), version=__version__))
        sd_notify(f"READY=1\nSTATUS=serving gRPC on {self.address}")

    @staticmethod
    def _bind(server: grpc.Server, listen: str) -> str:
        if listen.startswith("unix:"):
            path = Path(listen.removeprefix("unix://").removeprefix("unix:"))
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_socket():
                path.unlink()  # a stale socket from a crash
            server.add_insecure_port(f"unix:{path}")
            os.chmod(path, 0o660)
            return f"unix://{path}"
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"listen: {listen!r} is not HOST:PORT or unix:///path")
        try:
            bound = server.add_insecure_port(listen)
        except RuntimeError as exc:
            raise OSError(f"cannot listen on {listen}: {exc}") from None
        if bound == 0:
            raise OSError(f"cannot listen on {listen} (address in use or not available)")
        return f"{host}:{bound}"

    def _write_address(self) -> None:
        # Lets scripts and tests that ask for port 0 find the real address.
        run = self.config.data_path / "run"
        run.mkdir(exist_ok=True)
        tmp = run / "grpc.addr.tmp"
        tmp.write_text(self.address + "\n")
        tmp.replace(run / "grpc.addr")

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        sd_notify("STOPPING=1")
        log.info("stopping", extra=fields(grace_seconds=self.config.shutdown_grace))
        self._health.enter_graceful_shutdown()
        self.events.close()
        # In-flight RPCs get the grace period; new ones are refused from now on.
        self._server.stop(self.config.shutdown_grace).wait()
        self.store.close()
        try:
            (self.config.data_path / "run" / "grpc.addr").unlink()
        except FileNotFoundError:
            pass
        log.info("stopped")

    def wait(self) -> None:
        self._stopped.wait()


def serve(config: Config) -> int:
    """Runs the daemon until SIGTERM or SIGINT; returns the process exit code."""
    daemon = Daemon(config)
    try:
        daemon.start()
    except Exception as exc:  # startup errors are the user's to fix: one clear line
        log.error("cannot start", extra=fields(error=str(exc)))
        return 1
    stop_requested = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        log.info("signal received", extra=fields(signal=signal.Signals(signum).name))
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop_requested.wait(1.0):
        pass
    daemon.stop()
    return 0
