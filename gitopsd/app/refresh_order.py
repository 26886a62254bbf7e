"""Refreshes asked for in two groups, the second after the first: a webhook push refreshes the
applications whose files it changed first, and every other application on the repository after them.

With 10,000 applications on one repository a push concerns all of them, and the one whose files
changed would otherwise share two cores with 9,999 refreshes started at the same moment. So the
`later` group is held back until each application of the `first` group has been refreshed (by a
refresh that started after it was asked for), then handed to the pass workers; RELEASE_AFTER
seconds at most, so that a first refresh that hangs (a slow repository) delays the others only
that long. Pushes that arrive meanwhile join the waiting groups: one set of names each, so memory
stays bounded by the number of applications.

gitopsd.app.scheduler owns one and tells it when each refresh ends; it knows nothing of webhooks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

# The longest the `later` group waits for the `first` one (a render has timeouts of its own; past
# this the others are refreshed anyway: they may be as affected by the push as the first ones).
RELEASE_AFTER = 30.0


class RefreshOrder:
    def __init__(
        self,
        refresh_now: Callable[[str], None],
        refresh_later: Callable[[str], None],
        call_later: Callable[[float, Callable[[], None]], None],
        release_after: float = RELEASE_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """refresh_now/refresh_later: schedule one refresh on the urgent / the pass workers;
        call_later(seconds, fn): run fn once after that long (the deadline check)."""
        self._refresh_now = refresh_now
        self._refresh_later = refresh_later
        self._call_later = call_later
        self._release_after = release_after
        self._clock = clock
        self._lock = threading.Lock()
        self._waiting_for: dict[str, float] = {}  # first-group name -> when it was asked for
        self._held: dict[str, None] = {}  # later-group names, in the order asked (a set that keeps it)
        self._held_since: float | None = None

    def submit(self, first: Sequence[str], later: Sequence[str]) -> None:
        """Refreshes `first` now and `later` once those are done (or after RELEASE_AFTER s)."""
        now = self._clock()
        with self._lock:
            for name in first:
                self._waiting_for[name] = now
                self._held.pop(name, None)  # refreshed now, and that covers an earlier push too
            for name in later:
                if name not in self._waiting_for:
                    self._held[name] = None
            if self._held and self._held_since is None:
                self._held_since = now
            release = self._take_if_done()
        for name in first:
            self._refresh_now(name)
        if later:
            self._call_later(self._release_after, self._deadline)
        self._release(release)

    def refreshed(self, name: str, started: float) -> None:
        """A refresh of `name` that began at `started` (this clock) has ended, in any way."""
        with self._lock:
            asked = self._waiting_for.get(name)
            if asked is None or started < asked:
                return  # not waited for, or a refresh already under way when the push came
            del self._waiting_for[name]
            release = self._take_if_done()
        self._release(release)

    def forget(self, name: str) -> None:
        """The application is gone: nothing waits for it, and it is not refreshed later."""
        with self._lock:
            self._waiting_for.pop(name, None)
            self._held.pop(name, None)
            release = self._take_if_done()
        self._release(release)

    def _take_if_done(self) -> list[str]:
        if not self._held:
            self._held_since = None
            return []
        return [] if self._waiting_for else self._take()

    def _take(self) -> list[str]:
        names = list(self._held)
        self._held.clear()
        self._held_since = None
        return names

    def _deadline(self) -> None:
        with self._lock:
            since = self._held_since
            # (The timer's clock is the wall clock: a tenth of a second early is still this deadline.)
            if since is None or self._clock() - since < self._release_after - 0.1:
                return  # released already, or held for a later push whose own deadline comes
            self._waiting_for.clear()
            release = self._take()
        self._release(release)

    def _release(self, names: list[str]) -> None:
        for name in names:
            self._refresh_later(name)
