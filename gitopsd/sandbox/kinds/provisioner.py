"""A dynamic volume provisioner for the default StorageClass, as a real cluster's PV controller
and provisioner do together: a claim without a class gets the default one; a claim of a class
whose provisioner is the sandbox's gets a PersistentVolume ``pvc-<claim uid>`` after a moment
(Pending → Bound on both sides, with the real binding annotations); deleting the claim releases
the volume, and a ``Delete`` reclaim policy deletes it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..store import Event
from .loop import Loop
from .seed import PROVISIONER

if TYPE_CHECKING:
    from ..api import Api

PVCS = "/persistentvolumeclaims"
PVS = "/persistentvolumes"
CLASSES = "storage.k8s.io/storageclasses"
DEFAULT_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
READY_DELAY = "sandbox.gitopsd.io/ready-delay"  # per-claim provisioning delay (sandbox only)


class Provisioner:
    def __init__(self, api: Api, loop: Loop, delay: float) -> None:
        self.api = api
        self.loop = loop
        self.delay = delay
        self._pending: set[str] = set()  # claim uids with a bind scheduled
        loop.handle(PVCS, self._on_claim)

    def _rt(self, skey: str) -> Any:
        return self.api.registry.types_for_storage(skey)[0]

    def _default_class(self) -> dict[str, Any] | None:
        entries, _ = self.api.store.list_entries(CLASSES, None)
        for e in entries:
            if ((e.obj["metadata"].get("annotations") or {}).get(DEFAULT_ANNOTATION)) == "true":
                return e.obj
        return None

    def _on_claim(self, ev: Event) -> None:
        meta = ev.entry.obj["metadata"]
        if ev.type == "DELETED":
            self._release(ev.entry.obj)
            return
        uid = meta.get("uid", "")
        if uid in self._pending or (ev.entry.obj.get("spec") or {}).get("volumeName"):
            return
        self._pending.add(uid)
        ns, name = meta.get("namespace", ""), meta["name"]
        self.loop.later(self._delay(meta), lambda: self._provision(ns, name, uid))

    def _delay(self, meta: dict[str, Any]) -> float:
        text = (meta.get("annotations") or {}).get(READY_DELAY)
        try:
            value = float(text) if text is not None else self.delay
        except ValueError:
            return self.delay
        return min(max(value, 0.0), 3600.0)

    def _provision(self, ns: str, name: str, uid: str) -> None:
        self._pending.discard(uid)
        entry = self.api.store.get(PVCS, ns, name)
        if entry is None or entry.obj["metadata"].get("uid") != uid:
            return
        claim = entry.obj
        spec = claim.get("spec") or {}
        if spec.get("volumeName"):
            return
        class_name = spec.get("storageClassName")
        if class_name is None:
            default = self._default_class()
            if default is None:
                return  # stays Pending, as with no default class on a real cluster
            class_name = default["metadata"]["name"]
        sc_entry = self.api.store.get(CLASSES, "", class_name) if class_name else None
        if sc_entry is None or sc_entry.obj.get("provisioner") != PROVISIONER:
            return  # another provisioner's class (or static binding): Pending
        storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        modes = spec.get("accessModes") or ["ReadWriteOnce"]
        pv_name = f"pvc-{uid}"
        pv = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
            "spec": {
                "capacity": {"storage": storage},
                "accessModes": modes,
                "persistentVolumeReclaimPolicy": sc_entry.obj.get("reclaimPolicy") or "Delete",
                "storageClassName": class_name,
                "volumeMode": spec.get("volumeMode") or "Filesystem",
                "hostPath": {"path": f"/var/local-path-provisioner/{pv_name}_{ns}_{name}", "type": ""},
                "claimRef": {
                    "kind": "PersistentVolumeClaim",
                    "apiVersion": "v1",
                    "namespace": ns,
                    "name": name,
                    "uid": uid,
                    "resourceVersion": claim["metadata"].get("resourceVersion"),
                },
            },
        }
        if self.api.create_internal(self._rt(PVS), "", pv, PROVISIONER) is None:
            return
        self.api.mutate(self._rt(PVS), "", pv_name, lambda o: o.__setitem__("status", {"phase": "Bound"}))

        def bind(o: dict[str, Any]) -> None:
            s = o.setdefault("spec", {})
            s["volumeName"] = pv_name
            s.setdefault("storageClassName", class_name)
            ann = o["metadata"].setdefault("annotations", {})
            ann.update(
                {
                    "pv.kubernetes.io/bind-completed": "yes",
                    "pv.kubernetes.io/bound-by-controller": "yes",
                    "volume.beta.kubernetes.io/storage-provisioner": PROVISIONER,
                    "volume.kubernetes.io/storage-provisioner": PROVISIONER,
                }
            )
            o["status"] = {"phase": "Bound", "accessModes": modes, "capacity": {"storage": storage}}

        self.api.mutate(self._rt(PVCS), ns, name, bind)

    def _release(self, claim: dict[str, Any]) -> None:
        pv_name = (claim.get("spec") or {}).get("volumeName")
        if not pv_name:
            return
        with self.api.store.lock:
            pv = self.api.store.get(PVS, "", pv_name)
            if pv is None or ((pv.obj.get("spec") or {}).get("claimRef") or {}).get("uid") != claim[
                "metadata"
            ].get("uid"):
                return
            if (pv.obj.get("spec") or {}).get("persistentVolumeReclaimPolicy") == "Delete":
                self.api.store.remove(PVS, "", pv_name)
                return
            obj = json.loads(pv.raw)
            obj["status"] = {"phase": "Released"}
            self.api.store.put(PVS, "", pv_name, obj)
