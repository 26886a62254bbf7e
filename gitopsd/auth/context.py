"""The principal of the RPC being served, for servicers that need to know who calls
(operation initiator, logout, user info). Set by the server's auth interceptor."""

from __future__ import annotations

from contextvars import ContextVar

from gitopsd.auth.accounts import Principal

current_principal: ContextVar[Principal | None] = ContextVar("gitopsd_principal", default=None)


def current_username(default: str = "") -> str:
    principal = current_principal.get()
    return principal.subject if principal is not None else default
