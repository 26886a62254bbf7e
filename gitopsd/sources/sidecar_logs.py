"""The daemon's relay of what its managed renderer sidecars write (their stdout and stderr, one pipe).

Our sidecars log one JSON object per line (gitopsd/sidecar/logs.py). Each such line becomes an event
of the daemon's own log with the sidecar's level, logger, message and fields, plus `renderer=NAME`
(which sidecar said it), written in the daemon's format. Any other line (a traceback printed by a
dying interpreter, a plugin that prints text) is a plain message at info from `gitopsd.sidecar.NAME`.

What a sidecar writes can come from a repository (tool errors quote file contents), so it is treated
as untrusted: the daemon's formatter escapes control characters and keeps field names to safe
characters; a line is read at most `MAX_LINE_BYTES` at a time (the rest of a longer one is dropped and
the event says `truncated=true`); at most `MAX_FIELDS` fields are kept; the logger name is kept only
when it looks like one; `renderer` is always the daemon's.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from typing import IO, Any

MAX_LINE_BYTES = 64 * 1024
MAX_FIELDS = 32
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}
_LOGGER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,99}")
# Keys of the sidecar's line that are the event itself, not fields.
_OWN_KEYS = ("ts", "level", "logger", "msg")


def relay_record(renderer: str, line: str, truncated: bool = False) -> logging.LogRecord:
    """The daemon's log record for one line a sidecar wrote."""
    fallback = f"gitopsd.sidecar.{renderer}"
    parsed: Any = None
    if line.startswith("{") and not truncated:
        with contextlib.suppress(ValueError):
            parsed = json.loads(line)
    if not isinstance(parsed, dict) or not isinstance(parsed.get("msg"), str):
        extra: dict[str, Any] = {"renderer": renderer}
        if truncated:
            extra["truncated"] = True
        return _record(fallback, logging.INFO, line, extra)
    level = _LEVELS.get(str(parsed.get("level", "")).lower(), logging.INFO)
    name = parsed.get("logger")
    logger = name if isinstance(name, str) and _LOGGER_NAME.fullmatch(name) else fallback
    extra = {}
    for key, value in parsed.items():
        if key in _OWN_KEYS or key == "renderer":
            continue
        if len(extra) >= MAX_FIELDS:
            extra["fields_dropped"] = len(parsed) - len(_OWN_KEYS) - MAX_FIELDS
            break
        # Our sidecars' earlier format put the traceback under "exc"; the daemon calls it "error".
        extra["error" if key == "exc" else key] = value
    extra["renderer"] = renderer
    return _record(logger, level, parsed["msg"], extra)


def _record(logger: str, level: int, msg: str, extra: dict[str, Any]) -> logging.LogRecord:
    # args=None: the message is text to print, never a %-format to expand. The record is made, not
    # logged through logging.getLogger(logger): names a sidecar sends must not pile up loggers here.
    record = logging.LogRecord(logger, level, "(sidecar)", 0, msg, None, None)
    record.fields = extra
    return record


def pump(renderer: str, stream: IO[bytes]) -> None:
    """Relays a sidecar's output until the pipe closes (runs in a thread of its own)."""
    # The daemon's level and handlers for everything this sidecar says, whatever logger it names.
    relay = logging.getLogger(f"gitopsd.sidecar.{renderer}")
    with contextlib.suppress(ValueError, OSError):
        while raw := stream.readline(MAX_LINE_BYTES):
            truncated = len(raw) >= MAX_LINE_BYTES and not raw.endswith(b"\n")
            if truncated:
                # Drop the rest of an overlong line rather than hold it in memory.
                while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line.strip():
                continue
            record = relay_record(renderer, line, truncated=truncated)
            if relay.isEnabledFor(record.levelno):
                relay.handle(record)
    with contextlib.suppress(OSError):
        stream.close()
