"""One Watch stream's view of the event bus, on the asyncio server's loop (gRPC's Watch and the JSON
API's event stream both run ApplicationServicer.Watch, which reads a WatchFeed).

The bus wakes the feed through the loop, so a waiting stream holds no thread. Once events come
quicker than one batch per WATCH_BATCH_SECONDS, the feed waits out the rest of that interval and
sends what came meanwhile through `coalesce` (gitopsd.app.events): an application written five times
in that time is sent once, as it is at the end. The first event after a quiet spell goes at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app.events import EventBus, coalesce

WATCH_BATCH_SECONDS = 0.1


class WatchFeed:
    """Subscribed on creation; `close()` (in a finally) unsubscribes."""

    def __init__(
        self,
        bus: EventBus,
        name: str = "",
        projects: frozenset[str] = frozenset(),
        batch_seconds: float = WATCH_BATCH_SECONDS,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._ready = asyncio.Event()
        self._bus = bus
        self._batch_seconds = batch_seconds
        self._sub = bus.subscribe(name, projects, self._wakeup)

    def _wakeup(self) -> None:  # called from the publishing thread
        try:
            self._loop.call_soon_threadsafe(self._ready.set)
        except RuntimeError:  # the loop has closed: the daemon is stopping
            pass

    async def events(self) -> AsyncIterator[apppb.ApplicationEvent]:
        """The events until the daemon stops or the subscription overflows (its marker is the last)."""
        sub = self._sub
        sent_at = self._loop.time() - self._batch_seconds
        while True:
            batch = sub.drain()
            if not batch:
                if sub.closed:  # dropped for overflowing (its marker was sent), or shutdown
                    return
                # A put after the drain above schedules ready.set() behind this clear().
                self._ready.clear()
                await self._ready.wait()
                continue
            pause = sent_at + self._batch_seconds - self._loop.time()
            if pause > 0 and None not in batch:
                await asyncio.sleep(pause)
                batch += sub.drain()
            # Taken now: the client's reading of this batch counts towards the interval.
            sent_at = self._loop.time()
            # None marks the daemon's shutdown: close() drops every subscriber, nothing comes after it.
            for event in coalesce([e for e in batch if e is not None]):
                yield event
            if None in batch:
                return

    def close(self) -> None:
        self._bus.unsubscribe(self._sub)
