"""The JSON API's request handling: match a route (routes.py), build the RPC's request message,
and call the servicer through the auth interceptor's own handlers, as a gRPC call is served.

Order, as on gRPC: the token is checked from the headers before the body is read (a refused call
never costs its body), then the body (JSON, at most `max_body_bytes`; calls without a token at
most the gRPC limit of those, 64 KiB), then the RPC's permission check and the servicer, in the
listener's thread pool. Errors are grpc-gateway's: the HTTP status of the gRPC code and
{"error", "code", "message"}.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote

import grpc
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from gitopsd.logs import fields
from gitopsd.protojson import DocumentError, parse_document, to_document
from gitopsd.server.auth_interceptor import MAX_PUBLIC_REQUEST_BYTES, AuthInterceptor
from gitopsd.server.http_app import Refusal, read_body
from gitopsd.server.permissions import PUBLIC, RULES
from gitopsd.server.rest import session
from gitopsd.server.rest.routes import LOGIN, LOGOUT, ROUTES, Route
from gitopsd.server.rest.status import HTTP_STATUS, error_body, error_response
from gitopsd.server.rest.stream import CallContext, open_stream
from gitopsd.server.sync_calls import Aborted
from gitopsd.server.webhook import WebhookError

log = logging.getLogger("gitopsd.http")

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024


class BadRequest(Exception):
    """The client's mistake in the path, query or body: 400 with this message."""


@dataclass(frozen=True)
class _Bound:
    route: Route
    parts: tuple[str | None, ...]  # literal segments; None where a {field} goes
    variables: tuple[str, ...]
    rest: bool  # the last variable takes the rest of the path ({field=**})
    request_class: type[Message]
    behavior: Callable[[Any, Any], Any]


def servicer_methods(servicers: Iterable[object]) -> dict[str, Callable[[Any, Any], Any]]:
    """Full method name → the servicer's bound method, found from the generated base classes the
    servicers derive from (so a service added to the daemon needs no change here)."""
    out: dict[str, Callable[[Any, Any], Any]] = {}
    pool = descriptor_pool.Default()
    for servicer in servicers:
        for base in type(servicer).__mro__:
            if not (base.__module__.endswith("_pb2_grpc") and base.__name__.endswith("Servicer")):
                continue
            package = base.__module__.rsplit(".", 1)[0].replace("gitopsd.api.", "", 1)
            service = pool.FindServiceByName(f"{package}.{base.__name__.removesuffix('Servicer')}")
            for method in service.methods:
                out[f"/{service.full_name}/{method.name}"] = getattr(servicer, method.name)
    return out


def _field(descriptor: Any, name: str) -> FieldDescriptor | None:
    for f in descriptor.fields:
        if name in (f.name, f.json_name):
            return f  # type: ignore[no-any-return]
    return None


def _scalar(f: FieldDescriptor, text: str, where: str) -> Any:
    if f.type == FieldDescriptor.TYPE_BOOL:
        if text.lower() not in ("true", "false", "1", "0", ""):
            raise BadRequest(f"{where}: expected true or false, got {text[:100]!r}")
        return text.lower() in ("true", "1", "")
    if f.cpp_type in (
        FieldDescriptor.CPPTYPE_INT32,
        FieldDescriptor.CPPTYPE_INT64,
        FieldDescriptor.CPPTYPE_UINT32,
        FieldDescriptor.CPPTYPE_UINT64,
    ):
        try:
            return int(text)
        except ValueError:
            raise BadRequest(f"{where}: expected an integer, got {text[:100]!r}") from None
    if f.type == FieldDescriptor.TYPE_STRING:
        return text
    raise BadRequest(f"{where}: cannot be given in the path or query")


def _set(message: Message, dotted: str, text: str, where: str) -> None:
    """Sets a scalar field (dotted path, JSON or proto names) from text; repeated ones append."""
    target = message
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        f = _field(target.DESCRIPTOR, part)
        if f is None:
            known = ", ".join(sorted(x.json_name for x in target.DESCRIPTOR.fields))
            raise BadRequest(f"{where}: unknown parameter (known here: {known or 'none'})")
        if i < len(parts) - 1:
            if f.message_type is None or f.is_repeated:
                raise BadRequest(f"{where}: {part} has no fields")
            target = getattr(target, f.name)
            continue
        if f.message_type is not None:
            raise BadRequest(f"{where}: is an object; send it in the body")
        value = _scalar(f, text, where)
        if f.is_repeated:
            getattr(target, f.name).append(value)
        else:
            setattr(target, f.name, value)


class Gateway:
    """The ASGI endpoint of every route; mounted by create_app under /api/v1 and /api/version."""

    def __init__(
        self,
        interceptor: AuthInterceptor,
        servicers: Iterable[object],
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        read_timeout: float = 10.0,
    ) -> None:
        self._interceptor = interceptor
        self._max_body = max_body_bytes
        self._read_timeout = read_timeout
        methods = servicer_methods(servicers)
        pool = descriptor_pool.Default()
        self._routes: list[_Bound] = []
        for route in ROUTES:
            service, _, name = route.rpc.strip("/").rpartition("/")
            method = pool.FindServiceByName(service).methods_by_name[name]
            parts = tuple(None if s.startswith("{") else s for s in route.segments)
            variables = tuple(s[1:-1].removesuffix("=**") for s in route.segments if s.startswith("{"))
            rest = route.segments[-1].endswith("=**}")
            request_class = message_factory.GetMessageClass(method.input_type)
            self._routes.append(_Bound(route, parts, variables, rest, request_class, methods[route.rpc]))

    def _match(self, method: str, raw_path: str) -> tuple[_Bound | None, list[str], list[str]]:
        """(the route, its path values) or (None, [], methods the path allows)."""
        segments = raw_path.strip("/").split("/")
        allowed: list[str] = []
        for bound in self._routes:
            given = segments
            if bound.rest and len(segments) > len(bound.parts):
                cut = len(bound.parts) - 1
                given = [*segments[:cut], "/".join(segments[cut:])]
            if len(bound.parts) != len(given):
                continue
            if any(p is not None and p != s for p, s in zip(bound.parts, given, strict=True)):
                continue
            values = [unquote(s) for p, s in zip(bound.parts, given, strict=True) if p is None]
            if any(not v for v in values):
                continue
            if bound.route.method == method:
                return bound, values, []
            allowed.append(bound.route.method)
        return None, [], allowed

    async def __call__(self, request: Request) -> Response:
        raw = request.scope.get("raw_path") or request.url.path.encode()
        path = raw.decode("latin-1").split("?", 1)[0]
        bound, values, allowed = self._match(request.method, path)
        if bound is None:
            code = grpc.StatusCode.UNIMPLEMENTED if allowed else grpc.StatusCode.NOT_FOUND
            message = (
                f"method {request.method} not allowed on {request.url.path[:200]} (allowed: {', '.join(allowed)})"
                if allowed
                else f"no such endpoint: {request.method} {request.url.path[:200]}"
            )
            status = 405 if allowed else 404
            _log(request, status)
            headers = {"Allow": ", ".join(allowed)} if allowed else None
            if _has_body(request):
                return _refusal(code, message, status, headers)
            return JSONResponse(error_body(code, message), status, headers=headers)
        try:
            response = await self._serve(request, bound, values)
        except ClientDisconnect:
            return Response(status_code=499)  # not sent: the client is gone
        _log(request, response.status_code, rpc=bound.route.rpc)
        return response

    async def _serve(self, request: Request, bound: _Bound, values: list[str]) -> Response:
        route = bound.route
        public = RULES.get(route.rpc) == PUBLIC
        creds = session.Credentials((), False, "") if public else session.credentials(request)
        refused = session.csrf_refusal(request, creds)
        if refused is not None:
            return self._unread(request, grpc.StatusCode.PERMISSION_DENIED, refused)
        try:
            principal = await self._interceptor.caller(route.rpc, creds.metadata)
        except Aborted as exc:
            return self._unread(request, exc.code, exc.details)
        try:
            message = await self._request(request, bound, values, public)
        except WebhookError as exc:  # the body's size or its deadlines
            code = {408: grpc.StatusCode.DEADLINE_EXCEEDED, 413: grpc.StatusCode.RESOURCE_EXHAUSTED}.get(
                exc.status, grpc.StatusCode.INVALID_ARGUMENT
            )
            return _refusal(code, exc.message, exc.status, None)
        except (BadRequest, DocumentError) as exc:
            return error_response(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except RecursionError:  # a document nested deeper than the parsers go
            return error_response(grpc.StatusCode.INVALID_ARGUMENT, "request body is nested too deeply")
        context = CallContext(creds.metadata)
        if route.stream:
            handler = self._interceptor.stream_handler
            return await open_stream(
                lambda behavior: handler(route.rpc, principal, behavior), bound.behavior, message, context
            )
        # A CallContext is what the handler uses of a grpc.aio context (see stream.py).
        call = self._interceptor.unary_handler(route.rpc, principal, bound.behavior)
        reply = await call(message, cast(Any, context))
        if context.code not in (None, grpc.StatusCode.OK) or reply is None:
            code = context.code or grpc.StatusCode.INTERNAL
            headers = {"WWW-Authenticate": "Bearer"} if code == grpc.StatusCode.UNAUTHENTICATED else None
            return error_response(code, context.details, headers)
        body = await asyncio.get_running_loop().run_in_executor(None, _encode, reply)
        response = Response(body, 200, media_type="application/json")
        secure = request.url.scheme == "https"
        if route.rpc == LOGIN:
            session.set_session_cookies(response, reply.token, reply.expires_at, secure)  # type: ignore[attr-defined]
        elif route.rpc == LOGOUT:
            session.clear_session_cookies(response, secure)
        return response

    def _unread(self, request: Request, code: grpc.StatusCode, message: str) -> Response:
        """Refused before the body was read: the answer closes the connection if one was sent."""
        headers = {"WWW-Authenticate": "Bearer"} if code == grpc.StatusCode.UNAUTHENTICATED else None
        if _has_body(request):
            return _refusal(code, message, HTTP_STATUS[code], headers)
        return error_response(code, message, headers)

    async def _request(self, request: Request, bound: _Bound, values: list[str], public: bool) -> Message:
        route = bound.route
        message = bound.request_class()
        if route.body:
            limit = MAX_PUBLIC_REQUEST_BYTES if public else self._max_body
            raw = await read_body(request, limit, self._read_timeout) if _has_body(request) else b""
            doc = _json(raw)
            if route.adapt is not None:
                doc = route.adapt(doc)
            if route.body == "*":
                parse_document(doc, message)
            elif message.DESCRIPTOR.fields_by_name[route.body].message_type is None:
                # A text field as the body (grpc-gateway's `body: "patch"`): a JSON string.
                if not isinstance(doc, str):
                    raise BadRequest(
                        f"request body: expected a JSON string (the {route.body}), got {type(doc).__name__}"
                    )
                setattr(message, route.body, doc)
            else:
                parse_document(doc, getattr(message, route.body))
        elif _has_body(request):
            # Nothing reads it: refused with the connection closed, so it is not taken for the next request.
            raise WebhookError(400, f"{request.method} {route.path} takes no body")
        for key, text in route.defaults.items():
            _set(message, key, text, f"query {key}")
        for key, text in request.query_params.multi_items():
            _set(message, route.query.get(key, key), text, f"query {key}")
        for variable, value in zip(bound.variables, values, strict=True):
            _set(message, variable, value, f"path {{{variable}}}")
        return message


def _json(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8 text") from None
    except RecursionError:
        raise BadRequest("request body is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def _encode(reply: Message) -> bytes:
    doc = to_document(reply)
    if "items" in reply.DESCRIPTOR.fields_by_name:
        doc.setdefault("items", [])  # an empty list is `[]`, not missing: scripts iterate it
    return json.dumps(doc, separators=(",", ":")).encode()


def _has_body(request: Request) -> bool:
    return "transfer-encoding" in request.headers or request.headers.get("content-length", "0") != "0"


def _refusal(code: grpc.StatusCode, message: str, status: int, headers: dict[str, str] | None) -> Response:
    return Refusal(status, message, content=error_body(code, message), headers=headers)


def _log(request: Request, status: int, **extra: Any) -> None:
    # Never headers, cookies or the query string: they may carry tokens.
    log.debug(
        "http api", extra=fields(method=request.method, path=request.url.path[:200], status=status, **extra)
    )
