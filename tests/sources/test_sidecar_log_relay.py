"""What a supervised sidecar writes becomes events of the daemon's log: its JSON lines with their
level, logger and fields; anything else a plain message at info; and nothing it writes can forge an
event, a core key, the `renderer` field, a control character or an unbounded line."""

from __future__ import annotations

import io
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.logparse import parse_logfmt

from gitopsd.logs import JsonFormatter, LogfmtFormatter
from gitopsd.sources.sidecars import SidecarConfig, SidecarSupervisor

# A "sidecar" that writes hostile lines and exits (it never serves: only its output matters here).
SCRIPT = r"""
import json, sys
out = sys.stdout
out.write(json.dumps({"ts": "x", "level": "error", "logger": "gitopsd_helm.pool", "msg": "a Helm worker died",
                      "exitcode": -9, "renderer": "helm", "error": "Traceback\n  boom"}) + "\n")
out.write(json.dumps({"ts": "x", "level": "warning", "logger": "bad logger\nname", "msg": "two\nlines",
                      "bad key=x": 1, "nested": {"a": [1, 2]}}) + "\n")
out.write("plain text level=error injected=1 \x1b[31mred\u2028next\n")
out.write('{"level": "error", "msg": 5}\n')
out.write("y" * 300_000 + "\n")
out.write(json.dumps({"level": "info", "msg": "after the long line"}) + "\n")
out.flush()
sys.exit(3)
"""


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    logfmt, jsonl = io.StringIO(), io.StringIO()
    handlers = []
    for stream, fmt in ((logfmt, LogfmtFormatter()), (jsonl, JsonFormatter())):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(fmt)
        handlers.append(handler)
        logging.getLogger().addHandler(handler)
    relay = logging.getLogger("gitopsd.sidecar.evil")
    relay.setLevel(logging.DEBUG)
    try:
        yield logfmt, jsonl
    finally:
        for handler in handlers:
            logging.getLogger().removeHandler(handler)
        relay.setLevel(logging.NOTSET)


def test_hostile_sidecar_output_is_relayed_as_safe_events(
    short_tmp: Path, captured: tuple[io.StringIO, io.StringIO]
) -> None:
    logfmt, jsonl = captured
    sup = SidecarSupervisor(
        SidecarConfig(
            socket_dir=short_tmp,
            manage_builtins=False,
            commands={"evil": [sys.executable, "-c", SCRIPT]},
            ready_timeout=5,
            restart_backoff_initial=30,
        )
    )
    sup.start()
    try:
        deadline = time.monotonic() + 30
        while "after the long line" not in jsonl.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sup.stop()
    events = [json.loads(line) for line in jsonl.getvalue().splitlines()]
    relayed = [e for e in events if e.get("renderer") == "evil"]
    assert [e["msg"] for e in relayed] == [
        "a Helm worker died",
        "two\nlines",
        "plain text level=error injected=1 \x1b[31mred\u2028next",
        '{"level": "error", "msg": 5}',
        long_msg := next((e["msg"] for e in relayed if e["msg"].startswith("yyy")), ""),
        "after the long line",
    ]
    died, two, plain, not_ours, long, after = relayed
    # The sidecar's level, logger and fields; its `renderer` claim is replaced by the daemon's.
    assert (died["level"], died["logger"], died["exitcode"], died["error"]) == (
        "error", "gitopsd_helm.pool", -9, "Traceback\n  boom",
    )  # fmt: skip
    assert (two["level"], two["logger"]) == ("warning", "gitopsd.sidecar.evil")  # not a logger name
    assert two["nested"] == {"a": [1, 2]} and two["bad_key_x"] == 1
    assert plain["level"] == "info" and plain["logger"] == "gitopsd.sidecar.evil" and "injected" not in plain
    assert not_ours["level"] == "info"  # JSON, but not an event of ours: text
    # An overlong line is cut (the rest dropped unread into memory) and says so.
    assert 1000 < len(long_msg) < 300_000 and set(long_msg) == {"y"}
    assert long["truncated"] is True and after["level"] == "info"

    lines = [line for line in logfmt.getvalue().splitlines() if "renderer=evil" in line]
    assert len(lines) == len(relayed)  # one line per event, whatever the messages hold
    for line, event in zip(lines, relayed, strict=True):
        assert line.isprintable(), line  # no newline, escape or line separator reaches the log
        parsed = parse_logfmt(line)
        assert list(parsed)[:4] == ["ts", "level", "logger", "msg"] and "injected" not in parsed
        assert (parsed["level"], parsed["logger"], parsed["msg"]) == (event["level"], event["logger"], event["msg"])
        assert parsed["renderer"] == "evil"
    assert "bad_key_x=1" in lines[1] and 'nested="{\\"a\\": [1, 2]}"' in lines[1]
