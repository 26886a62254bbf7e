"""Test-only fault injection: answer matching requests with an error Status, or delay them first.

A 429 fault answers as API priority and fairness does when a priority level's queues are full:
the ``TooManyRequests`` Status with ``details.retryAfterSeconds`` and a ``Retry-After`` header.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .errors import ApiError

THROTTLED = "Too many requests, please try again later."


@dataclass
class Fault:
    path_contains: str
    status: int | None  # None: only delay, then answer normally
    message: str
    times: int | None  # None: every matching request
    method: str | None
    delay: float
    retry_after: int = 1  # seconds, for 429 answers

    def error(self) -> ApiError:
        assert self.status is not None
        if self.status != 429:
            return ApiError(self.status, self.message)
        message = THROTTLED if self.message == "injected fault" else self.message
        err = ApiError(429, message, "TooManyRequests", {"retryAfterSeconds": self.retry_after})
        err.retry_after = self.retry_after
        return err


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        path_contains: str = "",
        status: int | None = 500,
        message: str = "injected fault",
        times: int | None = 1,
        method: str | None = None,
        delay: float = 0.0,
        retry_after: int = 1,
    ) -> Fault:
        """Answer the next ``times`` requests whose path contains ``path_contains`` (and whose
        method is ``method``, if given) with ``status``, after sleeping ``delay`` seconds."""
        if status is not None and not 400 <= status <= 599:
            raise ValueError("fault status must be an HTTP error code (400-599)")
        if delay < 0:
            raise ValueError("fault delay must not be negative")
        if retry_after < 0:
            raise ValueError("retry_after must not be negative")
        fault = Fault(
            path_contains, status, message, times, method.upper() if method else None, delay, retry_after
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching this request, counting it as used."""
        with self._lock:
            for fault in self._faults:
                if fault.method not in (None, method.upper()) or fault.path_contains not in path:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None
