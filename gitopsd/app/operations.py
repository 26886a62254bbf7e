"""Persisted sync operations and the deployment history (the audit trail).

An operation row is written when a sync starts and updated as it advances, so a
restart finds what was running. History entries get per-application IDs (1, 2,
3... as users see them in `app history`) and are bounded by revisionHistoryLimit.
"""

from __future__ import annotations

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.protojson import parse_document, to_document
from gitopsd.store import Store, dumps, loads, utcnow

RUNNING = "Running"
TERMINATING = "Terminating"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
ERROR = "Error"
COMPLETED = (SUCCEEDED, FAILED, ERROR)

INTERRUPTED_INFO = "interrupted"


class OperationStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    def start(self, app: str, state: apppb.OperationState) -> apppb.OperationState:
        with self._store.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO operations (app, phase, state, started_at) VALUES (?, ?, '{}', ?)",
                (app, state.phase, state.started_at or utcnow()),
            )
            state.id = str(cur.lastrowid)
            conn.execute(
                "UPDATE operations SET state = ? WHERE id = ?", (dumps(to_document(state)), cur.lastrowid)
            )
        return state

    def save(self, state: apppb.OperationState) -> None:
        document = dumps(to_document(state))  # before the write lock: others wait while it is held
        with self._store.statements() as conn:
            conn.execute(
                "UPDATE operations SET phase = ?, state = ?, finished_at = ? WHERE id = ?",
                (state.phase, document, state.finished_at or None, int(state.id)),
            )

    def latest(self, app: str) -> apppb.OperationState | None:
        row = self._store.query_one(
            "SELECT state FROM operations WHERE app = ? ORDER BY id DESC LIMIT 1", (app,)
        )
        return parse_document(loads(row["state"]), apppb.OperationState()) if row else None

    def running(self) -> list[tuple[str, apppb.OperationState]]:
        rows = self._store.query(
            "SELECT app, state FROM operations WHERE phase IN (?, ?) ORDER BY id", (RUNNING, TERMINATING)
        )
        return [(r["app"], parse_document(loads(r["state"]), apppb.OperationState())) for r in rows]

    def delete_app(self, app: str) -> None:
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM operations WHERE app = ?", (app,))


class HistoryStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    def append(self, app: str, entry: apppb.RevisionHistory, limit: int) -> apppb.RevisionHistory:
        with self._store.transaction() as conn:
            row = conn.execute(
                "SELECT COALESCE(MAX(app_history_id), 0) + 1 FROM history WHERE app = ?", (app,)
            ).fetchone()
            entry.id = int(row[0])
            conn.execute(
                "INSERT INTO history (app, app_history_id, revision, entry, deployed_at) VALUES (?, ?, ?, ?, ?)",
                (app, entry.id, entry.revision, dumps(to_document(entry)), entry.deployed_at or utcnow()),
            )
            # Keep the newest `limit` entries (IDs keep counting up, as Argo CD's do).
            conn.execute(
                "DELETE FROM history WHERE app = ? AND app_history_id NOT IN "
                "(SELECT app_history_id FROM history WHERE app = ? ORDER BY app_history_id DESC LIMIT ?)",
                (app, app, max(limit, 1)),
            )
        return entry

    def list(self, app: str) -> list[apppb.RevisionHistory]:
        rows = self._store.query("SELECT entry FROM history WHERE app = ? ORDER BY app_history_id", (app,))
        return [parse_document(loads(r["entry"]), apppb.RevisionHistory()) for r in rows]

    def delete_app(self, app: str) -> None:
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM history WHERE app = ?", (app,))
