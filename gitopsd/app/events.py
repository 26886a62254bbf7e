"""In-process publish/subscribe of application events, feeding the Watch RPC.

Subscribers get a bounded queue: a client that stops reading loses its own
subscription (it is told so with an overflow marker), never the daemon's memory.
A subscriber may also give a `wakeup` callback, called after each put: the asyncio
Watch streams use it to wait without a thread each. A stream takes what is queued at once
(`Subscription.drain`) and sends it through `coalesce`: of several MODIFIED events of one
application in a row only the last is sent, since each carries the whole application (a cold sync
writes an application's status several times a second, and serializing every one to every open
stream, the dashboard's included, cost the daemon more than the sync).

`listeners` are called with every event, in the publishing thread, before the subscribers get it:
for parts of the daemon that must act on every change of one kind (/metrics forgets a deleted
application), where a queue and a thread to drain it would be more than the work.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb

OVERFLOW = "OVERFLOW"
MODIFIED = "MODIFIED"


@dataclass(eq=False)
class Subscription:
    name: str = ""
    projects: frozenset[str] = frozenset()
    queue: queue.Queue[apppb.ApplicationEvent | None] = field(
        default_factory=lambda: queue.Queue(maxsize=1000)
    )
    closed: bool = False
    # Called (from the publishing thread) after something was put on the queue; must not block.
    wakeup: Callable[[], None] | None = None

    def drain(self, limit: int = 1000) -> list[apppb.ApplicationEvent | None]:
        """What is queued now (up to `limit`, in order); None in it marks the daemon's shutdown."""
        out: list[apppb.ApplicationEvent | None] = []
        while len(out) < limit:
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return out

    def wants(self, event: apppb.ApplicationEvent) -> bool:
        return self.wants_app(event.application)

    def wants_app(self, app: apppb.Application) -> bool:
        if self.name and app.metadata.name != self.name:
            return False
        return not self.projects or app.spec.project in self.projects


class EventBus:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self._lock = threading.Lock()
        # Each must be quick and must not block: it runs in the thread that wrote the change.
        self.listeners: list[Callable[[apppb.ApplicationEvent], None]] = []

    def subscribe(
        self,
        name: str = "",
        projects: frozenset[str] = frozenset(),
        wakeup: Callable[[], None] | None = None,
    ) -> Subscription:
        sub = Subscription(name=name, projects=projects, wakeup=wakeup)
        with self._lock:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)
        sub.closed = True

    def watched(self, app: apppb.Application) -> bool:
        """Whether an open subscription would get an event of `app`: for news only subscribers
        care about (a comparison that changed nothing but its time), not worth building otherwise."""
        with self._lock:
            return any(not sub.closed and sub.wants_app(app) for sub in self._subs)

    def publish(self, event: apppb.ApplicationEvent) -> None:
        for listener in self.listeners:
            listener(event)
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            if sub.closed or not sub.wants(event):
                continue
            try:
                sub.queue.put_nowait(event)
            except queue.Full:
                self.unsubscribe(sub)
                try:
                    sub.queue.get_nowait()
                    sub.queue.put_nowait(
                        apppb.ApplicationEvent(type=OVERFLOW, message="too many unread events")
                    )
                except (queue.Empty, queue.Full):
                    pass
            _wake(sub)

    def close(self) -> None:
        """Ends every open Watch stream (daemon shutdown)."""
        with self._lock:
            subs = list(self._subs)
            self._subs.clear()
        for sub in subs:
            sub.closed = True
            try:
                sub.queue.put_nowait(None)
            except queue.Full:
                pass
            _wake(sub)


def coalesce(events: list[apppb.ApplicationEvent]) -> list[apppb.ApplicationEvent]:
    """`events` in their order, less each MODIFIED event that a later MODIFIED of the same application
    supersedes with no other event of that application between them. ADDED, DELETED, OPERATION and
    RESOURCE events are all kept (each says something the next one does not), and so is the order of
    one application's events."""
    kept: list[apppb.ApplicationEvent] = []
    later: dict[str, str] = {}  # application -> the type of its next kept event
    for event in reversed(events):
        name = event.application.metadata.name
        if not (event.type == MODIFIED and name and later.get(name) == MODIFIED):
            kept.append(event)
        later[name] = event.type
    kept.reverse()
    return kept


def _wake(sub: Subscription) -> None:
    if sub.wakeup is not None:
        sub.wakeup()
