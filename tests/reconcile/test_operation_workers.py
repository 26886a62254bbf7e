"""reconcile.operation_workers: sync operations run that many at a time; the others wait their turn
and then run (gitopsd.app.sync_operations)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, configmap, create_compared, presync_hook, status


@pytest.fixture
def gitops_env_extra() -> dict[str, str]:
    """gitops_env's daemon with one operation worker."""
    return {"GITOPSD_RECONCILE_OPERATION_WORKERS": "1"}


def test_a_sync_waits_for_the_one_operation_worker_then_runs(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("turns")
    repo.commit(
        {
            # A PreSync hook that runs for 10 s keeps the one worker busy.
            "slow/hook.yaml": presync_hook("hold", 10),
            "slow/cm.yaml": configmap("slow-config"),
            "fast/cm.yaml": configmap("fast-config"),
        }
    )
    create_compared(cli, tmp_path, application("slow", repo.url, "slow", "turns-slow"))
    create_compared(cli, tmp_path, application("fast", repo.url, "fast", "turns-fast"))

    assert cli("app", "sync", "slow", "--async").returncode == 0
    wait_for(lambda: kubectl("-n", "turns-slow", "get", "job", "hold").returncode == 0, what="the hook running")
    assert cli("app", "sync", "fast", "--async").returncode == 0  # accepted at once, run later
    wait_for(lambda: status(cli, "slow").get("operationState", {}).get("phase") == "Succeeded", what="slow sync")
    wait_for(lambda: status(cli, "fast").get("operationState", {}).get("phase") == "Succeeded", what="fast sync")
    # The order, not a time window (a loaded machine stretches every window): the fast operation
    # applied its ConfigMap only once the slow one, whose hook held the worker 10 s, had finished.
    slow_finished = _instant(status(cli, "slow")["operationState"]["finishedAt"])
    done = kubectl("-n", "turns-fast", "get", "cm", "fast-config", "-o", "jsonpath={.metadata.creationTimestamp}")
    assert done.returncode == 0, done.stderr
    assert _instant(done.stdout) >= slow_finished, (done.stdout, slow_finished)


def _instant(stamp: str) -> datetime:
    # Both are RFC 3339 to the second: the ConfigMap may carry the same second as the finish.
    return datetime.fromisoformat(stamp.strip().replace("Z", "+00:00")).replace(microsecond=0)
