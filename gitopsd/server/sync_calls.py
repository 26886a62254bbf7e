"""Running the servicers' blocking code from the asyncio gRPC server (see grpc_server.py).

The servicers stay synchronous (SQLite, git and Kubernetes calls block); the auth interceptor
runs each one in the server's bounded thread pool with a `SyncContext`, a small stand-in for
the servicer context whose abort() raises `Aborted` in the worker thread. The async side then
gives the call that status (`end`): grpc.aio's own abort is a coroutine and cannot be called
from a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, NoReturn, TypeVar

import grpc

from gitopsd.logs import fields

log = logging.getLogger("gitopsd.api")

T = TypeVar("T")


class Aborted(Exception):
    """context.abort() of a SyncContext: the call ends with this status."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(code, details)
        self.code = code
        self.details = details


class SyncContext:
    """What the synchronous servicer code uses of a servicer context."""

    def __init__(self, metadata: Any = (), context: grpc.aio.ServicerContext[Any, Any] | None = None) -> None:
        self._metadata = tuple(metadata or ())
        self._context = context
        self._code: grpc.StatusCode | None = None
        self._details = ""

    def abort(self, code: grpc.StatusCode, details: str = "") -> NoReturn:
        self._code, self._details = code, details
        raise Aborted(code, details)

    def code(self) -> grpc.StatusCode | None:
        """The status abort() set (None until then): lets handlers tell an abort from a failure."""
        return self._code

    def details(self) -> str:
        return self._details

    def invocation_metadata(self) -> tuple[Any, ...]:
        return self._metadata

    def time_remaining(self) -> float | None:
        """Seconds until the caller's deadline; None without one (an HTTP call, a call with no deadline)."""
        return None if self._context is None else self._context.time_remaining()

    def is_active(self) -> bool:
        # done() is only read here, never changed: a stale answer costs one more loop of the caller.
        return self._context is None or not self._context.done()


class _Ended:
    """What call_sync returns when the call has been given its (error) status."""


ENDED = _Ended()

# Trailing metadata on every error status the daemon itself sends (the CLI looks for it).
ANSWER_TRAILER = ("gitopsd-answer", "1")


def end(context: grpc.aio.ServicerContext[Any, Any], code: grpc.StatusCode, details: str) -> _Ended:
    """Gives the call its status; the handler then returns (a unary one returns None).

    Used instead of `await context.abort()`: abort raises, and the exception's traceback holds
    the frames of the call, its request among their locals, in a reference cycle that only a
    full garbage collection frees. With 60 MB requests that kept ~140 MB alive per call."""
    context.set_code(code)
    context.set_details(details)
    # Marks the status as the daemon's answer: a client can then tell a server-side UNAVAILABLE
    # (a renderer or repository down) from not reaching the daemon at all.
    context.set_trailing_metadata((ANSWER_TRAILER,))
    return ENDED


async def call_sync(
    context: grpc.aio.ServicerContext[Any, Any], what: str, fn: Callable[..., T], *args: Any
) -> T | _Ended:
    """fn(*args) in the loop's executor (the server's bounded pool). An Aborted gives the call its
    status, any other exception INTERNAL (its text stays in the log: it may name internals);
    both return ENDED."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(None, fn, *args)
    except Aborted as exc:
        exc.__traceback__ = exc.__context__ = None  # nothing of the call's frames outlives it
        return end(context, exc.code, exc.details)
    except Exception as exc:
        log.error("internal error", exc_info=exc, extra=fields(rpc=what))
        exc.__traceback__ = exc.__context__ = None
        return end(context, grpc.StatusCode.INTERNAL, f"internal error in {what}; see the daemon's log")


_DONE: Any = object()


async def iterate_sync(
    context: grpc.aio.ServicerContext[Any, Any], what: str, items: Iterator[T]
) -> AsyncIterator[T]:
    """A blocking iterator, each next() in the pool (a synchronous streaming servicer)."""
    while True:
        item = await call_sync(context, what, next, items, _DONE)
        if item is _DONE or isinstance(item, _Ended):
            return
        yield item  # type: ignore[misc]


def refusal(code: grpc.StatusCode, details: str) -> grpc.RpcMethodHandler:
    """A handler answering `code` without reading the request. As a client-streaming handler it
    receives no message until it asks for one (it never does), so a refused request's body costs
    at most what HTTP/2 flow control lets the client send ahead, whatever its size. The wire
    format is the same for every kind of RPC: unary and streaming clients both see the status."""

    async def refuse(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]) -> None:
        end(context, code, details)

    return grpc.stream_unary_rpc_method_handler(refuse)
