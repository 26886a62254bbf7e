"""SessionService (login, logout, user info) and AccountService (local accounts, API keys).

Passwords and tokens go in; the only secret that ever comes out is a token handed
out on purpose (login, CreateToken), once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.api.gitopsd.v1 import session_pb2 as sesspb
from gitopsd.api.gitopsd.v1 import session_pb2_grpc as sessgrpc
from gitopsd.app.errors import InvalidArgument
from gitopsd.auth.accounts import Accounts, Principal
from gitopsd.auth.authorizer import Authorizer
from gitopsd.auth.context import current_principal
from gitopsd.auth.errors import PermissionDenied, Unauthenticated
from gitopsd.auth.rbac import ACTIONS, RESOURCE_ACTION_PREFIX, RESOURCES
from gitopsd.auth.tokens import ISSUER
from gitopsd.server.servicers.base import rpc

F = TypeVar("F", bound=Callable[..., Any])


def auth_rpc(method: F) -> F:
    """@rpc plus the auth errors' own status codes."""

    @functools.wraps(method)
    def inner(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except Unauthenticated as exc:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
        except PermissionDenied as exc:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))

    return rpc(inner)  # type: ignore[return-value]


def _caller(context: grpc.ServicerContext) -> Principal:
    principal = current_principal.get()
    if principal is None:  # the interceptor always sets it for these RPCs
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "no token")
    return principal  # type: ignore[return-value]


class SessionServicer(sessgrpc.SessionServiceServicer):
    def __init__(self, accounts: Accounts, authorizer: Authorizer) -> None:
        self._accounts = accounts
        self._authorizer = authorizer

    @auth_rpc
    def Create(
        self, request: sesspb.CreateSessionRequest, context: grpc.ServicerContext
    ) -> sesspb.SessionResponse:
        token, claims = self._accounts.login(request.username, request.password)
        return sesspb.SessionResponse(token=token, expires_at=claims.expires_at)

    @auth_rpc
    def Delete(self, request: common_pb2.Empty, context: grpc.ServicerContext) -> common_pb2.Empty:
        self._accounts.logout(_caller(context))
        return common_pb2.Empty()

    @auth_rpc
    def GetUserInfo(self, request: common_pb2.Empty, context: grpc.ServicerContext) -> sesspb.UserInfo:
        principal = _caller(context)
        return sesspb.UserInfo(
            logged_in=True,
            username=principal.subject,
            groups=sorted(self._authorizer.groups_of(principal)),
            issuer=ISSUER,
        )


class AccountServicer(sessgrpc.AccountServiceServicer):
    def __init__(self, accounts: Accounts, authorizer: Authorizer | None = None) -> None:
        self._accounts = accounts
        self._authorizer = authorizer

    @auth_rpc
    def CanI(self, request: sesspb.CanIRequest, context: grpc.ServicerContext) -> sesspb.CanIResponse:
        """argocd account can-i ACTION RESOURCE SUBRESOURCE: the very check the RPCs make."""
        if request.resource not in RESOURCES:
            raise InvalidArgument(f"resource: {request.resource!r} is not one of {', '.join(RESOURCES)}")
        action = request.action
        if action not in ACTIONS and not action.startswith(RESOURCE_ACTION_PREFIX):
            raise InvalidArgument(
                f"action: {action!r} is not one of {', '.join(ACTIONS)} or action/GROUP/KIND/ACTION"
            )
        if not request.subresource:
            raise InvalidArgument("subresource: required (PROJECT/APP for applications, a name, or '*')")
        allowed = self._authorizer is not None and self._authorizer.allowed(
            _caller(context), request.resource, action, request.subresource
        )
        return sesspb.CanIResponse(value="yes" if allowed else "no")

    @auth_rpc
    def List(self, request: common_pb2.Empty, context: grpc.ServicerContext) -> sesspb.AccountList:
        return sesspb.AccountList(items=self._accounts.list())

    @auth_rpc
    def Get(self, request: common_pb2.NameRequest, context: grpc.ServicerContext) -> sesspb.Account:
        return self._accounts.get(request.name or _caller(context).subject)

    @auth_rpc
    def UpdatePassword(
        self, request: sesspb.UpdatePasswordRequest, context: grpc.ServicerContext
    ) -> common_pb2.Empty:
        self._accounts.update_password(
            _caller(context), request.name, request.current_password, request.new_password
        )
        return common_pb2.Empty()

    @auth_rpc
    def CreateToken(
        self, request: sesspb.CreateAccountTokenRequest, context: grpc.ServicerContext
    ) -> sesspb.CreateAccountTokenResponse:
        token = self._accounts.create_token(_caller(context), request.name, request.expires_in, request.id)
        return sesspb.CreateAccountTokenResponse(token=token)

    @auth_rpc
    def DeleteToken(
        self, request: sesspb.DeleteAccountTokenRequest, context: grpc.ServicerContext
    ) -> common_pb2.Empty:
        self._accounts.delete_token(_caller(context), request.name, request.id)
        return common_pb2.Empty()
