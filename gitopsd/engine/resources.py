"""Resource identity and ordering: keys, manifest validation and Argo CD's kind order.

Pure helpers used by every other engine module; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


class ManifestError(ValueError):
    """A desired object that cannot be handled (no apiVersion, kind or name, wrong shape)."""


@dataclass(frozen=True, order=True)
class ResourceKey:
    """Identity of an object in a cluster: (group, kind, namespace, name).

    ``version`` rides along so the key can be listed or fetched again, but is not part of the identity
    (the same object is served under several versions).
    """

    group: str
    kind: str
    namespace: str
    name: str
    version: str = field(default="", compare=False, hash=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_kind(self) -> str:
        """``group/Kind`` as Argo CD writes it in resource customizations (``Kind`` for the core group)."""
        return f"{self.group}/{self.kind}" if self.group else self.kind

    def display(self) -> str:
        """``Kind namespace/name`` or ``Kind name`` for cluster-scoped objects, as shown to users."""
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    def __str__(self) -> str:
        return f"{self.group}/{self.kind}/{self.namespace}/{self.name}"


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` → (``apps``, ``v1``); ``v1`` → (``""``, ``v1``)."""
    if "/" in api_version:
        group, _, version = api_version.partition("/")
        return group, version
    return "", api_version


def key_of(obj: Mapping[str, Any]) -> ResourceKey:
    """The key of a manifest or live object; raises ManifestError naming what is missing."""
    if not isinstance(obj, Mapping):
        raise ManifestError(f"object is a {type(obj).__name__}, not a mapping")
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    missing = [
        label
        for label, value in (("apiVersion", api_version), ("kind", kind), ("metadata.name", name))
        if not isinstance(value, str) or not value
    ]
    if missing:
        hint = ""
        if isinstance(kind, str) and kind:
            hint = f" (kind {kind})"
        elif isinstance(name, str) and name:
            hint = f" (name {name})"
        raise ManifestError(f"object{hint} has no {', '.join(missing)}")
    assert isinstance(api_version, str) and isinstance(kind, str) and isinstance(name, str)
    namespace = meta.get("namespace") if isinstance(meta, Mapping) else None
    if namespace is not None and not isinstance(namespace, str):
        raise ManifestError(f"{kind} {name}: metadata.namespace is not a string")
    group, version = split_api_version(api_version)
    return ResourceKey(group, kind, namespace or "", name, version)


# Argo CD (gitops-engine) applies kinds in Helm's install order; anything not listed goes last.
KIND_ORDER: tuple[str, ...] = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)
_KIND_RANK = {kind: i for i, kind in enumerate(KIND_ORDER)}


def kind_rank(kind: str) -> int:
    """Position of a kind in the apply order; unknown kinds (custom resources) come after all known ones."""
    return _KIND_RANK.get(kind, len(KIND_ORDER))
