"""Server-side defaulting, as a real API server fills in fields the manifest left out.

This is what makes a naive desired-vs-live comparison show false drift (imagePullPolicy,
strategy, clusterIP...). Defaulting is idempotent: a no-op write changes nothing. Allocated
values (clusterIP, nodePort) are kept from the previous object on updates.
"""

from __future__ import annotations

import base64
import threading
from typing import Any

from .admission import admit_pod
from .resources import ResourceType


class Allocator:
    """Hands out Service cluster IPs (10.96.0.0/16) and node ports (30000-32767)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_ip = 10
        self._next_port = 30000

    def cluster_ip(self) -> str:
        with self._lock:
            n = self._next_ip
            self._next_ip += 1
        return f"10.96.{(n >> 8) & 255}.{n & 255}"

    def node_port(self) -> int:
        with self._lock:
            port = self._next_port
            self._next_port = 30000 + (self._next_port - 30000 + 1) % 2768
        return port


def _d(obj: dict[str, Any], key: str, value: Any) -> None:
    if obj.get(key) is None:
        obj[key] = value


def _sub(obj: dict[str, Any], key: str) -> dict[str, Any]:
    cur = obj.get(key)
    if not isinstance(cur, dict):
        cur = {}
        obj[key] = cur
    return cur


def _pull_policy(image: Any) -> str:
    if not isinstance(image, str):
        return "IfNotPresent"
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if "@" in image:
        return "IfNotPresent"
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def _container(c: Any) -> None:
    if not isinstance(c, dict):
        return
    _d(c, "imagePullPolicy", _pull_policy(c.get("image")))
    _d(c, "terminationMessagePath", "/dev/termination-log")
    _d(c, "terminationMessagePolicy", "File")
    _d(c, "resources", {})
    for port in c.get("ports") or []:
        if isinstance(port, dict):
            _d(port, "protocol", "TCP")


def pod_spec(spec: Any, restart_policy: str | None = "Always") -> None:
    if not isinstance(spec, dict):
        return
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            _container(c)
    if restart_policy:
        _d(spec, "restartPolicy", restart_policy)
    _d(spec, "dnsPolicy", "ClusterFirst")
    _d(spec, "schedulerName", "default-scheduler")
    _d(spec, "securityContext", {})
    _d(spec, "terminationGracePeriodSeconds", 30)


def _template(spec: dict[str, Any], restart_policy: str | None = "Always") -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        pod_spec(template.get("spec"), restart_policy)


def _deployment(obj: dict[str, Any]) -> None:
    spec = _sub(obj, "spec")
    _d(spec, "replicas", 1)
    strategy = _sub(spec, "strategy")
    _d(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = _sub(strategy, "rollingUpdate")
        _d(ru, "maxUnavailable", "25%")
        _d(ru, "maxSurge", "25%")
    _d(spec, "revisionHistoryLimit", 10)
    _d(spec, "progressDeadlineSeconds", 600)
    _template(spec)


def _statefulset(obj: dict[str, Any]) -> None:
    spec = _sub(obj, "spec")
    _d(spec, "replicas", 1)
    _d(spec, "podManagementPolicy", "OrderedReady")
    strategy = _sub(spec, "updateStrategy")
    _d(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        _d(_sub(strategy, "rollingUpdate"), "partition", 0)
    _d(spec, "revisionHistoryLimit", 10)
    retention = _sub(spec, "persistentVolumeClaimRetentionPolicy")
    _d(retention, "whenDeleted", "Retain")
    _d(retention, "whenScaled", "Retain")
    _template(spec)


def _daemonset(obj: dict[str, Any]) -> None:
    spec = _sub(obj, "spec")
    strategy = _sub(spec, "updateStrategy")
    _d(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = _sub(strategy, "rollingUpdate")
        _d(ru, "maxUnavailable", 1)
        _d(ru, "maxSurge", 0)
    _d(spec, "revisionHistoryLimit", 10)
    _template(spec)


def _replicaset(obj: dict[str, Any]) -> None:
    spec = _sub(obj, "spec")
    _d(spec, "replicas", 1)
    _template(spec)


def _replicationcontroller(obj: dict[str, Any]) -> None:
    # SetDefaults_ReplicationController: selector and labels from the template's labels.
    spec = _sub(obj, "spec")
    _d(spec, "replicas", 1)
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if labels and not spec.get("selector"):
        spec["selector"] = dict(labels)
    if labels and not (obj.get("metadata") or {}).get("labels"):
        _sub(obj, "metadata")["labels"] = dict(labels)
    _template(spec)


def _job_spec(spec: dict[str, Any]) -> None:
    _d(spec, "parallelism", 1)
    _d(spec, "completions", 1)
    _d(spec, "backoffLimit", 6)
    _d(spec, "completionMode", "NonIndexed")
    _d(spec, "suspend", False)
    _d(spec, "podReplacementPolicy", "TerminatingOrFailed")
    # Jobs need an explicit restartPolicy (Never/OnFailure); none is defaulted.
    _template(spec, restart_policy=None)


def _cronjob(obj: dict[str, Any]) -> None:
    spec = _sub(obj, "spec")
    _d(spec, "concurrencyPolicy", "Allow")
    _d(spec, "suspend", False)
    _d(spec, "successfulJobsHistoryLimit", 3)
    _d(spec, "failedJobsHistoryLimit", 1)
    template = spec.get("jobTemplate")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        _job_spec(template["spec"])


def _service(obj: dict[str, Any], old: dict[str, Any] | None, alloc: Allocator) -> None:
    spec = _sub(obj, "spec")
    old_spec = (old or {}).get("spec") or {}
    _d(spec, "type", "ClusterIP")
    _d(spec, "sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        if spec.get("clusterIP") is None:
            spec["clusterIP"] = old_spec.get("clusterIP") or alloc.cluster_ip()
        _d(spec, "clusterIPs", [spec["clusterIP"]])
        _d(spec, "ipFamilies", ["IPv4"])
        _d(spec, "ipFamilyPolicy", "SingleStack")
        _d(spec, "internalTrafficPolicy", "Cluster")
    old_ports = {p.get("port"): p for p in old_spec.get("ports") or [] if isinstance(p, dict)}
    for port in spec.get("ports") or []:
        if not isinstance(port, dict):
            continue
        _d(port, "protocol", "TCP")
        _d(port, "targetPort", port.get("port"))
        if spec["type"] in ("NodePort", "LoadBalancer") and port.get("nodePort") is None:
            port["nodePort"] = old_ports.get(port.get("port"), {}).get("nodePort") or alloc.node_port()
    if spec["type"] in ("NodePort", "LoadBalancer"):
        _d(spec, "externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        _d(spec, "allocateLoadBalancerNodePorts", True)
    status = obj.get("status")
    if not isinstance(status, dict) or not status:
        obj["status"] = (old or {}).get("status") or {"loadBalancer": {}}


def _secret(obj: dict[str, Any]) -> None:
    _d(obj, "type", "Opaque")
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = _sub(obj, "data")
        for k, v in string_data.items():
            data[k] = base64.b64encode(str(v).encode()).decode()


def _namespace(obj: dict[str, Any]) -> None:
    name = obj.get("metadata", {}).get("name", "")
    labels = _sub(obj["metadata"], "labels")
    labels["kubernetes.io/metadata.name"] = name
    _d(_sub(obj, "spec"), "finalizers", ["kubernetes"])
    _d(_sub(obj, "status"), "phase", "Active")


def _pvc(obj: dict[str, Any]) -> None:
    spec = _sub(obj, "spec")
    _d(spec, "volumeMode", "Filesystem")
    status = _sub(obj, "status")
    _d(status, "phase", "Pending")


def _pod(obj: dict[str, Any]) -> None:
    pod_spec(_sub(obj, "spec"))
    spec = obj["spec"]
    _d(spec, "enableServiceLinks", True)
    _d(spec, "preemptionPolicy", "PreemptLowerPriority")
    _d(spec, "priority", 0)
    _d(spec, "serviceAccountName", "default")
    _d(spec, "serviceAccount", spec["serviceAccountName"])
    status = _sub(obj, "status")
    _d(status, "phase", "Pending")
    _d(status, "qosClass", "BestEffort")


def _networkpolicy(obj: dict[str, Any]) -> None:
    spec = _sub(obj, "spec")
    if spec.get("policyTypes") is None:
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def _crd(obj: dict[str, Any]) -> None:
    spec = _sub(obj, "spec")
    _d(_sub(spec, "conversion"), "strategy", "None")
    names = spec.get("names")
    if isinstance(names, dict):
        _d(names, "singular", str(names.get("kind", "")).lower())
        _d(names, "listKind", f"{names.get('kind', '')}List")


def apply_defaults(
    rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None, alloc: Allocator
) -> None:
    """Fill server defaults into ``obj`` in place."""
    key = (rt.group, rt.plural)
    if key == ("apps", "deployments"):
        _deployment(obj)
    elif key == ("apps", "statefulsets"):
        _statefulset(obj)
    elif key == ("apps", "daemonsets"):
        _daemonset(obj)
    elif key == ("apps", "replicasets"):
        _replicaset(obj)
    elif key == ("", "replicationcontrollers"):
        _replicationcontroller(obj)
    elif key == ("batch", "jobs"):
        _job_spec(_sub(obj, "spec"))
    elif key == ("batch", "cronjobs"):
        _cronjob(obj)
    elif key == ("", "services"):
        _service(obj, old, alloc)
    elif key == ("", "secrets"):
        _secret(obj)
    elif key == ("", "namespaces"):
        _namespace(obj)
    elif key == ("", "persistentvolumeclaims"):
        _pvc(obj)
    elif key == ("", "pods"):
        _pod(obj)
        admit_pod(obj, old)  # sandbox point 2: what admission adds (kube-api-access, tolerations)
    elif key == ("networking.k8s.io", "networkpolicies"):
        _networkpolicy(obj)
    elif key == ("apiextensions.k8s.io", "customresourcedefinitions"):
        _crd(obj)


# Status fields the API server always writes (no omitempty in the Go types); the official
# Python client refuses to parse these kinds without them.
_INITIAL_STATUS: dict[tuple[str, str], dict[str, Any]] = {
    ("apps", "statefulsets"): {"replicas": 0, "availableReplicas": 0},
    ("apps", "replicasets"): {"replicas": 0},
    ("", "replicationcontrollers"): {"replicas": 0},
    ("apps", "daemonsets"): {
        "currentNumberScheduled": 0,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 0,
        "numberReady": 0,
    },
    ("autoscaling", "horizontalpodautoscalers"): {"currentReplicas": 0, "desiredReplicas": 0},
    ("policy", "poddisruptionbudgets"): {
        "disruptionsAllowed": 0,
        "currentHealthy": 0,
        "desiredHealthy": 0,
        "expectedPods": 0,
    },
}


def initial_status(rt: ResourceType) -> dict[str, Any]:
    """The status a built-in kind starts with on create (before any controller writes one)."""
    return dict(_INITIAL_STATUS.get((rt.group, rt.plural), {}))
