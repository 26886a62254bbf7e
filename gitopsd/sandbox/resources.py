"""The resource types the sandbox serves: the built-in kinds plus those CRDs add.

A ``ResourceType`` is one (group, version, plural); storage is keyed by (group, plural) so that
kinds served in several versions (autoscaling v1/v2) share their objects.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()  # "status", "scale"
    categories: tuple[str, ...] = ()
    # Generation is kept for kinds with a spec (as the API server's strategies do).
    has_generation: bool = False
    # For CRD scale subresources: JSON paths of the replicas fields.
    scale_paths: tuple[str, str, str] = (".spec.replicas", ".status.replicas", "")
    singular: str = ""
    verbs: tuple[str, ...] = VERBS
    # A CRD version's additionalPrinterColumns: (name, type, jsonPath).
    printer_columns: tuple[tuple[str, str, str], ...] = ()
    # Kinds another group serves from the same store (events.k8s.io Events are core Events).
    storage: str = ""

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def storage_key(self) -> str:
        return self.storage or f"{self.group}/{self.plural}"

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()


def _rt(group: str, version: str, plural: str, kind: str, namespaced: bool = True, **kw: Any) -> ResourceType:
    return ResourceType(group, version, plural, kind, namespaced, **kw)


_ALL = ("all",)
_STATUS = ("status",)
_SCALE = ("status", "scale")
# The kinds with a spec that `kubectl get all` lists (the server keeps their metadata.generation).
_WORKLOAD: dict[str, Any] = {"categories": _ALL, "has_generation": True}
# Served as autoscaling/v2 (preferred, listed first) and v1: two versions of one kind and store.
_HPA: dict[str, Any] = {"short_names": ("hpa",), "subresources": _STATUS, **_WORKLOAD}
_RBAC = "rbac.authorization.k8s.io"
BUILTINS: tuple[ResourceType, ...] = (
    _rt("", "v1", "namespaces", "Namespace", False, short_names=("ns",), subresources=_STATUS),
    _rt("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    _rt("", "v1", "secrets", "Secret"),
    _rt("", "v1", "services", "Service", short_names=("svc",), subresources=_STATUS, categories=_ALL),
    _rt("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",)),
    _rt("", "v1", "pods", "Pod", short_names=("po",), subresources=("status", "log"), **_WORKLOAD),
    _rt(
        "",
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        short_names=("pvc",),
        subresources=_STATUS,
    ),
    _rt("", "v1", "resourcequotas", "ResourceQuota", short_names=("quota",), subresources=_STATUS),
    _rt("", "v1", "events", "Event", short_names=("ev",)),
    _rt("events.k8s.io", "v1", "events", "Event", short_names=("ev",), storage="/events"),
    _rt("", "v1", "endpoints", "Endpoints", short_names=("ep",)),
    _rt("apps", "v1", "deployments", "Deployment", short_names=("deploy",), subresources=_SCALE, **_WORKLOAD),
    _rt("apps", "v1", "statefulsets", "StatefulSet", short_names=("sts",), subresources=_SCALE, **_WORKLOAD),
    _rt("apps", "v1", "daemonsets", "DaemonSet", short_names=("ds",), subresources=_STATUS, **_WORKLOAD),
    _rt("apps", "v1", "replicasets", "ReplicaSet", short_names=("rs",), subresources=_SCALE, **_WORKLOAD),
    _rt("batch", "v1", "jobs", "Job", subresources=_STATUS, **_WORKLOAD),
    _rt("batch", "v1", "cronjobs", "CronJob", short_names=("cj",), subresources=_STATUS, **_WORKLOAD),
    _rt(
        "networking.k8s.io",
        "v1",
        "ingresses",
        "Ingress",
        short_names=("ing",),
        subresources=_STATUS,
        has_generation=True,
    ),
    _rt(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        short_names=("netpol",),
        has_generation=True,
    ),
    _rt(_RBAC, "v1", "roles", "Role"),
    _rt(_RBAC, "v1", "rolebindings", "RoleBinding"),
    _rt(_RBAC, "v1", "clusterroles", "ClusterRole", False),
    _rt(_RBAC, "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _rt("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", **_HPA),
    _rt("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", **_HPA),
    _rt(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        short_names=("pdb",),
        subresources=_STATUS,
        has_generation=True,
    ),
    _rt(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        short_names=("crd", "crds"),
        subresources=_STATUS,
        has_generation=True,
    ),
    _rt(
        "apiregistration.k8s.io",
        "v1",
        "apiservices",
        "APIService",
        False,
        subresources=_STATUS,
        has_generation=True,
    ),
    # Answered (always allowed), never stored: `kubectl auth can-i` and permission probes.
    _rt(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        False,
        verbs=("create",),
    ),
    _rt(
        "authorization.k8s.io",
        "v1",
        "selfsubjectrulesreviews",
        "SelfSubjectRulesReview",
        False,
        verbs=("create",),
    ),
)


# The kinds a full cluster serves besides the ones above (nodes, volumes, leases...).
from .kinds.types import MORE_BUILTINS  # noqa: E402  (it needs ResourceType, defined above)

BUILTINS = BUILTINS + MORE_BUILTINS


@dataclass
class _Group:
    versions: list[str] = field(default_factory=list)  # preferred first
    resources: dict[str, dict[str, ResourceType]] = field(default_factory=dict)  # version -> plural -> rt


class Registry:
    """Thread-safe catalogue of served resource types, in discovery order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[str, _Group] = {}
        self._crd_types: dict[str, list[ResourceType]] = {}  # CRD name -> its types
        for rt in BUILTINS:
            self._add(rt)

    def _add(self, rt: ResourceType) -> None:
        grp = self._groups.setdefault(rt.group, _Group())
        if rt.version not in grp.versions:
            grp.versions.append(rt.version)
        grp.resources.setdefault(rt.version, {})[rt.plural] = rt

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        with self._lock:
            grp = self._groups.get(group)
            if grp is None:
                return None
            return grp.resources.get(version, {}).get(plural)

    def has_group_version(self, group: str, version: str) -> bool:
        with self._lock:
            grp = self._groups.get(group)
            return grp is not None and version in grp.resources

    def groups(self) -> list[tuple[str, list[str], dict[str, list[ResourceType]]]]:
        """Snapshot: (group, versions preferred first, version -> resource types)."""
        with self._lock:
            return [
                (name, list(g.versions), {v: list(r.values()) for v, r in g.resources.items()})
                for name, g in self._groups.items()
            ]

    def all_types(self) -> list[ResourceType]:
        with self._lock:
            return [rt for g in self._groups.values() for r in g.resources.values() for rt in r.values()]

    def types_for_storage(self, storage_key: str) -> list[ResourceType]:
        return [rt for rt in self.all_types() if rt.storage_key == storage_key]

    def register_crd(self, crd_name: str, types: list[ResourceType]) -> None:
        with self._lock:
            self._remove_crd_locked(crd_name)
            for rt in types:
                self._add(rt)
            self._crd_types[crd_name] = types

    def unregister_crd(self, crd_name: str) -> list[ResourceType]:
        with self._lock:
            return self._remove_crd_locked(crd_name)

    def _remove_crd_locked(self, crd_name: str) -> list[ResourceType]:
        old = self._crd_types.pop(crd_name, [])
        for rt in old:
            grp = self._groups.get(rt.group)
            if grp is None:
                continue
            grp.resources.get(rt.version, {}).pop(rt.plural, None)
            if not grp.resources.get(rt.version):
                grp.resources.pop(rt.version, None)
                if rt.version in grp.versions:
                    grp.versions.remove(rt.version)
            if not grp.resources:
                del self._groups[rt.group]
        return old


def types_from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """The resource types a CustomResourceDefinition makes servable (its served versions)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group") or ""
    plural = names.get("plural") or ""
    kind = names.get("kind") or ""
    namespaced = spec.get("scope", "Namespaced") == "Namespaced"
    out: list[ResourceType] = []
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("served", True)]
    # The storage version first: discovery lists the preferred version first.
    versions.sort(key=lambda v: 0 if v.get("storage") else 1)
    for ver in versions:
        subs = ver.get("subresources") or {}
        scale = subs.get("scale") or {}
        sub_names = tuple(s for s in ("status", "scale") if s in subs)
        out.append(
            ResourceType(
                group=group,
                version=str(ver.get("name")),
                plural=plural,
                kind=kind,
                namespaced=namespaced,
                short_names=tuple(names.get("shortNames") or ()),
                subresources=sub_names,
                categories=tuple(names.get("categories") or ()),
                has_generation=True,
                scale_paths=(
                    scale.get("specReplicasPath", ".spec.replicas"),
                    scale.get("statusReplicasPath", ".status.replicas"),
                    scale.get("labelSelectorPath", ""),
                ),
                singular=names.get("singular") or kind.lower(),
                printer_columns=tuple(
                    (str(c.get("name", "")), str(c.get("type", "string")), str(c.get("jsonPath", "")))
                    for c in ver.get("additionalPrinterColumns") or []
                    if isinstance(c, dict) and c.get("name") and c.get("jsonPath")
                ),
            )
        )
    return out
