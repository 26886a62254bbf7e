"""One Kubernetes client per cluster, shared by every application that deploys there.

Each client carries the cluster's live-state cache (gitopsd.app.livecache): one list+watch per
kind, whatever the number of applications. Clients are rebuilt when a cluster's credentials
change (cluster add --upsert), so a rotated token takes effect without a restart, within
RESOLVE_TTL seconds: every refresh resolves its destination, and reading the cluster record
from the store each time costs more than a no-change comparison itself. Listeners of live
changes follow the new client.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app.cachedclient import CachedKubeClient
from gitopsd.app.clusters import Clusters
from gitopsd.app.errors import InvalidArgument, NotFound
from gitopsd.app.livecache import Listener
from gitopsd.kube.credentials import ClusterCredentials

# Seconds a destination's cluster record (server URL and credentials) is reused before it is read again.
RESOLVE_TTL = 5.0


class Connections:
    def __init__(self, clusters: Clusters, cache_dir: Path, timeout: float = 30.0) -> None:
        self._clusters = clusters
        self._cache_dir = cache_dir
        self._timeout = timeout
        self._clients: dict[str, tuple[ClusterCredentials, CachedKubeClient]] = {}
        self._listeners: list[Listener] = []
        # (destination server, destination name) → (read at, server URL, credentials)
        self._resolved: dict[tuple[str, str], tuple[float, str, ClusterCredentials]] = {}
        self._lock = threading.Lock()

    def _resolve(self, dest: apppb.ApplicationDestination) -> tuple[str, ClusterCredentials]:
        key = (dest.server, dest.name)
        now = time.monotonic()
        with self._lock:
            hit = self._resolved.get(key)
        if hit is not None and now - hit[0] < RESOLVE_TTL:
            return hit[1], hit[2]
        try:
            record = self._clusters.resolve_destination(dest.server, dest.name)
        except NotFound:
            with self._lock:
                self._resolved.pop(key, None)
            which = dest.server or dest.name
            raise InvalidArgument(
                f"destination cluster {which!r} is not registered (gitopsd cluster add, or the daemon's kubeconfig for in-cluster)"
            ) from None
        with self._lock:
            self._resolved[key] = (now, record.cluster.server, record.credentials)
        return record.cluster.server, record.credentials

    def for_destination(self, dest: apppb.ApplicationDestination) -> tuple[str, CachedKubeClient]:
        """(cluster server URL, client) for an application's destination; InvalidArgument when unknown."""
        server, credentials = self._resolve(dest)
        with self._lock:
            cached = self._clients.get(server)
            if cached is not None and cached[0] == credentials:
                return server, cached[1]
            if cached is not None:
                cached[1].close()
            client = CachedKubeClient(credentials, self._cache_dir, timeout=self._timeout, server=server)
            for listener in self._listeners:
                client.cache.add_listener(listener)
            self._clients[server] = (credentials, client)
            return server, client

    def describe(self, dest: apppb.ApplicationDestination) -> str:
        """How errors name a destination's cluster: its name and server URL (``cluster "prod" (https://...)``)."""
        try:
            record = self._clusters.resolve_destination(dest.server, dest.name)
        except NotFound:
            return f"cluster {dest.server or dest.name}"
        return f'cluster "{record.cluster.name}" ({record.cluster.server})'

    def add_listener(self, listener: Listener) -> None:
        """Called with (server, event type, object) for every live change on any cluster, from watch threads."""
        with self._lock:
            self._listeners.append(listener)
            for _, client in self._clients.values():
                client.cache.add_listener(listener)

    def forget(self) -> None:
        """Read every destination's cluster record again at next use (a cluster was added, changed or removed)."""
        with self._lock:
            self._resolved.clear()

    def close(self) -> None:
        with self._lock:
            for _, client in self._clients.values():
                client.close()
            self._clients.clear()
