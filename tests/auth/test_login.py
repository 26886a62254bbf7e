"""Logins: the initial admin password, CLI sessions, password changes and brute-force throttling."""

from __future__ import annotations

import stat
from pathlib import Path

import grpc
import pytest
import yaml
from authhelpers import ScannedCLI, SecretScan, login, rpc_error, run_local, set_password, start_daemon
from fixtures.daemon import CLI

from gitopsd.api.gitopsd.v1 import session_pb2, session_pb2_grpc
from gitopsd.app.projects import Projects
from gitopsd.auth.accounts import Accounts, AuthSettings
from gitopsd.auth.errors import Unauthenticated
from gitopsd.store import Store


def test_initial_password_is_private_and_logs_in(tmp_path: Path, scan: SecretScan) -> None:
    daemon = start_daemon(tmp_path)
    scan.logs.append(daemon.log_path)
    try:
        path = daemon.data_dir / "initial-admin-password"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        shown = run_local("admin", "initial-password", "--data-dir", str(daemon.data_dir))
        assert shown.returncode == 0
        password = scan.secret(shown.stdout.strip())
        assert password == daemon.initial_password()
        scan.secret(daemon.token)
        # Only the hash is stored.
        assert password.encode() not in (daemon.data_dir / "gitopsd.db").read_bytes()
    finally:
        daemon.stop()


def test_cli_login_session_logout_and_password_change(tmp_path: Path, scan: SecretScan) -> None:
    daemon = start_daemon(tmp_path)
    scan.logs.append(daemon.log_path)
    scan.secret(daemon.token)
    config_dir = tmp_path / "home-config"
    # A user's shell: no token or server in the environment, only what `login` saved.
    env = {
        "GITOPSD_CONFIG_DIR": str(config_dir),
        "GITOPSD_AUTH_TOKEN": "",
        "GITOPSD_SERVER": "",
        "GITOPSD_SERVER_CA": "",
    }
    cli = ScannedCLI(CLI("", tmp_path), scan)
    try:
        set_password(daemon, "alice", scan.secret("alice-password-1"))
        refused = cli(
            "app",
            "list",
            env=env | {"GITOPSD_SERVER": daemon.address, "GITOPSD_SERVER_CA": str(daemon.cert_path)},
        )
        assert refused.returncode == 2 and "UNAUTHENTICATED: no token" in refused.stderr

        logged = cli(
            "login",
            daemon.address,
            "--username",
            "alice",
            "--password-stdin",
            "--server-ca",
            str(daemon.cert_path),
            input="alice-password-1\n",
            env=env,
        )
        assert logged.returncode == 0, logged.stderr
        saved = config_dir / "config.yaml"
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        session = yaml.safe_load(saved.read_text())
        assert session["current-server"] == daemon.address
        token = scan.secret(session["servers"][daemon.address]["auth-token"])

        who = cli("account", "get-user-info", env=env)  # no --server: the saved login
        assert who.returncode == 0, who.stderr
        assert "alice" in who.stdout

        changed = cli(
            "account",
            "update-password",
            "--current-password",
            "alice-password-1",
            "--new-password",
            scan.secret("alice-password-2"),
            env=env,
        )
        assert changed.returncode == 0, changed.stderr
        renewed = yaml.safe_load(saved.read_text())["servers"][daemon.address]["auth-token"]
        scan.secret(renewed)
        # The password change ended the old session; the CLI logged in again with the new one.
        old = cli("version", env=env | {"GITOPSD_AUTH_TOKEN": token})
        assert old.returncode == 2 and "password was changed" in old.stderr
        assert cli("version", env=env).returncode == 0
        wrong = cli(
            "account",
            "update-password",
            "--current-password",
            "nope-nope-nope",
            "--new-password",
            "whatever-123",
            env=env,
        )
        assert wrong.returncode == 2 and "current password is wrong" in wrong.stderr

        assert cli("logout", env=env).returncode == 0
        assert "auth-token" not in yaml.safe_load(saved.read_text())["servers"][daemon.address]
        after = cli("version", env=env | {"GITOPSD_AUTH_TOKEN": renewed})
        assert after.returncode == 2 and "revoked" in after.stderr
    finally:
        daemon.stop()


def test_brute_force_lockout_survives_a_restart(tmp_path: Path, scan: SecretScan) -> None:
    daemon = start_daemon(tmp_path)
    scan.logs.append(daemon.log_path)
    scan.secret(daemon.token)
    try:
        set_password(daemon, "alice", scan.secret("alice-password-1"))
        for i in range(5):
            err = scan.error("bad login", rpc_error(login, daemon, "alice", f"wrong-password-{i}"))
            assert err.code() == grpc.StatusCode.UNAUTHENTICATED
            assert err.details() == "invalid username or password"
        daemon.stop(sig=9)  # a crash: nothing gets to clean up
        daemon.start()
        err = scan.error("locked", rpc_error(login, daemon, "alice", "alice-password-1"))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "too many failed logins" in err.details()
        # Other users are not affected, and admin's session still works.
        set_password(daemon, "viewer", scan.secret("viewer-password-1"))
        scan.secret(login(daemon, "viewer", "viewer-password-1"))
    finally:
        daemon.stop()


def test_the_window_ends_and_a_success_resets_the_count(tmp_path: Path, scan: SecretScan) -> None:
    # Long enough for five Argon2 checks on a loaded machine (all five must land in one window; at
    # 5 s a load average of 20 spread them over more), short enough to wait out.
    window = 12
    daemon = start_daemon(tmp_path, env={"GITOPSD_AUTH_LOGIN_FAILURE_WINDOW": str(window)})
    scan.logs.append(daemon.log_path)
    scan.secret(daemon.token)
    try:
        set_password(daemon, "alice", scan.secret("alice-password-1"))
        # At once: five Argon2 checks one after the other could outlast a short window on a busy machine.
        with daemon.channel(token="") as channel:
            stub = session_pb2_grpc.SessionServiceStub(channel)
            request = session_pb2.CreateSessionRequest(username="alice", password="wrong-password")
            calls = [stub.Create.future(request, timeout=60) for _ in range(5)]
            assert all(call.exception() is not None for call in calls)
        assert "too many" in rpc_error(login, daemon, "alice", "alice-password-1").details()
        import time

        time.sleep(window + 0.2)
        scan.secret(login(daemon, "alice", "alice-password-1"))
    finally:
        daemon.stop()


@pytest.fixture
def accounts(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = Store.open_data_dir(tmp_path)
    yield Accounts(
        store, tmp_path, AuthSettings(accounts={"alice": "login", "bot": "apiKey"}), Projects(store)
    )
    store.close()


def test_unknown_users_take_the_dummy_hash_path(accounts: Accounts) -> None:
    accounts.ensure_admin()
    password = accounts.initial_password_path.read_text().strip()
    pw = accounts.passwords
    # Unknown user, known user without a password, user without the login capability:
    # each costs exactly one Argon2 verification, against the dummy hash.
    for user in ("nobody", "alice", "bot"):
        before = pw.dummy_verifications, pw.account_verifications
        with pytest.raises(Unauthenticated, match="^invalid username or password$"):
            accounts.login(user, password)
        assert (pw.dummy_verifications, pw.account_verifications) == (before[0] + 1, before[1])
    # A real account with a wrong password: one verification against its own hash.
    before = pw.dummy_verifications, pw.account_verifications
    with pytest.raises(Unauthenticated, match="^invalid username or password$"):
        accounts.login("admin", "not-it-at-all")
    assert (pw.dummy_verifications, pw.account_verifications) == (before[0], before[1] + 1)
    token, claims = accounts.login("admin", password)
    assert claims.subject == "admin" and accounts.authenticate(token).subject == "admin"
    assert accounts.login_failures_total() == 4
