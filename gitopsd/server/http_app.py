"""The ASGI app of the daemon's HTTP listener: POST /api/webhook, GET /metrics, GET /healthz as
Starlette routes. gitopsd/server/http.py serves it with uvicorn; connection-level limits (head
deadline, connection caps) live below it in gitopsd/server/http_guard.py.

Bodies are bounded here: 413 from Content-Length before anything is read and while a chunked body
streams, 408 when a read waits longer than `webhook.read_timeout` or the whole body takes longer
than BODY_DEADLINE. Every failure is answered with a status and a short JSON message.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.logs import fields
from gitopsd.server import dashboard, webhook
from gitopsd.server.config import WebhookConfig
from gitopsd.server.metrics import CONTENT_TYPE, Metrics
from gitopsd.server.metrics_access import Denial
from gitopsd.server.webhook import Headers, Ignored, PushEvent, WebhookError
from gitopsd.server.webhook_match import RefreshPlan, plan_refreshes

log = logging.getLogger("gitopsd.http")

# Seconds the whole body may take (one read may wait webhook.read_timeout seconds).
BODY_DEADLINE = 30.0
# After refusing a body, this much of what the client still sends is read and dropped so it
# can see the answer (closing with unread data makes the kernel reset the connection).
_LINGER_BYTES = 256 * 1024
_LINGER_SECONDS = 1.0
_TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class HttpHandlers:
    """What the HTTP endpoints act on."""

    webhook: WebhookConfig
    metrics: Metrics
    # Every application's spec (no status needed: a push is matched on sources and annotations).
    apps: Callable[[], Iterable[apppb.Application]]
    # Refreshes one application now, asking its repository for new commits.
    refresh: Callable[[str], None]
    # Whether a GET /metrics may be answered: (Authorization header, client address) → None or why not.
    metrics_access: Callable[[str | None, str], Denial | None]
    # A push's repository URLs → the ApplicationSets that regenerate for it (their git generators read one).
    on_push: Callable[[Iterable[str]], list[str]] | None = None
    # The JSON API (gitopsd/server/rest/gateway.py): serves /api/v1/... and /api/version.
    api: Callable[[Request], Awaitable[Response]] | None = None
    # (first, later): refreshes `first` now and `later` once those are done, on the pass workers
    # (gitopsd.app.refresh_order). Without it every one is refreshed with `refresh`, first ones first.
    refresh_in_order: Callable[[Sequence[str], Sequence[str]], None] | None = None


class Refusal(JSONResponse):
    """A JSON answer that closes the connection (for an error, or a body that was not all read).

    When the body was not all read, the answer is sent whole at once (Content-Length), then up to _LINGER_BYTES of the body the
    client is still sending are read and dropped for at most _LINGER_SECONDS before the response is
    marked complete and uvicorn closes: without it the client would get a reset, not the answer."""

    def __init__(
        self,
        status: int,
        message: str,
        body_unread: bool = True,
        content: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        # `content`: another JSON shape than {"message"} (the JSON API's error body).
        body = content if content is not None else {"message": message}
        super().__init__(body, status, headers={**(headers or {}), "Connection": "close"})
        self.body_unread = body_unread

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.body_unread:
            await super().__call__(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": True})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _LINGER_SECONDS
        dropped = 0
        try:
            while dropped < _LINGER_BYTES and loop.time() < deadline:
                message = await asyncio.wait_for(receive(), max(0.01, deadline - loop.time()))
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
                dropped += len(message.get("body", b""))
        except TimeoutError:
            pass
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _log(request: Request, status: int, **extra: Any) -> None:
    # Never headers or the query string: they may carry tokens.
    log.debug("http", extra=fields(method=request.method, path=request.url.path[:200], status=status, **extra))


def _has_body(request: Request) -> bool:
    return "transfer-encoding" in request.headers or request.headers.get("content-length", "0") != "0"


async def _read_body(request: Request, config: WebhookConfig) -> bytes:
    """The request body, within the size limit and the deadlines, or a WebhookError."""
    return await read_body(request, config.max_body_bytes, config.read_timeout)


async def read_body(request: Request, limit: int, read_timeout: float) -> bytes:
    """The request body, at most `limit` bytes, each read within `read_timeout` seconds and the
    whole within BODY_DEADLINE; or a WebhookError (411, 413, 408). Also used by the JSON API."""
    length = request.headers.get("content-length")
    if length is None and "transfer-encoding" not in request.headers:
        # HTTP/1.1: a request with neither has no body, and what the client sends after the
        # head is not one. (h11 has already refused malformed lengths and other encodings.)
        raise WebhookError(411, "a Content-Length or a chunked body is required")
    if length is not None and int(length) > limit:
        raise WebhookError(413, f"payload larger than {limit} bytes")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BODY_DEADLINE
    parts: list[bytes] = []
    total = 0
    more = True
    while more:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise WebhookError(408, f"request body not received within {BODY_DEADLINE:.0f}s")
        try:
            message = await asyncio.wait_for(request.receive(), min(read_timeout, remaining))
        except TimeoutError:
            if loop.time() >= deadline:
                raise WebhookError(408, f"request body not received within {BODY_DEADLINE:.0f}s") from None
            raise WebhookError(408, f"no data from the client for {read_timeout:g}s") from None
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:  # chunked: counted while it streams (uvicorn buffers at most 64 KiB ahead)
            raise WebhookError(413, f"payload larger than {limit} bytes")
        parts.append(chunk)
        more = message.get("more_body", False)
    return b"".join(parts)


def _authenticate_and_parse(
    provider: str, headers: Headers, body: bytes, config: WebhookConfig
) -> PushEvent | Ignored:
    webhook.authenticate(provider, headers, body, config)
    return webhook.parse(provider, headers, body)


_RESULTS = {400: "malformed", 401: "unauthorized", 408: "timeout", 411: "malformed", 413: "too_large"}


def create_app(handlers: HttpHandlers, stopping: threading.Event) -> Starlette:
    """The listener's ASGI app; /healthz answers 503 once `stopping` is set."""

    async def healthz(request: Request) -> Response:
        if stopping.is_set():
            _log(request, 503)
            return PlainTextResponse("stopping\n", 503, media_type=_TEXT)
        _log(request, 200)
        return PlainTextResponse("ok\n", media_type=_TEXT)

    async def metrics(request: Request) -> Response:
        client = request.client.host if request.client else ""
        try:
            denial = await run_in_threadpool(
                handlers.metrics_access, request.headers.get("authorization"), client
            )
        except Exception:  # a database error...: answered, logged, never a dropped connection
            log.exception("metrics access check failed")
            return PlainTextResponse("metrics access check failed\n", 500, media_type=_TEXT)
        if denial is not None:
            _log(request, denial.status)
            return JSONResponse({"message": denial.message}, denial.status)
        try:
            body = await run_in_threadpool(handlers.metrics.render)
        except Exception:
            log.exception("metrics collection failed")
            return PlainTextResponse("metrics collection failed\n", 500, media_type=_TEXT)
        _log(request, 200)
        return Response(body, media_type=CONTENT_TYPE)

    async def receive_webhook(request: Request) -> Response:
        provider = webhook.UNKNOWN
        body_read = False
        try:
            headers = Headers(request.headers.items())
            provider = webhook.detect_provider(headers)
            if provider == webhook.UNKNOWN:
                raise WebhookError(400, webhook.UNKNOWN_PROVIDER)
            body = await _read_body(request, handlers.webhook)
            body_read = True
            event = await run_in_threadpool(_authenticate_and_parse, provider, headers, body, handlers.webhook)
        except WebhookError as exc:
            result = _RESULTS.get(exc.status, "refused")
            if provider == webhook.UNKNOWN and exc.status == 400:
                result = "unknown_provider"
            handlers.metrics.webhook(provider, result)
            _log(request, exc.status, provider=provider, error=exc.message)
            return Refusal(exc.status, exc.message, body_unread=not body_read)
        except ClientDisconnect:  # gone, or cut off by the protocol (which answered if it could)
            handlers.metrics.webhook(provider, "timeout")
            _log(request, 408, provider=provider, error="client too slow or gone")
            return Response(status_code=408)  # not sent: the connection is closed
        except Exception:  # a payload shape the parser did not foresee: still the client's 400
            log.exception("webhook payload not handled", extra=fields(provider=provider))
            handlers.metrics.webhook(provider, "malformed")
            return Refusal(400, "payload could not be processed", body_unread=not body_read)
        if isinstance(event, Ignored):
            handlers.metrics.webhook(provider, "ignored")
            _log(request, 200, provider=provider, result="ignored")
            return JSONResponse({"message": event.message})
        try:
            plan = await run_in_threadpool(_refresh_matching, handlers, event)
        except Exception as exc:  # the daemon is stopping, or the store is unavailable
            log.warning("webhook refresh failed", extra=fields(provider=provider, error=type(exc).__name__))
            handlers.metrics.webhook(provider, "error")
            return Refusal(503, "cannot refresh applications now; try again", body_unread=False)
        refs = ", ".join(f"{r.kind} {r.name}" for r in event.refs)
        names = plan.first + plan.later
        # "skipped": applications matched, and their manifest-generate-paths said none changed.
        handlers.metrics.webhook(provider, "refreshed" if names else "skipped" if plan.skipped else "no_match")
        log.info(
            "webhook push",
            extra=fields(
                provider=provider,
                refs=refs[:500],
                refreshed=",".join(names)[:1000],
                first=len(plan.first),
                skipped=len(plan.skipped),
                changed_files="unknown" if event.changed_paths is None else len(event.changed_paths),
            ),
        )
        return JSONResponse(_push_reply(refs, event, plan))

    async def no_such_endpoint(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = f"no such endpoint: {request.method} {request.url.path[:200]}"
        _log(request, status)
        if status == 405:
            message = f"method {request.method} not allowed on {request.url.path[:200]}"
        # A body that is not read must not be taken for the next request.
        if _has_body(request):
            return Refusal(status, message)
        return JSONResponse({"message": message}, status)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/api/webhook", receive_webhook, methods=["POST"]),
        # The dashboard: index.html at its page paths, /assets/... (gitopsd/server/dashboard.py).
        *dashboard.routes(),
    ]
    if handlers.api is not None:  # the gateway matches the raw path itself (URL-encoded names)
        gateway = handlers.api

        async def api(request: Request) -> Response:
            try:
                return await gateway(request)
            except Exception:  # answered in the API's error shape; the text stays in the log
                log.exception("json api call failed", extra=fields(path=request.url.path[:200]))
                message = "internal error; see the daemon's log"
                return Refusal(500, message, content={"error": message, "code": 13, "message": message})

        every = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        routes += [
            Route("/api/version", api, methods=every),
            Route("/api/v1/{path:path}", api, methods=every),
        ]
    return Starlette(
        routes=routes,
        exception_handlers={404: no_such_endpoint, 405: no_such_endpoint},
    )


def _push_reply(refs: str, event: PushEvent, plan: RefreshPlan) -> dict[str, Any]:
    """What a push is answered with: what is refreshed, in which order, and what the payload said changed."""
    count = len(plan.first) + len(plan.later)
    message = f"push to {refs}: refreshing {count} application(s)"
    if event.changed_paths is not None and plan.first and plan.later:
        message += f", first the {len(plan.first)} with changed files under their paths"
    if plan.skipped:
        message += f"; {len(plan.skipped)} not refreshed (no changed file in their manifest-generate-paths)"
    reply: dict[str, Any] = {
        "message": message,
        "refreshed": plan.first + plan.later,
        "changedFiles": None if event.changed_paths is None else len(event.changed_paths),
    }
    if event.changed_paths is None:
        reply["changedFilesUnknown"] = event.paths_unknown
    if plan.skipped:
        reply["skipped"] = plan.skipped
    return reply


def _refresh_matching(handlers: HttpHandlers, event: PushEvent) -> RefreshPlan:
    plan = plan_refreshes(handlers.apps(), event)
    if handlers.refresh_in_order is not None:
        handlers.refresh_in_order(plan.first, plan.later)
    else:
        for name in plan.first + plan.later:
            handlers.refresh(name)
    if handlers.on_push is not None:
        appsets = handlers.on_push(event.repo_urls)
        if appsets:
            log.info("webhook push regenerates applicationsets", extra=fields(applicationsets=",".join(appsets)[:1000]))
    return plan

