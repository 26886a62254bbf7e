"""The small controllers: LoadBalancer Services get an ingress address (a simulated cloud provider)
after the ready delay. PersistentVolumeClaims are bound by ``kinds.provisioner``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .common import READY_DELAY, annotations_of, seconds

if TYPE_CHECKING:
    from .manager import Controller


def _due(ctl: Controller, obj: dict[str, Any], handler: str) -> bool:
    """True once the object's delay has passed since the controller first saw it."""
    meta = obj["metadata"]
    uid = str(meta["uid"])
    first = ctl.memory.setdefault(uid, time.monotonic())
    wait = first + seconds(annotations_of(obj).get(READY_DELAY), ctl.ready_delay) - time.monotonic()
    if wait > 0:
        ctl.later(wait, handler, meta.get("namespace", ""), meta["name"])
        return False
    return True


def sync_service(ctl: Controller, ns: str, name: str) -> None:
    svc = ctl.get("/services", ns, name)
    if svc is None or (svc.get("spec") or {}).get("type") != "LoadBalancer":
        return
    if ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
        return
    if not _due(ctl, svc, "/services"):
        return
    ip = f"172.18.255.{1 + int(svc['metadata']['uid'][:2], 16) % 250}"

    def assign(o: dict[str, Any]) -> None:
        if (o.get("spec") or {}).get("type") == "LoadBalancer":
            o["status"] = {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}

    ctl.mutate("/services", ns, name, assign)
