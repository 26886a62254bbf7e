"""Structured logging for every gitopsd process: one line per event on stderr (journald keeps it as-is).

Use `log.info("message", extra=fields(key=value))`. Two formats carry the same event:
`logfmt` (the default: `ts=... level=info logger=gitopsd.server msg=serving grpc=...`) and `json`
(one object per line, the same keys). Whatever a message or a field holds, one event is one line:
logfmt escapes newlines and every other control character, JSON escapes everything outside ASCII,
and field names are reduced to safe characters and can never replace ts, level, logger or msg.
The renderer sidecars log in JSON and the daemon relays each of their lines as an event of its own
(gitopsd/sources/sidecar_logs.py).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("logfmt", "json")
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}

# The keys every event starts with: fields never take their place (a field of that name is
# written with a leading underscore).
CORE_KEYS = ("ts", "level", "logger", "msg")
_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9_.\-/]")
_MAX_KEY = 64


def fields(**kv: Any) -> dict[str, Any]:
    return {"fields": kv}


def safe_key(key: object) -> str:
    """A field name that cannot break a logfmt line or pose as one of the core keys."""
    text = _UNSAFE_KEY.sub("_", str(key))[:_MAX_KEY] or "_"
    return "_" + text if text in CORE_KEYS else text


def _quote(raw: Any) -> str:
    # Nested values (a relayed sidecar field) as compact JSON; numbers and booleans as they print.
    value: str = (
        raw
        if isinstance(raw, str)
        else json.dumps(raw, default=str)
        if isinstance(raw, (dict, list))
        else str(raw)
    )
    if value and value.isprintable() and not any(c in value for c in ' "=\\'):
        return value
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:  # newlines, terminal escapes, U+2028...: never a raw control character in the log
            out.append(json.dumps(ch)[1:-1])  # \n, \u001b: a quoted value is also a JSON string
    return '"' + "".join(out) + '"'


def event(record: logging.LogRecord, formatter: logging.Formatter) -> dict[str, Any]:
    """The keys and values of one record, in the order they are written."""
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
    out: dict[str, Any] = {
        "ts": ts,
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    extra = getattr(record, "fields", None)
    if isinstance(extra, dict):
        for key, value in extra.items():
            out[safe_key(key)] = value
    if record.exc_info and record.exc_info[0] is not None:
        out["error"] = formatter.formatException(record.exc_info)
    return out


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={_quote(value)}" for key, value in event(record, self).items())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # ensure_ascii: U+2028 and friends stay escaped, so no reader splits the line.
        return json.dumps(event(record, self), default=str, ensure_ascii=True)


def formatter(fmt: str) -> logging.Formatter:
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r} is not one of {', '.join(FORMATS)}")
    return JsonFormatter() if fmt == "json" else LogfmtFormatter()


def setup_logging(level: str, fmt: str = "logfmt") -> None:
    """All logs of this process to stderr at `level`, one `fmt` (logfmt or json) line per event."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS.get(level, logging.INFO))
    # Third-party chatter (urllib3 retries, kubernetes) stays at warning unless debugging.
    for noisy in ("urllib3", "kubernetes", "git", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
