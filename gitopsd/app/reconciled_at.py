"""When each application was last compared, recorded cheaply: a comparison that changes nothing but
status.reconciledAt (every application of a no-change pass) does not rewrite the status row; its time
is kept here and written to the row's `reconciled_at` column in batches, one transaction for many.

Part of the application store (gitopsd.app.applications owns one). Reads take the latest of the
status's own reconciledAt, the column and a time not yet written, so `app get` (and `app sync`, which
waits for the comparison after its operation) sees the time at once. A stop writes what is left; a
crash loses at most one batch of times, which the comparisons right after the next start record again.
The row's resourceVersion does not move for it: nothing a user, a sync or a watcher acts on changed.
"""

from __future__ import annotations

import threading
import time

from gitopsd.store import Store

# Times kept before a batch is written, and the longest the oldest waits while comparisons go on.
FLUSH_AT = 500
FLUSH_AFTER = 2.0


class ReconciledTimes:
    """The times not yet written, and the batched write of them."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: dict[str, str] = {}  # application -> reconciledAt (RFC 3339, so they sort)
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # one batch at a time
        self._oldest = 0.0  # monotonic time the oldest pending entry came

    def record(self, name: str, when: str) -> None:
        """`name` was compared at `when` and nothing else of its status changed."""
        with self._lock:
            if not self._pending:
                self._oldest = time.monotonic()
            if when > self._pending.get(name, ""):
                self._pending[name] = when
            due = len(self._pending) >= FLUSH_AT or time.monotonic() - self._oldest >= FLUSH_AFTER
        if due:
            self.flush(wait=False)

    def latest(self, name: str, stored: str) -> str:
        """The application's reconciledAt: `stored` (the later of its status's and its column's)
        unless a later one waits to be written."""
        pending = self._pending.get(name, "")
        return pending if pending > stored else stored

    def forget(self, name: str) -> None:
        """A deleted application: a time of it must not show on a new one of the same name."""
        with self._lock:
            self._pending.pop(name, None)

    def flush(self, wait: bool = True) -> None:
        """Writes the pending times in one transaction. wait=False: returns at once if another
        thread is writing a batch (it or the next one takes these)."""
        if not self._writing.acquire(blocking=wait):
            return
        try:
            with self._lock:
                batch = list(self._pending.items())
            if not batch:
                return
            with self._store.transaction() as conn:
                # Never back in time: a status written meanwhile may carry a later one.
                conn.executemany(
                    "UPDATE applications SET reconciled_at = ? WHERE name = ? AND reconciled_at < ?",
                    [(when, name, when) for name, when in batch],
                )
            with self._lock:
                for name, when in batch:  # kept if a later time came while this batch was written
                    if self._pending.get(name) == when:
                        del self._pending[name]
                self._oldest = time.monotonic()
        finally:
            self._writing.release()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)
