"""The daemon's HTTP listener (config `http_listen`): POST /api/webhook, GET /metrics and
GET /healthz. Started and stopped by gitopsd/server/daemon.py.

The standard library's threading server, hardened for hostile clients: a cap on open
connections, a per-read timeout and a whole-body deadline (so a slow client cannot hold a
thread), a body limit enforced before and while reading (Content-Length, chunked, or no
length at all), and every failure answered with a status and a short message.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.logs import fields
from gitopsd.server import webhook
from gitopsd.server.config import WebhookConfig
from gitopsd.server.metrics import CONTENT_TYPE, Metrics
from gitopsd.server.metrics_access import Denial
from gitopsd.server.webhook import Headers, Ignored, WebhookError
from gitopsd.server.webhook_match import matching_apps

log = logging.getLogger("gitopsd.http")

# Seconds the whole body may take (one read may wait webhook.read_timeout seconds).
BODY_DEADLINE = 30.0
MAX_CONNECTIONS = 64
# After refusing a body, this much of what the client still sends is read and dropped so it
# can see the answer (closing with unread data makes the kernel reset the connection).
_LINGER_BYTES = 256 * 1024
_LINGER_SECONDS = 1.0
_CHUNK_LINE = 1024


@dataclass(frozen=True)
class HttpHandlers:
    """What the HTTP endpoints act on."""

    webhook: WebhookConfig
    metrics: Metrics
    apps: Callable[[], Iterable[apppb.Application]]
    # Refreshes one application now, asking its repository for new commits.
    refresh: Callable[[str], None]
    # Whether a GET /metrics may be answered: (Authorization header, client address) → None or why not.
    metrics_access: Callable[[str | None, str], Denial | None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self, address: tuple[str, int], family: socket.AddressFamily, handlers: HttpHandlers
    ) -> None:
        self.address_family = family
        self.handlers = handlers
        self.stopping = threading.Event()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        # The socket timeout of every read (request line and headers included) is a class
        # attribute of the handler: one subclass per server carries the configured value.
        handler = type("_ConfiguredHandler", (_Handler,), {"timeout": float(handlers.webhook.read_timeout)})
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # A flood of connections gets turned away instead of growing threads without bound.
        if not self._slots.acquire(blocking=False):
            try:
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            # The client left or stalled before reading the answer: nothing went wrong here.
            log.debug("http client gone", extra=fields(error=type(exc).__name__))
            return
        log.warning("http request failed", exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "gitopsd"
    sys_version = ""

    # -- plumbing -------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # requests are logged by _log with structured fields (never headers or query)

    def _log(self, status: int, **extra: Any) -> None:
        path = self.path.split("?", 1)[0][:200]
        log.debug("http", extra=fields(method=self.command, path=path, status=status, **extra))

    def _send(self, status: int, body: bytes, content_type: str, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: dict[str, Any], close: bool = False) -> None:
        self._send(status, json.dumps(payload).encode() + b"\n", "application/json", close)

    def _linger(self) -> None:
        """Reads and drops a little of an unread body, so the client can read our answer."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + _LINGER_SECONDS
            dropped = 0
            self.connection.settimeout(0.2)
            while dropped < _LINGER_BYTES and time.monotonic() < deadline:
                data = self.rfile.read1(65536)
                if not data:
                    break
                dropped += len(data)
        except OSError:
            pass

    # -- routing --------------------------------------------------------------------

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            if self.server.stopping.is_set():
                self._send(503, b"stopping\n", "text/plain; charset=utf-8")
                self._log(503)
            else:
                self._send(200, b"ok\n", "text/plain; charset=utf-8")
                self._log(200)
        elif path == "/metrics":
            try:
                denial = self.server.handlers.metrics_access(
                    self.headers.get("Authorization"), self.client_address[0]
                )
            except Exception:  # a database error...: answered, logged, never a dropped connection
                log.exception("metrics access check failed")
                self._send(500, b"metrics access check failed\n", "text/plain; charset=utf-8")
                return
            if denial is not None:
                self._send_json(denial.status, {"message": denial.message})
                self._log(denial.status)
                return
            try:
                body = self.server.handlers.metrics.render()
            except Exception:
                log.exception("metrics collection failed")
                self._send(500, b"metrics collection failed\n", "text/plain; charset=utf-8")
                return
            self._send(200, body, CONTENT_TYPE)
            self._log(200)
        else:
            self._send_json(404, {"message": f"no such endpoint: GET {path[:200]}"})
            self._log(404)

    do_HEAD = do_GET

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if path != "/api/webhook":
            # The body is not read: do not let it be taken for the next request.
            self._send_json(404, {"message": f"no such endpoint: POST {path[:200]}"}, close=True)
            self._linger()
            self._log(404)
            return
        provider = webhook.UNKNOWN
        try:
            headers = Headers(self.headers.items())
            provider = webhook.detect_provider(headers)
            if provider == webhook.UNKNOWN:
                raise WebhookError(400, webhook.UNKNOWN_PROVIDER)
            body = self._read_body()
            webhook.authenticate(provider, headers, body, self.server.handlers.webhook)
            event = webhook.parse(provider, headers, body)
        except WebhookError as exc:
            result = {400: "malformed", 401: "unauthorized", 408: "timeout", 413: "too_large"}.get(
                exc.status, "refused"
            )
            if provider == webhook.UNKNOWN and exc.status == 400:
                result = "unknown_provider"
            self.server.handlers.metrics.webhook(provider, result)
            self._send_json(exc.status, {"message": exc.message}, close=True)
            # Closing with unread data would reset the connection before the client reads this.
            self._linger()
            self._log(exc.status, provider=provider, error=exc.message)
            return
        except (TimeoutError, ConnectionError):
            self.close_connection = True
            self.server.handlers.metrics.webhook(provider, "timeout")
            self._log(408, provider=provider, error="client too slow or gone")
            return
        except Exception:  # a payload shape the parser did not foresee: still the client's 400
            log.exception("webhook payload not handled", extra=fields(provider=provider))
            self.server.handlers.metrics.webhook(provider, "malformed")
            self._send_json(400, {"message": "payload could not be processed"}, close=True)
            self._linger()
            return
        if isinstance(event, Ignored):
            self.server.handlers.metrics.webhook(provider, "ignored")
            self._send_json(200, {"message": event.message})
            self._log(200, provider=provider, result="ignored")
            return
        try:
            names = matching_apps(self.server.handlers.apps(), event)
            for name in names:
                self.server.handlers.refresh(name)
        except Exception as exc:  # the daemon is stopping, or the store is unavailable
            log.warning("webhook refresh failed", extra=fields(provider=provider, error=type(exc).__name__))
            self.server.handlers.metrics.webhook(provider, "error")
            self._send_json(503, {"message": "cannot refresh applications now; try again"}, close=True)
            return
        refs = ", ".join(f"{r.kind} {r.name}" for r in event.refs)
        self.server.handlers.metrics.webhook(provider, "refreshed" if names else "no_match")
        self._send_json(
            200,
            {
                "message": f"push to {refs}: refreshing {len(names)} application(s)",
                "refreshed": names,
            },
        )
        log.info(
            "webhook push",
            extra=fields(provider=provider, refs=refs[:500], refreshed=",".join(names)[:1000]),
        )

    # -- body -----------------------------------------------------------------------

    def _read_body(self) -> bytes:
        limit = self.server.handlers.webhook.max_body_bytes
        self._deadline = time.monotonic() + BODY_DEADLINE
        encoding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        length = self.headers.get("Content-Length")
        if encoding:
            if encoding != "chunked":
                raise WebhookError(400, f"unsupported Transfer-Encoding {encoding[:50]!r}")
            body = self._read_chunked(limit)
        elif length is not None:
            length = length.strip()
            if not length.isdigit() or len(length) > 18:
                raise WebhookError(400, "invalid Content-Length")
            if int(length) > limit:
                raise WebhookError(413, f"payload larger than {limit} bytes")
            body = self._read_exact(int(length))
        else:
            # No length: the body runs to the end of the connection, which is closed after.
            self.close_connection = True
            body = self._read_upto(limit + 1)
            if len(body) > limit:
                raise WebhookError(413, f"payload larger than {limit} bytes")
        return body

    def _read_some(self, n: int) -> bytes:
        if time.monotonic() > self._deadline:
            raise WebhookError(408, f"request body not received within {BODY_DEADLINE:.0f}s")
        try:
            return self.rfile.read1(n)
        except TimeoutError:
            raise WebhookError(408, f"no data from the client for {self.timeout:.0f}s") from None

    def _read_exact(self, n: int) -> bytes:
        parts: list[bytes] = []
        remaining = n
        while remaining > 0:
            data = self._read_some(min(remaining, 65536))
            if not data:
                raise WebhookError(400, f"body ended after {n - remaining} of {n} bytes (Content-Length)")
            parts.append(data)
            remaining -= len(data)
        return b"".join(parts)

    def _read_upto(self, n: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while total < n:
            data = self._read_some(min(n - total, 65536))
            if not data:
                break
            parts.append(data)
            total += len(data)
        return b"".join(parts)

    def _read_line(self) -> bytes:
        if time.monotonic() > self._deadline:
            raise WebhookError(408, f"request body not received within {BODY_DEADLINE:.0f}s")
        try:
            line = self.rfile.readline(_CHUNK_LINE + 1)
        except TimeoutError:
            raise WebhookError(408, f"no data from the client for {self.timeout:.0f}s") from None
        if len(line) > _CHUNK_LINE or not line.endswith(b"\n"):
            raise WebhookError(400, "malformed chunked encoding")
        return line

    def _read_chunked(self, limit: int) -> bytes:
        self.close_connection = True  # whatever happens, no request follows a chunked one here
        parts: list[bytes] = []
        total = 0
        while True:
            size_text = self._read_line().split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise WebhookError(400, "malformed chunked encoding (chunk size)") from None
            if size < 0:
                raise WebhookError(400, "malformed chunked encoding (chunk size)")
            if size == 0:
                for _ in range(64):  # trailers, up to the empty line
                    if self._read_line() in (b"\r\n", b"\n"):
                        return b"".join(parts)
                raise WebhookError(400, "malformed chunked encoding (too many trailers)")
            if total + size > limit:
                raise WebhookError(413, f"payload larger than {limit} bytes")
            parts.append(self._read_exact(size))
            total += size
            if self._read_line().strip():
                raise WebhookError(400, "malformed chunked encoding (chunk not followed by CRLF)")


class HttpServer:
    """Binds at construction (so a bad address fails the daemon's start), serves on start()."""

    def __init__(self, listen: str, handlers: HttpHandlers) -> None:
        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"http_listen: {listen!r} is not HOST:PORT")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self._server = _Server((host, int(port)), family, handlers)
        except OSError as exc:
            raise OSError(f"cannot listen on {listen} for HTTP: {exc.strerror or exc}") from None
        bound_port = self._server.server_address[1]
        self.address = f"[{host}]:{bound_port}" if family == socket.AF_INET6 else f"{host}:{bound_port}"
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="http", daemon=True
        )
        self._thread.start()

    def begin_stop(self) -> None:
        """From now on /healthz answers 503; requests are still served."""
        self._server.stopping.set()

    def stop(self) -> None:
        self._server.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
