"""Test-only fault injection: answer matching requests with an error Status, or delay them first."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class Fault:
    path_contains: str
    status: int | None  # None: only delay, then answer normally
    message: str
    times: int | None  # None: every matching request
    method: str | None
    delay: float


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
    ) -> Fault:
        """Answer the next ``times`` requests whose path contains ``path_contains`` (and whose
        method is ``method``, if given) with ``status``, after sleeping ``delay`` seconds."""
        if status is not None and not 400 <= status <= 599:
            raise ValueError("fault status must be an HTTP error code (400-599)")
        if delay < 0:
            raise ValueError("fault delay must not be negative")
        fault = Fault(path_contains, status, message, times, method.upper() if method else None, delay)
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
