"""The daemon's gRPC server: grpc.aio on an asyncio loop in a thread of its own.

A synchronous grpc server gives each call a worker thread for its whole life, so open
Watch streams used to starve every other RPC (32 watches: login timed out). Here a stream
is a task on the loop; the synchronous servicer code runs in a bounded thread pool, the
loop's default executor (see auth_interceptor.py and sync_calls.py). The rest of the
daemon stays threaded and drives the server through the methods of `GrpcServer`.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

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
    settings_pb2,
    settings_pb2_grpc,
    version_pb2,
    version_pb2_grpc,
)
from gitopsd.server.auth_interceptor import AuthInterceptor
from gitopsd.server.servicers.application import ApplicationServicer
from gitopsd.server.servicers.cluster import ClusterServicer
from gitopsd.server.servicers.project import ProjectServicer
from gitopsd.server.servicers.repository import RepositoryServicer
from gitopsd.server.servicers.session import AccountServicer, SessionServicer
from gitopsd.server.servicers.settings import SettingsServicer
from gitopsd.server.servicers.version import VersionServicer

T = TypeVar("T")

# The asyncio health servicer (grpc_health documents it as health.aio; its Watch holds no thread).
AioHealthServicer: Any = health.aio.HealthServicer  # type: ignore[attr-defined]

# Large enough for rendered manifests and local-diff uploads (the render limits are 10 MiB).
# Only authenticated calls are read: the interceptor refuses the others before their body.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

SERVICE_NAMES = [
    application_pb2.DESCRIPTOR.services_by_name["ApplicationService"].full_name,
    project_pb2.DESCRIPTOR.services_by_name["ProjectService"].full_name,
    cluster_pb2.DESCRIPTOR.services_by_name["ClusterService"].full_name,
    repository_pb2.DESCRIPTOR.services_by_name["RepositoryService"].full_name,
    session_pb2.DESCRIPTOR.services_by_name["SessionService"].full_name,
    session_pb2.DESCRIPTOR.services_by_name["AccountService"].full_name,
    version_pb2.DESCRIPTOR.services_by_name["VersionService"].full_name,
    settings_pb2.DESCRIPTOR.services_by_name["SettingsService"].full_name,
]
# The Renderer service is implemented by sidecars, not the daemon; named for reflection clients.
RENDERER_SERVICE = renderer_pb2.DESCRIPTOR.services_by_name["Renderer"].full_name


@dataclass(frozen=True)
class Servicers:
    applications: ApplicationServicer
    projects: ProjectServicer
    clusters: ClusterServicer
    repositories: RepositoryServicer
    sessions: SessionServicer
    accounts: AccountServicer
    version: VersionServicer
    settings: SettingsServicer | None = None


class LoopThread:
    """An asyncio loop running in a daemon thread, with `workers` threads as its executor."""

    def __init__(self, workers: int, name: str = "grpc") -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self.loop = asyncio.new_event_loop()
        self.loop.set_default_executor(self.pool)
        self._thread = threading.Thread(target=self._run, name=f"{name}-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Runs `coro` on the loop and waits for its result (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()
        # Handlers still running past the grace period are abandoned, as grpc's stop() does.
        self.pool.shutdown(wait=False, cancel_futures=True)


class GrpcServer:
    """Every gitopsd service, health checks and reflection on one grpc.aio server."""

    def __init__(self, workers: int, interceptor: AuthInterceptor, servicers: Servicers) -> None:
        self._thread = LoopThread(workers)
        self._server, self._health = self._thread.call(self._create(interceptor, servicers))

    async def _create(
        self, interceptor: AuthInterceptor, servicers: Servicers
    ) -> tuple[grpc.aio.Server, Any]:
        # Made on the loop's thread: a grpc.aio server belongs to the loop it is created on.
        server = grpc.aio.server(
            migration_thread_pool=self._thread.pool,
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ],
            interceptors=[interceptor],
        )
        application_pb2_grpc.add_ApplicationServiceServicer_to_server(servicers.applications, server)
        project_pb2_grpc.add_ProjectServiceServicer_to_server(servicers.projects, server)
        cluster_pb2_grpc.add_ClusterServiceServicer_to_server(servicers.clusters, server)
        repository_pb2_grpc.add_RepositoryServiceServicer_to_server(servicers.repositories, server)
        session_pb2_grpc.add_SessionServiceServicer_to_server(servicers.sessions, server)
        session_pb2_grpc.add_AccountServiceServicer_to_server(servicers.accounts, server)
        version_pb2_grpc.add_VersionServiceServicer_to_server(servicers.version, server)
        if servicers.settings is not None:
            settings_pb2_grpc.add_SettingsServiceServicer_to_server(servicers.settings, server)
        checker = AioHealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(checker, server)
        reflection.enable_server_reflection(
            [
                *SERVICE_NAMES,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            server,
        )
        return server, checker

    def start(self, listen: str, credentials: grpc.ServerCredentials | None) -> str:
        """Binds `listen` and serves; returns the bound address (the real port for port 0)."""
        return self._thread.call(self._start(listen, credentials))

    async def _start(self, listen: str, credentials: grpc.ServerCredentials | None) -> str:
        address = _bind(self._server, listen, credentials)
        await self._server.start()
        for name in ["", *SERVICE_NAMES]:
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return address

    def begin_stop(self) -> None:
        """Health checks answer NOT_SERVING from now on."""
        self._thread.call(self._health.enter_graceful_shutdown())

    def stop(self, grace: float) -> None:
        """In-flight RPCs get `grace` seconds; new ones are refused from now on."""
        self._thread.call(self._server.stop(grace))
        self._thread.close()


def _bind(server: grpc.aio.Server, listen: str, credentials: grpc.ServerCredentials | None) -> str:
    if listen.startswith("unix:"):
        path = Path(listen.removeprefix("unix://").removeprefix("unix:"))
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_socket():
            path.unlink()  # a stale socket from a crash
        server.add_insecure_port(f"unix:{path}")  # plaintext by design, see Daemon._server_credentials
        os.chmod(path, 0o660)
        return f"unix://{path}"
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"listen: {listen!r} is not HOST:PORT or unix:///path")
    try:
        bound = (
            server.add_secure_port(listen, credentials)
            if credentials is not None
            else server.add_insecure_port(listen)
        )
    except RuntimeError as exc:
        raise OSError(f"cannot listen on {listen}: {exc}") from None
    if bound == 0:
        raise OSError(f"cannot listen on {listen} (address in use or not available)")
    return f"{host}:{bound}"
