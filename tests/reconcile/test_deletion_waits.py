"""Deletion waits through the daemon against the sandbox: a DELETE is only a request, so prune, a
BeforeHookCreation hook, a --force replacement and an application's cascade delete wait until the cluster
has really removed the object (finalizers, grace periods, Foreground dependents), and say what they wait for."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.daemon import CLI, GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, configmap, create, status

HOLD = "example.com/hold"


def _held_configmap(name: str) -> str:
    doc = yaml.safe_load(configmap(name))
    doc["metadata"]["finalizers"] = [HOLD]
    return yaml.safe_dump(doc)


def _job(name: str, image: str, annotations: dict[str, str], grace: int | None = None, held: bool = False) -> str:
    pod_spec: dict[str, Any] = {"restartPolicy": "Never", "containers": [{"name": "run", "image": image}]}
    if grace is not None:
        pod_spec["terminationGracePeriodSeconds"] = grace
    meta: dict[str, Any] = {"name": name, "annotations": annotations}
    if held:
        meta["finalizers"] = [HOLD]
    return yaml.safe_dump(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": meta,
            "spec": {"backoffLimit": 0, "template": {"spec": pod_spec}},
        }
    )


class _Background:
    """Runs one CLI call in a thread (a sync waits for its operation), so the test can act meanwhile."""

    def __init__(self, cli: CLI, *args: str) -> None:
        self.result: subprocess.CompletedProcess[str] | None = None
        self._thread = threading.Thread(target=self._run, args=(cli, args))
        self._thread.start()

    def _run(self, cli: CLI, args: tuple[str, ...]) -> None:
        self.result = cli(*args)

    def join(self, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        self._thread.join(timeout)
        assert self.result is not None, "the CLI call did not finish"
        return self.result


def _operation_message(cli: CLI, name: str) -> str:
    return str(status(cli, name).get("operationState", {}).get("message", ""))


def _release(kubectl, kind: str, ns: str, name: str) -> None:  # type: ignore[no-untyped-def]
    result = kubectl("-n", ns, "patch", kind, name, "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    assert result.returncode == 0, result.stderr


def _uid(kubectl, kind: str, ns: str, name: str) -> str:  # type: ignore[no-untyped-def]
    result = kubectl("-n", ns, "get", kind, name, "-o", "jsonpath={.metadata.uid}")
    return result.stdout if result.returncode == 0 else ""


def test_prune_of_an_object_with_a_finalizer_waits_until_it_is_gone(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("prune-held")
    repo.commit({"app/keep.yaml": configmap("keep"), "app/held.yaml": _held_configmap("held")})
    create(cli, tmp_path, application("prune-held", repo.url, "app", "ph"))
    assert cli("app", "sync", "prune-held").returncode == 0
    repo.commit({"app/held.yaml": None})
    wait_for(
        lambda: status(cli, "prune-held", refresh=True).get("sync", {}).get("status") == "OutOfSync",
        what="the removal to show",
    )

    running = _Background(cli, "app", "sync", "prune-held", "--prune", "-o", "json")
    # The sync waits while the finalizer holds the object, and says so.
    message = wait_for(
        lambda: "pending deletion" in (m := _operation_message(cli, "prune-held")) and m, what="the wait"
    )
    assert HOLD in message and "ConfigMap ph/held" in message
    assert kubectl("-n", "ph", "get", "cm", "held").returncode == 0
    assert running.result is None  # still running
    _release(kubectl, "cm", "ph", "held")
    result = running.join()
    assert result.returncode == 0, result.stdout + result.stderr
    op = json.loads(result.stdout)
    held = [r for r in op["syncResult"]["resources"] if r["name"] == "held"]
    assert len(held) == 1 and held[0]["status"] == "Pruned" and held[0]["message"] == "pruned"
    assert kubectl("-n", "ph", "get", "cm", "held").returncode != 0


def test_before_hook_creation_recreates_only_after_the_old_hook_is_gone(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("bhc")
    hook = {
        "argocd.argoproj.io/hook": "PreSync",
        "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
        "sandbox.gitopsd.io/job-duration": "0.2",
    }
    repo.commit({"app/migrate.yaml": _job("migrate", "busybox", hook, held=True), "app/cm.yaml": configmap("c")})
    create(cli, tmp_path, application("bhc", repo.url, "app", "bhc"))
    assert cli("app", "sync", "bhc").returncode == 0
    old_uid = _uid(kubectl, "job", "bhc", "migrate")
    assert old_uid

    running = _Background(cli, "app", "sync", "bhc", "-o", "json")
    message = wait_for(
        lambda: "re-creating" in (m := _operation_message(cli, "bhc")) and m, what="the wait for the old hook"
    )
    assert HOLD in message
    # The old Job is still there, being deleted, and no new one was created meanwhile.
    assert _uid(kubectl, "job", "bhc", "migrate") == old_uid
    _release(kubectl, "job", "bhc", "migrate")
    result = running.join()
    assert result.returncode == 0, result.stdout + result.stderr
    new_uid = _uid(kubectl, "job", "bhc", "migrate")
    assert new_uid and new_uid != old_uid
    op = json.loads(result.stdout)
    migrate = [r for r in op["syncResult"]["resources"] if r["name"] == "migrate"]
    assert len(migrate) == 1 and migrate[0]["hookPhase"] == "Succeeded"


def test_force_replace_waits_for_the_old_object_and_its_terminating_pod(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("force")
    slow = {"sandbox.gitopsd.io/job-duration": "600"}  # its pod keeps running
    # A pod grace period of 100 s: the sandbox's kubelet takes 5 s (--pod-grace-scale 0.05).
    repo.commit({"app/job.yaml": _job("batch", "busybox:1", slow, grace=100)})
    create(cli, tmp_path, application("force", repo.url, "app", "force"))
    assert cli("app", "sync", "force").returncode == 0
    old_uid = _uid(kubectl, "job", "force", "batch")
    wait_for(lambda: kubectl("-n", "force", "get", "pods", "-o", "name").stdout.strip(), what="the job's pod")
    repo.commit({"app/job.yaml": _job("batch", "busybox:2", slow, grace=100)})  # spec.template is immutable
    wait_for(
        lambda: status(cli, "force", refresh=True).get("sync", {}).get("status") == "OutOfSync", what="drift"
    )

    running = _Background(cli, "app", "sync", "force", "--force", "-o", "json")
    message = wait_for(
        lambda: "re-creating" in (m := _operation_message(cli, "force")) and m, what="the wait for the old job"
    )
    assert "foregroundDeletion" in message  # its pod is still terminating
    result = running.join()
    assert result.returncode == 0, result.stdout + result.stderr
    op = json.loads(result.stdout)
    batch = [r for r in op["syncResult"]["resources"] if r["name"] == "batch"]
    assert len(batch) == 1 and "replaced" in batch[0]["message"], batch
    assert _uid(kubectl, "job", "force", "batch") not in ("", old_uid)
    image = kubectl("-n", "force", "get", "job", "batch", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
    assert image.stdout == "busybox:2"


def test_a_terminating_object_shows_pending_deletion(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("term")
    repo.commit({"app/held.yaml": _held_configmap("held")})
    create(cli, tmp_path, application("term", repo.url, "app", "term"))
    assert cli("app", "sync", "term").returncode == 0
    assert kubectl("-n", "term", "delete", "cm", "held", "--wait=false").returncode == 0

    def health() -> dict[str, Any]:
        for r in status(cli, "term", refresh=True).get("resources", []):
            if r.get("name") == "held":
                return dict(r.get("health") or {})
        return {}

    wait_for(lambda: health().get("message") == "Pending deletion", what="Pending deletion")
    assert health()["status"] == "Progressing"


# The daemon gives up on a delete after 2 s: the first delete below is refused, saying what it waits for.
@pytest.mark.parametrize("gitops_env_extra", [{"GITOPSD_RECONCILE_DELETE_TIMEOUT": "2"}], ids=["2s"])
def test_cascade_delete_completes_only_when_the_objects_are_gone(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("cascade")
    repo.commit({"app/held.yaml": _held_configmap("held"), "app/free.yaml": configmap("free")})
    create(cli, tmp_path, application("cascade", repo.url, "app", "cascade"))
    assert cli("app", "sync", "cascade").returncode == 0

    refused = cli("app", "delete", "cascade", "-y")
    assert refused.returncode != 0
    assert "ConfigMap cascade/held" in refused.stderr and HOLD in refused.stderr, refused.stderr
    assert "free" not in refused.stderr  # that one is gone
    assert cli("app", "get", "cascade").returncode == 0  # the application is kept meanwhile
    assert kubectl("-n", "cascade", "get", "cm", "free").returncode != 0

    running = _Background(cli, "app", "delete", "cascade", "-y")
    wait_for(lambda: kubectl("-n", "cascade", "get", "cm", "held").returncode == 0)
    _release(kubectl, "cm", "cascade", "held")
    result = running.join()
    assert result.returncode == 0, result.stderr
    assert cli("app", "get", "cascade").returncode != 0
    assert kubectl("-n", "cascade", "get", "cm", "held").returncode != 0
