"""CachedKubeClient: a KubeClient with the cluster's live-state cache inside (gitopsd.app.livecache).

Comparisons read the cache through ``lookup``; writes go to the API server and their answers are written
into the cache at once (in resourceVersion order, see gitopsd.app.livestore), so the comparison right
after a sync sees what the sync did without waiting for the watch. A DELETE answered 404 tells the cache
the object is gone (and is still raised: the caller decides what a 404 means to it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gitopsd.app.livecache import KindKey, LiveCache
from gitopsd.kube.client import KubeClient
from gitopsd.kube.credentials import ClusterCredentials
from gitopsd.kube.errors import NotFound


class CachedKubeClient(KubeClient):
    """A KubeClient whose comparisons read the cluster's live-state cache (see the module docstring)."""

    def __init__(
        self,
        creds: ClusterCredentials,
        cache_dir: str | os.PathLike[str],
        timeout: float = 10.0,
        server: str = "",
    ) -> None:
        super().__init__(creds, cache_dir, timeout=timeout)
        self.cache = LiveCache(self, server or creds.server)

    def lookup(
        self, api_version: str, kind: str, namespace: str | None, names: Iterable[str], app: str
    ) -> list[dict[str, Any]] | None:
        return self.cache.lookup(api_version, kind, namespace, names, app)

    def relist(self, kinds: Iterable[KindKey]) -> None:
        """A hard refresh: the cached kinds among ``kinds`` are listed again from the API server."""
        self.cache.relist(kinds)

    def server_side_apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = "gitopsd",
        force: bool = False,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        if dry_run:
            return super().server_side_apply(obj, field_manager=field_manager, force=force, dry_run=True)
        return self._write(
            obj, lambda: KubeClient.server_side_apply(self, obj, field_manager=field_manager, force=force)
        )

    def create(
        self, obj: Mapping[str, Any], *, field_manager: str = "gitopsd", dry_run: bool = False
    ) -> dict[str, Any]:
        if dry_run:
            return super().create(obj, field_manager=field_manager, dry_run=True)
        return self._write(obj, lambda: KubeClient.create(self, obj, field_manager=field_manager))

    def replace(
        self, obj: Mapping[str, Any], *, field_manager: str = "gitopsd", dry_run: bool = False
    ) -> dict[str, Any]:
        if dry_run:
            return super().replace(obj, field_manager=field_manager, dry_run=True)
        return self._write(obj, lambda: KubeClient.replace(self, obj, field_manager=field_manager))

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Background",
        dry_run: bool = False,
        grace_period: int | None = None,
    ) -> dict[str, Any]:
        if dry_run:
            return super().delete(api_version, kind, name, namespace, propagation=propagation, dry_run=True)
        self.cache.begin_write(api_version, kind, name, namespace)
        seen = self.cache.version_of(api_version, kind, name, namespace)
        answer: dict[str, Any] | None = None
        try:
            try:
                answer = super().delete(
                    api_version, kind, name, namespace, propagation=propagation, grace_period=grace_period
                )
            except NotFound:
                self.cache.deleted(api_version, kind, name, namespace, None, seen)  # already gone
                raise
            self.cache.deleted(api_version, kind, name, namespace, answer, seen)
            return answer
        finally:
            self.cache.end_write(api_version, kind, name, namespace, answer, deleting=True)

    def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        patch: bytes,
        content_type: str,
        *,
        subresource: str = "",
        field_manager: str = "gitopsd",
    ) -> dict[str, Any]:
        ident = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}}
        return self._write(
            ident,
            lambda: KubeClient.patch(
                self,
                api_version,
                kind,
                name,
                namespace,
                patch,
                content_type,
                subresource=subresource,
                field_manager=field_manager,
            ),
        )

    def _write(self, obj: Mapping[str, Any], call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        api_version, kind, name, namespace = self._ident(obj)
        self.cache.begin_write(api_version, kind, name, namespace)
        answer: dict[str, Any] | None = None
        try:
            answer = call()
            self.cache.written(answer)
            return answer
        finally:
            self.cache.end_write(api_version, kind, name, namespace, answer)

    def close(self) -> None:
        self.cache.close()
        super().close()


__all__ = ["CachedKubeClient"]
