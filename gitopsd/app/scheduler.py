"""Periodic reconciliation: every `reconcile.interval` seconds (an APScheduler job) a pass
starts a new repo-cache interval (so each repository is asked with ls-remote once per
interval however many applications use it) and refreshes every application, spread
over `reconcile.jitter` seconds so they do not all fire at once. When the last one is
done the pass is logged with its duration and git work, so an operator can see how
close a pass comes to the interval. Refreshes asked for now (a new or changed
application, a live change) go through the same workers; urgent ones (a user's, a webhook's)
through workers of their own (the lanes of refresh_queue.py).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app.controller import AppController
from gitopsd.app.errors import NotFound
from gitopsd.app.refresh_order import RefreshOrder
from gitopsd.app.refresh_queue import Lane, Request
from gitopsd.app.refreshing import RefreshBusy
from gitopsd.logs import fields
from gitopsd.sources.gitcache import RepoCache

# Seconds before a refresh that found its application busy (another refresh under way) is tried again.
BUSY_RETRY = 0.2

log = logging.getLogger("gitopsd.scheduler")


@dataclass
class _Pass:
    started: float
    pending: set[str]
    apps: int
    repos: list[str]
    ls_remote_before: int
    errors: int = 0
    out_of_sync: int = 0


class Reconciler:
    def __init__(
        self, controller: AppController, repo_cache: RepoCache, interval: int, jitter: int, workers: int
    ) -> None:
        self.controller = controller
        self.repo_cache = repo_cache
        self.interval = interval
        self.jitter = jitter
        # Passes start on the scheduler's one thread: never queued behind the refreshes they ask for.
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(1), "passes": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        # Urgent refreshes (a webhook, a user) have workers of their own: with 10,000 applications a
        # pass queues 10,000 refreshes, and a push must not wait behind them.
        self.lane = Lane("pass", workers, lambda name, request: self._run(name, request, self.lane))
        self.urgent = Lane("now", max(2, workers // 2), lambda name, request: self._run(name, request, self.urgent))
        self.on_refreshed: list[Callable[[apppb.Application], object]] = []  # run after each refresh
        self._pass: _Pass | None = None
        self._pass_lock = threading.Lock()
        # A push's refreshes: the applications whose files changed first, the others after them.
        self.order = RefreshOrder(
            lambda name: self.refresh_soon(name, resolve=True),
            lambda name: self.refresh_soon(name, resolve=True, urgent=False),
            self._call_later,
        )

    def start(self) -> None:
        self.scheduler.add_job(
            self._start_pass, IntervalTrigger(seconds=self.interval), id="reconcile-pass", executor="passes"
        )
        self.scheduler.start()
        for app in self.controller.apps.list():
            self.track(app.metadata.name, refresh_now=True)

    def track(self, name: str, refresh_now: bool = True) -> None:
        """A new or changed application: refreshed right now (every pass refreshes all of them)."""
        if refresh_now:
            # On the pass workers: 10,000 applications created at once are a pass's worth of work.
            self.refresh_soon(name, resolve=True, urgent=False)

    def _ls_remote_count(self, repos: list[str]) -> int:
        total = 0
        for url in repos:
            try:
                total += self.repo_cache.stats(url).ls_remote
            except Exception:  # an invalid URL is that app's condition, not the pass's problem
                continue
        return total

    def _start_pass(self) -> None:
        """One reconcile pass: a new repo-cache interval, then every application refreshed."""
        apps = list(self.controller.apps.specs_of_all())  # names and sources: no status parsed
        names = [a.metadata.name for a in apps]
        repos = sorted(
            {s.repo_url for a in apps for s in [a.spec.source, *a.spec.sources] if s.repo_url and not s.chart}
        )
        # Counted before the new interval starts: any ls-remote from here on belongs to this pass.
        ls_remote_before = self._ls_remote_count(repos)
        self.repo_cache.new_interval()
        with self._pass_lock:
            if self._pass is not None and self._pass.pending:
                # The previous pass is still running: the interval is too short for this many apps.
                log.warning(
                    "reconcile pass overran the interval",
                    extra=fields(
                        unfinished=len(self._pass.pending), apps=self._pass.apps, interval=self.interval
                    ),
                )
            self._pass = _Pass(time.monotonic(), set(names), len(names), repos, ls_remote_before)
        for name in names:
            delay = random.uniform(0, self.jitter) if self.jitter > 0 else 0.0
            self.lane.put(name, Request(), delay=delay, replace=True)

    def _pass_done(self, name: str, ok: bool, out_of_sync: bool) -> None:
        with self._pass_lock:
            current = self._pass
            if current is None or name not in current.pending:
                return
            current.pending.discard(name)
            current.errors += 0 if ok else 1
            current.out_of_sync += 1 if out_of_sync else 0
            if current.pending:
                return
        self.controller.apps.flush()  # the pass's comparison times, written before it is logged done
        log.info(
            "reconcile pass finished",
            extra=fields(
                apps=current.apps,
                seconds=f"{time.monotonic() - current.started:.2f}",
                jitter=self.jitter,  # refreshes are spread over this many seconds of the pass
                interval=self.interval,
                repos=len(current.repos),
                ls_remote=self._ls_remote_count(current.repos) - current.ls_remote_before,
                out_of_sync=current.out_of_sync,
                errors=current.errors,
            ),
        )

    def refresh_soon(self, name: str, hard: bool = False, resolve: bool = False, urgent: bool = True) -> None:
        """A refresh now (resolve: ask the repository for new commits first), on the workers kept for
        such refreshes (urgent) or on the pass workers."""
        # When it was asked for: the repository's answer must be newer than that, not newer than
        # when a worker gets to it (RepoCache.ls_remote).
        asked_at = self.repo_cache.now() if resolve else None
        (self.urgent if urgent else self.lane).put(name, Request(hard, resolve, asked_at))

    def _call_later(self, seconds: float, fn: Callable[[], None]) -> None:
        self.scheduler.add_job(fn, DateTrigger(run_date=datetime.now(UTC) + timedelta(seconds=seconds)))

    def untrack(self, name: str) -> None:
        self.order.forget(name)
        self._pass_done(name, ok=True, out_of_sync=False)
        self.lane.remove(name)
        self.urgent.remove(name)

    def _run(self, name: str, request: Request, lane: Lane) -> None:
        self.controller.settings.foreground.wait_quiet()  # API calls first
        started = time.monotonic()
        try:
            app = self.controller.refresh(
                name,
                hard=request.hard,
                wait=1.0,
                resolve=request.resolve,
                asked_at=request.asked_at,
                busy_raises=True,
            )
        except NotFound:
            self.untrack(name)
            return
        except RefreshBusy:
            # An operation refreshes when it ends (after a push from a new answer of the repository:
            # the webhook forgot the cached one), so a busy operation needs nothing more. Another
            # refresh may have resolved the revision before this was asked for (a pass's, when a
            # push came): then this one still has to run, or the push would wait for the next pass.
            if request.resolve and not self.controller.operation_running(name):
                lane.put(name, request, delay=BUSY_RETRY)
                return
            try:
                app = self.controller.apps.get(name)
            except NotFound:
                self.untrack(name)
                return
        except Exception:  # one application's failure never stops the others
            log.exception("refresh failed", extra=fields(app=name))
            self._pass_done(name, ok=False, out_of_sync=False)
            self.order.refreshed(name, started)
            return
        self.order.refreshed(name, started)
        self._pass_done(name, ok=True, out_of_sync=app.status.sync.status != "Synced")
        for hook in self.on_refreshed:
            hook(app)

    def stop(self) -> None:
        self.lane.close()
        self.urgent.close()
        self.scheduler.shutdown(wait=False)
