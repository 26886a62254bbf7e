"""The SQLite store: opening, WAL mode, schema versioning and migrations.

Everything the daemon persists goes through `Store`. The application layer owns
the meaning of rows; this module owns the file, its schema and its safety:
a database written by a newer gitopsd is refused before anything is written.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from gitopsd.store.migrations import LATEST_VERSION, MIGRATIONS

DB_FILENAME = "gitopsd.db"


class StoreError(Exception):
    """The store cannot be used (unreadable file, newer schema, ...)."""


def utcnow() -> str:
    """The current time as RFC 3339 with a Z suffix, the format of every stored timestamp."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def loads(text: str | None) -> Any:
    # sqlite-utils returns JSON columns as strings: decode them in one place.
    return json.loads(text) if text else {}


class Store:
    """One SQLite database file in the data dir, shared by the daemon's threads.

    A single connection is used with a lock around each transaction: SQLite
    serializes writers anyway, and the daemon's write rate is low.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        self._conn = conn
        self._lock = threading.RLock()
        self.db = sqlite_utils.Database(conn)
        try:
            self._check_version_and_migrate()
            self.db.enable_wal()
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"cannot use database {path}: {exc}") from exc
        except StoreError:
            conn.close()
            raise

    @classmethod
    def open_data_dir(cls, data_dir: Path) -> Store:
        return cls(data_dir / DB_FILENAME)

    # -- schema ----------------------------------------------------------------

    def schema_version(self) -> int:
        if "schema_version" not in self.db.table_names():
            return 0
        row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _check_version_and_migrate(self) -> None:
        current = self.schema_version()
        if current > LATEST_VERSION:
            # Refuse before any write: an older binary must never touch a newer schema.
            raise StoreError(
                f"database {self.path} has schema version {current}, newer than this gitopsd "
                f"supports ({LATEST_VERSION}); upgrade gitopsd or point --data-dir elsewhere"
            )
        if current == LATEST_VERSION:
            return
        with self.transaction():
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            for version in range(current + 1, LATEST_VERSION + 1):
                MIGRATIONS[version - 1](self._conn)
                self._conn.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (version, utcnow())
                )

    # -- access ----------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; rolled back if the block raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                # After an I/O error (a full disk) SQLite has already rolled back: a second
                # ROLLBACK would fail and hide the error that explains what happened.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error:
                # A failed COMMIT (disk full) may leave the transaction open: end it, or every
                # later BEGIN on this shared connection would fail.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cur = self._conn.execute(sql, params)
            cur.row_factory = sqlite3.Row  # type: ignore[assignment]
            return list(cur.fetchall())

    def query_one(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def close(self) -> None:
        with self._lock:
            try:
                # Fold the WAL back into the main file so a clean stop leaves one file.
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            self._conn.close()
