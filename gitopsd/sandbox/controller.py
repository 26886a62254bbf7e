"""The simulated controllers: what kube-controller-manager, the scheduler and kubelets would do.

Workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet) report progress at once and become
ready ``ready_delay`` seconds after each spec change; Deployments own a ReplicaSet per pod
template. Jobs start a Pod and complete (or fail, when annotated
``sandbox.gitopsd.io/job-result: fail``) after the delay or ``sandbox.gitopsd.io/job-duration``.
Bare Pods start running, PVCs bind and LoadBalancer Services get an ingress address after the delay.

Store events only enqueue work (they fire under the store lock); one thread does the work and
runs the timers.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import itertools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from .api import Api, now_iso
from .resources import Registry, ResourceType
from .store import Event

log = logging.getLogger(__name__)

JOB_RESULT = "sandbox.gitopsd.io/job-result"
JOB_DURATION = "sandbox.gitopsd.io/job-duration"
READY_DELAY = "sandbox.gitopsd.io/ready-delay"
ROLLOUT_RESULT = "sandbox.gitopsd.io/rollout-result"
MANAGER = "kube-controller-manager"

WORKLOADS = ("apps/deployments", "apps/statefulsets", "apps/daemonsets", "apps/replicasets")
# PersistentVolumeClaims are bound by kinds.provisioner.
WATCHED = frozenset(WORKLOADS + ("batch/jobs", "/pods", "/services"))


def _nonzero(status: dict[str, Any], *keys: str) -> None:
    """Drop zero counters, as the API server's omitempty encoding does."""
    for k in keys:
        if status.get(k) == 0:
            del status[k]


def _cond(ctype: str, status: str, reason: str, message: str, now: str) -> dict[str, Any]:
    return {
        "type": ctype,
        "status": status,
        "reason": reason,
        "message": message,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
    }


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:10]


class Controller:
    def __init__(self, api: Api, registry: Registry, ready_delay: float) -> None:
        self.api = api
        self.registry = registry
        self.ready_delay = max(0.0, float(ready_delay))
        self._queue: queue.Queue[Event | None] = queue.Queue()
        self._timers: list[tuple[float, int, Callable[[], object]]] = []
        self._seq = itertools.count()
        self._seen: dict[str, Any] = {}  # uid -> the generation (or marker) already handled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-controller", daemon=True)
        api.on_event(self._on_event)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _on_event(self, ev: Event) -> None:
        if ev.storage_key in WATCHED:
            self._queue.put(ev)

    def _later(self, delay: float, fn: Callable[[], object]) -> None:
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), fn))

    def _run(self) -> None:
        while not self._stop.is_set():
            timeout = 0.5
            if self._timers:
                timeout = max(0.0, min(timeout, self._timers[0][0] - time.monotonic()))
            try:
                ev = self._queue.get(timeout=timeout)
            except queue.Empty:
                ev = None
            try:
                if ev is not None:
                    self._handle(ev)
                while self._timers and self._timers[0][0] <= time.monotonic():
                    _, _, fn = heapq.heappop(self._timers)
                    fn()
            except Exception:  # a simulated controller must never die of one odd object
                log.exception("sandbox controller step failed")

    def _rt(self, skey: str) -> ResourceType:
        return self.registry.types_for_storage(skey)[0]

    # -- dispatch -----------------------------------------------------------------------------
    def _handle(self, ev: Event) -> None:
        obj = ev.entry.obj
        uid = obj.get("metadata", {}).get("uid", "")
        if ev.type == "DELETED":
            self._seen.pop(uid, None)
            return
        entry = self.api.store.get(ev.storage_key, ev.namespace, ev.name)
        if entry is None or entry.obj.get("metadata", {}).get("uid") != uid:
            return
        obj = entry.obj
        if ev.storage_key in WORKLOADS:
            self._workload(ev.storage_key, obj)
        elif ev.storage_key == "batch/jobs":
            self._job(obj)
        elif ev.storage_key == "/pods":
            self._pod(obj)
        elif ev.storage_key == "/services":
            self._service(obj)

    # -- workloads ----------------------------------------------------------------------------
    def _workload(self, skey: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        uid, gen = meta["uid"], meta.get("generation", 1)
        if self._seen.get(uid) == gen:
            return
        self._seen[uid] = gen
        rt = self._rt(skey)
        ns, name = meta.get("namespace", ""), meta["name"]
        if skey == "apps/deployments":
            self._deployment_replicaset(obj)
        self.api.mutate(rt, ns, name, lambda o: self._set_status(skey, o, ready=False))

        fail = _fails(obj)

        def ready() -> None:
            def fn(o: dict[str, Any]) -> None:
                if o["metadata"].get("uid") == uid and o["metadata"].get("generation", 1) == gen:
                    if fail:
                        self._set_failed(skey, o)
                    else:
                        self._set_status(skey, o, ready=True)

            self.api.mutate(rt, ns, name, fn)

        self._later(self._delay(obj), ready)

    def _delay(self, obj: dict[str, Any], key: str = READY_DELAY) -> float:
        """The object's own delay annotation (seconds, capped at an hour), else the cluster's."""
        text = ((obj.get("metadata") or {}).get("annotations") or {}).get(key)
        try:
            delay = float(text) if text is not None else self.ready_delay
        except ValueError:
            delay = self.ready_delay
        return min(max(delay, 0.0), 3600.0) if delay == delay else self.ready_delay

    def _set_failed(self, skey: str, obj: dict[str, Any]) -> None:
        """A rollout that never gets ready: the Deployment's progress deadline is exceeded."""
        self._set_status(skey, obj, ready=False)
        if skey == "apps/deployments":
            now = now_iso()
            obj["status"]["conditions"] = [
                _cond(
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    now,
                ),
                _cond(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    f'ReplicaSet "{obj["metadata"]["name"]}-{_hash((obj.get("spec") or {}).get("template") or {})}" '
                    "has timed out progressing.",
                    now,
                ),
            ]

    def _set_status(self, skey: str, obj: dict[str, Any], ready: bool) -> None:
        spec = obj.get("spec") or {}
        meta = obj["metadata"]
        gen = meta.get("generation", 1)
        n = spec.get("replicas", 1) if skey != "apps/daemonsets" else 1
        n = n if isinstance(n, int) else 1
        now = now_iso()
        status: dict[str, Any] = dict(obj.get("status") or {})
        status["observedGeneration"] = gen
        up = n if ready else 0
        if skey == "apps/deployments":
            rs_name = f"{meta['name']}-{_hash(spec.get('template') or {})}"
            status.update(
                replicas=n,
                updatedReplicas=n,
                readyReplicas=up,
                availableReplicas=up,
                unavailableReplicas=n - up,
            )
            if ready:
                status["conditions"] = [
                    _cond(
                        "Available",
                        "True",
                        "MinimumReplicasAvailable",
                        "Deployment has minimum availability.",
                        now,
                    ),
                    _cond(
                        "Progressing",
                        "True",
                        "NewReplicaSetAvailable",
                        f'ReplicaSet "{rs_name}" has successfully progressed.',
                        now,
                    ),
                ]
            else:
                status["conditions"] = [
                    _cond(
                        "Available",
                        "False" if n else "True",
                        "MinimumReplicasUnavailable",
                        "Deployment does not have minimum availability.",
                        now,
                    ),
                    _cond(
                        "Progressing",
                        "True",
                        "ReplicaSetUpdated",
                        f'ReplicaSet "{rs_name}" is progressing.',
                        now,
                    ),
                ]
            _nonzero(
                status,
                "replicas",
                "updatedReplicas",
                "readyReplicas",
                "availableReplicas",
                "unavailableReplicas",
            )
        elif skey == "apps/statefulsets":
            revision = f"{meta['name']}-{_hash(spec.get('template') or {})}"
            status.update(
                replicas=n,
                readyReplicas=up,
                availableReplicas=up,
                updatedReplicas=n,
                currentReplicas=up or n,
                updateRevision=revision,
                collisionCount=0,
            )
            status["currentRevision"] = revision if ready else status.get("currentRevision", revision)
            _nonzero(status, "readyReplicas", "currentReplicas", "updatedReplicas")
        elif skey == "apps/daemonsets":
            status.update(
                desiredNumberScheduled=1,
                currentNumberScheduled=1,
                numberMisscheduled=0,
                numberReady=up,
                numberAvailable=up,
                updatedNumberScheduled=up,
                numberUnavailable=1 - up,
            )
            _nonzero(status, "numberAvailable", "updatedNumberScheduled", "numberUnavailable")
        else:  # replicasets
            status.update(replicas=n, fullyLabeledReplicas=n, readyReplicas=up, availableReplicas=up)
            _nonzero(status, "fullyLabeledReplicas", "readyReplicas", "availableReplicas")
        obj["status"] = status

    def _deployment_replicaset(self, dep: dict[str, Any]) -> None:
        meta, spec = dep["metadata"], dep.get("spec") or {}
        template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
        ns = meta.get("namespace", "")
        h = _hash(template)
        name = f"{meta['name']}-{h}"
        rs_rt = self._rt("apps/replicasets")
        replicas = spec.get("replicas", 1)
        tmpl = json.loads(json.dumps(template))
        tmpl.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
        selector = json.loads(json.dumps(spec.get("selector") or {}))
        selector.setdefault("matchLabels", {})["pod-template-hash"] = h
        # Older ReplicaSets of this Deployment scale to zero; the current one follows the Deployment.
        entries, _ = self.api.store.list_entries(rs_rt.storage_key, ns)
        for e in entries:
            refs = e.obj["metadata"].get("ownerReferences") or []
            if any(r.get("uid") == meta["uid"] for r in refs):
                want = replicas if e.obj["metadata"]["name"] == name else 0
                if e.obj.get("spec", {}).get("replicas") != want:
                    self.api.mutate(
                        rs_rt, ns, e.obj["metadata"]["name"], functools.partial(_bump_replicas, want=want)
                    )
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": dict(tmpl["metadata"]["labels"]),
                "annotations": {"deployment.kubernetes.io/revision": str(meta.get("generation", 1))},
                "ownerReferences": [_owner_ref("apps/v1", "Deployment", meta)],
            },
            "spec": {"replicas": replicas, "selector": selector, "template": tmpl},
        }
        self.api.create_internal(rs_rt, ns, rs, MANAGER)

    # -- jobs and pods ------------------------------------------------------------------------
    def _job(self, job: dict[str, Any]) -> None:
        meta = job["metadata"]
        uid = meta["uid"]
        if uid in self._seen or (job.get("status") or {}).get("startTime"):
            return
        if (job.get("spec") or {}).get("suspend"):
            return
        self._seen[uid] = "job"
        ns, name = meta.get("namespace", ""), meta["name"]
        annotations = meta.get("annotations") or {}
        fail = str(annotations.get(JOB_RESULT, "")).lower() in ("fail", "failed", "failure")
        try:
            duration = float(annotations.get(JOB_DURATION, self.ready_delay))
        except ValueError:
            duration = self.ready_delay
        duration = min(max(duration, 0.0), 3600.0) if duration == duration else self.ready_delay
        started = now_iso()
        job_rt = self._rt("batch/jobs")
        pod_rt = self._rt("/pods")

        def start(o: dict[str, Any]) -> None:
            o["status"] = {
                "startTime": started,
                "active": 1,
                "ready": 1,
                "terminating": 0,
                "uncountedTerminatedPods": {},
            }

        self.api.mutate(job_rt, ns, name, start)
        template = (job.get("spec") or {}).get("template") or {}
        pod_name = f"{name}-{uid[:5]}"
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels.update(
            {
                "batch.kubernetes.io/job-name": name,
                "job-name": name,
                "batch.kubernetes.io/controller-uid": uid,
                "controller-uid": uid,
            }
        )
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name,
                "namespace": ns,
                "labels": labels,
                "ownerReferences": [_owner_ref("batch/v1", "Job", meta)],
            },
            "spec": json.loads(json.dumps(template.get("spec") or {"containers": []})),
        }
        self.api.create_internal(pod_rt, ns, pod, MANAGER)
        self.api.mutate(pod_rt, ns, pod_name, lambda o: _pod_running(o, started))

        def finish() -> None:
            done = now_iso()
            phase = "Failed" if fail else "Succeeded"
            self.api.mutate(pod_rt, ns, pod_name, lambda o: _pod_terminated(o, phase, done))

            def fn(o: dict[str, Any]) -> None:
                if o["metadata"].get("uid") != uid:
                    return
                status = {"startTime": started, "uncountedTerminatedPods": {}, "ready": 0, "terminating": 0}
                if fail:
                    status["failed"] = 1
                    status["conditions"] = [
                        _job_cond(
                            "FailureTarget",
                            "BackoffLimitExceeded",
                            "Job has reached the specified backoff limit",
                            done,
                        ),
                        _job_cond(
                            "Failed",
                            "BackoffLimitExceeded",
                            "Job has reached the specified backoff limit",
                            done,
                        ),
                    ]
                else:
                    status["succeeded"] = 1
                    status["completionTime"] = done
                    status["conditions"] = [
                        _job_cond(
                            "SuccessCriteriaMet",
                            "CompletionsReached",
                            "Reached expected number of succeeded pods",
                            done,
                        ),
                        _job_cond(
                            "Complete",
                            "CompletionsReached",
                            "Reached expected number of succeeded pods",
                            done,
                        ),
                    ]
                o["status"] = status

            self.api.mutate(job_rt, ns, name, fn)

        self._later(duration, finish)

    def _pod(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        if uid in self._seen or (pod.get("status") or {}).get("phase") not in (None, "Pending"):
            return
        if any(r.get("kind") == "Job" for r in meta.get("ownerReferences") or []):
            return  # the Job's controller drives its pods
        self._seen[uid] = "pod"
        ns, name = meta.get("namespace", ""), meta["name"]
        rt = self._rt("/pods")

        fail = _fails(pod)

        def run(o: dict[str, Any]) -> None:
            if o["metadata"]["uid"] == uid:
                _pod_running(o, now_iso())
                if fail:
                    _pod_crashing(o)

        self._later(self._delay(pod), lambda: self.api.mutate(rt, ns, name, run))

    def _service(self, svc: dict[str, Any]) -> None:
        meta = svc["metadata"]
        uid = meta["uid"]
        if (svc.get("spec") or {}).get("type") != "LoadBalancer":
            return
        if self._seen.get(uid) == "lb" or ((svc.get("status") or {}).get("loadBalancer") or {}).get(
            "ingress"
        ):
            return
        self._seen[uid] = "lb"
        ns, name = meta.get("namespace", ""), meta["name"]
        rt = self._rt("/services")
        ip = f"172.18.255.{1 + int(uid[:2], 16) % 250}"

        def assign(o: dict[str, Any]) -> None:
            if (o.get("spec") or {}).get("type") == "LoadBalancer":
                o["status"] = {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}

        self._later(self._delay(svc), lambda: self.api.mutate(rt, ns, name, assign))


def _fails(obj: dict[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(ROLLOUT_RESULT, "")).lower() in ("fail", "failed", "failure")


def _pod_crashing(o: dict[str, Any]) -> None:
    """A pod whose containers keep crashing: Running phase, not ready, CrashLoopBackOff."""
    status = o["status"]
    for cond in status.get("conditions") or []:
        if cond["type"] in ("Ready", "ContainersReady"):
            cond["status"] = "False"
            cond["reason"] = "ContainersNotReady"
    for cs in status.get("containerStatuses") or []:
        cs.update(ready=False, started=False, restartCount=3)
        cs["state"] = {
            "waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}
        }
        cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error"}}


def _bump_replicas(o: dict[str, Any], want: Any) -> None:
    if o.get("spec", {}).get("replicas") != want:
        o.setdefault("spec", {})["replicas"] = want
        o["metadata"]["generation"] = o["metadata"].get("generation", 1) + 1


def _owner_ref(api_version: str, kind: str, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _job_cond(ctype: str, reason: str, message: str, now: str) -> dict[str, Any]:
    return {
        "type": ctype,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": now,
        "lastTransitionTime": now,
    }


def _pod_conditions(now: str, ready: bool) -> list[dict[str, Any]]:
    r = "True" if ready else "False"
    out = []
    for ctype, status in (
        ("PodReadyToStartContainers", "True"),
        ("Initialized", "True"),
        ("Ready", r),
        ("ContainersReady", r),
        ("PodScheduled", "True"),
    ):
        c = {"type": ctype, "status": status, "lastProbeTime": None, "lastTransitionTime": now}
        if status == "False":
            c["reason"] = "PodCompleted"
        out.append(c)
    return out


def _pod_running(o: dict[str, Any], now: str) -> None:
    containers = (o.get("spec") or {}).get("containers") or []
    o["status"] = {
        "phase": "Running",
        "conditions": _pod_conditions(now, True),
        "hostIP": "10.0.0.10",
        "hostIPs": [{"ip": "10.0.0.10"}],
        "podIP": f"10.244.0.{1 + int(o['metadata']['uid'][:2], 16) % 250}",
        "startTime": now,
        "qosClass": "BestEffort",
        "containerStatuses": [
            {
                "name": c.get("name", ""),
                "image": c.get("image", ""),
                "imageID": "",
                "containerID": f"containerd://{o['metadata']['uid'].replace('-', '')}",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": now}},
            }
            for c in containers
            if isinstance(c, dict)
        ],
    }


def _pod_terminated(o: dict[str, Any], phase: str, now: str) -> None:
    status = o.get("status") or {}
    status["phase"] = phase
    status["conditions"] = _pod_conditions(now, False)
    code = 0 if phase == "Succeeded" else 1
    for cs in status.get("containerStatuses") or []:
        started = (cs.get("state") or {}).get("running", {}).get("startedAt", now)
        cs["ready"] = False
        cs["started"] = False
        cs["state"] = {
            "terminated": {
                "exitCode": code,
                "reason": "Completed" if code == 0 else "Error",
                "startedAt": started,
                "finishedAt": now,
            }
        }
    o["status"] = status
