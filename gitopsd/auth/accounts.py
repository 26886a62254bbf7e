"""Local accounts, sessions, API keys, project-role tokens, revocation and login throttling.

The `admin` account is created on first start with a random password, written once to
DATA_DIR/initial-admin-password (mode 0600) for `gitopsd admin initial-password`.
Other accounts are declared in the config (`auth.accounts: {name: "login, apiKey"}`);
their passwords and API keys live in the accounts table. Logins are throttled by
throttle.py (attempts are rows in SQLite, so neither a restart nor a crash resets them).
A password change bumps the account's session generation: session tokens carry the
generation they were issued under, so every earlier session ends, whatever the clock says.
A successful token check is remembered (auth_cache.py) until any of these writes drops it.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.api.gitopsd.v1 import session_pb2 as sesspb
from gitopsd.app.errors import FailedPrecondition, InvalidArgument, NotFound
from gitopsd.app.projects import Projects, project_writes
from gitopsd.auth.account_specs import ADMIN as ADMIN
from gitopsd.auth.account_specs import (
    CAPABILITIES,
    MAX_USERNAME,
    AccountSpec,
    int_column,
    parse_accounts,
    session_is_current,
)
from gitopsd.auth.account_specs import AuthSettings as AuthSettings
from gitopsd.auth.auth_cache import AuthCache
from gitopsd.auth.errors import PermissionDenied, Unauthenticated
from gitopsd.auth.passwords import Passwords, check_new_password, generate_password
from gitopsd.auth.project_roles import find_role, parse_subject, role_subject
from gitopsd.auth.throttle import LoginThrottle
from gitopsd.auth.tokens import Claims, TokenSigner, load_or_create_key
from gitopsd.store import Store, dumps, loads, utcnow

INITIAL_PASSWORD_FILE = "initial-admin-password"
BAD_LOGIN = "invalid username or password"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a local account (`alice`) or a project role (`proj:PROJECT:ROLE`)."""

    subject: str
    token_id: str
    issued_at: int
    expires_at: int

    @property
    def project_role(self) -> tuple[str, str] | None:
        return parse_subject(self.subject)


class Accounts:
    def __init__(self, store: Store, data_dir: Path, settings: AuthSettings, projects: Projects) -> None:
        self._store = store
        self._data_dir = data_dir
        self._projects = projects
        self.passwords = Passwords()
        self.signer = TokenSigner(load_or_create_key(data_dir / "auth"))
        self.cache: AuthCache[Principal] = AuthCache(project_writes)
        self.reload(settings)
        self.throttle = LoginThrottle(store, settings.max_failures, settings.failure_window)
        self.throttle.recover()

    # -- setup --------------------------------------------------------------------

    def reload(self, settings: AuthSettings) -> None:
        """Takes the declared accounts (who exists, is enabled, holds which capability) and the
        session TTL from `settings`; the only place they are set, so that cached answers given
        under the old ones end here. (The login throttle keeps the limits it started with.)"""
        specs = parse_accounts(settings.accounts)
        specs[ADMIN] = AccountSpec(ADMIN, frozenset(CAPABILITIES), settings.admin_enabled)
        self.settings, self._specs = settings, specs
        self.cache.invalidate()

    @property
    def initial_password_path(self) -> Path:
        return self._data_dir / INITIAL_PASSWORD_FILE

    def ensure_admin(self) -> bool:
        """Creates admin with a random password on first start; True if it was created now."""
        if self._row(ADMIN) is not None:
            return False
        password = generate_password()
        path = self.initial_password_path
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password + "\n")
        now = utcnow()
        password_hash = self.passwords.hash(password)  # Argon2 outside the store's lock
        with self._store.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO accounts (name, password_hash, password_mtime, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (ADMIN, password_hash, int(time.time()), now, now),
            )
        # Nothing to drop from the cache: this runs at start, before any call was checked.
        tmp.replace(path)
        return True

    def _row(self, name: str) -> dict[str, object] | None:
        row = self._store.query_one("SELECT * FROM accounts WHERE name = ?", (name,))
        return dict(row) if row is not None else None

    def spec(self, name: str) -> AccountSpec | None:
        spec = self._specs.get(name)
        return spec if spec is not None and spec.enabled else None

    # -- login and throttling ----------------------------------------------------------

    def login_failures_total(self) -> int:
        """Failed logins since this process started (for the metrics collector)."""
        return self.throttle.failures_total()

    def _verify(self, username: str, password: str, capability: str) -> tuple[AccountSpec, int]:
        """The account and its session generation if password is right; Unauthenticated
        otherwise (throttled, constant time), Unavailable if the attempt cannot be recorded."""
        username = username[:MAX_USERNAME]
        # The slot is taken before the password is checked: concurrent logins cannot all get one.
        attempt = self.throttle.reserve(username)
        try:
            spec = self.spec(username)
            row = self._row(username) if spec is not None and capability in spec.capabilities else None
            stored = row.get("password_hash") if row else None
            # Read with the hash: a password change that lands during this check bumps the
            # generation, so the session issued below ends with it.
            generation = int_column(row, "session_generation") if row else 0
            # One Argon2 verification whatever happens: the dummy hash stands in for a missing one.
            ok = self.passwords.verify(stored if isinstance(stored, str) else None, password)
        except BaseException:
            self.throttle.failed(attempt)
            raise
        if not ok or spec is None:
            self.throttle.failed(attempt)
            raise Unauthenticated(BAD_LOGIN)
        self.throttle.succeeded(attempt)
        return spec, generation

    def check_password(self, username: str, password: str, capability: str = "login") -> AccountSpec:
        """The account if password is right; Unauthenticated otherwise (throttled, constant time)."""
        return self._verify(username, password, capability)[0]

    def login(self, username: str, password: str) -> tuple[str, Claims]:
        spec, generation = self._verify(username, password, "login")
        return self.signer.issue(spec.name, self.settings.session_ttl, generation=generation)

    # -- tokens ----------------------------------------------------------------------

    def _revoked(self, subject: str, token_id: str) -> bool:
        """Whether `subject`'s token `token_id` was revoked. Ids can be chosen, so the subject counts:
        another subject's token of the same id is another token (rows from before schema v10 are
        the exception, see its migration)."""
        return (
            self._store.query_one(
                "SELECT 1 FROM revoked_tokens WHERE token_id = ? AND (subject = ? OR any_subject = 1)",
                (token_id, subject),
            )
            is not None
        )

    def _refuse_revoked_id(self, subject: str, token_id: str) -> None:
        """A chosen id that a revoked token of `subject` had would make the new token revoked
        from birth (and removing that revocation would bring the old token back): refused."""
        if token_id and self._revoked(subject, token_id):
            raise InvalidArgument(
                f"token id {token_id!r} is revoked for {subject} (an earlier token had it); choose another id"
            )

    def revoke(self, subject: str, token_id: str, expires_at: int) -> None:
        """Ends `subject`'s token `token_id`, and no other subject's."""
        now = int(time.time())
        with self._store.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO revoked_tokens (token_id, subject, expires_at, revoked_at) VALUES (?, ?, ?, ?)",
                (token_id, subject, expires_at, utcnow()),
            )
            # Expired tokens fail on their own: their revocation rows are no longer needed.
            conn.execute("DELETE FROM revoked_tokens WHERE expires_at > 0 AND expires_at < ?", (now - 60,))
        self.cache.invalidate()  # after the commit (auth_cache.py says why)

    def cached(self, token: str) -> Principal | None:
        """The caller of a token checked before with nothing changed since, from memory; None
        when it must be checked (authenticate)."""
        return self.cache.get(token)

    def authenticate(self, token: str) -> Principal:
        """The caller of a signed, unexpired, unrevoked token of a current account or project role;
        Unauthenticated saying why not. A repeated token is answered from memory."""
        principal = self.cache.get(token)
        if principal is not None:
            return principal
        stamp = self.cache.stamp()  # before the reads below
        principal = self._check(token)
        self.cache.put(token, principal, principal.expires_at, stamp, principal.project_role is not None)
        return principal

    def _check(self, token: str) -> Principal:
        claims = self.signer.verify(token)
        if self._revoked(claims.subject, claims.token_id):
            raise Unauthenticated("token has been revoked; log in again (gitopsd login)")
        principal = Principal(claims.subject, claims.token_id, claims.issued_at, claims.expires_at)
        role = principal.project_role
        if role is not None:
            self._check_project_token(role[0], role[1], claims)
            return principal
        spec = self.spec(claims.subject)
        if spec is None:
            raise Unauthenticated(f"account {claims.subject!r} is disabled or no longer exists")
        row = self._row(claims.subject) or {}
        api_keys = {t.get("id") for t in loads(str(row.get("tokens") or "[]")) or []}
        if claims.token_id in api_keys:
            if "apiKey" not in spec.capabilities:
                raise Unauthenticated(f"account {claims.subject!r} may no longer use API keys")
            return principal
        if not session_is_current(claims, row):
            raise Unauthenticated("the session ended when the password was changed; log in again")
        if "login" not in spec.capabilities:
            raise Unauthenticated(f"account {claims.subject!r} may not log in")
        return principal

    def _check_project_token(self, project: str, role_name: str, claims: Claims) -> None:
        try:
            proj = self._projects.get(project)
        except NotFound:
            raise Unauthenticated(f"project {project!r} of this token no longer exists") from None
        role = find_role(proj, role_name)
        if role is None:
            raise Unauthenticated(f"role {role_name!r} of project {project!r} no longer exists")
        # Deleting the token from the role (proj role delete-token) revokes it. The issue time counts
        # too: a role deleted (or its project) and made again may list a new token of the old id.
        if not any(t.id == claims.token_id and t.iat == claims.issued_at for t in role.jwt_tokens):
            raise Unauthenticated("token has been revoked; ask for a new one (proj role create-token)")

    def logout(self, principal: Principal) -> None:
        self.revoke(principal.subject, principal.token_id, principal.expires_at)

    # -- accounts API ----------------------------------------------------------------

    def _account(self, spec: AccountSpec) -> sesspb.Account:
        row = self._row(spec.name) or {}
        tokens = [
            sesspb.AccountToken(id=t["id"], issued_at=t.get("iat", 0), expires_at=t.get("exp", 0))
            for t in loads(str(row.get("tokens") or "[]")) or []
            if not self._revoked(spec.name, t["id"])
        ]
        return sesspb.Account(
            name=spec.name, enabled=spec.enabled, capabilities=sorted(spec.capabilities), tokens=tokens
        )

    def list(self) -> list[sesspb.Account]:
        return [self._account(s) for _, s in sorted(self._specs.items())]

    def get(self, name: str) -> sesspb.Account:
        spec = self._specs.get(name)
        if spec is None:
            raise NotFound(f"account {name!r} not found")
        return self._account(spec)

    def _ensure_row(self, conn: sqlite3.Connection, name: str) -> None:
        now = utcnow()
        conn.execute(
            "INSERT OR IGNORE INTO accounts (name, created_at, updated_at) VALUES (?, ?, ?)", (name, now, now)
        )

    def update_password(self, caller: Principal, name: str, current: str, new: str) -> None:
        if caller.project_role is not None:
            raise PermissionDenied("a project token cannot change passwords")
        target = name or caller.subject
        if self.spec(target) is None:
            raise NotFound(f"account {target!r} not found or disabled")
        problem = check_new_password(new)
        if problem:
            raise InvalidArgument(problem)
        # The caller proves who they are with their own current password (as Argo CD does).
        try:
            self.check_password(caller.subject, current, capability="login")
        except Unauthenticated as exc:
            raise Unauthenticated(
                "current password is wrong" if str(exc) == BAD_LOGIN else str(exc)
            ) from None
        password_hash = self.passwords.hash(new)  # Argon2 outside the store's lock
        now = utcnow()
        with self._store.transaction() as conn:
            self._ensure_row(conn, target)
            # A new generation ends every session issued under the old one.
            conn.execute(
                "UPDATE accounts SET password_hash = ?, password_mtime = ?, "
                "session_generation = session_generation + 1, updated_at = ? WHERE name = ?",
                (password_hash, int(time.time()), now, target),
            )
        self.cache.invalidate()
        if target == ADMIN:
            # The initial password is no longer valid: do not leave it lying around.
            self.initial_password_path.unlink(missing_ok=True)

    def create_token(self, caller: Principal, name: str, expires_in: int, token_id: str) -> str:
        target = name or caller.subject
        spec = self.spec(target)
        if spec is None:
            raise NotFound(f"account {target!r} not found or disabled")
        if "apiKey" not in spec.capabilities:
            raise FailedPrecondition(f"account {target!r} does not have the apiKey capability")
        if expires_in < 0:
            raise InvalidArgument("expires_in: must not be negative")
        self._refuse_revoked_id(target, token_id)
        token, claims = self.signer.issue(target, expires_in, token_id)
        with self._store.transaction() as conn:
            self._ensure_row(conn, target)
            row = conn.execute("SELECT tokens FROM accounts WHERE name = ?", (target,)).fetchone()
            tokens = loads(row[0]) or []
            if any(t["id"] == claims.token_id for t in tokens):
                raise InvalidArgument(f"account {target!r} already has a token with id {claims.token_id!r}")
            tokens.append({"id": claims.token_id, "iat": claims.issued_at, "exp": claims.expires_at})
            conn.execute(
                "UPDATE accounts SET tokens = ?, updated_at = ? WHERE name = ?",
                (dumps(tokens), utcnow(), target),
            )
        # No invalidation: a new key makes no remembered answer wrong (a token whose id it takes was
        # already valid, and stays so, as a key).
        return token

    def delete_token(self, caller: Principal, name: str, token_id: str) -> None:
        target = name or caller.subject
        row = self._row(target)
        tokens = loads(str(row.get("tokens") or "[]")) if row else []
        match = [t for t in tokens or [] if t["id"] == token_id]
        if not match:
            raise NotFound(f"account {target!r} has no token with id {token_id!r}")
        self.revoke(target, token_id, int(match[0].get("exp", 0)))  # drops remembered answers
        with self._store.transaction() as conn:
            rest = [t for t in tokens if t["id"] != token_id]
            conn.execute(
                "UPDATE accounts SET tokens = ?, updated_at = ? WHERE name = ?",
                (dumps(rest), utcnow(), target),
            )

    # -- project roles ------------------------------------------------------------------

    def create_project_token(
        self, project: str, role_name: str, expires_in: int, token_id: str
    ) -> tuple[str, Claims]:
        if expires_in < 0:
            raise InvalidArgument("expires_in: must not be negative")
        proj = self._projects.get(project)
        role = find_role(proj, role_name)
        if role is None:
            raise NotFound(f"project {project!r} has no role {role_name!r} (create it with proj role create)")
        if token_id and any(t.id == token_id for t in role.jwt_tokens):
            raise InvalidArgument(f"role {role_name!r} already has a token with id {token_id!r}")
        self._refuse_revoked_id(role_subject(project, role_name), token_id)
        token, claims = self.signer.issue(role_subject(project, role_name), expires_in, token_id)
        role.jwt_tokens.append(
            projpb.JWTToken(iat=claims.issued_at, exp=claims.expires_at, id=claims.token_id)
        )
        self._projects.update(proj)
        return token, claims

    def delete_project_token(self, project: str, role_name: str, token_id: str, iat: int) -> None:
        proj = self._projects.get(project)
        role = find_role(proj, role_name)
        if role is None:
            raise NotFound(f"project {project!r} has no role {role_name!r}")
        keep = [
            t
            for t in role.jwt_tokens
            if not ((token_id and t.id == token_id) or (not token_id and iat and t.iat == iat))
        ]
        gone = [t for t in role.jwt_tokens if t not in keep]
        if not gone:
            raise NotFound(f"role {role_name!r} of project {project!r} has no such token")
        for t in gone:
            self.revoke(role_subject(project, role_name), t.id, t.exp)
        del role.jwt_tokens[:]
        role.jwt_tokens.extend(keep)
        self._projects.update(proj)
