"""The shared part of the sandbox's API semantics: decoding and identity checks, the commit of one
write (defaults, validation, immutable fields, managed fields, the store write), CRD status and
resourceVersion preconditions.

gitopsd.sandbox.api_writes and gitopsd.sandbox.api build the verbs on ApiCore.
"""

from __future__ import annotations

import uuid
from typing import Any

from . import deletion as deletions
from . import eventsv1, fieldcheck, immutable, watchcache
from .apitypes import CRDS, NAMESPACES, Reply, Request, entry_bytes, now_iso, spec_part, strip_for_compare
from .defaults import Allocator, apply_defaults, initial_status
from .errors import bad_request, conflict, invalid, not_found
from .resources import BUILTINS, Registry, ResourceType, types_from_crd
from .store import Entry, Store, encode


class ApiCore:
    """The store, registry and allocators of one sandbox API, and the steps every verb shares."""

    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        self.alloc = Allocator()
        self.bookmark_interval = watchcache.DEFAULT_BOOKMARK_INTERVAL
        self.deletion = deletions.Deletion(store)  # finalizers, grace periods, propagation (deletion.py)

    # -- helpers ------------------------------------------------------------------------------
    def _decode_fields(
        self, req: Request, obj: dict[str, Any], apply: bool = False
    ) -> tuple[dict[str, Any], list[str]]:
        """fieldValidation, types and canonical quantities of a body (fieldcheck.py)."""
        return fieldcheck.check_body(req.rt, obj, req.query, self._crd_of, req.rt in BUILTINS, apply)

    def _crd_of(self, rt: ResourceType) -> dict[str, Any] | None:
        entry = self.store.get(CRDS, "", f"{rt.plural}.{rt.group}")
        return entry.obj if entry is not None else None

    def _ns_key(self, rt: ResourceType, namespace: str | None) -> str:
        return (namespace or "") if rt.namespaced else ""

    def _get_entry(self, rt: ResourceType, namespace: str | None, name: str) -> Entry:
        entry = self.store.get(rt.storage_key, self._ns_key(rt, namespace), name)
        if entry is None:
            raise not_found(rt.plural, rt.group, name)
        return entry

    def _require_namespace(self, rt: ResourceType, namespace: str | None) -> None:
        if rt.namespaced:
            if not namespace:
                raise bad_request("a namespace is required for a namespaced resource")
            if self.store.get(NAMESPACES, "", namespace) is None:
                raise not_found("namespaces", "", namespace)

    def _check_identity(self, req: Request, obj: dict[str, Any], name: str | None) -> None:
        rt = req.rt
        api_version = obj.get("apiVersion")
        if api_version is not None and api_version != rt.group_version:
            # Another served version of the same kind is fine (autoscaling/v1 vs v2).
            if not any(
                t.group_version == api_version for t in self.registry.types_for_storage(rt.storage_key)
            ):
                raise bad_request(
                    f"the API version in the data ({api_version}) does not match the expected API version ({rt.group_version})"
                )
        kind = obj.get("kind")
        if kind is not None and kind != rt.kind:
            raise bad_request(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
        obj["apiVersion"], obj["kind"] = rt.group_version, rt.kind
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        body_ns = meta.get("namespace")
        if rt.namespaced:
            if body_ns not in (None, "", req.namespace):
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = req.namespace
        else:
            meta.pop("namespace", None)
        if name is not None:
            if meta.get("name") not in (None, name):
                raise bad_request(
                    f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
                )
            meta["name"] = name
        for key in ("labels", "annotations"):
            value = meta.get(key)
            if value is not None and (
                not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values())
            ):
                raise invalid(
                    rt.kind,
                    rt.group,
                    str(meta.get("name", "")),
                    [(f"metadata.{key}", "must be a map of strings")],
                )

    def _finish(
        self,
        req: Request,
        old: Entry | None,
        new: dict[str, Any],
        subresource: str = "",
    ) -> tuple[Entry | dict[str, Any], bool]:
        """Fill server fields, default, and commit ``new`` (unless dry run or a no-op).

        Returns (the stored entry or, for a dry run, the would-be object; created?).
        """
        rt = req.rt
        meta = new["metadata"]
        if old is not None:
            old_meta = old.obj["metadata"]
            for key in ("uid", "creationTimestamp"):
                if key in old_meta:
                    meta[key] = old_meta[key]
                else:
                    meta.pop(key, None)
            if "status" in rt.subresources and subresource != "status":
                # Writes to the main resource never change status (it has its own subresource).
                if "status" in old.obj:
                    new["status"] = old.obj["status"]
                else:
                    new.pop("status", None)
        else:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_iso()
            if rt.has_generation:
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            if "status" in rt.subresources:
                # Status is the controllers' to write: built-in kinds start with an empty one
                # (as the real server answers), custom resources with none.
                if rt in BUILTINS:
                    new["status"] = initial_status(rt)
                else:
                    new.pop("status", None)
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(key, None)
        if old is not None:
            deletions.carry_over(
                rt, old.obj, new
            )  # an object being deleted stays so, takes no new finalizers
        if not meta.get("labels") and "labels" in meta:
            del meta["labels"]
        if not meta.get("annotations") and "annotations" in meta:
            del meta["annotations"]
        apply_defaults(rt, new, old.obj if old else None, self.alloc)
        if old is None:
            immutable.on_create(rt, new)
        if old is not None and subresource != "status":
            immutable.check_update(rt, old.obj, new)
        if old is not None:
            if rt.has_generation:
                # Compared after defaulting, so re-sending a manifest without defaults is no change.
                gen = int(old.obj["metadata"].get("generation", 1))
                if spec_part(old.obj) != spec_part(new):
                    gen += 1
                meta["generation"] = gen
            else:
                meta.pop("generation", None)
        if rt.storage_key == CRDS:
            self._crd_status(new)
        if old is not None and strip_for_compare(old.obj) == strip_for_compare(new):
            return old, False  # a no-op write changes nothing, not even resourceVersion
        if req.dry_run:
            if old is not None:
                meta["resourceVersion"] = old.obj["metadata"].get("resourceVersion")
            else:
                meta.pop("resourceVersion", None)
            return new, old is None
        name = meta["name"]
        entry = self.store.put(rt.storage_key, self._ns_key(rt, req.namespace), name, new)
        if rt.storage_key == CRDS:
            self.registry.register_crd(name, types_from_crd(new))
        if old is not None:
            self.deletion.finish_if_released(rt, entry)  # the last finalizer went: the object goes
        return entry, old is None

    def _crd_status(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        names = dict(spec.get("names") or {})
        stored = [
            v.get("name") for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("storage")
        ]
        t = crd.get("metadata", {}).get("creationTimestamp") or now_iso()
        crd["status"] = {
            "acceptedNames": names,
            "conditions": [
                {
                    "type": "NamesAccepted",
                    "status": "True",
                    "reason": "NoConflicts",
                    "message": "no conflicts found",
                    "lastTransitionTime": t,
                },
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                    "lastTransitionTime": t,
                },
            ],
            "storedVersions": stored
            or [v.get("name") for v in spec.get("versions") or [] if isinstance(v, dict)][:1],
        }

    def _reply(
        self, req: Request, result: Entry | dict[str, Any], code: int = 200, warnings: list[str] | None = None
    ) -> Reply:
        if isinstance(result, Entry):
            return Reply(code, entry_bytes(result, req.rt), tuple(warnings or ()))
        if eventsv1.is_v1(req.rt.group, req.rt.storage_key):
            return Reply(code, encode(eventsv1.view(result, req.rt.group_version)), tuple(warnings or ()))
        return Reply(code, encode(result), tuple(warnings or ()))

    def _check_rv(self, req: Request, old: Entry, new: dict[str, Any]) -> None:
        want = (new.get("metadata") or {}).get("resourceVersion")
        if want not in (None, "") and str(want) != old.obj["metadata"].get("resourceVersion"):
            raise conflict(
                req.rt.plural,
                req.rt.group,
                old.obj["metadata"]["name"],
                "the object has been modified; please apply your changes to the latest version and try again",
            )

    def _base_managed(self, old: Entry, new: dict[str, Any]) -> dict[str, Any]:
        """The object whose managedFields an update starts from: the stored ones, unless the
        request explicitly replaced them (an empty list resets ownership, as on a real server)."""
        given = (new.get("metadata") or {}).get("managedFields")
        current = old.obj["metadata"].get("managedFields")
        if given is None or given == current:
            return old.obj
        if not isinstance(given, list):
            raise bad_request("metadata.managedFields must be a list")
        return {**old.obj, "metadata": {**old.obj["metadata"], "managedFields": given}}
