"""The daemon's log as an operator reads it: one event per line in the chosen format (logfmt or
JSON), the renderer sidecars' lines relayed as events with their own level, logger and fields, and a
failed sync logged as a warning naming the application and the reason. A repository's content that
reaches a sidecar's message (here a file name with a newline and `key=value` text) cannot add fields
or lines to the daemon's log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fixtures.daemon import CLI, DaemonProcess, wait_for
from fixtures.gitrepos import GitRepos
from fixtures.logparse import parse_logfmt

# A resource name that, printed raw, would start a new logfmt line claiming an error and a field.
HOSTILE = "missing\nlevel=error logger=gitopsd.server msg=forged injected=1 .yaml"

def events(log: str, fmt: str) -> list[dict[str, Any]]:
    parsed = []
    for line in log.splitlines():
        if not line:
            continue
        event = parse_logfmt(line) if fmt == "logfmt" else json.loads(line)
        assert isinstance(event, dict), line
        assert list(event)[:4] == ["ts", "level", "logger", "msg"], line
        assert event["level"] in ("debug", "info", "warning", "error"), line
        parsed.append(event)
    return parsed


@pytest.mark.parametrize("fmt", ["logfmt", "json"])
def test_sidecar_lines_and_a_failed_sync_are_structured_events(
    fmt: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    repo = git_repos.create("broken")
    repo.commit({"app/kustomization.yaml": json.dumps({"resources": [HOSTILE]})})
    daemon = DaemonProcess(
        data_dir=tmp_path / "data", log_path=tmp_path / "daemon.log", extra_args=["--log-format", fmt]
    ).start()
    try:
        cli = CLI(daemon.address, tmp_path)
        created = cli(
            "app", "create", "broken", "--repo", repo.url, "--path", "app",
            "--dest-server", "https://kubernetes.default.svc", "--dest-namespace", "default",
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        synced = cli("app", "sync", "broken")
        assert synced.returncode != 0
        wait_for(lambda: "sync failed" in daemon.log(), what="the failed sync in the log")
    finally:
        daemon.stop()
    log = daemon.log()
    parsed = events(log, fmt)

    # The sidecars' own lines, relayed with their level, logger and fields, not as escaped JSON.
    serving = [e for e in parsed if e["msg"] == "serving" and e["logger"] == "gitopsd.sidecar"]
    assert {e["renderer"] for e in serving} == {"helm", "kustomize", "jsonnet"}, log
    assert all(e["level"] == "info" for e in serving)
    assert not [e for e in parsed if e["msg"].lstrip().startswith("{")], log
    refused = [e for e in parsed if e["msg"].startswith("render failed")]
    assert refused, log
    assert all(e["level"] == "warning" and e["renderer"] == "kustomize" for e in refused), refused
    assert refused[0]["app"] == "broken" and refused[0]["path"] == "app"
    assert HOSTILE in refused[0]["msg"]  # the repository's newline reached the log, escaped

    failed = [e for e in parsed if e["msg"] == "sync failed"]
    assert len(failed) == 1, log
    assert failed[0]["level"] == "warning" and failed[0]["logger"] == "gitopsd.controller"
    assert failed[0]["app"] == "broken"
    assert failed[0]["reason"].startswith("rendering failed:")
    assert failed[0]["phase"] == "Failed"
    comparison = [e for e in parsed if e["msg"] == "comparison failed"]
    assert comparison and comparison[0]["app"] == "broken" and comparison[0]["level"] == "warning"

    # The repository's text is inside values only: no forged event, no extra field.
    assert not [e for e in parsed if e["msg"] == "forged" or "injected" in e], log
