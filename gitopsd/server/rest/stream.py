"""Streaming RPCs (Watch) as server-sent events, as Argo CD's `/api/v1/stream/...` paths send them:
one `data: {"result": EVENT}` per message, `data: {"error": {...}}` if the stream ends in error.

A stream is an async generator on the listener's event loop, woken by the event bus through the
loop: it holds no thread while it waits, so a thousand open streams leave the pool to unary calls.
The interceptor's stream handler runs the same checks and per-user limit as for gRPC; a stream
refused before it opens gets the HTTP status of its gRPC code instead of an event stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf.message import Message
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gitopsd.protojson import to_document
from gitopsd.server.rest.status import error_body, error_response

log = logging.getLogger("gitopsd.http")

# A comment line now and then: proxies keep the connection, and a dead client is noticed.
HEARTBEAT_SECONDS = 15.0
_END: Any = object()


class CallContext:
    """What the interceptor's handlers use of a grpc.aio servicer context, for an HTTP call."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata
        self.code: grpc.StatusCode | None = None
        self.details = ""
        self.closed = False

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def time_remaining(self) -> float | None:
        return None  # an HTTP call carries no deadline (grpc-timeout is gRPC's)

    def set_code(self, code: grpc.StatusCode) -> None:
        self.code = code

    def set_details(self, details: str) -> None:
        self.details = details

    def set_trailing_metadata(self, metadata: Any) -> None:
        pass  # gRPC's marker of the daemon's own answers; HTTP answers are always ours

    def done(self) -> bool:
        return self.closed


class _Encoded:
    """The `data:` line of each event, encoded once however many streams send it (the event bus
    hands every subscriber the same message object)."""

    def __init__(self, size: int = 256) -> None:
        self._cache: OrderedDict[int, tuple[Message, bytes]] = OrderedDict()
        self._size = size

    def __call__(self, item: Message) -> bytes:
        hit = self._cache.get(id(item))
        if hit is not None and hit[0] is item:
            return hit[1]
        line = b"data: " + json.dumps({"result": to_document(item)}, separators=(",", ":")).encode() + b"\n\n"
        self._cache[id(item)] = (item, line)  # the message is kept: its id is not reused meanwhile
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return line


_encoded = _Encoded()


async def open_stream(
    checked: Callable[[Callable[[Any, Any], Any]], Callable[[Any, Any], AsyncIterator[Any]]],
    behavior: Callable[[Any, Any], Any],
    request: Message,
    context: CallContext,
) -> Response:
    """Starts the stream; answers an error status if it ends before its behavior ran (refused)."""
    started = asyncio.Event()
    loop = asyncio.get_running_loop()
    opened: Callable[[Any, Any], Any]
    if inspect.isasyncgenfunction(behavior):

        async def opened_async(req: Any, ctx: Any) -> AsyncIterator[Any]:
            started.set()
            async for item in behavior(req, ctx):
                yield item

        opened = opened_async
    else:  # a synchronous streaming servicer: called in the pool, returns its iterator

        def opened_sync(req: Any, ctx: Any) -> Any:
            loop.call_soon_threadsafe(started.set)
            return behavior(req, ctx)

        opened = opened_sync
    items = checked(opened)(request, context)
    first = asyncio.ensure_future(anext(items, _END))
    waiter = asyncio.ensure_future(started.wait())
    await asyncio.wait({first, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if not started.is_set():
        await first  # _END: refused by the checks (its status is set) or failed
        return error_response(context.code or grpc.StatusCode.INTERNAL, context.details or "stream failed")
    return EventStream(items, first, context)


class EventStream(Response):
    media_type = "text/event-stream"

    def __init__(self, items: AsyncIterator[Any], first: asyncio.Future[Any], context: CallContext) -> None:
        # Not Response.__init__: it would announce an empty body (Content-Length: 0).
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self._items = items
        self._next = first
        self._context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        # Three tasks for the stream's life, none per event: the pump sends each item as the
        # generator yields it, the watcher ends the stream when the client goes, the heartbeat
        # writes a comment line now and then (each send is one whole chunk: they never interleave).
        pump = asyncio.ensure_future(self._pump(send))
        gone = asyncio.ensure_future(_disconnected(receive))
        beat = asyncio.ensure_future(_heartbeat(send))
        try:
            await asyncio.wait({pump, gone}, return_when=asyncio.FIRST_COMPLETED)
            if pump.done() and pump.exception() is not None:  # a servicer bug: logged, the stream ends
                log.error("event stream failed", exc_info=pump.exception())
                self._context.code, self._context.details = grpc.StatusCode.INTERNAL, "internal error"
                await self._send_end(send)
        finally:
            self._context.closed = True
            for task in (beat, gone, pump, self._next):
                task.cancel()
            for task in (beat, gone, pump, self._next):
                with contextlib.suppress(BaseException):
                    await task
            # Runs the stream's own cleanup now: unsubscribes, frees its place under the user's limit.
            await self._items.aclose()  # type: ignore[attr-defined]

    async def _pump(self, send: Send) -> None:
        item = await self._next
        while item is not _END:
            await send({"type": "http.response.body", "body": _encoded(item), "more_body": True})
            item = await anext(self._items, _END)
        await self._send_end(send)

    async def _send_end(self, send: Send) -> None:
        code = self._context.code
        body = b""
        if code not in (None, grpc.StatusCode.OK):
            error = error_body(code, self._context.details)  # type: ignore[arg-type]
            body = b"data: " + json.dumps({"error": error}).encode() + b"\n\n"
        await send({"type": "http.response.body", "body": body, "more_body": False})


async def _heartbeat(send: Send) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        await send({"type": "http.response.body", "body": b": ping\n\n", "more_body": True})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
