"""The health states, ordered as Argo CD's health.IsWorse orders them, and the result value."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class HealthStatus(Enum):
    """Healthy < Suspended < Progressing < Missing < Degraded < Unknown (worst)."""

    HEALTHY = "Healthy"
    SUSPENDED = "Suspended"
    PROGRESSING = "Progressing"
    MISSING = "Missing"
    DEGRADED = "Degraded"
    UNKNOWN = "Unknown"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    def is_worse(self, other: HealthStatus) -> bool:
        """True when ``self`` is a worse condition than ``other``."""
        return self.rank > other.rank

    def __lt__(self, other: HealthStatus) -> bool:
        return self.rank < other.rank

    @staticmethod
    def parse(value: str) -> HealthStatus | None:
        for s in HealthStatus:
            if s.value == value:
                return s
        return None


_ORDER = list(HealthStatus)


@dataclass(frozen=True)
class HealthResult:
    status: HealthStatus
    message: str = ""

    def __str__(self) -> str:
        return f"{self.status.value} ({self.message})" if self.message else self.status.value


def worst(results: Iterable[HealthResult | None]) -> HealthResult:
    """The application's health: the worst of its resources' (Healthy when there is nothing to judge)."""
    out = HealthResult(HealthStatus.HEALTHY)
    for r in results:
        if r is not None and r.status.is_worse(out.status):
            out = r
    return out
