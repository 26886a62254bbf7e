"""Helpers shared by the simulated controllers: sandbox annotations, names, hashes, conditions.

Nothing here touches the store; the kind modules call these to build what they write.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import secrets
from typing import Any

from ..kinds.seed import NODE

JOB_RESULT = "sandbox.gitopsd.io/job-result"
JOB_DURATION = "sandbox.gitopsd.io/job-duration"
READY_DELAY = "sandbox.gitopsd.io/ready-delay"
ROLLOUT_RESULT = "sandbox.gitopsd.io/rollout-result"
LOG_LINES = "sandbox.gitopsd.io/logs"
MANAGER = "kube-controller-manager"
# The one node pods are scheduled to: the Node object kinds/seed.py creates.
NODE_NAME = NODE
HOST_IP = "10.0.0.10"

# The alphabet client-go's rand.String / SafeEncodeString use: no vowels, no confusable digits.
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"

# Which storage key an owner kind lives under (for walking ownerReferences up).
OWNER_KINDS = {
    "ReplicaSet": "apps/replicasets",
    "ReplicationController": "/replicationcontrollers",
    "Deployment": "apps/deployments",
    "StatefulSet": "apps/statefulsets",
    "DaemonSet": "apps/daemonsets",
    "Job": "batch/jobs",
    "CronJob": "batch/cronjobs",
}


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_suffix(n: int = 5) -> str:
    return "".join(secrets.choice(_ALPHANUMS) for _ in range(n))


def template_hash(template: Any, collisions: int = 0) -> str:
    """A pod-template-hash / controller-revision-hash: a 32-bit hash of the template, its decimal
    digits safe-encoded (the shape real hashes have, e.g. ``5d8f7c9b4``)."""
    text = json.dumps(template, sort_keys=True) + (f"#{collisions}" if collisions else "")
    value = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
    return "".join(_ALPHANUMS[ord(ch) % len(_ALPHANUMS)] for ch in str(value))


def deep(value: Any) -> Any:
    return json.loads(json.dumps(value))


def annotations_of(obj: dict[str, Any] | None) -> dict[str, str]:
    meta = (obj or {}).get("metadata") or {}
    found = meta.get("annotations") or {}
    return found if isinstance(found, dict) else {}


def seconds(text: Any, default: float) -> float:
    """A delay from an annotation (seconds, capped at an hour), else ``default``."""
    if text is None:
        return default
    try:
        value = float(text)
    except (TypeError, ValueError):
        return default
    if value != value:  # NaN
        return default
    return min(max(value, 0.0), 3600.0)


def says_fail(text: Any) -> bool:
    return str(text or "").lower() in ("fail", "failed", "failure")


def owner_ref(api_version: str, kind: str, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller") is True:
            return ref
    return None


def int_of(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def scaled(value: Any, total: int, round_up: bool, default: int) -> int:
    """An int-or-percent (maxSurge, maxUnavailable) resolved against ``total``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 0)
    if isinstance(value, str) and value.endswith("%"):
        try:
            pct = float(value[:-1])
        except ValueError:
            return default
        raw = pct * total / 100.0
        return max(int(math.ceil(raw) if round_up else math.floor(raw)), 0)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return default


def set_condition(
    status: dict[str, Any], ctype: str, value: str, reason: str, message: str, now: str, touch: bool = False
) -> None:
    """Set one condition as the workload controllers do: ``lastTransitionTime`` moves only when the
    status flips, ``lastUpdateTime`` whenever the condition changes (or ``touch``: progress made)."""
    conds = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    for cond in conds:
        if cond.get("type") == ctype:
            if cond.get("status") != value:
                cond["lastTransitionTime"] = now
            if touch or (cond.get("status"), cond.get("reason"), cond.get("message")) != (
                value,
                reason,
                message,
            ):
                cond["lastUpdateTime"] = now
            cond.update(status=value, reason=reason, message=message)
            break
    else:
        conds.append(
            {
                "type": ctype,
                "status": value,
                "lastUpdateTime": now,
                "lastTransitionTime": now,
                "reason": reason,
                "message": message,
            }
        )
    status["conditions"] = conds


def condition(obj: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == ctype:
            return cond
    return None


def drop_zero(status: dict[str, Any], *keys: str) -> None:
    """Drop zero counters, as the API server's omitempty encoding does."""
    for k in keys:
        if status.get(k) == 0:
            del status[k]
