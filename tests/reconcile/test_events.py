"""The application event log (`gitopsd app events`): who changed what, operations, status changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fixtures.daemon import CLI, GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, configmap, create, status


def events(cli: CLI, name: str) -> list[dict[str, Any]]:
    result = cli("app", "events", name, "-o", "json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def test_the_event_log_says_who_did_what_and_what_changed(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("events")
    sha = repo.commit({"apps/web/cm.yaml": configmap("web-config")}, message="add config")
    create(cli, tmp_path, application("web", repo.url, "apps/web", "production"))
    wait_for(lambda: status(cli, "web").get("sync", {}).get("status") == "OutOfSync", what="first comparison")

    pinned = cli("app", "set", "web", "--revision", sha)
    assert pinned.returncode == 0, pinned.stderr
    synced = cli("app", "sync", "web")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    wait_for(lambda: status(cli, "web")["sync"]["status"] == "Synced", what="synced")
    failed = cli("app", "sync", "web", "--revision", "no-such-branch")
    assert failed.returncode != 0

    log = wait_for(
        lambda: (e := events(cli, "web")) and any("no-such-branch" in x["message"] for x in e) and e,
        what="the failed sync in the event log",
    )
    lines = [(e["type"], e["reason"], e["message"]) for e in log]
    assert lines[0] == ("Normal", "ResourceCreated", "admin created the application")
    assert ("Normal", "ResourceUpdated", "admin updated the application: spec.source.targetRevision") in lines
    assert ("Normal", "OperationStarted", "admin initiated a sync to the target revision") in lines
    completed = [m for t, r, m in lines if r == "OperationCompleted" and t == "Normal"]
    assert completed and completed[0].startswith(f"sync to {sha[:12]} succeeded")
    assert ("Normal", "ResourceUpdated", "sync status: OutOfSync → Synced") in lines
    assert any(
        r == "ResourceUpdated" and m.startswith("health status: Missing → Healthy") for _, r, m in lines
    )
    assert ("Normal", "OperationStarted", "admin initiated a sync to no-such-branch") in lines
    warning = [m for t, r, m in lines if r == "OperationCompleted" and t == "Warning"]
    assert warning and "no-such-branch" in warning[0]
    assert all(e["timestamp"] for e in log)

    table = cli("app", "events", "web", "--limit", "2").stdout.splitlines()
    assert table[0].split() == ["DATE", "TYPE", "REASON", "MESSAGE"]
    assert len(table) == 3  # the newest two

    # The log outlives the application: its deletion is the last entry.
    assert cli("app", "delete", "web", "-y").returncode == 0
    assert events(cli, "web")[-1]["message"] == "admin deleted the application (its resources deleted)"
