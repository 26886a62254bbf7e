"""The resource tree of an application: every live object it manages, and their children through
ownerReferences (Deployment → ReplicaSet → Pod, CronJob → Job → Pod, StatefulSet → Pod), as Argo CD's
ApplicationTree.

Managed objects and children are read from the cluster's live-state cache (gitopsd.app.livecache),
which watches the child kinds once asked: a tree costs no request to the API server once the cache is
warm. A kind the cache cannot answer (RBAC forbids a cluster-wide list) is listed in the namespaces
concerned instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.api.gitopsd.v1 import resource_pb2 as respb
from gitopsd.app.cachedclient import CachedKubeClient
from gitopsd.engine.health import LuaHealthChecks, assess_health
from gitopsd.engine.resources import ResourceKey, split_api_version
from gitopsd.engine.tracking import tracking_of
from gitopsd.kube.errors import KubeError, NotFound

# Kinds that objects of an application own (their controllers create them). A CRD's children
# (an Argo Rollout's ReplicaSets) are among these kinds too.
CHILD_KINDS: tuple[tuple[str, str], ...] = (
    ("apps/v1", "ReplicaSet"),
    ("v1", "Pod"),
    ("batch/v1", "Job"),
)
# The tree is cut below this depth: ownerReferences can form cycles in a hostile cluster.
MAX_DEPTH = 8
# Seconds a tree waits for the first list of a child kind (later trees answer from the watch).
FIRST_LIST_WAIT = 10.0


@dataclass(frozen=True)
class LiveObject:
    key: ResourceKey
    obj: dict[str, Any]
    parents: tuple[ResourceKey, ...] = ()
    sync_status: str = ""


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    m = obj.get("metadata")
    return m if isinstance(m, Mapping) else {}


def key_of(obj: Mapping[str, Any]) -> ResourceKey:
    group, version = split_api_version(str(obj.get("apiVersion") or ""))
    m = _meta(obj)
    return ResourceKey(group, str(obj.get("kind") or ""), str(m.get("namespace") or ""), str(m.get("name") or ""), version)


def managed_live(client: CachedKubeClient, app: apppb.Application) -> list[LiveObject]:
    """The live objects of the application's managed (non-hook) resources, as its status lists them."""
    out: list[LiveObject] = []
    name = app.metadata.name
    for r in app.status.resources:
        if r.hook or not r.kind or not r.name:
            continue
        api_version = f"{r.group}/{r.version}" if r.group else (r.version or "v1")
        found = client.lookup(api_version, r.kind, r.namespace or None, [r.name], name)
        obj: dict[str, Any] | None = None
        if found is not None:
            obj = next((o for o in found if _meta(o).get("name") == r.name), None)
        else:
            try:
                obj = client.get(api_version, r.kind, r.name, r.namespace or None)
            except NotFound:
                obj = None
        owner = tracking_of(obj) if obj is not None else None
        if obj is not None and (owner is None or owner.app == name):
            # An object another application tracks is that one's (its tree, its rights), even when
            # this application's manifests name it too ("shared with").
            out.append(LiveObject(key_of(obj), obj, sync_status=r.status))
    return out


def _children_pool(client: CachedKubeClient, namespaces: set[str]) -> list[dict[str, Any]]:
    pool: list[dict[str, Any]] = []
    for api_version, kind in CHILD_KINDS:
        cached = client.cache.objects(api_version, kind, namespaces, wait=FIRST_LIST_WAIT)
        if cached is not None:
            pool.extend(cached)
            continue
        for ns in sorted(namespaces):
            try:
                pool.extend(client.list(api_version, kind, ns))
            except KubeError:
                continue  # a kind this cluster does not serve or lets us read: no such children
    return pool


def descendants(client: CachedKubeClient, roots: Iterable[LiveObject]) -> list[LiveObject]:
    """The roots, then every object owned by one of them (transitively), each once."""
    roots = list(roots)
    namespaces = {r.key.namespace for r in roots if r.key.namespace}
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for obj in _children_pool(client, namespaces) if namespaces else []:
        for ref in _meta(obj).get("ownerReferences") or []:
            if isinstance(ref, Mapping) and isinstance(ref.get("uid"), str):
                by_owner.setdefault(ref["uid"], []).append(obj)
    seen: set[str] = set()
    out: list[LiveObject] = []
    frontier: list[tuple[LiveObject, int]] = [(r, 0) for r in roots]
    while frontier:
        node, depth = frontier.pop(0)
        uid = str(_meta(node.obj).get("uid") or "")
        if uid and uid in seen:
            continue
        seen.add(uid)
        out.append(node)
        if depth >= MAX_DEPTH or not uid:
            continue
        for child in by_owner.get(uid, []):
            # Owners are in the child's namespace (ownerReferences are namespace-local).
            if str(_meta(child).get("namespace") or "") == node.key.namespace:
                frontier.append((LiveObject(key_of(child), child, parents=(node.key,)), depth + 1))
    return out


def _containers(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        return []
    # Pods; workloads' pod templates; a CronJob's job template's pod template.
    for path in ((), ("template", "spec"), ("jobTemplate", "spec", "template", "spec")):
        cur: Any = spec
        for part in path:
            cur = cur.get(part) if isinstance(cur, Mapping) else None
        if isinstance(cur, Mapping) and isinstance(cur.get("containers"), list):
            inits = cur.get("initContainers")
            both: list[Any] = [*(inits if isinstance(inits, list) else []), *cur["containers"]]
            return [c for c in both if isinstance(c, Mapping)]
    return []


def images_of(obj: Mapping[str, Any]) -> list[str]:
    images: list[str] = []
    for c in _containers(obj):
        image = c.get("image")
        if isinstance(image, str) and image and image not in images:
            images.append(image)
    return images


def _pod_info(pod: Mapping[str, Any]) -> list[tuple[str, str]]:
    status = pod.get("status") if isinstance(pod.get("status"), Mapping) else {}
    assert isinstance(status, Mapping)
    statuses = [s for s in status.get("containerStatuses") or [] if isinstance(s, Mapping)]
    spec = pod.get("spec") if isinstance(pod.get("spec"), Mapping) else {}
    assert isinstance(spec, Mapping)
    total = len(spec.get("containers") or [])
    reason = str(status.get("reason") or status.get("phase") or "Unknown")
    for s in statuses:  # as kubectl's STATUS column: a waiting or terminated container's reason
        state = s.get("state") if isinstance(s.get("state"), Mapping) else {}
        assert isinstance(state, Mapping)
        for k in ("waiting", "terminated"):
            inner = state.get(k)
            if isinstance(inner, Mapping) and inner.get("reason"):
                reason = str(inner["reason"])
    if _meta(pod).get("deletionTimestamp"):
        reason = "Terminating"
    ready = sum(1 for s in statuses if s.get("ready") is True)
    restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
    info = [("Status Reason", reason)]
    if spec.get("nodeName"):
        info.append(("Node", str(spec["nodeName"])))
    info += [("Containers", f"{ready}/{total}"), ("Restart Count", str(restarts))]
    return info


def info_of(obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    kind = obj.get("kind")
    if kind == "Pod":
        return _pod_info(obj)
    annotations = _meta(obj).get("annotations")
    if kind == "ReplicaSet" and isinstance(annotations, Mapping):
        revision = annotations.get("deployment.kubernetes.io/revision")
        if isinstance(revision, str) and revision:
            return [("Revision", f"Rev:{revision}")]
    return []


def node_of(item: LiveObject, health_checks: LuaHealthChecks | None = None) -> respb.ResourceNode:
    m = _meta(item.obj)
    node = respb.ResourceNode(
        group=item.key.group,
        version=item.key.version,
        kind=item.key.kind,
        namespace=item.key.namespace,
        name=item.key.name,
        uid=str(m.get("uid") or ""),
        resource_version=str(m.get("resourceVersion") or ""),
        images=images_of(item.obj),
        created_at=str(m.get("creationTimestamp") or ""),
        sync_status=item.sync_status,
        parent_refs=[
            common_pb2.ResourceRef(
                group=p.group, version=p.version, kind=p.kind, namespace=p.namespace, name=p.name
            )
            for p in item.parents
        ],
        info=[respb.InfoItem(name=n, value=v) for n, v in info_of(item.obj)],
    )
    health = assess_health(item.obj, health_checks)
    if health is not None:
        node.health.status = health.status.value
        node.health.message = health.message
    return node


def application_tree(
    client: CachedKubeClient, app: apppb.Application, health_checks: LuaHealthChecks | None = None
) -> respb.ApplicationTree:
    """The application's tree: managed objects first (as in its status), then their children."""
    items = descendants(client, managed_live(client, app))
    return respb.ApplicationTree(nodes=[node_of(i, health_checks) for i in items])
