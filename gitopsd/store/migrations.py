"""Forward-only schema migrations for the SQLite store.

Each migration is applied once, in order, inside a transaction, and bumps the
version recorded in the `schema_version` table. Never edit a released migration:
add a new one. Later issues (auth, webhooks) append theirs here. A migration that needs the
secret key (to seal credentials) is wrapped in `SealingMigration`; the store hands it the key.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from gitopsd.store.secretbox import PREFIX, SecretBox


@dataclass(frozen=True)
class SealingMigration:
    """A migration that seals stored credentials, so it needs the data dir's secret key."""

    run: Callable[[sqlite3.Connection, SecretBox], None]


Migration = Callable[[sqlite3.Connection], None] | SealingMigration


def _run(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the surrounding transaction: run statements one by one,
    # splitting where SQLite itself says a statement is complete (so `;` in comments is safe).
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            conn.execute(buffer)
            buffer = ""
    if buffer.strip():
        raise sqlite3.OperationalError(f"incomplete statement in migration: {buffer.strip()[:80]}")


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


def _v3_auth(conn: sqlite3.Connection) -> None:
    """Local accounts, revoked tokens and failed logins (kept so a restart does not reset them)."""
    _run(
        conn,
        """
        CREATE TABLE accounts (
            name TEXT PRIMARY KEY,
            password_hash TEXT,              -- Argon2id, never returned by the API
            password_mtime INTEGER NOT NULL DEFAULT 0,
            tokens TEXT NOT NULL DEFAULT '[]', -- API keys issued: [{id, iat, exp}], never the tokens
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE revoked_tokens (
            token_id TEXT PRIMARY KEY,
            subject TEXT NOT NULL,
            expires_at INTEGER NOT NULL,     -- 0: never (rows of expired tokens can be dropped)
            revoked_at TEXT NOT NULL
        );
        CREATE TABLE login_attempts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            username TEXT NOT NULL,
            attempted_at REAL NOT NULL       -- failed attempts only, unix seconds
        );
        CREATE INDEX login_attempts_user ON login_attempts(username, attempted_at);
        """,
    )


def _v4_login_slots_and_session_generation(conn: sqlite3.Connection) -> None:
    """Session generations and login attempts that hold a slot while their password is checked.

    A password change bumps `session_generation`; session tokens carry the generation they were
    issued under, so a change ends every earlier session whatever the clock says. A login first
    inserts a `pending` attempt (counted against the limit), which becomes `failed` or is
    deleted once the password is checked; rows from before this migration are failures.
    """
    _run(
        conn,
        """
        ALTER TABLE accounts ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE login_attempts ADD COLUMN state TEXT NOT NULL DEFAULT 'failed';
        """,
    )


# Tables whose `secret` column holds credentials, with their primary key.
SEALED_TABLES = (("repositories", "key"), ("clusters", "server"))


def _v5_seal_secrets(conn: sqlite3.Connection, box: SecretBox) -> None:
    """Credentials at rest: seals every repository and cluster secret with the data dir's key and
    records which key it was (a later start with another key is refused, not garbled)."""
    _run(
        conn,
        """
        CREATE TABLE secret_key (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            key_id TEXT NOT NULL,            -- HMAC of a label under the key: names it, reveals nothing
            created_at TEXT NOT NULL
        );
        """,
    )
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    conn.execute("INSERT INTO secret_key (id, key_id, created_at) VALUES (1, ?, ?)", (box.key_id, now))
    for table, pk in SEALED_TABLES:
        for row_key, secret in conn.execute(f"SELECT {pk}, secret FROM {table}").fetchall():  # noqa: S608 - fixed names
            if isinstance(secret, str) and secret.startswith(PREFIX):
                continue
            value = json.loads(secret) if secret else {}
            conn.execute(
                f"UPDATE {table} SET secret = ? WHERE {pk} = ?",  # noqa: S608 - fixed names
                (box.seal(table, value if isinstance(value, dict) else {}), row_key),
            )


def _v6_repo_creds(conn: sqlite3.Connection) -> None:
    """Credential templates (Argo CD's repocreds): credentials by URL prefix, sealed like a
    repository's (`secret` is written through Store.seal with the table name `repo_creds`)."""
    _run(
        conn,
        """
        CREATE TABLE repo_creds (
            prefix TEXT PRIMARY KEY,         -- the URL prefix as given
            manifest TEXT NOT NULL,          -- everything but credentials
            secret TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """,
    )


def _v7_scale(conn: sqlite3.Connection) -> None:
    """What 10,000 applications need of the applications table.

    - resourceVersion from a counter row instead of MAX() over every row: a write no longer scans
      the table (quadratic over thousands of creates), and a deleted application's version is
      never handed out again, as etcd's revision never goes back.
    - The spec and the status also as serialized protobuf (`manifest_pb`, `status_pb`): parsing
      them is ~50x cheaper than parsing the JSON, which dominated list and every refresh. The
      JSON `manifest` stays the readable copy (and what SQL queries look into); the JSON `status`
      column is only read for rows whose status has not been written since this migration.
    """
    _run(
        conn,
        """
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO counters (name, value)
            SELECT 'applications', COALESCE(MAX(resource_version), 0) FROM applications;
        ALTER TABLE applications ADD COLUMN manifest_pb BLOB;
        ALTER TABLE applications ADD COLUMN status_pb BLOB;
        """,
    )


def _v8_ownership(conn: sqlite3.Connection) -> None:
    """Owners of child applications and projects (app of apps, ApplicationSets): recorded on the child,
    indexed so a parent finds its children without reading every row ('' = nobody owns it)."""
    _run(
        conn,
        """
        ALTER TABLE applications ADD COLUMN owner_kind TEXT NOT NULL DEFAULT '';
        ALTER TABLE applications ADD COLUMN owner_name TEXT NOT NULL DEFAULT '';
        CREATE INDEX applications_owner ON applications(owner_kind, owner_name);
        ALTER TABLE projects ADD COLUMN owner_kind TEXT NOT NULL DEFAULT '';
        ALTER TABLE projects ADD COLUMN owner_name TEXT NOT NULL DEFAULT '';
        CREATE INDEX projects_owner ON projects(owner_kind, owner_name);
        """,
    )


def _v9_applicationsets(conn: sqlite3.Connection) -> None:
    """ApplicationSets (argoproj.io/v1alpha1): the spec as canonical JSON, the generation status beside it."""
    _run(
        conn,
        """
        CREATE TABLE applicationsets (
            name TEXT PRIMARY KEY,
            uid TEXT NOT NULL,
            project TEXT NOT NULL,           -- spec.template.spec.project (the RBAC object's project)
            manifest TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT '{}',
            resource_version INTEGER NOT NULL,
            generation INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """,
    )


def _v10_revocation_by_subject(conn: sqlite3.Connection) -> None:
    """Revocations keyed by (token id, subject): token ids can be chosen, so two subjects can each
    hold a token of the same id, and ending one must not end the other.

    Rows from before were looked up by the id alone, so each ended every token of its id whoever
    held it; they keep doing so (`any_subject` = 1). Narrowing them to their recorded subject is
    not safe: an earlier revocation of another subject's same-id token was dropped by the old
    primary key (INSERT OR IGNORE), so the old row may be the only thing that ends that token.
    Rows of expiring tokens are pruned once those expire; the rest cost a reissue under a new id.
    """
    _run(
        conn,
        """
        CREATE TABLE revoked_tokens_v10 (
            token_id TEXT NOT NULL,
            subject TEXT NOT NULL,
            expires_at INTEGER NOT NULL,     -- 0: never (rows of expired tokens can be dropped)
            revoked_at TEXT NOT NULL,
            any_subject INTEGER NOT NULL DEFAULT 0, -- 1: a row from before v10, ends the id for everyone
            PRIMARY KEY (token_id, subject)
        );
        INSERT INTO revoked_tokens_v10 (token_id, subject, expires_at, revoked_at, any_subject)
            SELECT token_id, subject, expires_at, revoked_at, 1 FROM revoked_tokens;
        DROP TABLE revoked_tokens;
        ALTER TABLE revoked_tokens_v10 RENAME TO revoked_tokens;
        """,
    )


def _v11_reconciled_at(conn: sqlite3.Connection) -> None:
    """When each application was last compared, beside its status: a comparison that changes nothing
    else records just this column, in batches (gitopsd.app.reconciled_at), instead of rewriting the
    status. Reads take the later of it and the status's own reconciledAt ('' = none recorded here)."""
    _run(conn, "ALTER TABLE applications ADD COLUMN reconciled_at TEXT NOT NULL DEFAULT '';")


MIGRATIONS: list[Migration] = [
    _v1_core,
    _v2_audit,
    _v3_auth,
    _v4_login_slots_and_session_generation,
    SealingMigration(_v5_seal_secrets),
    _v6_repo_creds,
    _v7_scale,
    _v8_ownership,
    _v9_applicationsets,
    _v10_revocation_by_subject,
    _v11_reconciled_at,
]

LATEST_VERSION = len(MIGRATIONS)
