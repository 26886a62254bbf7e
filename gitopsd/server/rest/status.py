"""gRPC status codes as HTTP statuses, the way grpc-gateway (and so Argo CD's API) maps them,
and the error body Argo CD clients parse: {"error", "code", "message"}."""

from __future__ import annotations

from typing import Any

import grpc
from starlette.responses import JSONResponse

HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    # grpc-gateway's choice: a request that cannot succeed in the current state is the client's.
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}


def error_body(code: grpc.StatusCode, message: str) -> dict[str, Any]:
    # `code` is the gRPC code's number, as grpc-gateway writes it.
    return {"error": message, "code": code.value[0], "message": message}


def error_response(
    code: grpc.StatusCode, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), HTTP_STATUS.get(code, 500), headers=headers)
