"""A Watch stream's feed (gitopsd.server.watch_feed) over a real EventBus: coalescing of MODIFIED events,
the order of each application's events, the first event after a quiet spell sent at once, shutdown."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app.events import OVERFLOW, EventBus, coalesce
from gitopsd.server.watch_feed import WatchFeed


def _run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """asyncio.run in a thread of its own: another test in this worker (the browser tests' sync
    Playwright) may have left an event loop running in this one."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # handed to the test's thread
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the feed test did not finish within 60 s"
    if failure:
        raise failure[0]


def _event(kind: str, name: str, label: str = "") -> apppb.ApplicationEvent:
    event = apppb.ApplicationEvent(type=kind)
    event.application.metadata.name = name
    if label:
        event.application.metadata.labels["v"] = label
    return event


def _seen(events: list[apppb.ApplicationEvent]) -> list[tuple[str, str, str]]:
    return [(e.type, e.application.metadata.name, e.application.metadata.labels.get("v", "")) for e in events]


def test_coalesce_keeps_the_last_of_a_run_of_modified_events_per_application() -> None:
    events = [
        _event("ADDED", "a", "0"),
        _event("MODIFIED", "a", "1"),
        _event("MODIFIED", "b", "1"),
        _event("MODIFIED", "a", "2"),
        _event("RESOURCE", "a", "2"),
        _event("MODIFIED", "a", "3"),
        _event("MODIFIED", "b", "2"),
        _event("MODIFIED", "a", "4"),
        _event("DELETED", "b", "2"),
        _event(OVERFLOW, ""),
    ]
    assert _seen(coalesce(events)) == [
        ("ADDED", "a", "0"),  # not merged into a MODIFIED: a client must see the application appear
        ("MODIFIED", "a", "2"),  # the RESOURCE event after it is about this state
        ("RESOURCE", "a", "2"),
        ("MODIFIED", "b", "2"),
        ("MODIFIED", "a", "4"),
        ("DELETED", "b", "2"),
        (OVERFLOW, "", ""),
    ]
    assert coalesce([]) == []


async def _take(it: object, count: int) -> list[apppb.ApplicationEvent]:
    out = []
    async for event in it:  # type: ignore[attr-defined]
        out.append(event)
        if len(out) == count:
            break
    return out


def test_a_feed_sends_what_was_written_meanwhile_once() -> None:
    async def run() -> None:
        bus = EventBus()
        feed = WatchFeed(bus, batch_seconds=0.3)
        events = feed.events()
        # Published before the stream reads: all of it is one batch.
        for i in range(50):
            bus.publish(_event("MODIFIED", "a", str(i)))
        bus.publish(_event("MODIFIED", "b", "0"))
        assert _seen(await _take(events, 2)) == [("MODIFIED", "a", "49"), ("MODIFIED", "b", "0")]
        # Right behind that batch: held for the rest of its interval, and coalesced.
        bus.publish(_event("MODIFIED", "a", "50"))
        next_one = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.05)
        bus.publish(_event("MODIFIED", "a", "51"))
        # Not held, "50" would have gone out as the sleep above let the feed run.
        assert _seen([await next_one]) == [("MODIFIED", "a", "51")]
        feed.close()
        await events.aclose()  # type: ignore[attr-defined]

    _run(run)


def test_the_first_event_after_a_quiet_spell_goes_at_once() -> None:
    async def run() -> None:
        bus = EventBus()
        feed = WatchFeed(bus, batch_seconds=60)  # a held event would miss the 20 s below
        events = feed.events()
        first = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0)  # the feed waits on the bus
        bus.publish(_event("ADDED", "a", "0"))
        assert _seen([await asyncio.wait_for(first, 20)]) == [("ADDED", "a", "0")]
        # The next one, right behind it, is held.
        bus.publish(_event("MODIFIED", "a", "1"))
        second = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.2)
        assert not second.done()
        second.cancel()
        feed.close()

    _run(run)


def test_a_feed_ends_at_shutdown_after_sending_what_came_before() -> None:
    async def run() -> None:
        bus = EventBus()
        feed = WatchFeed(bus, name="a")
        bus.publish(_event("MODIFIED", "a", "1"))
        bus.publish(_event("MODIFIED", "other", "1"))  # not this stream's application
        bus.close()
        assert _seen([e async for e in feed.events()]) == [("MODIFIED", "a", "1")]
        feed.close()

    _run(run)
