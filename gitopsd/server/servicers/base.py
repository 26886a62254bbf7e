"""What every servicer shares: mapping our errors to gRPC status codes, and
the UNIMPLEMENTED answer for RPCs whose feature has not landed yet."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from gitopsd.app import errors
from gitopsd.logs import fields
from gitopsd.protojson import DocumentError

log = logging.getLogger("gitopsd.api")

_CODES: list[tuple[type[errors.AppError], grpc.StatusCode]] = [
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.Conflict, grpc.StatusCode.ABORTED),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
]

F = TypeVar("F", bound=Callable[..., Any])


def status_for(exc: errors.AppError) -> grpc.StatusCode:
    for cls, code in _CODES:
        if isinstance(exc, cls):
            return code
    return grpc.StatusCode.UNKNOWN


def rpc(method: F) -> F:
    """Wraps a unary servicer method: AppError -> its status code; anything else -> INTERNAL,
    logged with its traceback (our messages never carry secrets) but not sent to the client."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except errors.AppError as exc:
            context.abort(status_for(exc), str(exc))
        except DocumentError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except Exception:
            if getattr(context, "code", lambda: None)() is not None:  # context.abort() already ran
                raise
            log.exception("internal error", extra=fields(rpc=method.__qualname__))
            context.abort(
                grpc.StatusCode.INTERNAL, f"internal error in {method.__name__}; see the daemon's log"
            )

    return wrapper  # type: ignore[return-value]
