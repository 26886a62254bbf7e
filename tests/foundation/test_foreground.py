"""API calls before background work (gitopsd.app.foreground): a background job does not start while
a call is being served, and never waits without bound."""

from __future__ import annotations

import threading

from gitopsd.app.foreground import Foreground


def test_background_work_waits_until_the_call_in_flight_has_ended() -> None:
    gate = Foreground(quiet=0.01, max_wait=60.0)
    order: list[str] = []
    call_started, call_may_end = threading.Event(), threading.Event()

    def api_call() -> None:
        with gate.call():
            call_started.set()
            call_may_end.wait(30)
            order.append("call ended")

    def background() -> None:
        gate.wait_quiet()
        order.append("background ran")

    caller = threading.Thread(target=api_call)
    caller.start()
    assert call_started.wait(30)
    worker = threading.Thread(target=background)
    worker.start()
    worker.join(0.3)  # it is waiting, not running
    assert order == []
    call_may_end.set()
    caller.join(30)
    worker.join(30)
    assert order == ["call ended", "background ran"]
    assert gate.waited_seconds > 0


def test_background_work_runs_anyway_under_endless_calls() -> None:
    gate = Foreground(quiet=0.01, max_wait=0.2)
    stop = threading.Event()

    def endless_call() -> None:
        with gate.call():
            stop.wait(60)

    caller = threading.Thread(target=endless_call)
    caller.start()
    try:
        done = threading.Event()
        worker = threading.Thread(target=lambda: (gate.wait_quiet(), done.set()))
        worker.start()
        assert done.wait(30), "a background job starved behind a call that never ends"
    finally:
        stop.set()
        caller.join(30)


def test_an_idle_api_costs_background_work_nothing() -> None:
    gate = Foreground()
    gate.wait_quiet()
    assert gate.waited_seconds == 0
