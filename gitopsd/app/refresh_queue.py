"""The queue of application refreshes: due times, worker threads, one pending refresh per application.

The Reconciler (scheduler.py) puts refreshes in a lane: a pass puts every application with a random
delay (its jitter); a new application, a live change or a webhook puts one due now. Each lane has its
own workers, so urgent refreshes (a user's, a webhook's) never wait behind a pass of 10,000.

Within a lane an application has at most one pending refresh: asking again merges the two (hard and
resolve are kept if either asked, the later ask time wins, the earlier due time unless the new one
replaces it) and it never runs twice at once: asked for while it runs, it runs again once it is done,
so no request made during a refresh is lost. Every operation is O(log n) in the pending refreshes.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gitopsd.logs import fields

log = logging.getLogger("gitopsd.scheduler")


@dataclass(frozen=True)
class Request:
    hard: bool = False
    resolve: bool = False
    # When a resolve was asked for (RepoCache.now()); the repository's answer must be newer.
    asked_at: float | None = None

    def merge(self, other: Request) -> Request:
        asks = [t for t in (self.asked_at, other.asked_at) if t is not None]
        return Request(self.hard or other.hard, self.resolve or other.resolve, max(asks) if asks else None)


Runner = Callable[[str, Request], None]


class Lane:
    """Refreshes run by `workers` threads, each when it is due."""

    def __init__(self, name: str, workers: int, run: Runner) -> None:
        self.name = name
        self._run = run
        self._heap: list[tuple[float, int, str]] = []  # (due, ticket, application)
        self._pending: dict[str, tuple[int, float, Request]] = {}  # application -> (ticket, due, request)
        self._running: set[str] = set()
        self._again: dict[str, Request] = {}  # asked for while running: run once more after
        self._tickets = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"refresh-{name}-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def put(self, app: str, request: Request, delay: float = 0.0, replace: bool = False) -> None:
        """A refresh of `app` due in `delay` seconds. replace: its due time replaces a pending one's
        (a new pass); otherwise the earlier of the two stands."""
        due = time.monotonic() + delay
        with self._cond:
            if app in self._running:
                known = self._again.get(app)
                self._again[app] = request if known is None else known.merge(request)
                return
            pending = self._pending.get(app)
            if pending is not None:
                request = pending[2].merge(request)
                if not replace and pending[1] <= due:
                    self._pending[app] = (pending[0], pending[1], request)
                    return
            ticket = next(self._tickets)
            self._pending[app] = (ticket, due, request)
            heapq.heappush(self._heap, (due, ticket, app))
            self._cond.notify()

    def remove(self, app: str) -> None:
        with self._cond:
            self._pending.pop(app, None)
            self._again.pop(app, None)

    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _next(self) -> tuple[str, Request] | None:
        """The next due refresh, waiting for it; None once closed."""
        with self._cond:
            while not self._closed:
                if not self._heap:
                    self._cond.wait()
                    continue
                due, ticket, app = self._heap[0]
                pending = self._pending.get(app)
                if pending is None or pending[0] != ticket:
                    heapq.heappop(self._heap)  # replaced or removed since
                    continue
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                del self._pending[app]
                self._running.add(app)
                return app, pending[2]
            return None

    def _work(self) -> None:
        while (item := self._next()) is not None:
            app, request = item
            try:
                self._run(app, request)
            except Exception:  # one application's failure never stops the others
                log.exception("refresh failed", extra=fields(app=app))
            finally:
                with self._cond:
                    self._running.discard(app)
                    again = self._again.pop(app, None)
                if again is not None:
                    self.put(app, again)
