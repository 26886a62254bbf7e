"""The cluster boundary the engine needs; gitopsd.kube.client.KubeClient satisfies it.

The engine never imports ``kubernetes``: it talks to a cluster through this protocol and catches
gitopsd.kube.errors (a pure module).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from gitopsd.kube.types import ResourceInfo


class ClusterClient(Protocol):
    def resource_info(self, api_version: str, kind: str) -> ResourceInfo:
        """Raises gitopsd.kube.errors.UnknownKind when the cluster does not serve it (after a refresh)."""
        ...

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]: ...

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        """Raises gitopsd.kube.errors.NotFound when absent."""
        ...

    def server_side_apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = "gitopsd",
        force: bool = False,
        dry_run: bool = False,
    ) -> dict[str, Any]: ...

    def create(
        self, obj: Mapping[str, Any], *, field_manager: str = "gitopsd", dry_run: bool = False
    ) -> dict[str, Any]: ...

    def replace(
        self, obj: Mapping[str, Any], *, field_manager: str = "gitopsd", dry_run: bool = False
    ) -> dict[str, Any]: ...

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Background",
        dry_run: bool = False,
    ) -> object:
        """The server's answer is not used by the engine (the object while finalizers hold it, or a Status)."""
        ...


@runtime_checkable
class LiveLookup(Protocol):
    """Optional: a client that keeps live state in memory (a watch-fed cache) answers reads from it."""

    def lookup(
        self, api_version: str, kind: str, namespace: str | None, names: Iterable[str], app: str
    ) -> list[dict[str, Any]] | None:
        """Objects of a kind in ``namespace`` (None: cluster-scoped) named in ``names`` or whose tracking id
        names ``app``; None when the cache cannot answer for that kind now (the caller lists instead).
        The objects are shared with the cache: read them, never modify them."""
        ...
