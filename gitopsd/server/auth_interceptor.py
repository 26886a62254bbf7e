"""The gRPC server interceptor that authenticates every call and enforces RBAC.

Health checks and reflection pass untouched; login (SessionService.Create) needs no
token; everything else needs `authorization: Bearer TOKEN` and the permission the
table in permissions.py names. List replies and Watch streams are filtered to what
the caller may `get`. Failures never echo the token.

It runs on the asyncio server (grpc_server.py): the token is checked on the call's
metadata before its request is read, so an unauthenticated caller cannot make the daemon
receive a large body; the synchronous servicers then run in the server's thread pool
(sync_calls.py). Each user holds at most `grpc.max_streams_per_user` open streams.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from gitopsd.app.errors import AppError
from gitopsd.app.foreground import Foreground
from gitopsd.auth.accounts import Accounts, Principal
from gitopsd.auth.authorizer import Authorizer
from gitopsd.auth.context import current_principal
from gitopsd.auth.errors import Unauthenticated
from gitopsd.logs import fields
from gitopsd.server.permissions import OPEN_PREFIXES, PUBLIC, RULES, Check, Filter, Lookups
from gitopsd.server.sync_calls import ENDED, Aborted, SyncContext, call_sync, end, iterate_sync, refusal

log = logging.getLogger("gitopsd.auth")

T = TypeVar("T")
AioContext = grpc.aio.ServicerContext[Any, Any]

DEFAULT_MAX_STREAMS_PER_USER = 100

# Login is the one call read without a token. gRPC receives a message whole before anyone can
# see its size, so strangers' requests are received PUBLIC_READS at a time (the others wait,
# their bodies held back by HTTP/2 flow control), each within PUBLIC_READ_SECONDS, and one over
# MAX_PUBLIC_REQUEST_BYTES (a name and a password need far less) is refused before it is parsed.
MAX_PUBLIC_REQUEST_BYTES = 64 * 1024
PUBLIC_READS = 1
PUBLIC_READ_SECONDS = 10.0


def bearer_token(metadata: Any) -> str | None:
    for key, value in metadata or ():
        if key.lower() == "authorization":
            scheme, _, token = str(value).partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else ""
    return None


async def _read_all(requests: AsyncIterator[bytes]) -> tuple[int, int, bytes]:
    """(how many messages, the largest's size, the first if within the limit), read to the end of
    the stream: grpc.aio's receiver, left before the end, holds its last message in a reference
    cycle that only a full garbage collection frees (+60 MB per 60 MB login, seen here)."""
    count, largest, first = 0, 0, b""
    async for raw in requests:
        count += 1
        largest = max(largest, len(raw))
        if count == 1 and len(raw) <= MAX_PUBLIC_REQUEST_BYTES:
            first = raw
    return count, largest, first


class AuthInterceptor(grpc.aio.ServerInterceptor):
    def __init__(
        self,
        accounts: Accounts,
        authorizer: Authorizer,
        lookups: Lookups,
        max_streams_per_user: int = DEFAULT_MAX_STREAMS_PER_USER,
        foreground: Foreground | None = None,
    ) -> None:
        self._accounts = accounts
        # Unary calls are marked while served: background work waits for a quiet API (app/foreground.py).
        self._foreground = foreground or Foreground()
        self._authorizer = authorizer
        self._lookups = lookups
        self._max_streams = max_streams_per_user
        # Open streams per subject, counted by the gRPC server's loop and the HTTP listener's
        # (two threads): changed under the lock.
        self._streams: Counter[str] = Counter()
        self._streams_lock = threading.Lock()
        self._public_reads = asyncio.Semaphore(PUBLIC_READS)

    async def intercept_service(  # type: ignore[override]  # None: no such method
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method  # type: ignore[attr-defined]
        if handler is None:
            return None
        unary, stream = handler.unary_unary, handler.unary_stream
        if method.startswith(OPEN_PREFIXES):
            # Health checks answer anyone; reflection (a client stream of small messages) is left as is.
            return handler if unary is None and stream is None else self._unread(method, handler)
        if unary is None and stream is None:
            # No client-streaming RPC exists; one added later must be given a rule here first.
            return refusal(grpc.StatusCode.PERMISSION_DENIED, f"{method}: no access rule")
        metadata = handler_call_details.invocation_metadata  # type: ignore[attr-defined]
        # Decided before the request is read: a refused call never costs its body.
        try:
            principal = await self.caller(method, metadata)
        except Aborted as exc:
            return refusal(exc.code, exc.details)
        if unary is not None and principal is None:  # login
            return self._unread(method, handler)
        if unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, principal, unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return grpc.unary_stream_rpc_method_handler(
            self._stream(method, principal, stream),  # type: ignore[arg-type]  # not None: see above
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    # -- what the HTTP gateway (gitopsd/server/rest/) calls: the same steps, in the same order --

    async def caller(self, method: str, metadata: Any) -> Principal | None:
        """The caller of `method` from its metadata alone (None for public RPCs); raises Aborted
        (UNAUTHENTICATED, or PERMISSION_DENIED for a method without a rule)."""
        rule, token = RULES.get(method), bearer_token(metadata)
        if rule == PUBLIC or not token:
            # Nothing to look up: answered on the loop, even while every worker is busy.
            return self._guarded(method, SyncContext(metadata), self._authenticate, method, metadata)
        if rule is not None:
            # A token checked before, with nothing changed since (gitopsd.auth.auth_cache): answered
            # from memory on the loop, no database read and no hop to the pool.
            principal = self._accounts.cached(token)
            if principal is not None:
                return principal
        return await asyncio.get_running_loop().run_in_executor(
            None, self._guarded, method, SyncContext(metadata), self._authenticate, method, metadata
        )

    def unary_handler(
        self, method: str, principal: Principal | None, behavior: Callable[[Any, Any], Any]
    ) -> Callable[[Any, AioContext], Awaitable[Any]]:
        """The checked call of a unary servicer method, as gRPC serves it (RBAC check, the
        servicer in the loop's executor, List replies filtered); its status goes to the context."""
        return self._unary(method, principal, behavior)

    def stream_handler(
        self, method: str, principal: Principal | None, behavior: Callable[[Any, Any], Any]
    ) -> Callable[[Any, AioContext], AsyncIterator[Any]]:
        """The checked stream of a streaming servicer method (RBAC check, the per-user stream
        limit, items filtered by `get`), as gRPC serves it."""
        return self._stream(method, principal, behavior)

    # -- the checks (synchronous: they read the database; run in the pool) ----------------

    def _guarded(self, method: str, context: SyncContext, check: Callable[..., T], *args: Any) -> T:
        """A check, with unexpected failures (a database error...) answered INTERNAL: grpc would
        otherwise send the exception's text to the client."""
        try:
            return check(*args, context)
        except Aborted:
            raise
        except Exception:
            log.exception("access check failed", extra=fields(rpc=method))
            context.abort(
                grpc.StatusCode.INTERNAL, "internal error while checking access; see the daemon's log"
            )

    def _authenticate(self, method: str, metadata: Any, context: SyncContext) -> Principal | None:
        """The caller (None for public RPCs), from the call's metadata alone; aborts with
        UNAUTHENTICATED, or PERMISSION_DENIED for a method without a rule."""
        rule = RULES.get(method)
        if rule == PUBLIC:
            return None
        token = bearer_token(metadata)
        if token is None:
            context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "no token: log in with `gitopsd login` or pass a token (--auth-token, GITOPSD_AUTH_TOKEN)",
            )
        if not token:
            context.abort(
                grpc.StatusCode.UNAUTHENTICATED, "malformed authorization metadata: expected 'Bearer TOKEN'"
            )
        try:
            principal = self._accounts.authenticate(token)
        except Unauthenticated as exc:
            log.info("unauthenticated call", extra=fields(rpc=method, reason=str(exc)))
            context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
        if rule is None:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, f"{method}: no access rule; refused")
        return principal

    def _check_call(
        self, method: str, principal: Principal | None, request: Any, context: SyncContext
    ) -> None:
        """Aborts with PERMISSION_DENIED (or INVALID_ARGUMENT) unless the request is allowed."""
        rule = RULES.get(method)
        if isinstance(rule, Check) and principal is not None:
            self._check(principal, rule, request, method, context)

    def _check(
        self, principal: Principal, rule: Check, request: Any, method: str, context: SyncContext
    ) -> None:
        try:
            if rule.normalize is not None:
                rule.normalize(request)
            objects = rule.objects(request, self._lookups)
            needed = [(rule.action, obj) for obj in objects]
            if rule.also is not None:
                needed += rule.also(request, self._lookups)
        except AppError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        if rule.self_service and principal.project_role is None and objects[0] in ("", principal.subject):
            return
        for action, obj in needed:
            if not self._authorizer.allowed(principal, rule.resource, action, obj):
                log.info(
                    "permission denied",
                    extra=fields(rpc=method, subject=principal.subject, action=action, object=obj),
                )
                context.abort(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"permission denied: {principal.subject} may not {action} {rule.resource} {obj!r}",
                )

    def _visible(self, principal: Principal | None, rule: Filter, item: Any) -> bool:
        if principal is None:
            return False
        try:
            obj = rule.item_object(item)
            return obj is not None and self._authorizer.allowed(principal, rule.resource, "get", obj)
        except Exception:  # an item that cannot be checked is not shown
            log.exception("access check of a listed item failed")
            return False

    def _drop_hidden(self, principal: Principal | None, rule: Filter, items: Any) -> None:
        """Removes from a List reply's repeated `items` what the caller may not `get`, in place:
        each run of hidden items is one slice deletion, from the end (the indexes before it stay
        true), and the items kept are never copied (a List of all can be 10,000 applications)."""
        hidden = [i for i, item in enumerate(items) if not self._visible(principal, rule, item)]
        k = len(hidden)
        while k:
            end = start = hidden[k - 1]
            k -= 1
            while k and hidden[k - 1] == start - 1:  # the run goes on just before
                k -= 1
                start -= 1
            del items[start : end + 1]

    # -- wrappers ----------------------------------------------------------------------

    def _unary(
        self, method: str, principal: Principal | None, behavior: Callable[[Any, Any], Any]
    ) -> Callable[[Any, AioContext], Awaitable[Any]]:
        rule = RULES.get(method)

        def run(request: Any, context: SyncContext) -> Any:
            # Pool threads serve one call after another: the principal is always set afresh.
            current_principal.set(None)
            self._guarded(method, context, self._check_call, method, principal, request)
            current_principal.set(principal)
            try:
                reply = behavior(request, context)
            finally:
                current_principal.set(None)
            if isinstance(rule, Filter) and reply is not None and hasattr(reply, "items"):
                self._drop_hidden(principal, rule, reply.items)
            return reply

        async def handler(request: Any, context: AioContext) -> Any:
            sync = SyncContext(context.invocation_metadata(), context)
            with self._foreground.call():
                reply = await call_sync(context, method, run, request, sync)
            return None if reply is ENDED else reply  # None: the status is set

        return handler

    def _unread(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """A handler for a call served without a token (login, health checks): its request is
        received within the bounds above, then `handler` serves it. Client-streaming on this side
        (the wire is the same): nothing is read until `_receive` asks."""
        unary: Any = handler.unary_unary  # grpc.aio handlers: coroutines and async generators
        stream: Any = handler.unary_stream
        parse = handler.request_deserializer or (lambda raw: raw)
        if unary is not None:
            run = unary if inspect.iscoroutinefunction(unary) else self._unary(method, None, unary)

            async def serve_unary(requests: AsyncIterator[bytes], context: AioContext) -> Any:
                request = await self._receive(requests, context, parse)
                return None if request is ENDED else await run(request, context)

            return grpc.stream_unary_rpc_method_handler(
                serve_unary, request_deserializer=None, response_serializer=handler.response_serializer
            )
        if inspect.iscoroutinefunction(stream):  # health Watch: writes with context.write()

            async def serve_writes(requests: AsyncIterator[bytes], context: AioContext) -> None:
                request = await self._receive(requests, context, parse)
                if request is not ENDED:
                    await stream(request, context)

            return grpc.stream_stream_rpc_method_handler(
                serve_writes, request_deserializer=None, response_serializer=handler.response_serializer
            )
        assert inspect.isasyncgenfunction(stream), f"{method}: a synchronous stream without a token"

        async def serve_stream(requests: AsyncIterator[bytes], context: AioContext) -> AsyncIterator[Any]:
            request = await self._receive(requests, context, parse)
            if request is ENDED:
                return
            async for item in stream(request, context):
                yield item

        return grpc.stream_stream_rpc_method_handler(
            serve_stream, request_deserializer=None, response_serializer=handler.response_serializer
        )

    async def _receive(
        self, requests: AsyncIterator[bytes], context: AioContext, parse: Callable[[bytes], Any]
    ) -> Any:
        """The one request message of a call without a token, or ENDED (its status set)."""
        async with self._public_reads:
            try:
                count, size, raw = await asyncio.wait_for(_read_all(requests), PUBLIC_READ_SECONDS)
            except TimeoutError:
                gc.collect()  # frees what the abandoned receiver holds (see _read_all)
                return end(
                    context,
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    f"the request did not arrive within {PUBLIC_READ_SECONDS:.0f} seconds",
                )
        if size > MAX_PUBLIC_REQUEST_BYTES:
            return end(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"request of {size} bytes is over the {MAX_PUBLIC_REQUEST_BYTES}-byte limit "
                "of calls without a token",
            )
        if count != 1:
            return end(context, grpc.StatusCode.INVALID_ARGUMENT, f"expected one request message, got {count}")
        try:
            return parse(raw)
        except Exception:
            return end(context, grpc.StatusCode.INVALID_ARGUMENT, "the request is not a valid message")

    def _stream(
        self, method: str, principal: Principal | None, behavior: Callable[[Any, Any], Any]
    ) -> Callable[[Any, AioContext], AsyncIterator[Any]]:
        rule = RULES.get(method)

        async def handler(request: Any, context: AioContext) -> AsyncIterator[Any]:
            sync = SyncContext(context.invocation_metadata(), context)
            checked = await call_sync(
                context, method, self._guarded, method, sync, self._check_call, method, principal, request
            )
            if checked is ENDED:
                return
            subject = principal.subject if principal is not None else ""
            with self._streams_lock:
                full = self._streams[subject] >= self._max_streams
                if not full:
                    self._streams[subject] += 1
            if full:
                log.info("stream limit reached", extra=fields(rpc=method, subject=subject))
                end(
                    context,
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"{subject or 'this caller'} already has {self._max_streams} open streams, the limit "
                    "(grpc.max_streams_per_user); close one first",
                )
                return
            current_principal.set(principal)  # this call's task has a context of its own
            try:
                if inspect.isasyncgenfunction(behavior):
                    items: AsyncIterator[Any] = behavior(request, context)
                else:  # a synchronous streaming servicer: each step in the pool
                    blocking = await call_sync(context, method, behavior, request, sync)
                    if blocking is ENDED:
                        return
                    items = iterate_sync(context, method, blocking)  # type: ignore[arg-type]
                async for item in items:
                    if isinstance(rule, Filter) and not await self._stream_visible(principal, rule, item):
                        continue
                    yield item
            finally:
                with self._streams_lock:
                    self._streams[subject] -= 1
                    if self._streams[subject] <= 0:
                        del self._streams[subject]

        return handler

    async def _stream_visible(self, principal: Principal | None, rule: Filter, item: Any) -> bool:
        # A user's rules are in memory; a project role's may need its project read (the pool).
        if principal is None or principal.project_role is None:
            return self._visible(principal, rule, item)
        return await asyncio.get_running_loop().run_in_executor(None, self._visible, principal, rule, item)
