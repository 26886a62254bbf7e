"""Credential templates (Argo CD's `repocreds`): credentials for every repository whose URL starts
with a prefix, e.g. one token for all of https://github.com/my-org/.

They sit beside `Repositories` in the application layer: `Repositories.credentials_for` falls back
to the longest matching prefix here when no repository entry matches the URL. Credentials are
sealed in the `secret` column (table name `repo_creds`) and never returned; a template is global
(serves every project), as Argo CD's are.
"""

from __future__ import annotations

import re
import threading

from gitopsd.api.gitopsd.v1 import repository_pb2 as repopb
from gitopsd.app.errors import AlreadyExists, InvalidArgument, NotFound
from gitopsd.app.secrets import encode_secret, secret_str
from gitopsd.protojson import parse_document, to_document
from gitopsd.sources.gitauth import RepoCredentials
from gitopsd.sources.giturl import redact_url, split_credentials
from gitopsd.store import Store, dumps, loads, utcnow

TABLE = "repo_creds"
CREDS_TYPES = ("git", "helm")
# Remote URLs only: a file:// repository needs no credentials, and a bare "h" would match everything.
_PREFIX = re.compile(r"^(https?://[^/\s]+|ssh://[^/\s]+|[\w.-]+@[\w.-]+:)\S*$")
MAX_PREFIX = 2048


class RepoCredsStore:
    def __init__(self, store: Store) -> None:
        self._store = store
        # Bumped after every committed change: what Repositories' memo of credentials checks.
        self.generation = 0
        self._generation_lock = threading.Lock()

    def add(self, creds: repopb.RepoCreds, upsert: bool = False) -> repopb.RepoCreds:
        prefix = creds.url.strip()
        if not prefix:
            raise InvalidArgument("url: required (the URL prefix, e.g. https://github.com/my-org/)")
        if len(prefix) > MAX_PREFIX or not _PREFIX.match(prefix):
            raise InvalidArgument(
                "url: a credential template's prefix is an http(s)://HOST/..., ssh://HOST/... or "
                f"USER@HOST:... URL, got {redact_url(prefix[:200])!r}"
            )
        _, user_in_url, password_in_url = split_credentials(prefix)
        if password_in_url or user_in_url:
            raise InvalidArgument("url: the prefix embeds credentials; pass --username/--password instead")
        kind = creds.type or "git"
        if kind not in CREDS_TYPES:
            raise InvalidArgument(f"type: {kind!r} is not one of {', '.join(CREDS_TYPES)}")
        if creds.ssh_private_key and "PRIVATE KEY" not in creds.ssh_private_key:
            raise InvalidArgument("sshPrivateKey: not a PEM/OpenSSH private key")
        if creds.password and not creds.username:
            raise InvalidArgument("username: required with a password")
        if not (creds.password or creds.ssh_private_key or creds.tls_client_cert_key):
            raise InvalidArgument(
                "a credential template needs --password, --ssh-private-key-path or a TLS client key"
            )
        public = repopb.RepoCreds(url=prefix, type=kind)
        secret = encode_secret(
            {
                "username": creds.username,
                "password": creds.password,
                "sshPrivateKey": creds.ssh_private_key,
                "tlsClientCertData": creds.tls_client_cert_data,
                "tlsClientCertKey": creds.tls_client_cert_key,
            }
        )
        now = utcnow()
        with self._store.transaction() as conn:
            exists = conn.execute(f"SELECT 1 FROM {TABLE} WHERE prefix = ?", (prefix,)).fetchone()  # noqa: S608
            if exists and not upsert:
                raise AlreadyExists(
                    f"credential template {redact_url(prefix)} already exists (use --upsert to replace it)"
                )
            conn.execute(
                f"INSERT INTO {TABLE} (prefix, manifest, secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "  # noqa: S608
                "ON CONFLICT(prefix) DO UPDATE SET manifest = excluded.manifest, secret = excluded.secret, "
                "updated_at = excluded.updated_at",
                (prefix, dumps(to_document(public)), self._store.seal(TABLE, secret), now, now),
            )
        self.changed()
        public.username = creds.username
        public.has_credentials = bool(creds.password or creds.ssh_private_key or creds.tls_client_cert_key)
        return public

    def _public(self, prefix: str, manifest: str, sealed: str) -> repopb.RepoCreds:
        creds = parse_document(loads(manifest), repopb.RepoCreds())
        creds.url = prefix
        secret = self._store.unseal(TABLE, sealed)
        creds.username = secret_str(secret, "username")
        creds.has_credentials = any(
            secret_str(secret, k) for k in ("password", "sshPrivateKey", "tlsClientCertKey")
        )
        return creds

    def list(self) -> list[repopb.RepoCreds]:
        rows = self._store.query(f"SELECT prefix, manifest, secret FROM {TABLE} ORDER BY prefix")  # noqa: S608
        return [self._public(r["prefix"], r["manifest"], r["secret"]) for r in rows]

    def delete(self, prefix: str) -> None:
        with self._store.transaction() as conn:
            if conn.execute(f"DELETE FROM {TABLE} WHERE prefix = ?", (prefix.strip(),)).rowcount == 0:  # noqa: S608
                raise NotFound(f"credential template {redact_url(prefix)} not found")
        self.changed()

    def changed(self) -> None:
        """After a committed change: remembered answers of credentials_for are no longer valid."""
        with self._generation_lock:
            self.generation += 1

    def credentials_for(self, url: str) -> RepoCredentials | None:
        """The credentials of the longest prefix `url` starts with, or None."""
        # Argo CD matches the URL as written; the prefix set is small (one per organisation or host).
        rows = self._store.query(f"SELECT prefix, secret FROM {TABLE}")  # noqa: S608
        matches = [r for r in rows if url.startswith(r["prefix"])]
        if not matches:
            return None
        best = max(matches, key=lambda r: len(r["prefix"]))
        secret = self._store.unseal(TABLE, best["secret"])
        return RepoCredentials(
            username=secret_str(secret, "username"),
            password=secret_str(secret, "password"),
            ssh_private_key=secret_str(secret, "sshPrivateKey"),
            tls_client_cert_data=secret_str(secret, "tlsClientCertData"),
            tls_client_cert_key=secret_str(secret, "tlsClientCertKey"),
        )
