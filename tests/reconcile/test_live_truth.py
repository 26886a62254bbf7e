"""What the daemon reports about the cluster is what the cluster has, through the live-state cache.

End to end against the sandbox: one app created, synced and deleted again and again on one daemon (the
loop that once left a deleted Service ``Synced``/``Healthy`` and made every later cascade delete fail on
its 404); a hard refresh that lists again what the watch missed; and a cluster that answers 5xx or
stops answering: a ComparisonError naming the cluster, never ``Missing`` resources, and a sync that fails
at once with that reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, configmap, create, status

NS = "monitoring"
CLUSTER = 'cluster "in-cluster" (https://kubernetes.default.svc)'


def service(name: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
        }
    )


def by_name(st: dict[str, Any]) -> dict[str, str]:
    return {r["name"]: r.get("status", "") for r in st.get("resources", [])}


def comparison_errors(st: dict[str, Any]) -> list[str]:
    return [c["message"] for c in st.get("conditions", []) if c["type"] == "ComparisonError"]


def test_create_sync_delete_again_and_again_on_one_daemon(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("mon")
    repo.commit({"mon/svc.yaml": service("mon-app"), "mon/cm.yaml": configmap("mon-config")})
    for round_ in range(4):
        create(cli, tmp_path, application("mon", repo.url, "mon", NS))
        synced = cli("app", "sync", "mon")
        assert synced.returncode == 0, (round_, synced.stdout + synced.stderr)
        # The Service is really there again (a stale cache would skip it as already Synced).
        assert kubectl("-n", NS, "get", "service", "mon-app").returncode == 0, round_
        st = wait_for(lambda: (s := status(cli, "mon"))["sync"]["status"] == "Synced" and s, what="synced")
        assert by_name(st) == {"mon-app": "Synced", "mon-config": "Synced"}
        deleted = cli("app", "delete", "mon", "-y")
        assert deleted.returncode == 0, (round_, deleted.stdout + deleted.stderr)
        wait_for(
            lambda: kubectl("-n", NS, "get", "service", "mon-app").returncode != 0, what="service deleted"
        )
        assert cli("app", "get", "mon").returncode != 0


def test_a_hard_refresh_sees_a_deletion_the_watch_missed(
    gitops_env: GitOpsEnv, git_repos: GitRepos, sandbox, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("mon")
    repo.commit({"mon/svc.yaml": service("mon-app")})
    create(cli, tmp_path, application("mon", repo.url, "mon", NS))
    assert cli("app", "sync", "mon").returncode == 0
    wait_for(lambda: status(cli, "mon")["sync"]["status"] == "Synced", what="synced")
    # The Service watch is cut and held back: the deletion below reaches the daemon only by a list.
    sandbox.faults.add(path_contains="/api/v1/services?watch=true", status=None, delay=60.0, times=None)
    sandbox.store.close_watchers()
    assert kubectl("-n", NS, "delete", "service", "mon-app", "--wait=false").returncode == 0
    got = cli("app", "get", "mon", "-o", "json", "--hard-refresh")
    assert got.returncode == 0, got.stderr
    st = yaml.safe_load(got.stdout)["status"]
    assert by_name(st) == {"mon-app": "Missing"}
    assert st["sync"]["status"] == "OutOfSync"
    sandbox.faults.clear()


def test_a_cluster_answering_5xx_is_a_comparison_error_naming_it(
    gitops_env: GitOpsEnv, git_repos: GitRepos, sandbox, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("mon")
    repo.commit({"mon/svc.yaml": service("mon-app"), "mon/cm.yaml": configmap("mon-config")})
    sandbox.faults.add(path_contains="/api", status=503, message="etcdserver: leader changed", times=None)
    create(cli, tmp_path, application("mon", repo.url, "mon", NS))
    st = wait_for(lambda: comparison_errors(s := status(cli, "mon")) and s, what="a comparison error")
    [message] = comparison_errors(st)
    assert message.startswith(CLUSTER + ": ") and "etcdserver: leader changed" in message, message
    assert "Missing" not in by_name(st).values()
    assert st["sync"]["status"] == "Unknown"
    synced = cli("app", "sync", "mon")
    assert synced.returncode != 0
    assert CLUSTER in synced.stdout + synced.stderr and "leader changed" in synced.stdout + synced.stderr


def test_a_cluster_that_stops_answering_mid_way_is_a_comparison_error_and_syncs_fail_at_once(
    gitops_env: GitOpsEnv, git_repos: GitRepos, sandbox, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("mon")
    repo.commit({"mon/svc.yaml": service("mon-app"), "mon/cm.yaml": configmap("mon-config")})
    create(cli, tmp_path, application("mon", repo.url, "mon", NS))
    assert cli("app", "sync", "mon").returncode == 0
    wait_for(lambda: status(cli, "mon")["sync"]["status"] == "Synced", what="synced")
    sandbox.stop()
    st = wait_for(
        lambda: comparison_errors(s := status(cli, "mon", refresh=True)) and s, what="a comparison error"
    )
    [message] = comparison_errors(st)
    assert message.startswith(CLUSTER + ": ") and "cannot reach the API server" in message, message
    assert "Missing" not in by_name(st).values()
    synced = cli("app", "sync", "mon")
    assert synced.returncode != 0
    out = synced.stdout + synced.stderr
    assert CLUSTER in out and "cannot reach the API server" in out, out
