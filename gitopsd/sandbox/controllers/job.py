"""The Job controller: run pods until ``completions`` succeed or ``backoffLimit`` is passed.

Up to ``parallelism`` pods run at once (``<job>-<5 random>``, labels ``batch.kubernetes.io/job-name``,
``job-name``, ``batch.kubernetes.io/controller-uid``, ``controller-uid``); a failed pod is replaced
until more than ``backoffLimit`` have failed (the sandbox skips the back-off wait). The end state
is Complete (with SuccessCriteriaMet) or Failed (with FailureTarget), as the real controller
writes them, with its Completed / BackoffLimitExceeded events. A suspended Job runs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .common import condition, int_of, now_iso, owner_ref
from .pods import active, new_pod, ready, terminating

if TYPE_CHECKING:
    from .manager import Controller

SKEY = "batch/jobs"
COMPONENT = "job-controller"


def _cond(ctype: str, reason: str, message: str, now: str) -> dict[str, Any]:
    return {
        "type": ctype,
        "status": "True",
        "lastProbeTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


def _labels(job: dict[str, Any]) -> dict[str, str]:
    name, uid = job["metadata"]["name"], job["metadata"]["uid"]
    return {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": name,
        "controller-uid": uid,
        "job-name": name,
    }


def sync(ctl: Controller, ns: str, name: str) -> None:
    job = ctl.get(SKEY, ns, name)
    if job is None or job["metadata"].get("deletionTimestamp"):
        return
    for done in ("Complete", "Failed"):
        c = condition(job, done)
        if c is not None and c.get("status") == "True":
            return
    spec = job.get("spec") or {}
    if spec.get("suspend") is True:
        return
    pods = ctl.owned(job, "/pods")
    succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
    failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
    running = [p for p in pods if active(p)]
    completions = int_of(spec.get("completions"), 1)
    parallelism = int_of(spec.get("parallelism"), 1)
    backoff = int_of(spec.get("backoffLimit"), 6)
    now = now_iso()
    outcome = ""
    if failed > backoff:
        outcome = "Failed"
        for p in running:
            ctl.delete("/pods", ns, p["metadata"]["name"])
        running = []
        ctl.events.record(
            job, "BackoffLimitExceeded", "Job has reached the specified backoff limit", COMPONENT, "Warning"
        )
    elif succeeded >= completions:
        outcome = "Complete"
        ctl.events.record(job, "Completed", "Job completed", COMPONENT)
    else:
        missing = min(parallelism, completions - succeeded) - len(running)
        template = spec.get("template") or {}
        ref = owner_ref("batch/v1", "Job", job["metadata"])
        for _ in range(max(missing, 0)):
            pod = new_pod(template, job, ref, extra_labels=_labels(job))
            created = ctl.create("/pods", ns, pod)
            if created is not None:
                running.append(created)
                ctl.events.record(
                    job, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}", COMPONENT
                )
    uid = job["metadata"]["uid"]

    def fn(o: dict[str, Any]) -> None:
        if o["metadata"].get("uid") != uid:
            return
        old = o.get("status") or {}
        status: dict[str, Any] = {
            "startTime": old.get("startTime") or now,
            "active": len(running),
            "ready": sum(1 for p in running if ready(p)),
            "terminating": sum(1 for p in ctl.owned(job, "/pods") if terminating(p)),
            "uncountedTerminatedPods": {},
        }
        if succeeded:
            status["succeeded"] = succeeded
        if failed:
            status["failed"] = failed
        if outcome == "Failed":
            status["conditions"] = [
                _cond(
                    "FailureTarget",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    now,
                ),
                _cond("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit", now),
            ]
        elif outcome == "Complete":
            status["completionTime"] = now
            status["conditions"] = [
                _cond(
                    "SuccessCriteriaMet",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    now,
                ),
                _cond("Complete", "CompletionsReached", "Reached expected number of succeeded pods", now),
            ]
        if not status["active"]:
            del status["active"]
        o["status"] = status

    ctl.mutate(SKEY, ns, name, fn)
