"""Hooks and waves: PreSync jobs run and are awaited, waves apply in order, failures run SyncFail
hooks, the seed's misspelled hook annotation is flagged, one operation at a time, terminate-op."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.daemon import CLI, DaemonProcess, GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import (
    application,
    configmap,
    create,
    create_compared,
    deployment,
    job,
    presync_hook,
    status,
)


def _sync_json(cli, name: str, *extra: str) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    result = cli("app", "sync", name, "-o", "json", *extra)
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else {}


def test_presync_hook_runs_first_and_is_deleted_on_success(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("hooks")
    repo.commit(
        {
            "app/migrate.yaml": job(
                "db-migration",
                {
                    "argocd.argoproj.io/hook": "PreSync",
                    "argocd.argoproj.io/hook-delete-policy": "HookSucceeded",
                    "sandbox.gitopsd.io/job-duration": "1",
                },
            ),
            "app/config.yaml": configmap("first", annotations={"argocd.argoproj.io/sync-wave": "-1"}),
            "app/deploy.yaml": deployment(annotations={"gitopsd.io/sync-wave": "1"}),
        }
    )
    create_compared(cli, tmp_path, application("hooks", repo.url, "app", "hooks"))

    code, op = _sync_json(cli, "hooks")
    assert code == 0, op
    results = op["syncResult"]["resources"]
    # PreSync hook, then wave -1 (the ConfigMap), then wave 1 (the Deployment); a hook's entry is
    # updated in place when it finishes.
    names = [r["name"] for r in results]
    assert names.index("db-migration") < names.index("first") < names.index("web")
    hook = next(r for r in results if r["name"] == "db-migration" and r.get("hookPhase") == "Succeeded")
    assert hook["hookType"] == "PreSync"
    # HookSucceeded: the Job is gone once it finished.
    wait_for(
        lambda: kubectl("-n", "hooks", "get", "job", "db-migration").returncode != 0, what="hook deletion"
    )


def test_failing_hook_fails_the_sync_and_runs_syncfail(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("failing")
    repo.commit(
        {
            "app/migrate.yaml": job(
                "migrate", {"argocd.argoproj.io/hook": "PreSync", "sandbox.gitopsd.io/job-result": "fail"}
            ),
            "app/cleanup.yaml": configmap("on-failure", annotations={"argocd.argoproj.io/hook": "SyncFail"}),
            "app/deploy.yaml": deployment(),
        }
    )
    create_compared(cli, tmp_path, application("failing", repo.url, "app", "failing"))
    code, op = _sync_json(cli, "failing")
    assert code == 1
    assert op["phase"] == "Failed" and "PreSync hook Job failing/migrate failed" in op["message"]
    assert kubectl("-n", "failing", "get", "deploy", "web").returncode != 0  # the Sync phase never ran
    assert kubectl("-n", "failing", "get", "cm", "on-failure").returncode == 0  # SyncFail hook ran


def test_misspelled_hook_annotation_raises_a_warning(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("typo")
    # Exactly as the seed article writes it.
    repo.commit(
        {
            "app/migrate.yaml": job(
                "db-migration",
                {
                    "argocp.argoproj.io/hook": "PreSync",
                    "argocp.argoproj.io/hook-delete-policy": "HookSucceeded",
                },
            )
        }
    )
    create(cli, tmp_path, application("typo", repo.url, "app", "typo"))
    st = wait_for(lambda: (s := status(cli, "typo")).get("conditions") and s, what="conditions")
    messages = [c["message"] for c in st["conditions"]]
    assert any("argocp.argoproj.io/hook" in m for m in messages), messages


def _create_slow_app(cli: CLI, git_repos: GitRepos, tmp_path: Path, name: str) -> None:
    """Application `name` (in namespace `name`): its sync stays Running a minute, held by a PreSync hook."""
    repo = git_repos.create(name)
    repo.commit({"app/slow.yaml": presync_hook("slow", 60), "app/cm.yaml": configmap(f"{name}-config")})
    create_compared(cli, tmp_path, application(name, repo.url, "app", name))


def test_one_operation_at_a_time_and_terminate(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    _create_slow_app(cli, git_repos, tmp_path, "slow")

    started = cli("app", "sync", "slow", "--async")
    assert started.returncode == 0, started.stderr
    second = cli("app", "sync", "slow")
    assert second.returncode == 2
    assert "another operation is already in progress" in second.stderr

    assert cli("app", "terminate-op", "slow").returncode == 0
    st = wait_for(
        lambda: (s := status(cli, "slow"))["operationState"]["phase"] == "Failed" and s, what="terminated"
    )
    assert "terminated" in st["operationState"]["message"]


def test_operation_interrupted_by_a_restart_is_marked_failed(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    _create_slow_app(cli, git_repos, tmp_path, "restart")
    assert cli("app", "sync", "restart", "--async").returncode == 0
    wait_for(
        lambda: status(cli, "restart").get("operationState", {}).get("phase") == "Running", what="running"
    )

    daemon: DaemonProcess = gitops_env.daemon
    daemon.stop(sig=9)  # a crash, not a clean stop
    daemon.start()
    cli.address = daemon.address
    st = status(cli, "restart")
    assert st["operationState"]["phase"] == "Failed"
    assert "interrupted" in st["operationState"]["message"]


def test_helm_hook_weight_orders_plain_resources_as_argo_cd_does(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    # Argo CD's wave is the sync-wave annotation, else helm.sh/hook-weight, for every object: a chart's
    # weights on its plain resources order them too (issue 12, item 9).
    cli = gitops_env.cli
    repo = git_repos.create("weights")
    repo.commit(
        {
            "app/late.yaml": configmap("late", annotations={"helm.sh/hook-weight": "5"}),
            "app/early.yaml": deployment("early", annotations={"helm.sh/hook-weight": "-3"}),
            # sync-wave wins over hook-weight.
            "app/mid.yaml": configmap(
                "mid", annotations={"helm.sh/hook-weight": "-9", "argocd.argoproj.io/sync-wave": "1"}
            ),
        }
    )
    st = create_compared(cli, tmp_path, application("weights", repo.url, "app", "weights"))
    waves = {r["name"]: r.get("syncWave", 0) for r in st["resources"]}
    assert waves == {"late": 5, "early": -3, "mid": 1}
    code, op = _sync_json(cli, "weights")
    assert code == 0, op
    names = [r["name"] for r in op["syncResult"]["resources"] if r["kind"] != "Namespace"]
    assert names == ["early", "mid", "late"], names
