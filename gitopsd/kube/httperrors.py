"""The API server's answers and transport failures as gitopsd.kube.errors: HTTP status (and the
Kubernetes Status body's message) to an error class, urllib3 failures to Unreachable or Timeout
with the connection's repr left out, and when a throttled answer may be tried again.

Used by the transport (gitopsd.kube.transport) and the client's discovery and watch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import urllib3
from kubernetes.client.exceptions import ApiException

from gitopsd.kube.errors import (
    Conflict,
    Expired,
    Forbidden,
    Invalid,
    KubeError,
    NotFound,
    ServerError,
    Timeout,
    Unauthorized,
    Unreachable,
)

_BY_STATUS: dict[int, type[KubeError]] = {
    400: Invalid,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Expired,
    422: Invalid,
    408: Timeout,
    504: Timeout,
}
_MAX_MESSAGE = 2000


def status_error(status: int, body: bytes | str | None, what: str) -> KubeError:
    """Build our error from an HTTP status and a (maybe) Kubernetes Status body."""
    message = ""
    reason = None
    if body:
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            parsed = None
        if isinstance(parsed, Mapping):
            message = str(parsed.get("message") or "")
            reason = str(parsed.get("reason") or "") or None
        elif isinstance(body, bytes | str):
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            message = text.strip()[:200]
    if not message:
        message = {401: "Unauthorized (the cluster refused the credentials)", 403: "Forbidden"}.get(
            status, f"HTTP {status}"
        )
    cls = _BY_STATUS.get(status, ServerError)
    return cls(f"{what}: {message}"[:_MAX_MESSAGE], status=status, reason=reason)


def retry_after(status: int, header: str | None) -> float | None:
    """Seconds to wait before trying again, for a 429 or 5xx answer carrying ``Retry-After``
    (whole seconds, as the API server sends); None: do not retry."""
    if header is None or not (status == 429 or 500 <= status <= 599):
        return None
    try:
        seconds = int(header.strip())
    except ValueError:
        return None
    return float(seconds) if seconds >= 0 else None


def transport_error(exc: BaseException, what: str) -> KubeError:
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2: a refused connection is not a timeout.
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return Unreachable(f"{what}: cannot reach the API server: {_clean(exc)}")
    if isinstance(exc, urllib3.exceptions.TimeoutError) or (
        isinstance(exc, urllib3.exceptions.MaxRetryError)
        and isinstance(exc.reason, urllib3.exceptions.TimeoutError)
    ):
        return Timeout(f"{what}: the API server did not answer in time")
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    if isinstance(exc, urllib3.exceptions.SSLError) or (
        isinstance(exc, ApiException) and "SSL" in str(exc.reason)
    ):
        return Unreachable(f"{what}: TLS error talking to the API server: {_clean(exc)}")
    return Unreachable(f"{what}: cannot reach the API server: {_clean(exc)}")


def _clean(exc: BaseException) -> str:
    text = str(exc.reason) if isinstance(exc, ApiException) else str(exc)
    # urllib3 messages hold the connection object's repr; keep the human part.
    if ": " in text and "<" in text:
        text = text.split(": ", 1)[-1]
    return text.strip()[:300]
