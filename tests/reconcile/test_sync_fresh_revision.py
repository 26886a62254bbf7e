"""A user's `app sync` right after a push deploys the pushed commit, not the one the ls-remote cache
remembered (issue 15): with or without --revision BRANCH, as a user's refresh does."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, create, deployment, status


def _replicas(kubectl, name: str) -> int:  # type: ignore[no-untyped-def]
    got = kubectl("-n", "fresh", "get", "deploy", name, "-o", "json")
    assert got.returncode == 0, got.stderr
    return int(json.loads(got.stdout)["spec"]["replicas"])


def test_sync_right_after_a_push_deploys_the_new_commit(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("fresh")
    first = repo.commit({"web/deploy.yaml": deployment(replicas=1)})
    create(cli, tmp_path, application("fresh", repo.url, "web", "fresh"))
    wait_for(lambda: status(cli, "fresh").get("sync", {}).get("revision") == first, what="first comparison")

    # The daemon has just asked the repository for its branches; a push now, then a sync at once.
    second = repo.commit({"web/deploy.yaml": deployment(replicas=2)})
    synced = cli("app", "sync", "fresh")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert _replicas(kubectl, "web") == 2
    assert status(cli, "fresh")["operationState"]["syncResult"]["revision"] == second

    # The same with the branch named on the command line.
    third = repo.commit({"web/deploy.yaml": deployment(replicas=3)})
    synced = cli("app", "sync", "fresh", "--revision", "main")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert _replicas(kubectl, "web") == 3
    assert status(cli, "fresh")["operationState"]["syncResult"]["revision"] == third
