"""The SQLite store: opening, WAL mode, schema versioning and migrations.

Everything the daemon persists goes through `Store`. The application layer owns
the meaning of rows; this module owns the file, its schema and its safety:
a database written by a newer gitopsd is refused before anything is written; the file and
its -wal/-shm companions are 0600 whatever the umask; credentials are sealed with the data
dir's secret key (`Store.secrets`, see secretbox.py) and deleted content is overwritten.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from gitopsd.store.migrations import LATEST_VERSION, MIGRATIONS, SealingMigration
from gitopsd.store.secretbox import KEY_FILENAME, SecretBox, SecretKeyError, create_key, read_key

log = logging.getLogger("gitopsd.store")

DB_FILENAME = "gitopsd.db"
# Read connections at most: enough for the worker pools' concurrent reads; more would only
# contend for the two cores.
_MAX_READERS = 8
# The schema version from which credentials are sealed (the migration that seals them).
SEALED_SINCE = next(i + 1 for i, m in enumerate(MIGRATIONS) if isinstance(m, SealingMigration))


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


class Counter:
    """A monotonic counter (Store.counter). `next()` must be called with the store's write lock held
    (inside `transaction()` or `statements()`), so values are used in the order they are handed out;
    `persist` writes the current value to its row in the caller's transaction."""

    def __init__(self, name: str, value: int) -> None:
        self.name = name
        self.value = value

    def next(self) -> int:
        self.value += 1
        return self.value

    def persist(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)",
            (self.name, self.value),
        )


class Store:
    """One SQLite database file in the data dir, shared by the daemon's threads.

    Writes go through one connection with a lock around each transaction (SQLite serializes
    writers anyway). Reads outside a transaction take a connection from a small pool of
    read-only ones: in WAL mode they see the last commit without waiting for the writer, so
    thousands of status writes never queue the API's reads (and each other's) behind one lock.
    """

    secrets: SecretBox  # set while opening, before any migration runs

    def __init__(self, path: Path, secret_key_path: Path | None = None) -> None:
        """secret_key_path: the key that seals credentials; default DIR/auth/secret.key beside the file."""
        self.path = path
        self.secret_key_path = secret_key_path or path.parent / "auth" / KEY_FILENAME
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            _create_private(path)
            conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        self._conn = conn
        self._lock = threading.RLock()
        self._local = threading.local()  # .depth: this thread's open transactions
        self._readers: list[sqlite3.Connection] = []  # every read connection opened
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._closed = False
        self._counters: dict[str, Counter] = {}
        self.db = sqlite_utils.Database(conn)
        try:
            # Deleted and overwritten rows (old credentials) are zeroed, not left in free space.
            conn.execute("PRAGMA secure_delete=ON")
            self._check_version_and_migrate()
            self.db.enable_wal()
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._make_files_private()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"cannot use database {path}: {exc}") from exc
        except StoreError:
            conn.close()
            raise

    @classmethod
    def open_data_dir(cls, data_dir: Path) -> Store:
        return cls(data_dir / DB_FILENAME)

    def _make_files_private(self) -> None:
        # SQLite gives -wal and -shm the database file's mode; an older gitopsd left them 0644.
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.chmod(f"{self.path}{suffix}", 0o600)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise StoreError(f"cannot make {self.path}{suffix} private (mode 0600): {exc}") from exc

    # -- credentials -------------------------------------------------------------

    def _secret_box(self, version: int) -> SecretBox:
        """The key that seals credentials: created on first start, refused when it does not belong."""
        recorded = self._recorded_key_id() if version >= SEALED_SINCE else ""
        try:
            key = read_key(self.secret_key_path)
            if key is None:
                if recorded:
                    raise SecretKeyError(
                        f"the secret key {self.secret_key_path} is missing, and the database's "
                        "repository and cluster credentials are sealed with it: restore the key "
                        "from the backup of this data dir"
                    )
                key = create_key(self.secret_key_path)
            box = SecretBox(key)
        except SecretKeyError as exc:
            raise StoreError(str(exc)) from None
        except OSError as exc:
            raise StoreError(f"cannot create the secret key {self.secret_key_path}: {exc}") from exc
        if recorded and recorded != box.key_id:
            raise StoreError(
                f"the secret key {self.secret_key_path} is not the key this database's credentials "
                "are sealed with: restore the key that belongs to this data dir"
            )
        return box

    def _recorded_key_id(self) -> str:
        row = self._conn.execute("SELECT key_id FROM secret_key WHERE id = 1").fetchone()
        return str(row[0]) if row else ""

    def seal(self, table: str, value: dict[str, Any]) -> str:
        """The stored form of a credentials document (see secretbox.py)."""
        return self.secrets.seal(table, value)

    def unseal(self, table: str, text: str | None) -> dict[str, Any]:
        try:
            return self.secrets.open(table, text)
        except SecretKeyError as exc:
            raise StoreError(str(exc)) from None

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
        self.secrets = self._secret_box(current)
        if current == LATEST_VERSION:
            return
        sealed = False
        with self.transaction():
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            for version in range(current + 1, LATEST_VERSION + 1):
                migration = MIGRATIONS[version - 1]
                if isinstance(migration, SealingMigration):
                    migration.run(self._conn, self.secrets)
                    sealed = current > 0
                else:
                    migration(self._conn)
                self._conn.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (version, utcnow())
                )
        if sealed:
            self._drop_plaintext_pages()

    def _drop_plaintext_pages(self) -> None:
        """After sealing an existing database: rewrite the file so no page keeps the old plaintext
        (free pages, an older WAL). One-time; a failure (full disk) leaves a warning, not a stop."""
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.execute("VACUUM")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log.warning("credentials sealed, but the database could not be compacted: %s", exc)

    # -- access ----------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; rolled back if the block raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._local.depth = getattr(self._local, "depth", 0) + 1
            try:
                yield self._conn
            except BaseException:
                # After an I/O error (a full disk) SQLite has already rolled back: a second
                # ROLLBACK would fail and hide the error that explains what happened.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            finally:
                self._local.depth -= 1
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error:
                # A failed COMMIT (disk full) may leave the transaction open: end it, or every
                # later BEGIN on this shared connection would fail.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    @contextmanager
    def statements(self) -> Iterator[sqlite3.Connection]:
        """The write connection for writes of one statement each, every statement its own
        transaction. The write lock is held for the statements alone: a `transaction()` also holds
        it across BEGIN and COMMIT, each a return to the interpreter that may wait for the GIL
        while every other writer waits for the lock (at thousands of status writes a pass, that
        wait was most of the pass)."""
        with self._lock:
            yield self._conn

    def counter(self, name: str, floor_sql: str) -> Counter:
        """The counter row `name`, served from memory (one daemon per data dir: daemon.lock).
        floor_sql: a query of the highest value already used (rows written by `statements()` do not
        update the row): the counter starts above it."""
        with self._lock:
            found = self._counters.get(name)
            if found is None:
                row = self._conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
                floor = self._conn.execute(floor_sql).fetchone()
                found = Counter(name, max(int(row[0]) if row else 0, int(floor[0] or 0) if floor else 0))
                self._counters[name] = found
            return found

    def query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """Rows of one read statement: inside this thread's open transaction, on its connection (it
        must see its own uncommitted writes); otherwise on a pooled read-only connection."""
        if getattr(self._local, "depth", 0) > 0:
            with self._lock:
                return self._fetch(self._conn, sql, params)
        return self._read(sql, params)

    @staticmethod
    def _fetch(
        conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] | dict[str, Any]
    ) -> list[sqlite3.Row]:
        cur = conn.execute(sql, params)
        cur.row_factory = sqlite3.Row  # type: ignore[assignment]
        return list(cur.fetchall())

    def _read(self, sql: str, params: tuple[Any, ...] | dict[str, Any]) -> list[sqlite3.Row]:
        """One statement on an idle read connection of the pool (opened on demand, at most
        _MAX_READERS; a reader waits for one to come back when all are busy)."""
        if self._closed:
            raise StoreError(f"database {self.path} is closed")
        try:
            reader = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                if self._closed:
                    raise StoreError(f"database {self.path} is closed") from None
                opened = len(self._readers) < _MAX_READERS
                if opened:
                    reader = self._open_reader()
                    self._readers.append(reader)
            if not opened:
                reader = self._idle.get()
        try:
            return self._fetch(reader, sql, params)
        finally:
            self._idle.put(reader)

    def _open_reader(self) -> sqlite3.Connection:
        try:
            # Not mode=ro: a WAL reader must be able to map the -shm file. query_only refuses
            # any write on this connection instead.
            reader = sqlite3.connect(
                str(self.path), check_same_thread=False, isolation_level=None, timeout=30
            )
            reader.execute("PRAGMA query_only=ON")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {self.path} for reading: {exc}") from exc
        return reader

    def query_one(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            try:
                # Fold the WAL back into the main file so a clean stop leaves one file.
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            self._conn.close()


def _create_private(path: Path) -> None:
    """Creates the database file 0600 before SQLite does (SQLite would use 0644 minus the umask)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return
    os.close(fd)
