"""HTTP/1.1 over TLS: request parsing, authentication, routing, and streaming of watches.

A ThreadingHTTPServer with keep-alive; the TLS handshake happens in the connection's own thread
so one slow client cannot stall the others, and every open connection is tracked so that
stopping the server ends keep-alive connections and watches promptly. Watch streaming itself is
gitopsd.sandbox.watchstream's.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import discovery, openapi, protobuf, table
from .api import Api, Reply, Request
from .controllers import logs as pod_logs
from .errors import ApiError, bad_request, method_not_allowed
from .faults import Faults
from .resources import Registry, ResourceType
from .store import encode
from .tls import token_matches
from .watchstream import JSON, WatchStreamHandler

log = logging.getLogger(__name__)

MAX_BODY = 3 * 1024 * 1024 + 65536
DRAIN_LIMIT = 32 * 1024 * 1024
PUBLIC = ("/healthz", "/livez", "/readyz", "/version")
VERSION = {
    "major": "1",
    "minor": "37",
    "gitVersion": "v1.37.0-gitopsd-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.25.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def _not_found_path() -> ApiError:
    return ApiError(404, "the server could not find the requested resource", "NotFound", {})


class App:
    """Everything a request needs: the API, the catalogue, the token, faults, the stop flag."""

    def __init__(self, api: Api, registry: Registry, token: str, faults: Faults) -> None:
        self.api = api
        self.registry = registry
        self.token = token
        self.faults = faults
        self.stopping = threading.Event()
        self.server_address = ""


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], ctx: ssl.SSLContext, app: App) -> None:
        self.ctx = ctx
        self.app = app
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(10)
        # Headers and body go out in separate writes; without NODELAY, Nagle plus the client's
        # delayed ACK adds ~40 ms to every keep-alive request.
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        try:
            conn = self.ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return  # a failed handshake (wrong CA, port scan...) only ends that connection
        with self._conns_lock:
            self._conns.add(conn)
        try:
            self.RequestHandlerClass(conn, client_address, self)  # type: ignore[arg-type]
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self._conns_lock:
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Handler(WatchStreamHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gitopsd-sandbox"
    sys_version = ""
    timeout = 120  # idle keep-alive connections
    server: SandboxHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    # -- plumbing -----------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                except ValueError:
                    raise bad_request("malformed chunked body") from None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ApiError(413, "the request body is too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
            return b"".join(chunks)
        length_text = self.headers.get("Content-Length") or "0"
        try:
            length = int(length_text)
        except ValueError:
            raise bad_request("invalid Content-Length") from None
        if length < 0:
            raise bad_request("invalid Content-Length")
        if length > MAX_BODY:
            self.close_connection = True
            if length <= DRAIN_LIMIT:
                # Read and drop the body so the client gets to read our answer.
                while length > 0:
                    got = self.rfile.read(min(length, 1 << 20))
                    if not got:
                        break
                    length -= len(got)
            raise ApiError(413, "the request body is too large")
        return self.rfile.read(length) if length else b""

    def _send(self, code: int, body: bytes, content_type: str = JSON, warnings: tuple[str, ...] = ()) -> None:
        self.send_response(code)
        for text in warnings:  # fieldValidation=Warn findings, as the real server sends them
            # Escaped: a field name is client text and must not break the header (CR/LF, quotes).
            safe = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
            self.send_header("Warning", f'299 - "{safe}"')
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        # One write for headers and body: one TLS record, one segment for small replies.
        buffer: list[bytes] = getattr(self, "_headers_buffer", [])
        buffer.append(b"\r\n")
        self.wfile.write(b"".join(buffer) + body)
        buffer.clear()

    def _send_json(self, code: int, obj: Any, content_type: str = JSON) -> None:
        self._send(code, encode(obj), content_type)

    def _dispatch(self) -> None:
        app = self.server.app
        try:
            body = self._read_body()
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            public = path in PUBLIC or path.startswith(("/healthz/", "/livez/", "/readyz/"))
            if not public and not token_matches(self.headers.get("Authorization"), app.token):
                raise ApiError(401, "Unauthorized", "Unauthorized")
            fault = app.faults.take(self.command, self.path)
            if fault is not None:
                if fault.delay:
                    app.stopping.wait(fault.delay)
                if fault.status is not None:
                    raise fault.error()
            self._route(path, query, body)
        except ApiError as err:
            if err.retry_after is not None:
                self.send_response(err.code)
                self.send_header("Retry-After", str(err.retry_after))
                body = encode(err.status())
                self.send_header("Content-Type", JSON)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self._send_json(err.code, err.status())
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True
        except Exception:
            log.exception("sandbox request failed: %s %s", self.command, self.path.split("?", 1)[0])
            self._send_json(500, ApiError(500, "internal error in the sandbox API server").status())

    # -- routing ------------------------------------------------------------------------------
    def _route(self, path: str, query: dict[str, str], body: bytes) -> None:
        app = self.server.app
        method = self.command
        segs = [s for s in path.split("/") if s]
        accept = self.headers.get("Accept", "")
        if path in ("/healthz", "/livez", "/readyz") or path.startswith(("/healthz/", "/livez/", "/readyz/")):
            self._send(200, b"ok", "text/plain; charset=utf-8")
            return
        if path == "/version":
            self._send_json(200, VERSION)
            return
        if segs[:1] == ["openapi"]:
            self._openapi(segs[1:])
            return
        if not segs or segs[0] not in ("api", "apis"):
            raise _not_found_path()
        if segs[0] == "api":
            if len(segs) == 1:
                if discovery.wants_aggregated(accept):
                    self._send_json(
                        200, discovery.aggregated(app.registry, core=True), discovery.AGGREGATED_CONTENT_TYPE
                    )
                else:
                    self._send_json(200, discovery.api_versions(app.server_address))
                return
            group, version, rest = "", segs[1], segs[2:]
        else:
            if len(segs) == 1:
                if discovery.wants_aggregated(accept):
                    self._send_json(
                        200, discovery.aggregated(app.registry, core=False), discovery.AGGREGATED_CONTENT_TYPE
                    )
                else:
                    self._send_json(200, discovery.api_group_list(app.registry))
                return
            if len(segs) == 2:
                doc = discovery.api_group(app.registry, segs[1])
                if doc is None:
                    raise _not_found_path()
                self._send_json(200, doc)
                return
            group, version, rest = segs[1], segs[2], segs[3:]
        if not rest:
            doc = discovery.api_resource_list(app.registry, group, version)
            if doc is None:
                raise _not_found_path()
            self._send_json(200, doc)
            return
        rt, namespace, name, sub = self._parse_resource(group, version, rest)
        if rt.storage_key == "/pods" and sub == "log" and name is not None:
            pod_logs.respond(self, namespace or "", name, query)  # sandbox point 2: simulated logs
            return
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/vnd.kubernetes.protobuf"):
            if method != "POST" or name is not None:
                raise ApiError(
                    415, "the sandbox API server only accepts protobuf bodies for create; send JSON"
                )
            # kubectl's imperative `create ns|configmap|secret|sa` send protobuf; answer in JSON.
            body = encode(protobuf.decode(body))
            ctype = JSON
        req = Request(
            method,
            rt,
            namespace,
            name,
            sub,
            query,
            body,
            ctype,
            self.headers.get("User-Agent", ""),
            as_table=method == "GET" and table.wants_table(accept),
        )
        api = app.api
        reply: Reply
        if name is None:
            if method == "GET":
                if query.get("watch") in ("true", "1"):
                    self._stream(api.watch(req))
                    return
                reply = api.list_objects(req)
            elif method == "POST":
                if rt.namespaced and namespace is None:
                    raise method_not_allowed()
                reply = api.create(req)
            elif method == "DELETE":
                reply = api.delete_collection(req)
            else:
                raise method_not_allowed()
        else:
            if sub and sub not in rt.subresources:
                raise _not_found_path()
            if method == "GET":
                reply = api.get(req)
            elif method == "PUT":
                reply = api.update(req)
            elif method == "PATCH":
                reply = api.patch(req)
            elif method == "DELETE":
                reply = api.delete(req)
            else:
                raise method_not_allowed()
        self._send(reply.code, reply.body, warnings=reply.warnings)

    def _parse_resource(
        self, group: str, version: str, rest: list[str]
    ) -> tuple[ResourceType, str | None, str | None, str]:
        registry = self.server.app.registry
        if not registry.has_group_version(group, version):
            raise _not_found_path()
        if rest[0] == "namespaces" and len(rest) >= 3:
            rt = registry.lookup(group, version, rest[2])
            if rt is not None and rt.namespaced:
                tail = rest[3:]
                if len(tail) > 2:
                    raise _not_found_path()
                return rt, rest[1], (tail[0] if tail else None), (tail[1] if len(tail) > 1 else "")
        rt = registry.lookup(group, version, rest[0])
        if rt is None or len(rest) > 3:
            raise _not_found_path()
        name = rest[1] if len(rest) > 1 else None
        if rt.namespaced and name is not None:
            raise _not_found_path()
        return rt, None, name, (rest[2] if len(rest) > 2 else "")

    def _openapi(self, segs: list[str]) -> None:
        registry = self.server.app.registry
        if segs == ["v3"]:
            self._send_json(200, openapi.root_doc(registry))
            return
        if len(segs) >= 3 and segs[0] == "v3":
            if segs[1] == "api" and len(segs) == 3:
                doc = openapi.group_version_doc(registry, "", segs[2])
            elif segs[1] == "apis" and len(segs) == 4:
                doc = openapi.group_version_doc(registry, segs[2], segs[3])
            else:
                doc = None
            if doc is not None:
                self._send_json(200, doc)
                return
        raise _not_found_path()
