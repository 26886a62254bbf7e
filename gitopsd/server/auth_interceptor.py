"""The gRPC server interceptor that authenticates every call and enforces RBAC.

Health checks and reflection pass untouched; login (SessionService.Create) needs no
token; everything else needs `authorization: Bearer TOKEN` and the permission the
table in permissions.py names. List replies and Watch streams are filtered to what
the caller may `get`. Failures never echo the token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from gitopsd.app.errors import AppError
from gitopsd.auth.accounts import Accounts, Principal
from gitopsd.auth.authorizer import Authorizer
from gitopsd.auth.context import current_principal
from gitopsd.auth.errors import Unauthenticated
from gitopsd.logs import fields
from gitopsd.server.permissions import OPEN_PREFIXES, PUBLIC, RULES, Check, Filter, Lookups

log = logging.getLogger("gitopsd.auth")


def bearer_token(metadata: Any) -> str | None:
    for key, value in metadata or ():
        if key.lower() == "authorization":
            scheme, _, token = str(value).partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else ""
    return None


class AuthInterceptor(grpc.ServerInterceptor):
    def __init__(self, accounts: Accounts, authorizer: Authorizer, lookups: Lookups) -> None:
        self._accounts = accounts
        self._authorizer = authorizer
        self._lookups = lookups

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        method: str = handler_call_details.method  # type: ignore[attr-defined]
        if handler is None or method.startswith(OPEN_PREFIXES):
            return handler
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        # No client-streaming RPC exists; one added later must be given a rule here first.
        return grpc.unary_unary_rpc_method_handler(
            lambda req, ctx: ctx.abort(grpc.StatusCode.PERMISSION_DENIED, f"{method}: no access rule")
        )

    # -- the checks --------------------------------------------------------------------

    def _authorize(self, method: str, request: Any, context: grpc.ServicerContext) -> Principal | None:
        """_check_call, with unexpected failures (a database error...) answered INTERNAL: grpc would
        otherwise send the exception's text to the client."""
        try:
            return self._check_call(method, request, context)
        except Exception:
            if context.code() is not None:  # type: ignore[attr-defined]  # context.abort() already ran
                raise
            log.exception("access check failed", extra=fields(rpc=method))
            context.abort(
                grpc.StatusCode.INTERNAL, "internal error while checking access; see the daemon's log"
            )
            raise  # not reached: abort() raises

    def _check_call(self, method: str, request: Any, context: grpc.ServicerContext) -> Principal | None:
        """The caller (None for public RPCs); aborts with UNAUTHENTICATED or PERMISSION_DENIED."""
        rule = RULES.get(method)
        if rule == PUBLIC:
            return None
        token = bearer_token(context.invocation_metadata())
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
            principal = self._accounts.authenticate(token)  # type: ignore[arg-type]
        except Unauthenticated as exc:
            log.info("unauthenticated call", extra=fields(rpc=method, reason=str(exc)))
            context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
        if rule is None:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, f"{method}: no access rule; refused")
        if isinstance(rule, Check):
            self._check(principal, rule, request, method, context)
        return principal

    def _check(
        self, principal: Principal, rule: Check, request: Any, method: str, context: grpc.ServicerContext
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

    # -- wrappers ----------------------------------------------------------------------

    def _unary(self, method: str, behavior: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[..., Any]:
        rule = RULES.get(method)

        def wrapper(request: Any, context: grpc.ServicerContext) -> Any:
            current_principal.set(None)
            principal = self._authorize(method, request, context)
            current_principal.set(principal)
            try:
                reply = behavior(request, context)
            finally:
                current_principal.set(None)
            if isinstance(rule, Filter) and reply is not None and hasattr(reply, "items"):
                keep = [item for item in reply.items if self._visible(principal, rule, item)]
                del reply.items[:]
                reply.items.extend(keep)
            return reply

        return wrapper

    def _stream(
        self, method: str, behavior: Callable[[Any, grpc.ServicerContext], Iterator[Any]]
    ) -> Callable[..., Iterator[Any]]:
        rule = RULES.get(method)

        def wrapper(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            current_principal.set(None)
            principal = self._authorize(method, request, context)
            current_principal.set(principal)
            for item in behavior(request, context):
                if isinstance(rule, Filter) and not self._visible(principal, rule, item):
                    continue
                yield item

        return wrapper
