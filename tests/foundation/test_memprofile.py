"""The memory report (gitopsd.server.memprofile): off unless asked for; when on, SIGUSR2 writes where
the memory is, by line and by call path."""

from __future__ import annotations

import os
import re
import signal
import time
import tracemalloc
from pathlib import Path

import pytest

from gitopsd.server import memprofile


def test_off_unless_the_environment_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(memprofile.ENV, raising=False)
    assert memprofile.install_from_env() is False


def test_sigusr2_writes_the_biggest_holders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    report = tmp_path / "memory.txt"
    monkeypatch.setenv(memprofile.ENV, f"{report}:4")
    previous = signal.getsignal(signal.SIGUSR2)
    try:
        assert memprofile.install_from_env() is True
        hoard = [bytes(1024) for _ in range(20_000)]  # ~20 MiB from this line
        os.kill(os.getpid(), signal.SIGUSR2)
        deadline = time.monotonic() + 30
        while not report.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        text = report.read_text()
        assert text.startswith("traced now") and "RSS" in text.splitlines()[0]
        # What was cyclic garbage and what malloc held freed, to tell them from objects in use.
        assert re.search(r"^a full gc.collect\(\) then freed \d+ objects: .* after malloc_trim RSS", text, re.M)
        assert "by line:" in text and "by call path:" in text
        assert "test_memprofile.py" in text.split("by call path:")[0]  # the hoard's line is listed
        del hoard
    finally:
        tracemalloc.stop()
        signal.signal(signal.SIGUSR2, previous)
