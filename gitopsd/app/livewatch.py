"""Noticing live changes within seconds: applications re-compared when their objects change.

The live-state cache of each cluster (gitopsd.app.livecache) watches every kind the
applications manage, one watch per (cluster, kind). This module listens to it: when
someone edits or deletes an object carrying an application's tracking id, that
application is refreshed at once (debounced), instead of at the next poll, so
self-heal undoes `kubectl scale` in seconds. The cache skips the echoes of gitopsd's
own writes, so a sync does not trigger a refresh per object it applied. The periodic
poll remains the safety net for anything a watch misses.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app.connections import Connections
from gitopsd.app.errors import AppError
from gitopsd.app.generators.appofapps import is_child_kind
from gitopsd.engine.tracking import tracking_of
from gitopsd.logs import fields

log = logging.getLogger("gitopsd.livewatch")


class LiveWatches:
    def __init__(
        self, connections: Connections, on_change: Callable[[str], None], debounce: float = 1.0
    ) -> None:
        self._connections = connections
        self._on_change = on_change
        self._debounce = debounce
        self._pending: dict[str, float] = {}
        # (destination server or name, apiVersion, kind) already asked to be watched.
        self._known: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        connections.add_listener(self._on_event)
        self._flusher = threading.Thread(target=self._flush_loop, name="livewatch-flush", daemon=True)
        self._flusher.start()

    def ensure(self, app: apppb.Application) -> None:
        """Makes sure the kinds this application manages are watched (called after each comparison,
        which normally started them already; this covers kinds whose comparison fell back to a list)."""
        if self._stop.is_set():
            return
        dest = app.spec.destination.server or app.spec.destination.name
        kinds = set()
        for r in app.status.resources:
            if r.hook or not r.kind or is_child_kind(f"{r.group}/{r.version}", r.kind):
                continue  # children of an app of apps live in the store, not in the cluster
            api_version = f"{r.group}/{r.version}" if r.group else (r.version or "v1")
            kinds.add((dest, api_version, r.kind))
        with self._lock:
            new = kinds - self._known
        if not new:
            return
        try:
            _, client = self._connections.for_destination(app.spec.destination)
        except AppError:
            return
        for _, api_version, kind in sorted(new):
            if client.cache.ensure(api_version, kind):
                with self._lock:
                    self._known.add((dest, api_version, kind))

    def _on_event(self, server: str, event_type: str, obj: dict[str, Any]) -> None:
        tracking = tracking_of(obj)
        if tracking is None:
            return
        with self._lock:
            self._pending.setdefault(tracking.app, time.monotonic() + self._debounce)

    def _flush_loop(self) -> None:
        while not self._stop.wait(0.2):
            now = time.monotonic()
            with self._lock:
                due = [name for name, at in self._pending.items() if at <= now]
                for name in due:
                    del self._pending[name]
            for name in due:
                try:
                    self._on_change(name)
                except Exception:
                    log.exception("live-change refresh failed", extra=fields(app=name))

    def close(self) -> None:
        self._stop.set()
