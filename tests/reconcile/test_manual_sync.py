"""The seed article's manual flow end to end: get, diff, sync, drift, prune, history, rollback."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, configmap, create, deployment, status


def test_manual_sync_drift_prune_history_and_rollback(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("manifests")
    first = repo.commit(
        {"apps/web/deploy.yaml": deployment(replicas=2), "apps/web/cm.yaml": configmap("web-config")},
        message="feat: add web\n\nwith its config",
    )
    create(cli, tmp_path, application("web", repo.url, "apps/web", "production"))

    # Nothing is applied before a sync: the app is OutOfSync, its resources Missing.
    st = wait_for(
        lambda: (s := status(cli, "web")).get("sync", {}).get("status") == "OutOfSync" and s,
        what="first comparison",
    )
    assert st["sync"]["revision"] == first
    assert {r["name"]: r["status"] for r in st["resources"]} == {"web": "Missing", "web-config": "Missing"}
    assert cli("app", "diff", "web").returncode == 1

    synced = cli("app", "sync", "web")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "Phase:              Succeeded" in synced.stdout
    assert "created" in synced.stdout
    assert kubectl("-n", "production", "get", "deploy", "web").returncode == 0

    waited = cli("app", "wait", "web", "--sync", "--health", "--timeout", "30")
    assert waited.returncode == 0, waited.stderr
    assert cli("app", "diff", "web").returncode == 0

    # Someone scales by hand: the drift is noticed without a poll, and named.
    assert kubectl("-n", "production", "scale", "deploy", "web", "--replicas=5").returncode == 0
    st = wait_for(lambda: (s := status(cli, "web"))["sync"]["status"] == "OutOfSync" and s, what="drift")
    assert "Deployment production/web: spec.replicas 5 → 2" in st["sync"]["reason"]
    got = cli("app", "get", "web").stdout
    assert "OutOfSync from main (" + first[:7] + ")" in got and "spec.replicas 5 → 2" in got
    diff = cli("app", "diff", "web")
    assert diff.returncode == 1 and "-  replicas: 5" in diff.stdout and "+  replicas: 2" in diff.stdout

    # A new commit drops the ConfigMap: it is reported as needing pruning, and pruned on request.
    second = repo.commit(
        {"apps/web/cm.yaml": None, "apps/web/deploy.yaml": deployment(replicas=3)},
        message="chore: drop config",
    )
    st = status(cli, "web", refresh=True)
    assert st["sync"]["revision"] == second
    cm = next(r for r in st["resources"] if r["name"] == "web-config")
    assert cm["status"] == "Extraneous" and cm.get("requiresPruning") is True
    assert cli("app", "sync", "web").returncode == 0
    assert (
        kubectl("-n", "production", "get", "cm", "web-config").returncode == 0
    )  # not pruned without --prune
    pruned = cli("app", "sync", "web", "--prune")
    assert pruned.returncode == 0 and "pruned" in pruned.stdout
    assert kubectl("-n", "production", "get", "cm", "web-config").returncode != 0

    history = cli("app", "history", "web")
    lines = history.stdout.splitlines()
    assert lines[0].split() == ["ID", "DATE", "COMMIT", "MESSAGE"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3"]
    assert first[:7] in lines[1] and "feat: add web" in lines[1] and "with its config" not in history.stdout
    assert second[:7] in lines[3] and "chore: drop config" in lines[3]

    # Rolling back to entry 1 redeploys that commit exactly.
    rolled = cli("app", "rollback", "web", "1")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert kubectl("-n", "production", "get", "cm", "web-config").returncode == 0
    replicas = json.loads(kubectl("-n", "production", "get", "deploy", "web", "-o", "json").stdout)["spec"][
        "replicas"
    ]
    assert replicas == 2
    entries = json.loads(cli("app", "history", "web", "-o", "json").stdout)
    assert entries[-1]["revision"] == first and entries[-1]["initiatedBy"]["kind"] == "rollback"


def test_sync_of_one_resource_and_dry_run(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("m")
    repo.commit({"app/a.yaml": configmap("a"), "app/b.yaml": configmap("b")})
    create(cli, tmp_path, application("two", repo.url, "app", "two"))
    wait_for(lambda: status(cli, "two").get("sync", {}).get("status") == "OutOfSync", what="comparison")

    dry = cli("app", "sync", "two", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert kubectl("get", "ns", "two").returncode != 0
    assert cli("app", "history", "two", "-o", "json").stdout.strip() == "[]"

    one = cli("app", "sync", "two", "--resource", ":ConfigMap:a")
    assert one.returncode == 0, one.stdout + one.stderr
    assert kubectl("-n", "two", "get", "cm", "a").returncode == 0
    assert kubectl("-n", "two", "get", "cm", "b").returncode != 0


def test_delete_cascades_to_live_resources_unless_told_not_to(gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("del")
    repo.commit({"a/cm.yaml": configmap("kept"), "b/cm.yaml": configmap("gone")})
    create(cli, tmp_path, application("keep", repo.url, "a", "del"))
    create(cli, tmp_path, application("drop", repo.url, "b", "del"))
    for name in ("keep", "drop"):
        wait_for(lambda n=name: status(cli, n).get("sync", {}).get("status") == "OutOfSync", what="comparison")
        assert cli("app", "sync", name).returncode == 0
        wait_for(lambda n=name: status(cli, n).get("sync", {}).get("status") == "Synced", what="synced")

    assert cli("app", "delete", "keep", "--no-cascade", "-y").returncode == 0
    assert cli("app", "delete", "drop", "-y").returncode == 0
    assert kubectl("-n", "del", "get", "cm", "kept").returncode == 0
    wait_for(lambda: kubectl("-n", "del", "get", "cm", "gone").returncode != 0, what="cascade delete")
    assert cli("app", "list", "-o", "name").stdout.strip() == ""
