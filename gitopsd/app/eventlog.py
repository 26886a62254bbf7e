"""The persisted event log of each application (the `events` table), read by `gitopsd app events`.

Where the deployment history says what was deployed, the event log says what happened around it and
who did it: the application created, its spec changed (with the fields that changed) or deleted, sync
operations started and completed, sync and health status transitions. Reasons follow Argo CD's
application events. Entries outlive their application (a deletion is worth keeping); each
application keeps its newest MAX_PER_APP entries. Recording never fails the caller: the log is a
record of the work, not part of it.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.logs import fields
from gitopsd.store import Store, utcnow

log = logging.getLogger("gitopsd.events")

MAX_PER_APP = 200
NORMAL = "Normal"
WARNING = "Warning"
RESOURCE_CREATED = "ResourceCreated"
RESOURCE_UPDATED = "ResourceUpdated"
RESOURCE_DELETED = "ResourceDeleted"
OPERATION_STARTED = "OperationStarted"
OPERATION_COMPLETED = "OperationCompleted"
_MAX_MESSAGE = 1000


class EventLog:
    def __init__(self, store: Store) -> None:
        self._store = store

    def record(
        self, app: str, reason: str, message: str, type_: str = NORMAL, conn: sqlite3.Connection | None = None
    ) -> None:
        """Append one event and trim the application's log to its newest MAX_PER_APP entries.
        conn: the caller's open transaction to write it in (its failure is then the caller's);
        otherwise a transaction of its own, whose failure is only logged."""
        text = " ".join(message.split())  # one line per event, whatever the message held
        text = text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"
        if conn is not None:
            self._write(conn, app, type_, reason, text)
            return
        try:
            # Two statements, each its own commit: a trim that did not run is done by the next event.
            with self._store.statements() as own:
                self._write(own, app, type_, reason, text)
        except sqlite3.Error as exc:
            log.warning("event not recorded", extra=fields(app=app, reason=reason, error=str(exc)))

    @staticmethod
    def _write(conn: sqlite3.Connection, app: str, type_: str, reason: str, text: str) -> None:
        conn.execute(
            "INSERT INTO events (app, type, reason, message, created_at) VALUES (?, ?, ?, ?, ?)",
            (app, type_, reason, text, utcnow()),
        )
        conn.execute(
            "DELETE FROM events WHERE app = ? AND id <= ("
            " SELECT id FROM events WHERE app = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (app, app, MAX_PER_APP),
        )

    def list(self, app: str, limit: int = MAX_PER_APP) -> list[apppb.EventRecord]:
        """The newest `limit` events of `app`, oldest first."""
        limit = MAX_PER_APP if limit <= 0 else min(limit, MAX_PER_APP)
        rows = self._store.query(
            "SELECT type, reason, message, created_at FROM events WHERE app = ? ORDER BY id DESC LIMIT ?",
            (app, limit),
        )
        return [
            apppb.EventRecord(
                type=r["type"], reason=r["reason"], message=r["message"], timestamp=r["created_at"]
            )
            for r in reversed(rows)
        ]


def changed_fields(old: Any, new: Any, prefix: str = "", limit: int = 5) -> list[str]:
    """Dotted paths where two JSON documents differ (e.g. ``source.kustomize.images``), at most `limit`.

    Lists are compared whole: ``source.helm.parameters`` rather than an index. A section that appears
    or disappears is named by its fields (``source.kustomize.images``, not ``source.kustomize``).
    """
    out: list[str] = []
    sections = (old is None or isinstance(old, dict)) and (new is None or isinstance(new, dict))
    if sections and (old is not None or new is not None):
        old, new = old or {}, new or {}
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                out.extend(changed_fields(old.get(key), new.get(key), f"{prefix}{key}.", limit - len(out)))
            if len(out) >= limit:
                break
        return out[:limit]
    return [prefix.rstrip(".")] if old != new and limit > 0 else []
