"""One worker thread for the cluster-level controllers of ``kinds`` (volume provisioning,
endpoints): store events are queued (never handled under the store lock) and each handler may
schedule work for later, as a real controller's work queue with delays does."""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable

from ..store import Event

log = logging.getLogger(__name__)

Handler = Callable[[Event], None]


class Loop:
    def __init__(self, name: str) -> None:
        self._queue: queue.Queue[Event | None] = queue.Queue()
        self._handlers: dict[str, list[Handler]] = {}
        self._timers: list[tuple[float, int, Callable[[], object]]] = []
        self._seq = itertools.count()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def handle(self, storage_key: str, fn: Handler) -> None:
        self._handlers.setdefault(storage_key, []).append(fn)

    def offer(self, ev: Event) -> None:
        """A store listener: runs under the store lock, so it only queues."""
        if ev.storage_key in self._handlers:
            self._queue.put(ev)

    def later(self, delay: float, fn: Callable[[], object]) -> None:
        """Run ``fn`` on the worker after ``delay`` seconds (only call from the worker)."""
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), fn))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            timeout = 0.5
            if self._timers:
                timeout = max(0.0, min(timeout, self._timers[0][0] - time.monotonic()))
            try:
                ev = self._queue.get(timeout=timeout)
            except queue.Empty:
                ev = None
            try:
                if ev is not None:
                    for fn in self._handlers.get(ev.storage_key, ()):
                        fn(ev)
                while self._timers and self._timers[0][0] <= time.monotonic():
                    _, _, job = heapq.heappop(self._timers)
                    job()
            except Exception:  # one odd object must not stop the cluster's controllers
                log.exception("sandbox kinds controller step failed")
