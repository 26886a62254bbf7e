"""Forward-only schema migrations for the SQLite store.

Each migration is applied once, in order, inside a transaction, and bumps the
version recorded in the `schema_version` table. Never edit a released migration:
add a new one. Later issues (auth, webhooks) append theirs here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]


def _run(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the surrounding transaction: run statements one by one.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1_core(conn: sqlite3.Connection) -> None:
    """Applications, projects, clusters and repositories."""
    _run(
        conn,
        """
        CREATE TABLE applications (
            name TEXT PRIMARY KEY,
            uid TEXT NOT NULL,
            project TEXT NOT NULL,
            manifest TEXT NOT NULL,          -- metadata + spec as canonical JSON
            status TEXT NOT NULL DEFAULT '{}',
            resource_version INTEGER NOT NULL,
            generation INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX applications_project ON applications(project);
        CREATE TABLE projects (
            name TEXT PRIMARY KEY,
            uid TEXT NOT NULL,
            manifest TEXT NOT NULL,
            resource_version INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE clusters (
            server TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            manifest TEXT NOT NULL,          -- everything but credentials
            secret TEXT NOT NULL DEFAULT '{}', -- credentials: never returned by the API
            info TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE repositories (
            key TEXT PRIMARY KEY,            -- the normalized URL
            url TEXT NOT NULL,
            manifest TEXT NOT NULL,
            secret TEXT NOT NULL DEFAULT '{}',
            info TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """,
    )


def _v2_audit(conn: sqlite3.Connection) -> None:
    """The deployment audit trail, persisted operations and the event log."""
    _run(
        conn,
        """
        CREATE TABLE history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            app TEXT NOT NULL,
            app_history_id INTEGER NOT NULL, -- the ID users see, per application
            revision TEXT NOT NULL,
            entry TEXT NOT NULL,             -- the RevisionHistory message as JSON
            deployed_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX history_app_id ON history(app, app_history_id);
        CREATE TABLE operations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            app TEXT NOT NULL,
            phase TEXT NOT NULL,
            state TEXT NOT NULL,             -- the OperationState message as JSON
            started_at TEXT NOT NULL,
            finished_at TEXT
        );
        CREATE INDEX operations_app ON operations(app, id);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            app TEXT NOT NULL,
            type TEXT NOT NULL,
            reason TEXT NOT NULL,
            message TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX events_app ON events(app, id);
        """,
    )


MIGRATIONS: list[Migration] = [_v1_core, _v2_audit]

LATEST_VERSION = len(MIGRATIONS)
