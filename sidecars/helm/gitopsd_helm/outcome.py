"""Failures as they cross the worker-process boundary: a status name and a message (picklable, no grpc)."""

from __future__ import annotations

from collections.abc import Sequence

INVALID_ARGUMENT = "INVALID_ARGUMENT"
FAILED_PRECONDITION = "FAILED_PRECONDITION"
RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
INTERNAL = "INTERNAL"


class WorkerFailure(Exception):
    """Raised inside the worker; travels to the sidecar as {"code", "message"}."""

    def __init__(self, code: str, message: str, needs_credentials: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # Repositories fetched without credentials when this happened (gitopsd.sidecar.errors.RenderError).
        self.needs_credentials = list(needs_credentials)
