"""The API semantics of the sandbox: create, get, list, update, patch, delete, watch, subresources.

HTTP-free: the server module parses requests into ``Request`` values and renders what this module
returns or raises (``ApiError``). Writes run under the store lock, so read-check-commit is atomic;
stored objects are never mutated (every write builds a new dict).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import deletion as deletions
from . import eventsv1, fieldcheck, immutable, ssa, watchcache
from . import patch as patches
from .bodies import decode_json, decode_object, decode_yaml_or_json
from .defaults import Allocator, apply_defaults, initial_status
from .errors import ApiError, already_exists, bad_request, conflict, invalid, method_not_allowed, not_found
from .resources import BUILTINS, Registry, ResourceType, types_from_crd
from .scaleapply import apply_scale
from .selectors import object_filter, parse_field_selector
from .store import Entry, Event, Store, Watcher, encode
from .table import table
from .validation import validate_name, validate_object

_PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)
NAMESPACES = "/namespaces"
CRDS = "apiextensions.k8s.io/customresourcedefinitions"
RETURNS_DELETED = frozenset(
    {"/pods", "/services", "/serviceaccounts", "/persistentvolumeclaims", "/resourcequotas"}
)
REVIEWS = frozenset(
    {"authorization.k8s.io/selfsubjectaccessreviews", "authorization.k8s.io/selfsubjectrulesreviews"}
)


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Request:
    method: str
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str = ""
    query: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_type: str = ""
    user_agent: str = ""
    as_table: bool = False  # the client asked for a meta.k8s.io Table (kubectl get)

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun") == "All"

    @property
    def sends_yaml(self) -> bool:
        return self.content_type.split(";", 1)[0].strip().lower() in (
            "application/yaml",
            "application/x-yaml",
        )

    @property
    def manager(self) -> str:
        mgr = self.query.get("fieldManager")
        if mgr is None:
            mgr = self.user_agent.split("/", 1)[0] or "unknown"
        return mgr[:128]


@dataclass(frozen=True)
class Reply:
    code: int
    body: bytes
    warnings: tuple[str, ...] = ()  # sent as `Warning: 299 - "..."` headers


@dataclass
class WatchStream:
    """An open watch for the HTTP layer to stream, with its deadline in seconds."""

    watcher: Watcher
    rt: ResourceType
    timeout: float
    bookmark_rv: int | None  # send an initial-events-end BOOKMARK at this resourceVersion
    as_table: bool = False
    include: str = "Metadata"
    error: bytes | None = None  # an ERROR event to send at once, then end (watchcache)
    bookmark_interval: float | None = None  # allowWatchBookmarks: BOOKMARK this often when idle


def entry_bytes(entry: Entry, rt: ResourceType) -> bytes:
    """The stored JSON, re-labelled when the object is read through another version of its kind."""
    if eventsv1.is_v1(rt.group, rt.storage_key):
        return encode(eventsv1.view(entry.obj, rt.group_version))  # sandbox point 2
    if entry.obj.get("apiVersion") == rt.group_version:
        return entry.raw
    return encode({**entry.obj, "apiVersion": rt.group_version})


def _strip_for_compare(obj: dict[str, Any]) -> dict[str, Any]:
    meta = dict(obj.get("metadata") or {})
    meta.pop("resourceVersion", None)
    mf = meta.pop("managedFields", None) or []
    meta["__managed"] = [{k: v for k, v in e.items() if k != "time"} for e in mf if isinstance(e, dict)]
    return {**obj, "metadata": meta}


def _spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Api:
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
            deletions.carry_over(rt, old.obj, new)  # an object being deleted stays so, takes no new finalizers
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
                if _spec_part(old.obj) != _spec_part(new):
                    gen += 1
                meta["generation"] = gen
            else:
                meta.pop("generation", None)
        if rt.storage_key == CRDS:
            self._crd_status(new)
        if old is not None and _strip_for_compare(old.obj) == _strip_for_compare(new):
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

    # -- reads --------------------------------------------------------------------------------
    def get(self, req: Request) -> Reply:
        assert req.name is not None
        entry = self._get_entry(req.rt, req.namespace, req.name)
        if req.subresource == "scale":
            return Reply(200, encode(self._scale_of(req.rt, entry.obj)))
        if req.as_table and not req.subresource:
            return Reply(
                200,
                encode(table(req.rt, [entry.obj], {"resourceVersion": str(entry.rv)}, self._include(req))),
            )
        return Reply(200, entry_bytes(entry, req.rt))

    @staticmethod
    def _include(req: Request) -> str:
        return req.query.get("includeObject") or "Metadata"

    def list_objects(self, req: Request) -> Reply:
        rt = req.rt
        q = req.query
        fieldcheck.check_field_selector(rt, q.get("fieldSelector"), rt in BUILTINS, self._crd_of)
        predicate = object_filter(q.get("labelSelector"), q.get("fieldSelector"))
        ns = req.namespace if rt.namespaced else None
        name_pin = (
            parse_field_selector(q["fieldSelector"]).exact("metadata.name")
            if q.get("fieldSelector")
            else None
        )
        at = watchcache.list_version(q, self.store)
        start = q.get("continue")
        if name_pin is not None and (ns is not None or not rt.namespaced) and not start and at is None:
            one = self.store.get(rt.storage_key, ns or "", name_pin)
            entries, rv = ([one] if one else []), self.store.resource_version
        elif at is not None:
            entries, rv = watchcache.entries_at(self.store, rt.storage_key, ns, at), at
        else:
            entries, rv = self.store.list_entries(rt.storage_key, ns)
        limit = _int_param(q, "limit", 0)
        list_rv = rv
        if start:
            try:
                token = json.loads(base64.urlsafe_b64decode(start.encode()))
                last = (str(token["ns"]), str(token["name"]))
                list_rv = int(token["rv"])
            except (ValueError, KeyError, TypeError, binascii.Error):
                raise bad_request("invalid continue token") from None
            if list_rv >= 0:
                # Later pages show the list as it was at the first page's resourceVersion.
                try:
                    entries = watchcache.entries_at(self.store, rt.storage_key, ns, list_rv)
                except ApiError as err:
                    if err.code != 410:
                        raise
                    inconsistent = {"rv": -1, "ns": last[0], "name": last[1]}
                    raise watchcache.ExpiredContinue(
                        base64.urlsafe_b64encode(json.dumps(inconsistent).encode()).decode()
                    ) from None
            else:
                list_rv = rv
            entries = [e for e in entries if _pos(e) > last]
        if predicate is not None:
            entries = [e for e in entries if predicate(e.obj)]
        more = ""
        remaining = 0
        if limit > 0 and len(entries) > limit:
            remaining = len(entries) - limit
            entries = entries[:limit]
            ns_, name_ = _pos(entries[-1])
            more = base64.urlsafe_b64encode(
                json.dumps({"rv": list_rv, "ns": ns_, "name": name_}).encode()
            ).decode()
        meta: dict[str, Any] = {"resourceVersion": str(list_rv)}
        if more:
            meta["continue"] = more
            meta["remainingItemCount"] = remaining
        if req.as_table:
            return Reply(200, encode(table(rt, [e.obj for e in entries], meta, self._include(req))))
        head = encode({"kind": rt.list_kind, "apiVersion": rt.group_version, "metadata": meta})
        body = head[:-1] + b',"items":[' + b",".join(entry_bytes(e, rt) for e in entries) + b"]}"
        return Reply(200, body)

    def watch(self, req: Request) -> WatchStream:
        rt = req.rt
        q = req.query
        fieldcheck.check_field_selector(rt, q.get("fieldSelector"), rt in BUILTINS, self._crd_of)
        predicate = object_filter(q.get("labelSelector"), q.get("fieldSelector"))
        ns = req.namespace if rt.namespaced else None
        watchcache.check_watch_options(q)
        rv_text = q.get("resourceVersion", "")
        initial_events = q.get("sendInitialEvents") == "true"
        since: int | None = None
        if rv_text not in ("", "0"):
            try:
                since = int(rv_text)
            except ValueError:
                raise bad_request(f'invalid resource version "{rv_text}"') from None
        initial = initial_events or since is None
        timeout = float(_int_param(q, "timeoutSeconds", 1800)) or 1800.0
        interval = self.bookmark_interval if q.get("allowWatchBookmarks") in ("true", "1") else None
        try:
            w = self.store.watch(rt.storage_key, ns, predicate, None if initial else since, initial)
        except ApiError as err:
            # A real server opens the stream, then reports the expiry as an ERROR event in it.
            w = Watcher(rt.storage_key, ns, predicate)
            return WatchStream(w, rt, timeout, None, error=watchcache.error_line(err))
        bookmark = self.store.resource_version if initial_events else None
        return WatchStream(
            w, rt, timeout, bookmark, req.as_table, self._include(req), bookmark_interval=interval
        )

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
            deletions.namespace_terminating(self.store, self._ns_key(rt, req.namespace), rt.plural, meta["name"])
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
        if ctype not in _PATCH_TYPES:
            raise ApiError(
                415,
                f"the body of the request was in an unknown format - accepted media types include: {', '.join(_PATCH_TYPES)}",
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
                scale = _apply_patch(ctype, self._scale_of(rt, old.obj), patch_doc)
                return self._write_scale(req, old, scale)
            current = json.loads(old.raw)
            v1_events = eventsv1.is_v1(rt.group, rt.storage_key)  # sandbox point 2: patch the v1 view
            if v1_events:
                current = eventsv1.view(current, rt.group_version)
            new = _apply_patch(ctype, current, patch_doc)
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
                deletions.namespace_terminating(self.store, self._ns_key(rt, req.namespace), rt.plural, req.name)
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
        status: dict[str, Any] = {"replicas": _dig(obj, status_path) or 0}
        selector = _dig(obj, selector_path) if selector_path else _selector_text(obj)
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
            "spec": {"replicas": _dig(obj, spec_path) or 0},
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
        _set_dig(new, rt.scale_paths[0], replicas)
        ssa.record_update(old.obj, new, req.manager, rt.group_version, now_iso(), "scale")
        result, _ = self._finish(req, old, new, "scale")
        obj = result.obj if isinstance(result, Entry) else result
        return Reply(200, encode(self._scale_of(rt, obj)))

    # -- delete -------------------------------------------------------------------------------
    def delete(self, req: Request) -> Reply:
        rt = req.rt
        assert req.name is not None
        if req.subresource:
            raise method_not_allowed()
        opts = decode_object(req.body) if req.body.strip() else {}
        policy, grace = deletions.parse_options(req.query, opts)
        warns = deletions.delete_warnings(rt, policy)  # the Job orphan warning
        dry = req.dry_run or opts.get("dryRun") == ["All"]
        kept: Entry | None = None
        with self.store.lock:
            old = self._get_entry(rt, req.namespace, req.name)
            pre = opts.get("preconditions") or {}
            meta = old.obj["metadata"]
            if isinstance(pre, dict):
                if pre.get("uid") and pre["uid"] != meta.get("uid"):
                    raise conflict(
                        rt.plural,
                        rt.group,
                        req.name,
                        f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {meta.get('uid')}",
                    )
                if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
                    raise conflict(
                        rt.plural,
                        rt.group,
                        req.name,
                        "the object has been modified; please apply your changes to the latest version and try again",
                    )
            if not dry:
                kept = self._delete_entry(rt, old, policy, grace)
        if kept is not None:
            return Reply(200, entry_bytes(kept, rt), warns)  # still there (finalizers, grace period): the object
        if rt.storage_key == NAMESPACES:
            gone = json.loads(old.raw)
            gone.setdefault("status", {})["phase"] = "Terminating"
            return Reply(200, encode(gone), warns)
        if rt.storage_key in RETURNS_DELETED:
            # These kinds answer a delete with the object itself, as the real server does
            # (the official client deserializes their replies as the kind, not a Status).
            return Reply(200, entry_bytes(old, rt), warns)
        details: dict[str, Any] = {"name": req.name, "kind": rt.plural, "uid": meta.get("uid")}
        if rt.group:
            details["group"] = rt.group
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": details,
        }
        return Reply(200, encode(status), warns)

    def delete_collection(self, req: Request) -> Reply:
        rt = req.rt
        opts = decode_object(req.body) if req.body.strip() else {}
        policy, grace = deletions.parse_options(req.query, opts)
        warns = deletions.delete_warnings(rt, policy)  # the Job orphan warning
        predicate = object_filter(req.query.get("labelSelector"), req.query.get("fieldSelector"))
        with self.store.lock:
            entries, _ = self.store.list_entries(rt.storage_key, req.namespace if rt.namespaced else None)
            entries = [e for e in entries if predicate is None or predicate(e.obj)]
            if not req.dry_run:
                for e in entries:
                    self._delete_entry(rt, e, policy, grace)
        head = encode({"kind": rt.list_kind, "apiVersion": rt.group_version, "metadata": {}})
        return Reply(200, head[:-1] + b',"items":[' + b",".join(entry_bytes(e, rt) for e in entries) + b"]}", warns)

    def _delete_entry(
        self, rt: ResourceType, entry: Entry, policy: str | None, grace: int | None = None
    ) -> Entry | None:
        """Delete as the API server does (deletion.py: finalizers, grace, propagation; gc.py collects
        dependents and empties namespaces). Returns the object while it is still stored, else None;
        a CRD that goes takes its custom resources with it."""
        kept = self.deletion.delete(rt, entry, policy, grace)
        if kept is None and rt.storage_key == CRDS:
            types = self.registry.unregister_crd(entry.obj["metadata"]["name"])
            if types:
                entries, _ = self.store.list_entries(types[0].storage_key, None)
                for e in entries:
                    meta = e.obj["metadata"]
                    self.store.remove(types[0].storage_key, meta.get("namespace", ""), meta["name"])
        return kept

    def _rt_for_storage(self, skey: str) -> ResourceType | None:
        types = self.registry.types_for_storage(skey)
        return types[0] if types else None

    # -- controller support -------------------------------------------------------------------
    def mutate(
        self, rt: ResourceType, namespace: str, name: str, fn: Callable[[dict[str, Any]], None]
    ) -> Entry | None:
        """Atomically change a stored object (status writes of the simulated controllers)."""
        with self.store.lock:
            old = self.store.get(rt.storage_key, namespace, name)
            if old is None:
                return None
            new = json.loads(old.raw)
            fn(new)
            if new == old.obj:
                return old
            return self.store.put(rt.storage_key, namespace, name, new)

    def on_event(self, listener: Callable[[Event], None]) -> None:
        self.store.listeners.append(listener)


def _pos(e: Entry) -> tuple[str, str]:
    meta = e.obj.get("metadata", {})
    return (meta.get("namespace", ""), meta.get("name", ""))


def _int_param(q: dict[str, str], key: str, default: int) -> int:
    text = q.get(key)
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except ValueError:
        raise bad_request(f"{key} must be an integer, not {text!r}") from None
    if value < 0:
        raise bad_request(f"{key} must not be negative")
    return value


def _apply_patch(ctype: str, current: Any, patch_doc: Any) -> Any:
    if ctype == "application/json-patch+json":
        return patches.json_patch(current, patch_doc)
    if not isinstance(patch_doc, dict):
        raise bad_request("a merge patch must be a JSON object")
    if ctype == "application/merge-patch+json":
        return patches.merge_patch(current, patch_doc)
    return patches.strategic_merge(current, patch_doc)


def _dig(obj: Any, path: str) -> Any:
    cur = obj
    for part in path.strip(".").split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _set_dig(obj: dict[str, Any], path: str, value: Any) -> None:
    parts = path.strip(".").split(".")
    cur = obj
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = cur[part] = {}
        cur = nxt
    cur[parts[-1]] = value


def _selector_text(obj: dict[str, Any]) -> str:
    sel = (obj.get("spec") or {}).get("selector")
    if not isinstance(sel, dict):
        return ""
    labels = sel.get("matchLabels") if "matchLabels" in sel or "matchExpressions" in sel else sel
    if not isinstance(labels, dict):
        return ""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


__all__ = ["Api", "Reply", "Request", "WatchStream", "decode_yaml_or_json"]
