"""The sandbox API's writes: create, update (PUT), patch (JSON, merge, strategic, server-side
apply) and the /scale subresource, each committed through ApiCore under the store lock.

Built on gitopsd.sandbox.api_core; gitopsd.sandbox.api adds reads, deletes and the controller hooks.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from . import deletion as deletions
from . import eventsv1, fieldcheck, ssa
from .api_core import ApiCore
from .apitypes import (
    NAMESPACES,
    PATCH_TYPES,
    REVIEWS,
    Reply,
    Request,
    apply_patch,
    dig,
    now_iso,
    selector_text,
    set_dig,
)
from .bodies import decode_json, decode_object
from .errors import ApiError, already_exists, bad_request, conflict, invalid, method_not_allowed, not_found
from .resources import ResourceType
from .scaleapply import apply_scale
from .store import Entry, encode
from .validation import validate_name, validate_object


class ApiWrites(ApiCore):
    """Create, update, patch and scale."""

    # -- create -------------------------------------------------------------------------------
    def create(self, req: Request) -> Reply:
        rt = req.rt
        if req.subresource or req.name:
            raise method_not_allowed()
        obj = decode_object(req.body, yaml_ok=req.sends_yaml)
        if eventsv1.is_v1(rt.group, rt.storage_key):
            obj = eventsv1.to_core(obj)  # sandbox point 2: stored as a core Event
        self._check_identity(req, obj, None)
        if rt.storage_key in REVIEWS:
            # Access reviews are answered, never stored: the sandbox's one token may do anything.
            obj["status"] = {
                "allowed": True,
                "reason": "the sandbox cluster authorizes every authenticated request",
            }
            return Reply(201, encode(obj))
        meta = obj["metadata"]
        if not meta.get("name") and isinstance(meta.get("generateName"), str) and meta["generateName"]:
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        validate_name(rt, meta.get("name"))
        obj, warnings = self._decode_fields(req, obj)
        validate_object(rt, obj)
        with self.store.lock:
            self._require_namespace(rt, req.namespace)
            deletions.namespace_terminating(
                self.store, self._ns_key(rt, req.namespace), rt.plural, meta["name"]
            )
            if self.store.get(rt.storage_key, self._ns_key(rt, req.namespace), meta["name"]) is not None:
                raise already_exists(rt.plural, rt.group, meta["name"])
            meta.pop("resourceVersion", None)
            meta.pop("managedFields", None)
            ssa.record_update(None, obj, req.manager, rt.group_version, now_iso())
            result, _ = self._finish(req, None, obj)
        return self._reply(req, result, 201, warnings)

    def create_internal(
        self, rt: ResourceType, namespace: str, obj: dict[str, Any], manager: str
    ) -> Entry | None:
        """Create on behalf of the simulated controllers (no HTTP); None if it exists already."""
        req = Request("POST", rt, namespace, None, user_agent=manager)
        obj = json.loads(json.dumps(obj))
        self._check_identity(req, obj, None)
        with self.store.lock:
            if (
                self.store.get(rt.storage_key, self._ns_key(rt, namespace), obj["metadata"]["name"])
                is not None
            ):
                return None
            if rt.namespaced and self.store.get(NAMESPACES, "", namespace) is None:
                return None
            ns_entry = self.store.get(NAMESPACES, "", namespace) if rt.namespaced else None
            if ns_entry is not None and deletions.terminating(ns_entry.obj):
                return None  # a terminating namespace takes no new content
            ssa.record_update(None, obj, manager, rt.group_version, now_iso())
            result, _ = self._finish(req, None, obj)
        return result if isinstance(result, Entry) else None

    # -- update (PUT) -------------------------------------------------------------------------
    def update(self, req: Request) -> Reply:
        rt = req.rt
        assert req.name is not None
        if req.subresource and req.subresource not in rt.subresources:
            raise not_found(f"{rt.plural}/{req.subresource}", rt.group, req.name)
        body = decode_object(req.body, yaml_ok=req.sends_yaml)
        if eventsv1.is_v1(rt.group, rt.storage_key):
            body = eventsv1.to_core(body)  # sandbox point 2
        with self.store.lock:
            old = self.store.get(rt.storage_key, self._ns_key(rt, req.namespace), req.name)
            if req.subresource == "scale":
                if old is None:
                    raise not_found(rt.plural, rt.group, req.name)
                return self._write_scale(req, old, body)
            if old is None:
                raise not_found(rt.plural, rt.group, req.name)
            self._check_identity(req, body, req.name)
            self._check_rv(req, old, body)
            fieldcheck.check_uid(rt, old.obj, body)
            body, warnings = self._decode_fields(req, body)
            if req.subresource == "status":
                new = json.loads(old.raw)
                if "status" in body:
                    new["status"] = body["status"]
                else:
                    new.pop("status", None)
            else:
                new = body
                validate_object(rt, new)
            base = self._base_managed(old, new)
            ssa.record_update(base, new, req.manager, rt.group_version, now_iso(), req.subresource)
            result, _ = self._finish(req, old, new, req.subresource)
        return self._reply(req, result, warnings=warnings)

    # -- patch --------------------------------------------------------------------------------
    def patch(self, req: Request) -> Reply:
        rt = req.rt
        assert req.name is not None
        ctype = req.content_type.split(";", 1)[0].strip().lower()
        if ctype not in PATCH_TYPES:
            raise ApiError(
                415,
                f"the body of the request was in an unknown format - accepted media types include: {', '.join(PATCH_TYPES)}",
            )
        if req.subresource and req.subresource not in rt.subresources:
            raise not_found(f"{rt.plural}/{req.subresource}", rt.group, req.name)
        if ctype == "application/apply-patch+yaml":
            return self._apply(req)
        patch_doc = decode_json(req.body)
        with self.store.lock:
            old = self.store.get(rt.storage_key, self._ns_key(rt, req.namespace), req.name)
            if old is None:
                raise not_found(rt.plural, rt.group, req.name)
            if req.subresource == "scale":
                scale = apply_patch(ctype, self._scale_of(rt, old.obj), patch_doc)
                return self._write_scale(req, old, scale)
            current = json.loads(old.raw)
            v1_events = eventsv1.is_v1(rt.group, rt.storage_key)  # sandbox point 2: patch the v1 view
            if v1_events:
                current = eventsv1.view(current, rt.group_version)
            new = apply_patch(ctype, current, patch_doc)
            if not isinstance(new, dict):
                raise bad_request("the patched object is not a JSON object")
            if v1_events:
                new = eventsv1.to_core(new)
            self._check_identity(req, new, req.name)
            self._check_rv(req, old, new)
            fieldcheck.check_uid(rt, old.obj, new)
            new, warnings = self._decode_fields(req, new)
            if req.subresource == "status":
                status = new.get("status")
                new = json.loads(old.raw)
                if status is None:
                    new.pop("status", None)
                else:
                    new["status"] = status
            else:
                validate_object(rt, new)
            base = self._base_managed(old, new)
            ssa.record_update(base, new, req.manager, rt.group_version, now_iso(), req.subresource)
            result, _ = self._finish(req, old, new, req.subresource)
        return self._reply(req, result, warnings=warnings)

    def _apply(self, req: Request) -> Reply:
        rt = req.rt
        assert req.name is not None
        if "fieldManager" not in req.query:
            raise bad_request("PATCH with application/apply-patch+yaml requires the fieldManager parameter")
        if req.subresource == "scale":
            return apply_scale(self, req)
        applied = decode_object(req.body, yaml_ok=True)
        if "apiVersion" not in applied or "kind" not in applied:
            raise bad_request("apply patches must set apiVersion and kind")
        force = req.query.get("force") == "true"
        with self.store.lock:
            self._check_identity(req, applied, req.name)
            old = self.store.get(rt.storage_key, self._ns_key(rt, req.namespace), req.name)
            if old is None:
                self._require_namespace(rt, req.namespace)
                validate_name(rt, req.name)
                deletions.namespace_terminating(
                    self.store, self._ns_key(rt, req.namespace), rt.plural, req.name
                )
            else:
                self._check_rv(req, old, applied)
                fieldcheck.check_uid(rt, old.obj, applied)
            applied, warnings = self._decode_fields(req, applied, apply=True)
            applied["metadata"].pop("resourceVersion", None)
            applied["metadata"].pop("managedFields", None)
            new = ssa.server_side_apply(
                old.obj if old else None,
                applied,
                req.manager,
                force,
                rt.group_version,
                now_iso(),
                req.subresource,
            )
            new["apiVersion"], new["kind"] = rt.group_version, rt.kind
            new["metadata"]["name"] = req.name
            if rt.namespaced:
                new["metadata"]["namespace"] = req.namespace
            if req.subresource != "status":
                validate_object(rt, new)
            result, created = self._finish(req, old, new, req.subresource)
        return self._reply(req, result, 201 if created else 200, warnings)

    # -- scale --------------------------------------------------------------------------------
    def _scale_of(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        if "scale" not in rt.subresources:
            raise not_found(f"{rt.plural}/scale", rt.group, obj["metadata"]["name"])
        meta = obj["metadata"]
        spec_path, status_path, selector_path = rt.scale_paths
        status: dict[str, Any] = {"replicas": dig(obj, status_path) or 0}
        selector = dig(obj, selector_path) if selector_path else selector_text(obj)
        if selector:
            status["selector"] = selector
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: meta[k]
                for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if k in meta
            },
            "spec": {"replicas": dig(obj, spec_path) or 0},
            "status": status,
        }

    def _write_scale(self, req: Request, old: Entry, scale: Any) -> Reply:
        rt = req.rt
        if not isinstance(scale, dict):
            raise bad_request("the body must be a Scale object")
        want_rv = (scale.get("metadata") or {}).get("resourceVersion")
        if want_rv not in (None, "") and str(want_rv) != old.obj["metadata"].get("resourceVersion"):
            raise conflict(
                rt.plural,
                rt.group,
                old.obj["metadata"]["name"],
                "the object has been modified; please apply your changes to the latest version and try again",
            )
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise invalid(
                "Scale",
                "autoscaling",
                old.obj["metadata"]["name"],
                [("spec.replicas", "must be a non-negative integer")],
            )
        new = json.loads(old.raw)
        set_dig(new, rt.scale_paths[0], replicas)
        ssa.record_update(old.obj, new, req.manager, rt.group_version, now_iso(), "scale")
        result, _ = self._finish(req, old, new, "scale")
        obj = result.obj if isinstance(result, Entry) else result
        return Reply(200, encode(self._scale_of(rt, obj)))
