"""Remembered token checks (gitopsd/auth/auth_cache.py): a repeated token costs no database read,
and every change that ends a token ends it on the very next call, cached or not.

Through a real daemon (gRPC and the JSON API): logout, a deleted API key and a password change.
Through real Accounts over a real SQLite store: the same, plus project-role tokens (token deleted,
role removed, project deleted), accounts removed or disabled by a reload of the settings, expiry
of a remembered token, and the bound on how many tokens are remembered.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from authhelpers import SecretScan, login, rpc_error, set_password, start_daemon

from gitopsd.api.gitopsd.v1 import common_pb2, session_pb2, session_pb2_grpc, version_pb2_grpc
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.app.projects import Projects
from gitopsd.auth.accounts import ADMIN, Accounts, AuthSettings, Principal
from gitopsd.auth.errors import Unauthenticated
from gitopsd.store import Store, StoreError

SETTINGS = AuthSettings(accounts={"alice": "login, apiKey", "bot": "apiKey"})

# -- through the daemon ------------------------------------------------------------------------------


def _version(daemon, token: str):  # type: ignore[no-untyped-def]
    with daemon.channel(token=token) as channel:
        return version_pb2_grpc.VersionServiceStub(channel).Version(common_pb2.Empty(), timeout=10)


def _userinfo(daemon, token: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://{daemon.http_address}", headers=headers, timeout=30) as http:
        return http.get("/api/v1/session/userinfo")


def _refused(daemon, token: str, scan: SecretScan, why: str) -> None:  # type: ignore[no-untyped-def]
    err = scan.error("gRPC", rpc_error(_version, daemon, token))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED and why in err.details(), err.details()
    reply = _userinfo(daemon, token)
    scan.seen("JSON API", reply.text)
    assert reply.status_code == 401 and why in reply.text, reply.text


def _served(daemon, token: str) -> None:  # type: ignore[no-untyped-def]
    # Twice each: the second call is the one answered from memory.
    for _ in range(2):
        assert _version(daemon, token).version
        reply = _userinfo(daemon, token)
        assert reply.status_code == 200, reply.text


def test_daemon_ends_remembered_tokens_on_the_next_call(tmp_path: Path, scan: SecretScan) -> None:
    daemon = start_daemon(tmp_path)
    scan.logs.append(daemon.log_path)
    try:
        scan.secret(daemon.token)
        set_password(daemon, "viewer", scan.secret("viewer-password-1"))
        first = scan.secret(login(daemon, "viewer", "viewer-password-1"))
        second = scan.secret(login(daemon, "viewer", "viewer-password-1"))
        with daemon.channel(token=first) as channel:
            key = session_pb2_grpc.AccountServiceStub(channel).CreateToken(
                session_pb2.CreateAccountTokenRequest(id="ci"), timeout=10
            )
        api_key = scan.secret(key.token)
        for token in (first, second, api_key):
            _served(daemon, token)

        # Logout: that session ends at once; the other session of the same user does not.
        with daemon.channel(token=first) as channel:
            session_pb2_grpc.SessionServiceStub(channel).Delete(common_pb2.Empty(), timeout=10)
        _refused(daemon, first, scan, "revoked")
        _served(daemon, second)

        # A deleted API key.
        with daemon.channel(token=second) as channel:
            session_pb2_grpc.AccountServiceStub(channel).DeleteToken(
                session_pb2.DeleteAccountTokenRequest(id="ci"), timeout=10
            )
        _refused(daemon, api_key, scan, "revoked")
        _served(daemon, second)

        # A password change (by admin) ends the remaining session.
        set_password(daemon, "viewer", scan.secret("viewer-password-2"))
        _refused(daemon, second, scan, "password was changed")
        _served(daemon, daemon.token)
    finally:
        daemon.stop()


# -- real Accounts over a real store -------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open_data_dir(tmp_path)
    yield s
    s.close()


@pytest.fixture
def accounts(store: Store, tmp_path: Path) -> Accounts:
    accounts = Accounts(store, tmp_path, SETTINGS, Projects(store))
    accounts.ensure_admin()
    return accounts


def _admin(accounts: Accounts) -> tuple[str, Principal]:
    token, _ = accounts.login(ADMIN, accounts.initial_password_path.read_text().strip())
    return token, accounts.authenticate(token)


def _twice(accounts: Accounts, token: str) -> Principal:
    """Authenticated twice: the second answer is the remembered one."""
    first = accounts.authenticate(token)
    assert accounts.authenticate(token) == first
    assert accounts.cached(token) == first
    return first


def test_a_remembered_token_reads_no_database(store: Store, tmp_path: Path) -> None:
    accounts = Accounts(store, tmp_path, SETTINGS, Projects(store))
    accounts.ensure_admin()
    token, admin = _admin(accounts)
    other, _ = accounts.signer.issue(ADMIN, 3600)
    store.close()  # from here on any read of the database fails
    assert accounts.authenticate(token) == admin
    # A token not checked before is: it needs the database.
    with pytest.raises(StoreError, match="closed"):
        accounts.authenticate(other)


def test_logout_and_deleted_api_key_end_remembered_tokens(accounts: Accounts) -> None:
    token, admin = _admin(accounts)
    key = accounts.create_token(admin, "", 0, "deploy")
    _twice(accounts, token)
    _twice(accounts, key)
    accounts.delete_token(admin, "", "deploy")
    with pytest.raises(Unauthenticated, match="revoked"):
        accounts.authenticate(key)
    accounts.logout(_twice(accounts, token))
    with pytest.raises(Unauthenticated, match="revoked"):
        accounts.authenticate(token)


def test_password_change_ends_remembered_sessions(accounts: Accounts) -> None:
    token, admin = _admin(accounts)
    _twice(accounts, token)
    current = accounts.initial_password_path.read_text().strip()
    accounts.update_password(admin, "", current, "a-new-password-1")
    with pytest.raises(Unauthenticated, match="password was changed"):
        accounts.authenticate(token)


def test_reloaded_settings_end_remembered_tokens_of_removed_or_changed_accounts(
    accounts: Accounts,
) -> None:
    admin_token, admin = _admin(accounts)
    key = accounts.create_token(admin, "alice", 0, "alice-key")
    bot = accounts.create_token(admin, "bot", 0, "bot-key")
    for token in (admin_token, key, bot):
        _twice(accounts, token)
    # alice loses apiKey, bot is removed, admin is disabled.
    accounts.reload(AuthSettings(accounts={"alice": "login"}, admin_enabled=False))
    with pytest.raises(Unauthenticated, match="may no longer use API keys"):
        accounts.authenticate(key)
    with pytest.raises(Unauthenticated, match="'bot' is disabled or no longer exists"):
        accounts.authenticate(bot)
    with pytest.raises(Unauthenticated, match="'admin' is disabled or no longer exists"):
        accounts.authenticate(admin_token)


def test_a_remembered_token_still_expires(accounts: Accounts) -> None:
    _, admin = _admin(accounts)
    short = accounts.create_token(admin, "", 2, "short")
    _twice(accounts, short)
    time.sleep(2.2)
    assert accounts.cached(short) is None
    with pytest.raises(Unauthenticated, match="token expired at"):
        accounts.authenticate(short)


def _project(projects: Projects, name: str) -> projpb.AppProject:
    project = projpb.AppProject(api_version="argoproj.io/v1alpha1", kind="AppProject")
    project.metadata.name = name
    project.spec.source_repos.append("*")
    project.spec.destinations.add(server="*", namespace="*")
    project.spec.roles.add(name="ci", policies=[f"p, proj:{name}:ci, applications, get, {name}/*, allow"])
    return projects.create(project)


def test_project_role_tokens_end_with_their_token_role_or_project(store: Store, accounts: Accounts) -> None:
    projects = Projects(store)  # another instance than the one Accounts holds: writes count alike
    for name in ("one", "two", "three"):
        _project(projects, name)
    one, _ = accounts.create_project_token("one", "ci", 0, "gitlab-1")
    two, _ = accounts.create_project_token("two", "ci", 0, "gitlab-2")
    three, _ = accounts.create_project_token("three", "ci", 0, "gitlab-3")
    for token in (one, two, three):
        assert _twice(accounts, token).project_role is not None

    # The token deleted from its role (proj role delete-token).
    accounts.delete_project_token("one", "ci", "gitlab-1", 0)
    with pytest.raises(Unauthenticated, match="revoked"):
        accounts.authenticate(one)
    # The role removed by an update of the project.
    _twice(accounts, two)
    project = projects.get("two")
    del project.spec.roles[:]
    projects.update(project)
    with pytest.raises(Unauthenticated, match="role 'ci' of project 'two' no longer exists"):
        accounts.authenticate(two)
    # The project deleted.
    _twice(accounts, three)
    projects.delete("three")
    with pytest.raises(Unauthenticated, match="project 'three' of this token no longer exists"):
        accounts.authenticate(three)


def test_remembered_tokens_are_bounded(accounts: Accounts) -> None:
    _, admin = _admin(accounts)
    accounts.cache.max_entries = 8
    keys = [accounts.create_token(admin, "", 0, f"key-{i}") for i in range(20)]
    for key in keys:
        _twice(accounts, key)
    assert len(accounts.cache) == 8
    # The least recently used went first; all of them still authenticate (checked again).
    assert [accounts.cached(k) is not None for k in keys] == [False] * 12 + [True] * 8
    assert all(accounts.authenticate(k).subject == ADMIN for k in keys)
    assert len(accounts.cache) == 8


def test_a_wrong_token_is_never_remembered(accounts: Accounts) -> None:
    token, _ = _admin(accounts)
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="signature does not match"):
            accounts.authenticate(forged)
    assert accounts.cached(forged) is None


def test_a_check_that_raced_with_a_write_is_not_remembered(store: Store, accounts: Accounts) -> None:
    """A check that read the database before a write committed must not keep its answer."""
    token, admin = _admin(accounts)
    stamp = accounts.cache.stamp()  # a check starts, reads the database (nothing revoked yet)...
    accounts.logout(admin)  # ...the revocation commits...
    accounts.cache.put(token, admin, admin.expires_at, stamp, False)  # ...and the check ends.
    assert accounts.cached(token) is None
    with pytest.raises(Unauthenticated, match="revoked"):
        accounts.authenticate(token)

    projects = Projects(store)
    _project(projects, "racing")
    role_token, _ = accounts.create_project_token("racing", "ci", 0, "t")
    role = accounts.authenticate(role_token)
    stamp = accounts.cache.stamp()
    project = projects.get("racing")
    del project.spec.roles[:]
    projects.update(project)  # a project write only: nothing in accounts changed
    accounts.cache.put(role_token, role, role.expires_at, stamp, True)
    assert accounts.cached(role_token) is None
