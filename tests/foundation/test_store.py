"""The SQLite store on real files: first start, migrations, newer schemas, restarts."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app.applications import Applications
from gitopsd.store import Store, StoreError
from gitopsd.store.db import DB_FILENAME
from gitopsd.store.migrations import LATEST_VERSION, MIGRATIONS


def _app(name: str = "web") -> apppb.Application:
    app = apppb.Application()
    app.metadata.name = name
    app.spec.source.repo_url = "https://example.com/repo.git"
    app.spec.source.path = "deploy"
    app.spec.destination.server = "https://kubernetes.default.svc"
    app.spec.destination.namespace = "web"
    return app


def test_fresh_data_dir_is_initialised_in_wal_mode(tmp_path: Path) -> None:
    store = Store.open_data_dir(tmp_path)
    assert store.schema_version() == LATEST_VERSION
    assert {"applications", "projects", "clusters", "repositories", "history", "operations", "events"} <= set(
        store.db.table_names()
    )
    assert store.query_one("PRAGMA journal_mode")[0] == "wal"
    store.close()


def test_older_schema_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    # Build a version-1 database by hand, as an older gitopsd would have left it.
    path = tmp_path / DB_FILENAME
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    MIGRATIONS[0](conn)
    conn.execute("INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00Z')")
    conn.execute(
        "INSERT INTO applications VALUES ('old', 'u-1', 'default', ?, '{}', 7, 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        (
            '{"metadata":{"name":"old"},"spec":{"project":"default","source":{"repoURL":"https://x/r"},'
            '"destination":{"server":"https://kubernetes.default.svc"}}}',
        ),
    )
    conn.close()

    store = Store(path)
    assert store.schema_version() == LATEST_VERSION
    assert "history" in store.db.table_names()
    app = Applications(store).get("old")
    assert app.spec.source.repo_url == "https://x/r"
    assert app.metadata.resource_version == "7"
    store.close()


def test_newer_schema_is_refused_and_not_modified(tmp_path: Path) -> None:
    path = tmp_path / DB_FILENAME
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (?, 'x')", (LATEST_VERSION + 5,))
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()

    with pytest.raises(StoreError) as err:
        Store(path)
    assert f"schema version {LATEST_VERSION + 5}" in str(err.value)
    assert "upgrade gitopsd" in str(err.value)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert (
        not (tmp_path / (DB_FILENAME + "-wal")).exists()
        or (tmp_path / (DB_FILENAME + "-wal")).stat().st_size == 0
    )


def test_garbage_file_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / DB_FILENAME
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError) as err:
        Store(path)
    assert str(path) in str(err.value)


def test_reopening_keeps_applications(tmp_path: Path) -> None:
    store = Store.open_data_dir(tmp_path)
    created = Applications(store).create(_app("keep"))
    store.close()

    store = Store.open_data_dir(tmp_path)
    again = Applications(store).get("keep")
    assert again.metadata.uid == created.metadata.uid
    assert again.spec == created.spec
    store.close()


def test_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    store = Store.open_data_dir(tmp_path)
    with pytest.raises(RuntimeError):
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO projects (name, uid, manifest, resource_version, created_at, updated_at) VALUES ('p', 'u', '{}', 1, 'now', 'now')",
            )
            raise RuntimeError("boom")
    assert store.query("SELECT * FROM projects") == []
    store.close()
