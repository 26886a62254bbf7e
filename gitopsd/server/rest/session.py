"""Credentials of an HTTP API call: a bearer token, or the session cookie a browser holds; and the
CSRF rule for the cookie.

`POST /api/v1/session` answers the token (as Argo CD) and also sets two cookies: `gitopsd.token`
(HttpOnly, SameSite=Strict, Secure under TLS) and `gitopsd.csrf`, readable by the page's script.
A call authenticated by the cookie that changes anything (POST, PUT, PATCH, DELETE) must send the
`X-CSRF-Token` header with the csrf cookie's value (double submit). The value is an HMAC of the
session token, so it cannot be forged without the token and reveals nothing of it, and needs no
state on the server. Calls with an `Authorization: Bearer` header need no CSRF token: a page of
another site cannot set that header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

TOKEN_COOKIE = "gitopsd.token"
CSRF_COOKIE = "gitopsd.csrf"
CSRF_HEADER = "x-csrf-token"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Credentials:
    # What the gRPC interceptor reads: (("authorization", "Bearer ..."),) or ().
    metadata: tuple[tuple[str, str], ...]
    from_cookie: bool
    token: str


def credentials(request: Request) -> Credentials:
    header = request.headers.get("authorization")
    if header is not None:
        # Passed on as it came: the interceptor tells a malformed one from a missing one.
        scheme, _, token = header.partition(" ")
        return Credentials((("authorization", header),), False, token.strip())
    cookie = request.cookies.get(TOKEN_COOKIE, "")
    if cookie:
        return Credentials((("authorization", f"Bearer {cookie}"),), True, cookie)
    return Credentials((), False, "")


def csrf_token(session_token: str) -> str:
    mac = hmac.new(session_token.encode(), b"gitopsd csrf v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def csrf_refusal(request: Request, creds: Credentials) -> str | None:
    """Why a cookie-authenticated state-changing call is refused, or None."""
    if not creds.from_cookie or request.method not in STATE_CHANGING:
        return None
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent:
        return (
            f"missing CSRF token: a call authenticated by the {TOKEN_COOKIE} cookie must send the "
            f"X-CSRF-Token header (the {CSRF_COOKIE} cookie's value), or use Authorization: Bearer"
        )
    if not hmac.compare_digest(sent.encode(), csrf_token(creds.token).encode()):
        return "CSRF token does not match this session; log in again"
    return None


def set_session_cookies(response: Response, token: str, expires_at: int, secure: bool) -> None:
    max_age = max(0, expires_at - int(time.time())) if expires_at else None
    response.set_cookie(
        TOKEN_COOKIE, token, max_age=max_age, path="/", secure=secure, httponly=True, samesite="strict"
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf_token(token),
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=False,
        samesite="strict",
    )


def clear_session_cookies(response: Response, secure: bool) -> None:
    for name, httponly in ((TOKEN_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(name, path="/", secure=secure, httponly=httponly, samesite="strict")
