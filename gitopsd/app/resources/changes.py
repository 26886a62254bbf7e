"""Wakes the open WatchResourceTree streams when anything live changes on a cluster (a Pod started,
a ReplicaSet scaled): the live caches' watch events (gitopsd.app.livecache) call every subscriber's
callback, which must not block (an asyncio stream's is ``loop.call_soon_threadsafe``). The stream
then builds its tree again, from the cache, and sends it if it differs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from gitopsd.app.connections import Connections

log = logging.getLogger("gitopsd.resources")


class LiveChanges:
    def __init__(self, connections: Connections) -> None:
        self._subscribers: dict[int, Callable[[str], None]] = {}
        self._next = 0
        self._lock = threading.Lock()
        connections.add_listener(self._on_change)

    def subscribe(self, callback: Callable[[str], None]) -> int:
        """callback(namespace of the changed object), from watch threads; returns a token."""
        with self._lock:
            self._next += 1
            self._subscribers[self._next] = callback
            return self._next

    def unsubscribe(self, token: int) -> None:
        with self._lock:
            self._subscribers.pop(token, None)

    def _on_change(self, server: str, event_type: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata")
        namespace = str(meta.get("namespace") or "") if isinstance(meta, dict) else ""
        with self._lock:
            callbacks = list(self._subscribers.values())
        for callback in callbacks:
            try:
                callback(namespace)
            except Exception:
                log.exception("resource tree wakeup failed")
