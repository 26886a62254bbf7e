"""Size and time limits of one render: the request's RenderLimits over the sidecar's defaults."""

from __future__ import annotations

from dataclasses import dataclass, replace

from gitopsd.api.gitopsd.v1 import renderer_pb2

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Effective limits for one render (bytes and seconds)."""

    max_input_bytes: int = 10 * MIB
    max_output_bytes: int = 10 * MIB
    # Big real charts (dashboards, CRDs) expand to several MiB; Helm's own ceiling is 100 MiB.
    max_chart_bytes: int = 32 * MIB
    timeout_seconds: float = 90.0
    # Memory of each render child process (kubectl, a Helm worker); set by --max-memory-bytes.
    max_memory_bytes: int = 1024 * MIB


DEFAULT_LIMITS = Limits()


def effective_limits(requested: renderer_pb2.RenderLimits | None, defaults: Limits) -> Limits:
    """Apply the request's limits (0 = unset) over the sidecar's defaults.

    The daemon is the only client (the socket is 0600), so a request may raise a limit as well
    as lower it: limits are the daemon's configuration, carried per request.
    """
    if requested is None:
        return defaults
    limits = defaults
    if requested.max_output_bytes > 0:
        limits = replace(limits, max_output_bytes=requested.max_output_bytes)
    if requested.max_chart_bytes > 0:
        limits = replace(limits, max_chart_bytes=requested.max_chart_bytes)
    if requested.timeout_seconds > 0:
        limits = replace(limits, timeout_seconds=float(requested.timeout_seconds))
    return limits
