"""The refresh queue (gitopsd.app.refresh_queue): one pending refresh per application, merged requests,
never two runs of one application at once, and no request lost while one runs."""

from __future__ import annotations

import threading

from gitopsd.app.refresh_queue import Lane, Request


class Recorder:
    def __init__(self) -> None:
        self.runs: list[tuple[str, Request]] = []
        self.cond = threading.Condition()
        self.hold: dict[str, threading.Event] = {}
        self.started: dict[str, threading.Event] = {}
        self.concurrent = 0
        self.most_concurrent: dict[str, int] = {}
        self._now: dict[str, int] = {}

    def __call__(self, app: str, request: Request) -> None:
        with self.cond:
            self._now[app] = self._now.get(app, 0) + 1
            self.most_concurrent[app] = max(self.most_concurrent.get(app, 0), self._now[app])
        self.started.setdefault(app, threading.Event()).set()
        gate = self.hold.get(app)
        if gate is not None:
            gate.wait(30)
        with self.cond:
            self._now[app] -= 1
            self.runs.append((app, request))
            self.cond.notify_all()

    def wait_runs(self, count: int) -> list[tuple[str, Request]]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.runs) >= count, 30), self.runs
            return list(self.runs)


def test_a_request_made_while_the_app_refreshes_runs_after_it_never_beside_it() -> None:
    rec = Recorder()
    rec.hold["a"] = threading.Event()
    lane = Lane("t", 4, rec)
    try:
        lane.put("a", Request())
        assert rec.started.setdefault("a", threading.Event()).wait(30)
        lane.put("a", Request(hard=True))  # while the first refresh runs: not lost, not beside it
        lane.put("a", Request(resolve=True, asked_at=5.0))
        rec.hold["a"].set()
        runs = rec.wait_runs(2)
        assert [r[0] for r in runs] == ["a", "a"]
        assert runs[1][1] == Request(hard=True, resolve=True, asked_at=5.0)  # the two merged into one
        assert rec.most_concurrent["a"] == 1
    finally:
        lane.close()


def test_pending_requests_merge_and_a_removed_app_does_not_run() -> None:
    rec = Recorder()
    lane = Lane("t", 1, rec)
    try:
        lane.put("b", Request(resolve=True, asked_at=1.0), delay=0.3)
        lane.put("b", Request(hard=True, resolve=True, asked_at=2.0), delay=60)  # the earlier due time stands
        lane.put("gone", Request(), delay=0.1)
        lane.remove("gone")
        assert lane.pending() == 1
        runs = rec.wait_runs(1)
        assert runs == [("b", Request(hard=True, resolve=True, asked_at=2.0))]
        lane.put("c", Request(), delay=60)
        lane.put("c", Request(), delay=0, replace=True)  # a new pass moves it
        assert [r[0] for r in rec.wait_runs(2)] == ["b", "c"]
        assert all(app != "gone" for app, _ in rec.runs)
    finally:
        lane.close()
