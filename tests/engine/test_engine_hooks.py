"""Hook phases from live Jobs/Pods and the delete policies applied once they finish."""

from __future__ import annotations

from gitopsd.engine.hooks import FAILED, RUNNING, SUCCEEDED, delete_after, hook_phase


def job(conditions: list[dict[str, str]]) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate"},
        "status": {"conditions": conditions},
    }


def test_job_phases() -> None:
    assert hook_phase(None)[0] == RUNNING
    assert hook_phase(job([]))[0] == RUNNING
    assert hook_phase(job([{"type": "Complete", "status": "True"}])) == (SUCCEEDED, "")
    assert hook_phase(job([{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}])) == (
        FAILED,
        "BackoffLimitExceeded",
    )


def test_pod_and_other_kinds() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"restartPolicy": "Never"}}
    assert hook_phase(dict(pod, status={"phase": "Running"}))[0] == RUNNING
    assert hook_phase(dict(pod, status={"phase": "Succeeded"}))[0] == SUCCEEDED
    assert hook_phase(dict(pod, status={"phase": "Failed", "message": "OOMKilled"})) == (FAILED, "OOMKilled")
    assert hook_phase({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})[0] == SUCCEEDED


def test_delete_policies() -> None:
    assert delete_after(["HookSucceeded"], SUCCEEDED) and not delete_after(["HookSucceeded"], FAILED)
    assert delete_after(["HookFailed"], FAILED) and not delete_after(["BeforeHookCreation"], SUCCEEDED)
    assert not delete_after(["HookSucceeded", "HookFailed"], RUNNING)
