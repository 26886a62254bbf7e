"""A push's refreshes in two groups (gitopsd.app.refresh_order): the second is handed to the pass
workers only once every application of the first was refreshed by a refresh that began after the
push, or when the deadline passes, so a hanging first refresh never leaves the others unrefreshed.
Pure: the schedule and the clock are the test's."""

from __future__ import annotations

from collections.abc import Callable

from gitopsd.app.refresh_order import RefreshOrder


class Recorder:
    def __init__(self) -> None:
        self.now: list[str] = []
        self.later: list[str] = []
        self.timers: list[tuple[float, Callable[[], None]]] = []
        self.clock = 100.0
        self.order = RefreshOrder(
            self.now.append, self.later.append, lambda s, fn: self.timers.append((s, fn)), 30.0, lambda: self.clock
        )

    def fire_timers(self) -> None:
        timers, self.timers = self.timers, []
        for _, fn in timers:
            fn()


def test_the_others_wait_for_the_first_ones() -> None:
    r = Recorder()
    r.order.submit(["b", "c"], ["a", "d"])
    assert r.now == ["b", "c"] and r.later == []
    r.order.refreshed("b", started=100.5)
    assert r.later == []  # c is not done yet
    r.order.refreshed("a", started=100.5)  # a refresh of another application changes nothing
    r.order.refreshed("c", started=100.6)
    assert r.later == ["a", "d"]
    r.order.refreshed("c", started=101.0)
    assert r.later == ["a", "d"]  # released once


def test_a_refresh_under_way_before_the_push_does_not_count() -> None:
    r = Recorder()
    r.order.submit(["b"], ["a"])
    r.order.refreshed("b", started=99.0)  # it read the repository before the push
    assert r.later == []
    r.order.refreshed("b", started=100.0)
    assert r.later == ["a"]


def test_a_first_refresh_that_hangs_holds_the_others_until_the_deadline() -> None:
    r = Recorder()
    r.order.submit(["b"], ["a"])
    assert [s for s, _ in r.timers] == [30.0]
    r.clock = 110.0
    r.fire_timers()  # early (another push's timer, say): still held
    assert r.later == []
    r.order.submit(["x"], ["y"])
    r.clock = 130.0
    r.fire_timers()
    assert r.later == ["a", "y"]  # held since the first push: its deadline releases everything held
    r.order.refreshed("b", started=131.0)
    assert r.later == ["a", "y"]


def test_nothing_first_means_the_others_go_at_once_and_deleted_apps_are_forgotten() -> None:
    r = Recorder()
    r.order.submit([], ["a", "b"])
    assert r.later == ["a", "b"]
    r.order.submit(["gone"], ["c"])
    r.order.forget("gone")
    assert r.later == ["a", "b", "c"]
    r.order.submit(["d"], ["e", "d"])  # a name in both groups is refreshed now only
    r.order.submit(["e"], [])  # and a later push that changed e refreshes it now instead
    r.order.refreshed("d", 101.0)
    r.order.refreshed("e", 101.0)
    assert r.now == ["gone", "d", "e"] and r.later == ["a", "b", "c"]
