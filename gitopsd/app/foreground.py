"""API calls first: background work (reconcile refreshes, sync operations) yields to calls in flight.

One interpreter serves the API and reconciles every application, and Python runs one thread at a time.
Without a priority, a burst of calls (a CI job creating thousands of applications, a dashboard) shares
the interpreter with the syncs those calls cause, and every call slows down with the number of
applications being synced. So the API servers mark each unary call while it runs (`Foreground.call`),
and each background job, before it starts, waits until no call has been in flight for a short quiet
period (`Foreground.wait_quiet`). The wait is bounded (`max_wait`): under sustained API load background
work still runs, at a lower rate, and nothing starves. Streams (Watch, logs, event streams) are not
calls in flight: they are open for hours and mostly idle.

Where it sits: gitopsd/server marks the calls; gitopsd/app/scheduler.py and sync_operations.py wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# A gap between calls shorter than this is the same burst (a client's next request on its way).
DEFAULT_QUIET = 0.02
# The longest a background job waits for the API to go quiet before it runs anyway.
DEFAULT_MAX_WAIT = 1.0


class Foreground:
    def __init__(self, quiet: float = DEFAULT_QUIET, max_wait: float = DEFAULT_MAX_WAIT) -> None:
        self._quiet = quiet
        self._max_wait = max_wait
        self._in_flight = 0
        self._last = 0.0  # monotonic time of the last call's start or end
        self._cond = threading.Condition()
        self.waited_seconds = 0.0  # total time background work has waited (/metrics: gitopsd_background_wait_seconds_total)

    @contextmanager
    def call(self) -> Iterator[None]:
        """Marks one API call while it is served."""
        with self._cond:
            self._in_flight += 1
            self._last = time.monotonic()
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                self._last = time.monotonic()
                if self._in_flight == 0:
                    # One waiter keeps watch through the quiet period and wakes the others when it
                    # has passed: a burst of calls would otherwise wake every waiter at each call.
                    self._cond.notify()

    def busy(self) -> bool:
        """Whether a call is in flight or one ended within the quiet period."""
        return self._in_flight > 0 or time.monotonic() - self._last < self._quiet

    def wait_quiet(self) -> None:
        """Returns once the API has been quiet for the quiet period, or after max_wait at most."""
        if not self.busy():  # the common case, with no lock taken
            return
        start = time.monotonic()
        deadline = start + self._max_wait
        with self._cond:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    break
                if self._in_flight > 0:
                    self._cond.wait(deadline - now)
                    continue
                calm = self._last + self._quiet - now
                if calm <= 0:
                    self._cond.notify_all()  # quiet: the other waiters may go too
                    break
                self._cond.wait(min(calm, deadline - now))
            self.waited_seconds += time.monotonic() - start
