"""Kubernetes events of an application's live resources (matched by the involved object's uid, or
its kind, namespace and name), as Argo CD's ListResourceEvents: read from the API server in the
namespaces of the tree at each call (events come and go by the second; no cache)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.api.gitopsd.v1 import resource_pb2 as respb
from gitopsd.app.cachedclient import CachedKubeClient
from gitopsd.app.resources.tree import LiveObject
from gitopsd.kube.errors import KubeError

# Events answered at most (the newest); a namespace can hold many thousands.
MAX_EVENTS = 1000


def _s(m: Mapping[str, Any], key: str) -> str:
    value = m.get(key)
    return value if isinstance(value, str) else ""


def _event_message(ev: Mapping[str, Any]) -> respb.KubeEvent:
    meta = ev.get("metadata") if isinstance(ev.get("metadata"), Mapping) else {}
    inv = ev.get("involvedObject") if isinstance(ev.get("involvedObject"), Mapping) else {}
    src = ev.get("source") if isinstance(ev.get("source"), Mapping) else {}
    assert isinstance(meta, Mapping) and isinstance(inv, Mapping) and isinstance(src, Mapping)
    count = ev.get("count")
    return respb.KubeEvent(
        metadata=common_pb2.ObjectMeta(
            name=_s(meta, "name"),
            namespace=_s(meta, "namespace"),
            uid=_s(meta, "uid"),
            resource_version=_s(meta, "resourceVersion"),
            creation_timestamp=_s(meta, "creationTimestamp"),
        ),
        involved_object=respb.ObjectReference(
            kind=_s(inv, "kind"),
            namespace=_s(inv, "namespace"),
            name=_s(inv, "name"),
            uid=_s(inv, "uid"),
            api_version=_s(inv, "apiVersion"),
            field_path=_s(inv, "fieldPath"),
        ),
        reason=_s(ev, "reason"),
        message=_s(ev, "message"),
        source=respb.EventSource(component=_s(src, "component"), host=_s(src, "host")),
        first_timestamp=_s(ev, "firstTimestamp") or _s(ev, "eventTime"),
        last_timestamp=_s(ev, "lastTimestamp") or _s(ev, "eventTime"),
        count=count if isinstance(count, int) and 0 <= count < 2**31 else 1,
        type=_s(ev, "type"),
        reporting_component=_s(ev, "reportingComponent"),
    )


def resource_events(client: CachedKubeClient, items: Iterable[LiveObject]) -> list[respb.KubeEvent]:
    """The events whose involved object is one of ``items``, oldest first."""
    items = list(items)
    uids = {str((i.obj.get("metadata") or {}).get("uid") or "") for i in items} - {""}
    names = {(i.key.kind, i.key.namespace, i.key.name) for i in items}
    found: list[dict[str, Any]] = []
    for ns in sorted({i.key.namespace for i in items if i.key.namespace}):
        try:
            events = client.list("v1", "Event", ns)
        except KubeError:
            continue  # events are a help, not the truth: a namespace we may not read has none to show
        for ev in events:
            inv = ev.get("involvedObject")
            if not isinstance(inv, Mapping):
                continue
            uid = inv.get("uid")
            if (isinstance(uid, str) and uid in uids) or (
                (inv.get("kind"), inv.get("namespace") or "", inv.get("name")) in names and not uid
            ):
                found.append(ev)
    found.sort(key=lambda e: _s(e, "lastTimestamp") or _s(e, "eventTime") or "")
    return [_event_message(e) for e in found[-MAX_EVENTS:]]
