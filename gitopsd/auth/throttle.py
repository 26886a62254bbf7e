"""Brute-force throttling of logins: an attempt takes its slot in SQLite before its password is checked.

Used by accounts.py. Each login first reserves a slot: in one write transaction it counts the
user's attempts within the window (failed ones and ones still being checked) and, if fewer than
the limit, inserts its own row as `pending`. Only then is the password verified (Argon2, outside
any lock the rest of the daemon needs); the row becomes `failed`, or is deleted on success. So
however many logins for one user arrive at once, at most `max_failures` passwords are checked per
window, and a login whose attempt cannot be recorded (a full disk) is refused, never let through.
Rows live in SQLite, so neither a restart nor a crash resets the count.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gitopsd.app.errors import Unavailable
from gitopsd.auth.errors import Unauthenticated
from gitopsd.logs import fields
from gitopsd.store import Store

log = logging.getLogger("gitopsd.auth")

PENDING = "pending"
FAILED = "failed"


@dataclass(frozen=True)
class Attempt:
    """A reserved slot: the login may check its password now."""

    id: int
    username: str


class LoginThrottle:
    def __init__(
        self, store: Store, max_failures: int, window: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._refusals = 0

    def failures_total(self) -> int:
        """Logins refused since this process started: wrong password, locked, or not recordable."""
        return self._refusals

    def _count_refusal(self) -> None:
        with self._lock:
            self._refusals += 1

    def recover(self) -> None:
        """At start: a check cut short by a crash or a kill has no outcome; count it as failed."""
        try:
            with self._store.transaction() as conn:
                conn.execute("UPDATE login_attempts SET state = ? WHERE state = ?", (FAILED, PENDING))
        except sqlite3.Error as exc:
            # Pending rows count against the limit as they are: nothing is lost by leaving them.
            log.warning("could not settle unfinished logins", extra=fields(error=str(exc)))

    def reserve(self, username: str) -> Attempt:
        """A slot for one password check; Unauthenticated if the user is locked out,
        Unavailable if the attempt cannot be recorded (then no password may be checked)."""
        now = self._clock()
        try:
            with self._store.transaction() as conn:
                conn.execute("DELETE FROM login_attempts WHERE attempted_at <= ?", (now - self.window,))
                recent = conn.execute(
                    "SELECT state, attempted_at FROM login_attempts WHERE username = ? "
                    "ORDER BY id DESC LIMIT ?",
                    (username, self.max_failures),
                ).fetchall()
                if len(recent) < self.max_failures:
                    cur = conn.execute(
                        "INSERT INTO login_attempts (username, attempted_at, state) VALUES (?, ?, ?)",
                        (username, now, PENDING),
                    )
                    return Attempt(int(cur.lastrowid or 0), username)
        except sqlite3.Error as exc:
            self._count_refusal()
            log.error("login refused: the attempt cannot be recorded", extra=fields(error=str(exc)))
            raise Unavailable(
                f"login unavailable: the daemon cannot record login attempts ({exc}; is its disk full?); "
                "try again later"
            ) from None
        self._count_refusal()
        checking = sum(1 for state, _ in recent if state == PENDING)
        if checking:
            raise Unauthenticated(
                f"too many logins for this user at once ({checking} still being checked): try again shortly"
            )
        # Unlocked when the oldest of the last max_failures failures leaves the window.
        wait = max(0.0, min(float(at) for _, at in recent) + self.window - now)
        raise Unauthenticated(f"too many failed logins for this user: try again in {int(wait) + 1}s")

    def failed(self, attempt: Attempt) -> None:
        """The password was wrong (or the user unknown): the slot stays taken until the window ends."""
        self._count_refusal()
        try:
            with self._store.transaction() as conn:
                conn.execute("UPDATE login_attempts SET state = ? WHERE id = ?", (FAILED, attempt.id))
        except sqlite3.Error as exc:
            # The row stays pending, which counts against the limit all the same.
            log.warning("could not mark a failed login", extra=fields(error=str(exc)))

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: this attempt and the failures before it no longer count."""
        try:
            with self._store.transaction() as conn:
                conn.execute(
                    "DELETE FROM login_attempts WHERE username = ? AND (id = ? OR (id < ? AND state = ?))",
                    (attempt.username, attempt.id, attempt.id, FAILED),
                )
        except sqlite3.Error as exc:
            # The attempt was recorded before the check; leaving it only keeps the count high.
            log.warning("could not reset the failed logins of a user", extra=fields(error=str(exc)))
