"""The daemon's HTTP listener (config `http_listen`): the ASGI app of gitopsd/server/http_app.py
(POST /api/webhook, GET /metrics, GET /healthz, the JSON API) served by uvicorn in a thread of its
own, beside the gRPC server, over TLS when `http.tls` is on. Started and stopped by
gitopsd/server/daemon.py.

The socket is bound here, at construction, so a bad or taken address fails the daemon's start and
port 0 is resolved before anything is served. Connections go through the guarded h11 protocol of
gitopsd/server/http_guard.py (head deadline, connection caps); uvicorn's own `limit_concurrency`
is left off on purpose: it counts half-open connections and so lets slow clients lock everyone out.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import uvicorn

from gitopsd.server.config import HttpConfig
from gitopsd.server.http_app import BODY_DEADLINE, HttpHandlers, create_app
from gitopsd.server.http_guard import ConnectionGuard, protocol_class

__all__ = ["BODY_DEADLINE", "HttpHandlers", "HttpServer"]

log = logging.getLogger("gitopsd.http")

# Seconds stop() gives requests in progress before their tasks are cancelled.
_STOP_GRACE = 5


def _bind(listen: str) -> tuple[socket.socket, str]:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"http_listen: {listen!r} is not HOST:PORT")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets
    # whose proto says TCP, and accepted sockets inherit it. With proto 0 every answer on a
    # keep-alive connection waited ~40 ms for the client's delayed ACK (head and body are two writes).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, int(port)))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {listen} for HTTP: {exc.strerror or exc}") from None
    sock.setblocking(False)
    bound_port = sock.getsockname()[1]
    address = f"[{host}]:{bound_port}" if family == socket.AF_INET6 else f"{host}:{bound_port}"
    return sock, address


class HttpServer:
    """Binds at construction (so a bad address fails the daemon's start), serves on start()."""

    def __init__(
        self,
        listen: str,
        handlers: HttpHandlers,
        limits: HttpConfig | None = None,
        tls_files: tuple[str, str] | None = None,
        workers: int = 32,
    ) -> None:
        """`tls_files`: (certificate chain, key) to serve HTTPS; `workers`: threads running the
        JSON API's servicer calls (the loop's default executor, as the gRPC server has its own)."""
        limits = limits or HttpConfig()
        self.scheme = "https" if tls_files else "http"
        self._workers = workers
        self._socket, self.address = _bind(listen)
        self._stopping = threading.Event()
        self.guard = ConnectionGuard(
            header_timeout=float(limits.header_timeout),
            read_timeout=float(handlers.webhook.read_timeout),
            max_connections=limits.max_connections,
            max_per_client=limits.max_connections_per_client,
        )
        config = uvicorn.Config(
            create_app(handlers, self._stopping),
            http=protocol_class(self.guard),
            loop="asyncio",
            ws="none",
            lifespan="off",
            # The peer address is the client: /metrics access depends on it, so no proxy headers.
            proxy_headers=False,
            server_header=False,
            headers=[("Server", "gitopsd")],
            access_log=False,  # requests are logged by the app with structured fields
            log_config=None,  # the daemon's logging stays as configured
            # uvicorn warns of every malformed request; the protocol logs those at debug.
            log_level="error",
            # An idle keep-alive connection is closed after the same wait as any read.
            timeout_keep_alive=handlers.webhook.read_timeout,
            timeout_graceful_shutdown=_STOP_GRACE,
            ssl_certfile=tls_files[0] if tls_files else None,
            ssl_keyfile=tls_files[1] if tls_files else None,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # Off the main thread uvicorn installs no signal handlers: the daemon keeps its own.
        self._thread = threading.Thread(target=self._run, name="http", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        async def serve() -> None:
            # The JSON API's blocking servicer calls run here (run_in_executor(None, ...)).
            pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="http-api")
            asyncio.get_running_loop().set_default_executor(pool)
            await self._server.serve(sockets=[self._socket])

        asyncio.run(serve())

    def begin_stop(self) -> None:
        """From now on /healthz answers 503; requests are still served."""
        self._stopping.set()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=_STOP_GRACE + 5)
            if self._thread.is_alive():
                log.warning("http listener did not stop in time")
            self._thread = None
        self._socket.close()
