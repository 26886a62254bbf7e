"""What a real API server's admission chain adds to every new Pod.

The ServiceAccount admission plugin mounts a projected ``kube-api-access-xxxxx`` volume (token,
``kube-root-ca.crt``, namespace) into every container unless ``automountServiceAccountToken`` is
false; DefaultTolerationSeconds adds 300 s NoExecute tolerations for not-ready / unreachable nodes.
Called by ``defaults`` for Pods; on updates the fields admission added are kept, since a client
re-sending its own manifest never owned them.
"""

from __future__ import annotations

import secrets
from typing import Any

TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_TAINTS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


def _api_access_volume(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "namespace",
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                            }
                        ]
                    }
                },
            ],
        },
    }


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for key in ("initContainers", "containers"):
        out.extend(c for c in spec.get(key) or [] if isinstance(c, dict))
    return out


def _mount_token(spec: dict[str, Any]) -> None:
    if spec.get("automountServiceAccountToken") is False:
        return
    containers = _containers(spec)
    if any(
        isinstance(m, dict) and m.get("mountPath") == TOKEN_PATH
        for c in containers
        for m in c.get("volumeMounts") or []
    ):
        return  # the pod mounts its own token
    name = "kube-api-access-" + "".join(secrets.choice(_ALPHANUMS) for _ in range(5))
    volumes = spec.get("volumes")
    spec["volumes"] = [*(volumes if isinstance(volumes, list) else []), _api_access_volume(name)]
    for c in containers:
        mounts = c.get("volumeMounts")
        c["volumeMounts"] = [
            *(mounts if isinstance(mounts, list) else []),
            {"name": name, "readOnly": True, "mountPath": TOKEN_PATH},
        ]


def _tolerate(spec: dict[str, Any]) -> None:
    current = spec.get("tolerations")
    tolerations = list(current) if isinstance(current, list) else []
    for key in _TAINTS:
        if any(
            isinstance(t, dict)
            and (t.get("key") == key or (not t.get("key") and t.get("operator") == "Exists"))
            and t.get("effect") in (None, "", "NoExecute")
            for t in tolerations
        ):
            continue
        tolerations.append(
            {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
        )
    spec["tolerations"] = tolerations


def _keep_admitted(spec: dict[str, Any], old_spec: dict[str, Any]) -> None:
    """Carry the admission-added volume, mounts and tolerations over to an update that lacks them."""
    added = [
        v
        for v in old_spec.get("volumes") or []
        if isinstance(v, dict) and str(v.get("name", "")).startswith("kube-api-access-")
    ]
    names = {v.get("name") for v in spec.get("volumes") or [] if isinstance(v, dict)}
    for vol in added:
        if vol["name"] in names:
            continue
        spec["volumes"] = [*(spec.get("volumes") or []), vol]
        for c in _containers(spec):
            mounts = [m for m in c.get("volumeMounts") or [] if isinstance(m, dict)]
            if not any(m.get("name") == vol["name"] for m in mounts):
                c["volumeMounts"] = [
                    *mounts,
                    {"name": vol["name"], "readOnly": True, "mountPath": TOKEN_PATH},
                ]
    if spec.get("tolerations") is None and old_spec.get("tolerations") is not None:
        spec["tolerations"] = old_spec["tolerations"]


def admit_pod(obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    """Mutate a Pod as admission would (on create), or keep what it added (on update)."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if old is None:
        _mount_token(spec)
        _tolerate(spec)
    else:
        old_spec = old.get("spec")
        if isinstance(old_spec, dict):
            _keep_admitted(spec, old_spec)
