"""The API semantics of the sandbox: create, get, list, update, patch, delete, watch, subresources.

HTTP-free: the server module parses requests into ``Request`` values and renders what this module
returns or raises (``ApiError``). Writes run under the store lock, so read-check-commit is atomic;
stored objects are never mutated (every write builds a new dict).

The verbs are layered: gitopsd.sandbox.apitypes (Request, Reply, shared helpers), api_core (the
commit of one write), api_writes (create, update, patch, scale); this module adds reads, watch,
delete and the controllers' hooks, and is where the server and cluster import from.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from . import deletion as deletions
from . import fieldcheck, watchcache
from .api_writes import ApiWrites
from .apitypes import (
    CRDS,
    NAMESPACES,
    RETURNS_DELETED,
    Reply,
    Request,
    WatchStream,
    entry_bytes,
    int_param,
    now_iso,
    pos,
)
from .bodies import decode_object, decode_yaml_or_json
from .errors import ApiError, bad_request, conflict, method_not_allowed
from .resources import BUILTINS, ResourceType
from .selectors import object_filter, parse_field_selector
from .store import Entry, Event, Watcher, encode
from .table import table


class Api(ApiWrites):
    """The sandbox's API semantics (see the module docstring)."""

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
        limit = int_param(q, "limit", 0)
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
            entries = [e for e in entries if pos(e) > last]
        if predicate is not None:
            entries = [e for e in entries if predicate(e.obj)]
        more = ""
        remaining = 0
        if limit > 0 and len(entries) > limit:
            remaining = len(entries) - limit
            entries = entries[:limit]
            ns_, name_ = pos(entries[-1])
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
        timeout = float(int_param(q, "timeoutSeconds", 1800)) or 1800.0
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


__all__ = [
    "Api",
    "Reply",
    "Request",
    "WatchStream",
    "decode_yaml_or_json",
    "encode",
    "entry_bytes",
    "now_iso",
]
