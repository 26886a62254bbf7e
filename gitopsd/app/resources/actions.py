"""Resource actions, as Argo CD's built-in ones: restart of a Deployment, StatefulSet or DaemonSet
(the pod template's ``kubectl.kubernetes.io/restartedAt`` annotation, as ``kubectl rollout restart``),
an Argo Rollout's restart, resume, promote-full and abort, and a CronJob's create-job.

Each action is a patch (or a create) of the live object, through the cluster's API: the server
validates it, the field manager ``gitopsd-action`` owns what it changed, so compare does not take the
annotation for drift (it is owned by a manager other than gitopsd, and absent from Git).
"""

from __future__ import annotations

import datetime
import json
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gitopsd.app.cachedclient import CachedKubeClient
from gitopsd.app.errors import FailedPrecondition, InvalidArgument
from gitopsd.app.resources.tree import LiveObject
from gitopsd.kube.errors import NotFound

MANAGER = "gitopsd-action"
MERGE = "application/merge-patch+json"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _merge(client: CachedKubeClient, item: LiveObject, body: dict[str, Any], subresource: str = "") -> None:
    k = item.key
    raw = json.dumps(body).encode()
    try:
        client.patch(
            k.api_version, k.kind, k.name, k.namespace or None, raw, MERGE,
            subresource=subresource, field_manager=MANAGER,
        )
    except NotFound:
        if not subresource:
            raise
        # A CRD without a status subresource keeps status in the object itself.
        client.patch(k.api_version, k.kind, k.name, k.namespace or None, raw, MERGE, field_manager=MANAGER)


def _restart_workload(client: CachedKubeClient, item: LiveObject) -> None:
    _merge(client, item, {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: _now()}}}}})


def _rollout_restart(client: CachedKubeClient, item: LiveObject) -> None:
    _merge(client, item, {"spec": {"restartAt": _now()}})


def _rollout_resume(client: CachedKubeClient, item: LiveObject) -> None:
    _merge(client, item, {"spec": {"paused": False}})
    _merge(client, item, {"status": {"pauseConditions": None}}, subresource="status")


def _rollout_promote(client: CachedKubeClient, item: LiveObject) -> None:
    _merge(client, item, {"status": {"promoteFull": True}}, subresource="status")


def _rollout_abort(client: CachedKubeClient, item: LiveObject) -> None:
    _merge(client, item, {"status": {"abort": True}}, subresource="status")


def _suffix() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(5))


def _create_job(client: CachedKubeClient, item: LiveObject) -> None:
    """A Job from the CronJob's jobTemplate, owned by the CronJob, as ``kubectl create job --from``."""
    cron = item.obj
    spec = cron.get("spec") if isinstance(cron.get("spec"), Mapping) else {}
    template = spec.get("jobTemplate") if isinstance(spec, Mapping) else None
    if not isinstance(template, Mapping) or not isinstance(template.get("spec"), Mapping):
        raise FailedPrecondition(f"CronJob {item.key.name} has no spec.jobTemplate.spec")
    tmeta = template.get("metadata") if isinstance(template.get("metadata"), Mapping) else {}
    assert isinstance(tmeta, Mapping)
    meta = cron.get("metadata") or {}
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"{item.key.name[:52]}-{_suffix()}",
            "namespace": item.key.namespace,
            "labels": dict(tmeta.get("labels") or {}),
            "annotations": {**dict(tmeta.get("annotations") or {}), "cronjob.kubernetes.io/instantiate": "manual"},
            "ownerReferences": [
                {
                    "apiVersion": cron.get("apiVersion", "batch/v1"),
                    "kind": "CronJob",
                    "name": item.key.name,
                    "uid": meta.get("uid", ""),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": dict(template["spec"]),
    }
    client.create(job, field_manager=MANAGER)


def _rollout_paused(obj: Mapping[str, Any]) -> bool:
    spec = obj.get("spec") if isinstance(obj.get("spec"), Mapping) else {}
    status = obj.get("status") if isinstance(obj.get("status"), Mapping) else {}
    assert isinstance(spec, Mapping) and isinstance(status, Mapping)
    return bool(spec.get("paused")) or bool(status.get("pauseConditions"))


@dataclass(frozen=True)
class Action:
    name: str
    run: Callable[[CachedKubeClient, LiveObject], None]
    # Whether it applies to the object as it is now (None: always).
    enabled: Callable[[Mapping[str, Any]], bool] | None = None


_RESTART = Action("restart", _restart_workload)
ACTIONS: dict[tuple[str, str], tuple[Action, ...]] = {
    ("apps", "Deployment"): (_RESTART,),
    ("apps", "StatefulSet"): (_RESTART,),
    ("apps", "DaemonSet"): (_RESTART,),
    ("batch", "CronJob"): (Action("create-job", _create_job),),
    ("argoproj.io", "Rollout"): (
        Action("restart", _rollout_restart),
        Action("resume", _rollout_resume, _rollout_paused),
        Action("promote-full", _rollout_promote, lambda o: not (o.get("status") or {}).get("promoteFull")),
        Action("abort", _rollout_abort, lambda o: not (o.get("status") or {}).get("abort")),
    ),
}


def available(item: LiveObject) -> list[tuple[str, bool]]:
    """(action name, disabled) of the object's kind."""
    return [
        (a.name, a.enabled is not None and not a.enabled(item.obj))
        for a in ACTIONS.get((item.key.group, item.key.kind), ())
    ]


def run(client: CachedKubeClient, item: LiveObject, name: str) -> None:
    actions = {a.name: a for a in ACTIONS.get((item.key.group, item.key.kind), ())}
    action = actions.get(name)
    if action is None:
        offered = ", ".join(sorted(actions)) or "none"
        raise InvalidArgument(f"{item.key.kind} has no action {name!r} (its actions: {offered})")
    if action.enabled is not None and not action.enabled(item.obj):
        raise FailedPrecondition(f"action {name!r} does not apply to {item.key.display()} in its current state")
    action.run(client, item)
