"""`kubectl get` columns of the extra kinds, as the real server's table printers compute them
(before AGE, which the table module appends)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Cells = Callable[[dict[str, Any]], list[Any]]


def _d(o: dict[str, Any], key: str) -> dict[str, Any]:
    v = o.get(key)
    return v if isinstance(v, dict) else {}


def _node(o: dict[str, Any]) -> list[Any]:
    conds = {
        c.get("type"): c.get("status") for c in _d(o, "status").get("conditions") or [] if isinstance(c, dict)
    }
    status = "Ready" if conds.get("Ready") == "True" else "NotReady"
    if _d(o, "spec").get("unschedulable"):
        status += ",SchedulingDisabled"
    labels = _d(o, "metadata").get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    version = _d(_d(o, "status"), "nodeInfo").get("kubeletVersion", "")
    return [status, ",".join(roles) or "<none>", version]


def _modes(modes: Any) -> str:
    short = {
        "ReadWriteOnce": "RWO",
        "ReadOnlyMany": "ROX",
        "ReadWriteMany": "RWX",
        "ReadWriteOncePod": "RWOP",
    }
    return ",".join(short.get(m, m) for m in modes or [])


def _pv(o: dict[str, Any]) -> list[Any]:
    spec = _d(o, "spec")
    ref = _d(spec, "claimRef")
    claim = f"{ref.get('namespace')}/{ref.get('name')}" if ref else ""
    return [
        _d(spec, "capacity").get("storage", ""),
        _modes(spec.get("accessModes")),
        spec.get("persistentVolumeReclaimPolicy", ""),
        _d(o, "status").get("phase", "Pending"),
        claim,
        spec.get("storageClassName", ""),
    ]


def _sc(o: dict[str, Any]) -> list[Any]:
    return [
        o.get("provisioner", ""),
        o.get("reclaimPolicy", "Delete"),
        o.get("volumeBindingMode", "Immediate"),
        bool(o.get("allowVolumeExpansion", False)),
    ]


def _rc(o: dict[str, Any]) -> list[Any]:
    return [
        _d(o, "spec").get("replicas", 1),
        _d(o, "status").get("replicas", 0),
        _d(o, "status").get("readyReplicas", 0),
    ]


KIND_COLUMNS: dict[str, tuple[list[tuple[str, str]], Cells]] = {
    "/nodes": ([("Status", "string"), ("Roles", "string"), ("Version", "string")], _node),
    "/persistentvolumes": (
        [
            ("Capacity", "string"),
            ("Access Modes", "string"),
            ("Reclaim Policy", "string"),
            ("Status", "string"),
            ("Claim", "string"),
            ("StorageClass", "string"),
        ],
        _pv,
    ),
    "storage.k8s.io/storageclasses": (
        [
            ("Provisioner", "string"),
            ("ReclaimPolicy", "string"),
            ("VolumeBindingMode", "string"),
            ("AllowVolumeExpansion", "boolean"),
        ],
        _sc,
    ),
    "/replicationcontrollers": ([("Desired", "integer"), ("Current", "integer"), ("Ready", "integer")], _rc),
    "coordination.k8s.io/leases": (
        [("Holder", "string")],
        lambda o: [_d(o, "spec").get("holderIdentity", "")],
    ),
}
