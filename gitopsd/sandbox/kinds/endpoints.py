"""The endpoints and EndpointSlice controllers: every Service with a selector has an Endpoints
object of its name and an EndpointSlice (``<service>-xxxxx``, labelled
``kubernetes.io/service-name``, owned by the Service) listing the Pods its selector matches that
have an IP: ready ones as ready addresses, the others as not ready; target ports resolved by
number or by container port name, as on a real cluster."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from ..store import Event
from .loop import Loop

if TYPE_CHECKING:
    from ..api import Api

SERVICES = "/services"
PODS = "/pods"
ENDPOINTS = "/endpoints"
SLICES = "discovery.k8s.io/endpointslices"
SLICE_MANAGER = "endpointslice-controller.k8s.io"


def _ready(pod: dict[str, Any]) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def _pod_ref(pod: dict[str, Any], ns: str) -> dict[str, Any]:
    """An address's targetRef: the pod it is (Endpoints and EndpointSlices alike)."""
    meta = pod["metadata"]
    return {"kind": "Pod", "namespace": ns, "name": meta["name"], "uid": meta.get("uid")}


def _target_port(port: dict[str, Any], pod: dict[str, Any]) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in (c or {}).get("ports") or []:
            if isinstance(p, dict) and p.get("name") == target:
                return p.get("containerPort")  # type: ignore[no-any-return]
    return None


class EndpointsController:
    def __init__(self, api: Api, loop: Loop) -> None:
        self.api = api
        self.loop = loop
        self._dirty: set[tuple[str, str]] = set()
        loop.handle(SERVICES, self._on_service)
        loop.handle(PODS, self._on_pod)

    def _rt(self, skey: str) -> Any:
        return self.api.registry.types_for_storage(skey)[0]

    def _on_service(self, ev: Event) -> None:
        self._mark(ev.namespace, ev.name)

    def _on_pod(self, ev: Event) -> None:
        entries, _ = self.api.store.list_entries(SERVICES, ev.namespace)
        for e in entries:
            self._mark(ev.namespace, e.obj["metadata"]["name"])

    def _mark(self, ns: str, name: str) -> None:
        if (ns, name) not in self._dirty:
            self._dirty.add((ns, name))
            # Coalesce a burst of pod changes into one write per Service.
            self.loop.later(0.05, lambda: self._sync(ns, name))

    def _sync(self, ns: str, name: str) -> None:
        self._dirty.discard((ns, name))
        svc_entry = self.api.store.get(SERVICES, ns, name)
        selector = ((svc_entry.obj.get("spec") or {}).get("selector") or {}) if svc_entry else {}
        if svc_entry is None or not selector:
            with self.api.store.lock:
                if self.api.store.get(ENDPOINTS, ns, name) is not None and svc_entry is None:
                    self.api.store.remove(ENDPOINTS, ns, name)
            return
        svc = svc_entry.obj
        pods, _ = self.api.store.list_entries(PODS, ns)
        matched = [
            p.obj
            for p in pods
            if all(((p.obj["metadata"].get("labels") or {}).get(k) == v) for k, v in selector.items())
            and (p.obj.get("status") or {}).get("podIP")
            and not p.obj["metadata"].get("deletionTimestamp")
        ]
        ports = [p for p in (svc.get("spec") or {}).get("ports") or [] if isinstance(p, dict)]
        self._write_endpoints(svc, matched, ports)
        self._write_slice(svc, matched, ports)

    def _write_endpoints(
        self, svc: dict[str, Any], pods: list[dict[str, Any]], ports: list[dict[str, Any]]
    ) -> None:
        meta = svc["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        ready: list[dict[str, Any]] = []
        not_ready: list[dict[str, Any]] = []
        for pod in sorted(pods, key=lambda p: p["status"]["podIP"]):
            addr = {
                "ip": pod["status"]["podIP"],
                "targetRef": _pod_ref(pod, ns),
            }
            if (pod.get("spec") or {}).get("nodeName"):
                addr["nodeName"] = pod["spec"]["nodeName"]
            (ready if _ready(pod) else not_ready).append(addr)
        subsets = []
        if pods:
            ep_ports = []
            for p in ports:
                number = _target_port(p, pods[0])
                if number is None:
                    continue
                item = {"port": number, "protocol": p.get("protocol", "TCP")}
                if p.get("name"):
                    item["name"] = p["name"]
                ep_ports.append(item)
            subset: dict[str, Any] = {}
            if ready:
                subset["addresses"] = ready
            if not_ready:
                subset["notReadyAddresses"] = not_ready
            if ep_ports:
                subset["ports"] = ep_ports
            subsets.append(subset)
        desired: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": name, "namespace": ns},
        }
        if meta.get("labels"):
            desired["metadata"]["labels"] = dict(meta["labels"])
        if subsets:
            desired["subsets"] = subsets
        self._upsert(ENDPOINTS, ns, name, desired, "endpoint-controller")

    def _write_slice(
        self, svc: dict[str, Any], pods: list[dict[str, Any]], ports: list[dict[str, Any]]
    ) -> None:
        meta = svc["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        suffix = hashlib.sha256(str(meta.get("uid")).encode()).hexdigest()[:5]
        slice_name = f"{name}-{suffix}"
        endpoints = []
        for pod in sorted(pods, key=lambda p: p["status"]["podIP"]):
            ok = _ready(pod)
            item: dict[str, Any] = {
                "addresses": [pod["status"]["podIP"]],
                "conditions": {"ready": ok, "serving": ok, "terminating": False},
                "targetRef": _pod_ref(pod, ns),
            }
            if (pod.get("spec") or {}).get("nodeName"):
                item["nodeName"] = pod["spec"]["nodeName"]
            endpoints.append(item)
        slice_ports = []
        for p in ports:
            number = _target_port(p, pods[0]) if pods else None
            item = {"name": p.get("name", ""), "protocol": p.get("protocol", "TCP")}
            if number is not None:
                item["port"] = number
            slice_ports.append(item)
        labels = dict(meta.get("labels") or {})
        labels.update(
            {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": SLICE_MANAGER}
        )
        desired = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": slice_name,
                "namespace": ns,
                "generateName": f"{name}-",
                "labels": labels,
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "name": name,
                        "uid": meta.get("uid"),
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": slice_ports,
        }
        self._upsert(SLICES, ns, slice_name, desired, "endpointslice-controller")

    def _upsert(self, skey: str, ns: str, name: str, desired: dict[str, Any], manager: str) -> None:
        rt = self._rt(skey)
        if self.api.create_internal(rt, ns, desired, manager) is not None:
            return

        def update(o: dict[str, Any]) -> None:
            kept = {k: o["metadata"][k] for k in o["metadata"] if k not in desired["metadata"]}
            fresh = json.loads(json.dumps(desired))
            o.clear()
            o.update(fresh)
            o["metadata"] = {**kept, **fresh["metadata"]}

        self.api.mutate(rt, ns, name, update)
