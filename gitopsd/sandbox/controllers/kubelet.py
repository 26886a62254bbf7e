"""The scheduler and kubelet of the sandbox's one node: Pending → scheduled → Running → Ready.

Level-triggered like the rest: ``sync`` looks at a pod and the time since this kubelet first saw
it, writes the next state and asks to be called again when the following one is due. A pod goes
ready ``ready-delay`` seconds after it is scheduled (the cluster's delay, or the annotation on the
pod or on the workload that owns it); pods of Jobs (restartPolicy Never/OnFailure) then run for
``job-duration`` seconds and end Succeeded, or Failed under ``job-result: fail``; pods under
``rollout-result: fail`` crash-loop.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from typing import TYPE_CHECKING, Any

from .common import (
    HOST_IP,
    JOB_DURATION,
    JOB_RESULT,
    NODE_NAME,
    READY_DELAY,
    ROLLOUT_RESULT,
    now_iso,
    says_fail,
)
from .common import seconds as parse_seconds
from .pods import terminating

if TYPE_CHECKING:
    from .manager import Controller


def image_ref(image: str) -> str:
    """The fully qualified reference a container runtime reports (docker.io/library/nginx:1.27)."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and not digest:
        name += ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    return f"{name}@{digest}" if digest else name


def image_id(image: str) -> str:
    ref = image_ref(image).split("@", 1)[0]
    repo = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
    return f"{repo}@sha256:{hashlib.sha256(ref.encode()).hexdigest()}"


def container_id(uid: str, name: str, restarts: int) -> str:
    return "containerd://" + hashlib.sha256(f"{uid}/{name}/{restarts}".encode()).hexdigest()


def _conditions(
    now: str, scheduled: bool, started: bool, ready: bool, done: bool, names: list[str]
) -> list[Any]:
    def c(ctype: str, ok: bool, reason: str = "", message: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {"type": ctype, "status": "True" if ok else "False"}
        out["lastProbeTime"] = None
        out["lastTransitionTime"] = now
        if reason:
            out["reason"] = reason
        if message:
            out["message"] = message
        return out

    if not scheduled:
        return [c("PodScheduled", True)]
    unready = f"containers with unready status: [{' '.join(names)}]"
    if done:
        return [
            c("PodReadyToStartContainers", False),
            c("Initialized", True, "PodCompleted"),
            c("Ready", False, "PodCompleted"),
            c("ContainersReady", False, "PodCompleted"),
            c("PodScheduled", True),
        ]
    return [
        c("PodReadyToStartContainers", started),
        c("Initialized", True),
        c("Ready", ready, "" if ready else "ContainersNotReady", "" if ready else unready),
        c("ContainersReady", ready, "" if ready else "ContainersNotReady", "" if ready else unready),
        c("PodScheduled", True),
    ]


class Kubelet:
    def __init__(self, ctl: Controller) -> None:
        self.ctl = ctl
        self._seen: dict[str, float] = {}  # pod uid -> monotonic time it was scheduled
        self._ips = itertools.count(2)

    def forget(self, uid: str) -> None:
        self._seen.pop(uid, None)

    def _behaviour(self, pod: dict[str, Any], key: str) -> str | None:
        """A sandbox annotation on the pod, else on its owner chain (RS → Deployment, Job...)."""
        obj: dict[str, Any] | None = pod
        for _ in range(3):
            if obj is None:
                return None
            found = ((obj.get("metadata") or {}).get("annotations") or {}).get(key)
            if found is not None:
                return str(found)
            obj = self.ctl.owner_of(obj)
        return None

    def sync(self, ns: str, name: str) -> None:
        pod = self.ctl.get("/pods", ns, name)
        if pod is None or terminating(pod):
            return
        status = pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed"):
            return
        uid = pod["metadata"]["uid"]
        spec = pod.get("spec") or {}
        if not spec.get("nodeName"):
            self._bind(pod)
            return
        now_m = time.monotonic()
        since = self._seen.setdefault(uid, now_m)
        delay = parse_seconds(self._behaviour(pod, READY_DELAY), self.ctl.ready_delay)
        job_pod = spec.get("restartPolicy") in ("Never", "OnFailure")
        if not status.get("startTime"):
            self._creating(pod)
        if now_m < since + delay:
            self.ctl.later(since + delay - now_m, "kubelet", ns, name)
            return
        crash = says_fail(self._behaviour(pod, ROLLOUT_RESULT))
        if status.get("phase") != "Running":
            self._run(pod, crash)
        if job_pod:
            duration = parse_seconds(self._behaviour(pod, JOB_DURATION), self.ctl.ready_delay)
            if now_m < since + delay + duration:
                self.ctl.later(since + delay + duration - now_m, "kubelet", ns, name)
                return
            self._terminate(pod, says_fail(self._behaviour(pod, JOB_RESULT)))

    # -- transitions --------------------------------------------------------------------------
    def _bind(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        now = now_iso()

        def bind(o: dict[str, Any]) -> None:
            o.setdefault("spec", {})["nodeName"] = NODE_NAME
            st = o.setdefault("status", {})
            st["phase"] = "Pending"
            st["conditions"] = _conditions(now, False, False, False, False, [])

        self.ctl.mutate("/pods", meta.get("namespace", ""), meta["name"], bind)
        self.ctl.events.record_new(
            pod,
            "Scheduled",
            "Binding",
            f"Successfully assigned {meta.get('namespace', '')}/{meta['name']} to {NODE_NAME}",
            "default-scheduler",
            "default-scheduler-" + NODE_NAME,
        )

    def _creating(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        now = now_iso()
        containers = [c for c in (pod.get("spec") or {}).get("containers") or [] if isinstance(c, dict)]
        names = [str(c.get("name", "")) for c in containers]
        ip = f"10.244.{(n := next(self._ips)) // 250 % 250}.{n % 250 + 1}"

        def creating(o: dict[str, Any]) -> None:
            st = o.setdefault("status", {})
            st.update(
                phase="Pending",
                conditions=_conditions(now, True, False, False, False, names),
                hostIP=HOST_IP,
                hostIPs=[{"ip": HOST_IP}],
                podIP=ip,
                podIPs=[{"ip": ip}],
                startTime=now,
            )
            st["containerStatuses"] = [
                {
                    "name": c.get("name", ""),
                    "image": image_ref(str(c.get("image", ""))),
                    "imageID": "",
                    "ready": False,
                    "started": False,
                    "restartCount": 0,
                    "state": {"waiting": {"reason": "ContainerCreating"}},
                    "lastState": {},
                }
                for c in containers
            ]

        self.ctl.mutate("/pods", meta.get("namespace", ""), meta["name"], creating)
        for c in containers:
            path = f"spec.containers{{{c.get('name', '')}}}"
            self.ctl.events.record(
                pod,
                "Pulled",
                f'Container image "{c.get("image", "")}" already present on machine',
                "kubelet",
                field_path=path,
            )

    def _run(self, pod: dict[str, Any], crash: bool) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        now = now_iso()
        spec = pod.get("spec") or {}
        containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
        inits = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
        names = [str(c.get("name", "")) for c in containers]

        def status_of(c: dict[str, Any], init: bool) -> dict[str, Any]:
            cname = str(c.get("name", ""))
            image = str(c.get("image", ""))
            base: dict[str, Any] = {
                "name": cname,
                "image": image_ref(image),
                "imageID": image_id(image),
                "containerID": container_id(uid, cname, 1 if crash and not init else 0),
                "restartCount": 0,
                "lastState": {},
            }
            if init:
                base.update(ready=True, started=False)
                base["state"] = {
                    "terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}
                }
            elif crash:
                base.update(ready=False, started=False, restartCount=1)
                base["state"] = {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off 10s restarting failed container={cname} pod={meta['name']}_"
                        f"{meta.get('namespace', '')}({uid})",
                    }
                }
                base["lastState"] = {
                    "terminated": {
                        "exitCode": 1,
                        "reason": "Error",
                        "startedAt": now,
                        "finishedAt": now,
                        "containerID": container_id(uid, cname, 0),
                    }
                }
            else:
                base.update(ready=True, started=True)
                base["state"] = {"running": {"startedAt": now}}
            return base

        def run(o: dict[str, Any]) -> None:
            st = o.setdefault("status", {})
            st["phase"] = "Running"
            st["conditions"] = _conditions(now, True, True, not crash, False, names)
            if inits:
                st["initContainerStatuses"] = [status_of(c, True) for c in inits]
            st["containerStatuses"] = [status_of(c, False) for c in containers]

        self.ctl.mutate("/pods", meta.get("namespace", ""), meta["name"], run)
        for c in containers:
            cname = str(c.get("name", ""))
            path = f"spec.containers{{{cname}}}"
            self.ctl.events.record(pod, "Created", f"Created container: {cname}", "kubelet", field_path=path)
            self.ctl.events.record(pod, "Started", f"Started container {cname}", "kubelet", field_path=path)
            if crash:
                self.ctl.events.record(
                    pod,
                    "BackOff",
                    f"Back-off restarting failed container {cname} in pod {meta['name']}_"
                    f"{meta.get('namespace', '')}({uid})",
                    "kubelet",
                    "Warning",
                    path,
                )

    def _terminate(self, pod: dict[str, Any], failed: bool) -> None:
        meta = pod["metadata"]
        now = now_iso()
        names = [str(c.get("name", "")) for c in (pod.get("spec") or {}).get("containers") or []]
        code = 1 if failed else 0

        def done(o: dict[str, Any]) -> None:
            st = o.setdefault("status", {})
            st["phase"] = "Failed" if failed else "Succeeded"
            st["conditions"] = _conditions(now, True, True, False, True, names)
            for cs in st.get("containerStatuses") or []:
                started = ((cs.get("state") or {}).get("running") or {}).get("startedAt", now)
                cs.update(ready=False, started=False)
                cs["state"] = {
                    "terminated": {
                        "exitCode": code,
                        "reason": "Error" if failed else "Completed",
                        "startedAt": started,
                        "finishedAt": now,
                        "containerID": cs.get("containerID", ""),
                    }
                }

        self.ctl.mutate("/pods", meta.get("namespace", ""), meta["name"], done)
