"""Automated sync: new commits deploy themselves, self-heal undoes drift, prune follows Git,
a failed revision is not retried forever, rollback is refused while automation is on."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, configmap, create, deployment, status


def _replicas(kubectl, ns: str, name: str) -> int | None:  # type: ignore[no-untyped-def]
    out = kubectl("-n", ns, "get", "deploy", name, "-o", "json")
    return json.loads(out.stdout)["spec"]["replicas"] if out.returncode == 0 else None


def test_automated_sync_self_heal_and_new_commits(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("auto")
    repo.commit(
        {"web/deploy.yaml": deployment(replicas=2), "web/cm.yaml": configmap("settings")}, message="feat: web"
    )
    create(cli, tmp_path, application("auto", repo.url, "web", "auto", automated=True))

    # Deployed without anyone running sync.
    wait_for(lambda: _replicas(kubectl, "auto", "web") == 2, what="automated sync")
    wait_for(lambda: status(cli, "auto").get("health", {}).get("status") == "Healthy", what="healthy")

    # Self-heal: a hand-made change is undone within seconds.
    assert kubectl("-n", "auto", "scale", "deploy", "web", "--replicas=7").returncode == 0
    wait_for(lambda: _replicas(kubectl, "auto", "web") == 2, timeout=30, what="self-heal")

    # A new commit is deployed, and what it removed is pruned (prune: true).
    new = repo.commit(
        {"web/deploy.yaml": deployment(replicas=4), "web/cm.yaml": None}, message="feat: scale out"
    )
    assert cli("app", "get", "auto", "--refresh").returncode == 0
    wait_for(lambda: _replicas(kubectl, "auto", "web") == 4, what="new commit deployed")
    wait_for(lambda: kubectl("-n", "auto", "get", "cm", "settings").returncode != 0, what="prune")
    history = json.loads(cli("app", "history", "auto", "-o", "json").stdout)
    assert history[-1]["revision"] == new and history[-1]["initiatedBy"]["automated"] is True

    refused = cli("app", "rollback", "auto", "1")
    assert refused.returncode == 2
    assert "automated sync is on" in refused.stderr


def test_failed_revision_is_not_retried_forever(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("bad")
    # An invalid object (a Service port that is not a number) fails on the server every time.
    bad_service = (
        "apiVersion: v1\nkind: Service\nmetadata: {name: broken}\n"
        "spec: {ports: [{port: not-a-number}], selector: {app: x}}\n"
    )
    repo.commit({"app/cm.yaml": configmap("fine"), "app/svc.yaml": bad_service}, message="broken service")
    create(cli, tmp_path, application("bad", repo.url, "app", "bad", automated=True))

    st = wait_for(
        lambda: (s := status(cli, "bad")).get("operationState", {}).get("phase") == "Failed" and s,
        what="failed sync",
    )
    assert any(c["type"] == "SyncError" for c in st.get("conditions", []))
    first_op = st["operationState"]["startedAt"]
    # Later refreshes do not start the same failing sync again.
    for _ in range(3):
        cli("app", "get", "bad", "--refresh")
    assert status(cli, "bad")["operationState"]["startedAt"] == first_op
    assert len(json.loads(cli("app", "history", "bad", "-o", "json").stdout)) == 1
