"""Repositories with credentials: Git repositories, Helm chart repositories, OCI registries.

Public repositories need no entry. An entry holds credentials (sealed in the
`secret` column, never returned) and the last connection check. The sources
layer finds credentials through `credentials_for(url, project)`, matching any spelling
of the same repository (trailing .git, scp-style ssh, host case), then the credential
templates of repocreds.py by URL prefix. An entry with a
`project` is project-scoped (as in Argo CD): its credentials serve that project's
applications only; other projects fetch the URL without credentials. One entry per URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.api.gitopsd.v1 import repository_pb2 as repopb
from gitopsd.app.errors import AlreadyExists, InvalidArgument, NotFound
from gitopsd.app.repocreds import RepoCredsStore
from gitopsd.app.secrets import encode_secret, secret_str
from gitopsd.protojson import parse_document, to_document
from gitopsd.sources.gitauth import RepoCredentials
from gitopsd.sources.giturl import normalize_repo_url, redact_url, split_credentials
from gitopsd.sources.localrepos import ProtectedPaths
from gitopsd.store import Store, dumps, loads, utcnow

# Checks that a repository answers with these credentials; raises with a clean message when not.
RepoCheck = Callable[[str, str, RepoCredentials | None], None]

REPO_TYPES = ("git", "helm", "oci")


# (repository, project) answers of credentials_for remembered at most (one per repository and project).
_MEMO_MAX = 10_000


def _key(url: str) -> str:
    raw = url.strip()
    if raw.lower().startswith("oci://"):
        # OCI registries are not Git URLs (normalize_repo_url refuses the scheme): host case and a
        # trailing slash do not make another registry path.
        host, _, path = raw[len("oci://") :].partition("/")
        return f"oci://{host.lower()}/{path.strip('/')}".rstrip("/")
    return normalize_repo_url(raw)


class Repositories:
    def __init__(self, store: Store, check: RepoCheck, protected: ProtectedPaths | None = None) -> None:
        """protected: directories no file:// repository may point into (the daemon's own)."""
        self._store = store
        self._check = check
        self._protected = protected or ProtectedPaths()
        self.templates = RepoCredsStore(store)
        # credentials_for runs before every render (cache hits too): its answers are remembered until
        # a repository or template changes. Every such change goes through this process (the CLI and
        # the API call the daemon), after its commit, so a remembered answer is never stale.
        self._creds_memo: dict[tuple[str, str], tuple[int, RepoCredentials | None]] = {}

    def add(self, repo: repopb.Repository, upsert: bool = False) -> repopb.Repository:
        url = repo.repo.strip()
        if not url:
            raise InvalidArgument("repo: required (the repository URL)")
        _, user_in_url, password_in_url = split_credentials(url)
        if password_in_url:
            # A password in the URL would end up in logs and replies: take it as a credential instead.
            raise InvalidArgument("repo: the URL embeds a password; pass --username/--password instead")
        denial = self._protected.denial(url)
        if denial:
            raise InvalidArgument(f"repo: {denial}")
        kind = repo.type or ("oci" if url.startswith("oci://") else "git")
        if kind not in REPO_TYPES:
            raise InvalidArgument(f"type: {kind!r} is not one of {', '.join(REPO_TYPES)}")
        if kind == "helm" and not re.match(r"^https?://", url):
            raise InvalidArgument(
                f"repo: a Helm chart repository URL must be http(s), got {redact_url(url)!r}"
            )
        if repo.ssh_private_key and "PRIVATE KEY" not in repo.ssh_private_key:
            raise InvalidArgument("sshPrivateKey: not a PEM/OpenSSH private key")
        if repo.password and not (repo.username or user_in_url):
            raise InvalidArgument("username: required with a password")
        public = repopb.Repository(
            repo=url,
            type=kind,
            name=repo.name,
            project=repo.project,
            insecure=repo.insecure,
            enable_oci=repo.enable_oci or kind == "oci",
            insecure_oci_force_http=repo.insecure_oci_force_http,
        )
        secret = encode_secret(
            {
                "username": repo.username or (user_in_url or ""),
                "password": repo.password,
                "sshPrivateKey": repo.ssh_private_key,
                "tlsClientCertData": repo.tls_client_cert_data,
                "tlsClientCertKey": repo.tls_client_cert_key,
            }
        )
        key = _key(url)
        now = utcnow()
        with self._store.transaction() as conn:
            exists = conn.execute("SELECT 1 FROM repositories WHERE key = ?", (key,)).fetchone()
            if exists and not upsert:
                raise AlreadyExists(
                    f"repository {redact_url(url)} already exists (use --upsert to replace it)"
                )
            conn.execute(
                "INSERT INTO repositories (key, url, manifest, secret, info, created_at, updated_at) VALUES (?, ?, ?, ?, '{}', ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET url = excluded.url, manifest = excluded.manifest, secret = excluded.secret, "
                "info = '{}', updated_at = excluded.updated_at",
                (key, public.repo, dumps(to_document(public)), self._store.seal("repositories", secret), now, now),
            )
        self.templates.changed()
        self.check(public.repo)
        return self.get(public.repo)

    def _row(self, url: str) -> dict[str, str]:
        row = self._store.query_one("SELECT * FROM repositories WHERE key = ?", (_key(url),))
        if row is None:
            raise NotFound(f"repository {redact_url(url)} not found")
        return dict(row)

    def _public(self, row: dict[str, str]) -> repopb.Repository:
        repo = parse_document(loads(row["manifest"]), repopb.Repository())
        secret = self._store.unseal("repositories", row["secret"])
        repo.username = secret_str(secret, "username")
        repo.has_credentials = any(
            secret_str(secret, k) for k in ("password", "sshPrivateKey", "tlsClientCertKey")
        )
        info = loads(row["info"])
        if info:
            parse_document(info, repo.connection_state)
        return repo

    def get(self, url: str) -> repopb.Repository:
        return self._public(self._row(url))

    def list(self, check: bool = True) -> list[repopb.Repository]:
        rows = [dict(r) for r in self._store.query("SELECT * FROM repositories ORDER BY url")]
        if check and rows:
            with ThreadPoolExecutor(max_workers=min(8, len(rows))) as pool:
                list(pool.map(lambda r: self.check(r["url"]), rows))
            rows = [dict(r) for r in self._store.query("SELECT * FROM repositories ORDER BY url")]
        return [self._public(r) for r in rows]

    def delete(self, url: str) -> None:
        with self._store.transaction() as conn:
            if conn.execute("DELETE FROM repositories WHERE key = ?", (_key(url),)).rowcount == 0:
                raise NotFound(f"repository {redact_url(url)} not found")
        self.templates.changed()

    def scope_of(self, url: str) -> str:
        """The project an entry's credentials are scoped to ("" when global or when there is no entry)."""
        try:
            row = self._store.query_one("SELECT manifest FROM repositories WHERE key = ?", (_key(url),))
        except ValueError:
            return ""
        return str(loads(row["manifest"]).get("project", "")) if row is not None else ""

    def credentials_for(self, url: str, project: str) -> RepoCredentials | None:
        """The credentials an application of `project` may use for any spelling of url, or None.

        A project-scoped entry answers its own project only (the others fetch anonymously). A URL
        without an entry takes the credential template of its longest matching prefix, if any."""
        try:
            key = _key(url)
        except ValueError:
            return None
        generation = self.templates.generation  # read before the rows: a change meanwhile voids it
        known = self._creds_memo.get((url, project))
        if known is not None and known[0] == generation:
            return known[1]
        found = self._credentials_for(url, key, project)
        if len(self._creds_memo) >= _MEMO_MAX:
            self._creds_memo.clear()
        self._creds_memo[(url, project)] = (generation, found)
        return found

    def _credentials_for(self, url: str, key: str, project: str) -> RepoCredentials | None:
        row = self._store.query_one("SELECT manifest, secret FROM repositories WHERE key = ?", (key,))
        if row is None:
            return self.templates.credentials_for(url)
        scope = str(loads(row["manifest"]).get("project", ""))
        if scope and scope != project:
            return None
        manifest, secret = loads(row["manifest"]), self._store.unseal("repositories", row["secret"])
        return RepoCredentials(
            username=secret_str(secret, "username"),
            password=secret_str(secret, "password"),
            ssh_private_key=secret_str(secret, "sshPrivateKey"),
            tls_client_cert_data=secret_str(secret, "tlsClientCertData"),
            tls_client_cert_key=secret_str(secret, "tlsClientCertKey"),
            insecure_skip_server_verification=bool(manifest.get("insecure")),
            insecure_oci_force_http=bool(manifest.get("insecureOCIForceHttp")),
            scope=scope,
        )

    def check(self, url: str) -> common_pb2.ConnectionState:
        row = self._row(url)
        manifest = loads(row["manifest"])
        kind = manifest.get("type", "git")
        state = common_pb2.ConnectionState(attempted_at=utcnow())
        try:
            # Checked as the entry's own project sees it (its own credentials).
            self._check(row["url"], kind, self.credentials_for(row["url"], str(manifest.get("project", ""))))
            state.status = "Successful"
        except Exception as exc:  # checkers raise our source errors, already scrubbed
            state.status, state.message = "Failed", str(exc)
        with self._store.transaction() as conn:
            conn.execute(
                "UPDATE repositories SET info = ? WHERE key = ?", (dumps(to_document(state)), row["key"])
            )
        return state
