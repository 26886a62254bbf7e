"""What a fresh cluster already holds besides its namespaces: a Ready node (with its heartbeat
Lease), the default ``standard`` StorageClass, and the API priority and fairness defaults (the
FlowSchemas and PriorityLevelConfigurations a v1.37 API server creates, by their real names)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..api import Api

NODE = "sandbox-control-plane"
DEFAULT_CLASS = "standard"
PROVISIONER = "sandbox.gitopsd/hostpath"
MANAGER = "kube-apiserver"


def _node_status(now: str) -> dict[str, Any]:
    resources = {"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    pressure = [
        ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ]
    conditions = [
        {
            "type": t,
            "status": "False",
            "reason": r,
            "message": m,
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
        }
        for t, r, m in pressure
    ]
    conditions.append(
        {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status",
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
        }
    )
    return {
        "capacity": dict(resources),
        "allocatable": {**resources, "memory": "7936Mi"},
        "conditions": conditions,
        "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}, {"type": "Hostname", "address": NODE}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": "5a1d0b0c0ffee0000000000000000001",
            "systemUUID": "5a1d0b0c-0ffe-e000-0000-000000000001",
            "bootID": "5a1d0b0c-0ffe-e000-0000-000000000002",
            "kernelVersion": "6.1.0-sandbox",
            "osImage": "Debian GNU/Linux 12 (bookworm)",
            "containerRuntimeVersion": "containerd://2.1.0",
            "kubeletVersion": "v1.37.0",
            # Deprecated and no longer set by kubelets, but not omitempty: real nodes send "".
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }


def _flow_schema(name: str, level: str, precedence: int, rules: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "priorityLevelConfiguration": {"name": level},
        "matchingPrecedence": precedence,
        "rules": rules,
    }
    if level != "exempt":
        spec["distinguisherMethod"] = {"type": "ByUser"}
    return {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
        "kind": "FlowSchema",
        "metadata": {"name": name, "annotations": {"apf.kubernetes.io/autoupdate-spec": "true"}},
        "spec": spec,
    }


def _rule(subject: dict[str, Any], resources: bool = True) -> dict[str, Any]:
    rule: dict[str, Any] = {"subjects": [subject]}
    if resources:
        rule["resourceRules"] = [
            {
                "verbs": ["*"],
                "apiGroups": ["*"],
                "resources": ["*"],
                "clusterScope": True,
                "namespaces": ["*"],
            }
        ]
    rule["nonResourceRules"] = [{"verbs": ["*"], "nonResourceURLs": ["*"]}]
    return rule


def _group(name: str) -> dict[str, Any]:
    return {"kind": "Group", "group": {"name": name}}


def _user(name: str) -> dict[str, Any]:
    return {"kind": "User", "user": {"name": name}}


# (name, priority level, matching precedence, subject) as a v1.37 server bootstraps them.
_FLOW_SCHEMAS = (
    ("exempt", "exempt", 1, _group("system:masters")),
    ("probes", "exempt", 2, _group("system:unauthenticated")),
    ("system-leader-election", "leader-election", 100, _user("system:kube-controller-manager")),
    ("endpoint-controller", "workload-high", 150, _user("system:kube-controller-manager")),
    ("workload-leader-election", "leader-election", 200, _group("system:serviceaccounts:kube-system")),
    ("system-node-high", "node-high", 400, _group("system:nodes")),
    ("system-nodes", "system", 500, _group("system:nodes")),
    ("kube-controller-manager", "workload-high", 800, _user("system:kube-controller-manager")),
    ("kube-scheduler", "workload-high", 800, _user("system:kube-scheduler")),
    ("kube-system-service-accounts", "workload-high", 900, _group("system:serviceaccounts:kube-system")),
    ("service-accounts", "workload-low", 9000, _group("system:serviceaccounts")),
    ("global-default", "global-default", 9900, _group("system:unauthenticated")),
    ("catch-all", "catch-all", 10000, _group("system:authenticated")),
)
# (name, nominal concurrency shares, lendable percent); "exempt" is the Exempt level.
_PRIORITY_LEVELS = (
    ("system", 30, 33),
    ("node-high", 40, 25),
    ("leader-election", 10, 0),
    ("workload-high", 40, 50),
    ("workload-low", 100, 90),
    ("global-default", 20, 50),
    ("catch-all", 5, 0),
)


def _priority_level(name: str, shares: int, lendable: int) -> dict[str, Any]:
    limit: dict[str, Any] = (
        {"type": "Reject"}
        if name == "catch-all"
        else {"type": "Queue", "queuing": {"queues": 64, "handSize": 6, "queueLengthLimit": 50}}
    )
    return {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
        "kind": "PriorityLevelConfiguration",
        "metadata": {"name": name, "annotations": {"apf.kubernetes.io/autoupdate-spec": "true"}},
        "spec": {
            "type": "Limited",
            "limited": {
                "nominalConcurrencyShares": shares,
                "lendablePercent": lendable,
                "limitResponse": limit,
            },
        },
    }


def seed(api: Api) -> None:
    from ..api import now_iso

    now = now_iso()

    def rt(group: str, plural: str) -> Any:
        return api.registry.types_for_storage(f"{group}/{plural}")[0]

    api.create_internal(
        rt("", "nodes"),
        "",
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": NODE,
                "labels": {
                    "kubernetes.io/hostname": NODE,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "beta.kubernetes.io/os": "linux",
                    "beta.kubernetes.io/arch": "amd64",
                    "node-role.kubernetes.io/control-plane": "",
                },
            },
            "spec": {
                "podCIDR": "10.244.0.0/24",
                "podCIDRs": ["10.244.0.0/24"],
                "providerID": f"sandbox://{NODE}",
            },
        },
        "kubelet",
    )
    status = _node_status(now)
    api.mutate(rt("", "nodes"), "", NODE, lambda obj: obj.__setitem__("status", status))
    api.create_internal(
        rt("coordination.k8s.io", "leases"),
        "kube-node-lease",
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": NODE},
            "spec": {
                "holderIdentity": NODE,
                "leaseDurationSeconds": 40,
                "renewTime": now.replace("Z", ".000000Z"),
            },
        },
        "kubelet",
    )
    api.create_internal(
        rt("storage.k8s.io", "storageclasses"),
        "",
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": DEFAULT_CLASS,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": PROVISIONER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
        },
        MANAGER,
    )
    plc = rt("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations")
    api.create_internal(
        plc,
        "",
        {
            "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
            "kind": "PriorityLevelConfiguration",
            "metadata": {"name": "exempt", "annotations": {"apf.kubernetes.io/autoupdate-spec": "true"}},
            "spec": {"type": "Exempt", "exempt": {"nominalConcurrencyShares": 0, "lendablePercent": 0}},
        },
        MANAGER,
    )
    for name, shares, lendable in _PRIORITY_LEVELS:
        api.create_internal(plc, "", _priority_level(name, shares, lendable), MANAGER)
    fs = rt("flowcontrol.apiserver.k8s.io", "flowschemas")
    for name, level, precedence, subject in _FLOW_SCHEMAS:
        api.create_internal(fs, "", _flow_schema(name, level, precedence, [_rule(subject)]), MANAGER)
