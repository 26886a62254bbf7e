"""Logging of a renderer sidecar: the daemon's event formats (gitopsd.logs), JSON lines by default.

JSON is the default because a supervising daemon reads these lines and relays each one as an event
of its own, with its level and fields (gitopsd/sources/sidecar_logs.py); `--log-format logfmt` suits
a sidecar whose stderr goes straight to the journal. Fields passed with `extra={"fields": {...}}` are
merged into the line. Callers never pass credentials; messages from tools are scrubbed before they
are logged.
"""

from __future__ import annotations

from gitopsd.logs import FORMATS, LEVELS
from gitopsd.logs import setup_logging as _setup

__all__ = ["FORMATS", "LEVELS", "setup_logging"]


def setup_logging(level: str, fmt: str = "json") -> None:
    """Send all logs to stderr at `level` (debug, info, warning, error), one `fmt` line per event."""
    _setup(level, fmt)
