"""Logins under attack, against the real daemon over gRPC: bursts of concurrent guesses, a store
that cannot write (a full disk), and sessions issued in the same second as a password change."""

from __future__ import annotations

import base64
import http.client
import json
import random
import resource
import sqlite3
import time
from pathlib import Path

import grpc
from authhelpers import SecretScan, login, rpc_error, set_password, start_daemon
from fixtures.daemon import DaemonProcess

from gitopsd.api.gitopsd.v1 import common_pb2, session_pb2, session_pb2_grpc
from gitopsd.auth.passwords import Passwords
from gitopsd.auth.tokens import TokenSigner, load_or_create_key
from gitopsd.store.migrations import MIGRATIONS

MAX_FAILURES = 5  # auth.login_max_failures, default
BAD_LOGIN = "invalid username or password"
OK = "OK"


def _burst(daemon: DaemonProcess, username: str, passwords: list[str]) -> list[tuple[str, str, str]]:
    """All logins sent at once on one channel: (password, outcome code, details or token)."""
    with daemon.channel(token="") as channel:
        stub = session_pb2_grpc.SessionServiceStub(channel)
        calls = [
            (
                pw,
                stub.Create.future(
                    session_pb2.CreateSessionRequest(username=username, password=pw), timeout=120
                ),
            )
            for pw in passwords
        ]
        results = []
        for pw, call in calls:
            try:
                results.append((pw, OK, call.result().token))
            except grpc.RpcError as exc:
                results.append((pw, exc.code().name, exc.details() or ""))
        return results


def _login_failures_metric(daemon: DaemonProcess) -> float:
    host, _, port = daemon.http_address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", "/metrics")  # loopback: no token needed by default
        body = conn.getresponse().read().decode()
    finally:
        conn.close()
    lines = [line for line in body.splitlines() if line.startswith("gitopsd_login_failures_total ")]
    assert lines, "gitopsd_login_failures_total is missing from /metrics"
    return float(lines[0].split()[1])


def _user_info(daemon: DaemonProcess, token: str) -> session_pb2.UserInfo:
    with daemon.channel(token=token) as channel:
        return session_pb2_grpc.SessionServiceStub(channel).GetUserInfo(common_pb2.Empty(), timeout=30)


def _change_own_password(daemon: DaemonProcess, token: str, current: str, new: str) -> None:
    with daemon.channel(token=token) as channel:
        session_pb2_grpc.AccountServiceStub(channel).UpdatePassword(
            session_pb2.UpdatePasswordRequest(current_password=current, new_password=new), timeout=60
        )


def _issued_at(token: str) -> int:
    payload = token.split(".")[1]
    return int(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["iat"])


def test_concurrent_guesses_get_at_most_max_failures_password_checks(
    tmp_path: Path, scan: SecretScan
) -> None:
    daemon = start_daemon(tmp_path)
    scan.logs.append(daemon.log_path)
    scan.secret(daemon.token)
    try:
        right = scan.secret("alice-password-1")
        set_password(daemon, "alice", right)
        # 25 wrong guesses at once: only max_failures may reach the password check.
        results = _burst(daemon, "alice", [f"wrong-guess-{i:02}" for i in range(25)])
        for _, code, details in results:
            scan.seen("burst", f"{code} {details}")
        checked = [r for r in results if r[1:] == ("UNAUTHENTICATED", BAD_LOGIN)]
        refused = [r for r in results if r[1] == "UNAUTHENTICATED" and "too many" in r[2]]
        assert len(checked) == MAX_FAILURES, (
            f"{len(checked)} of 25 concurrent guesses had their password checked"
        )
        assert len(refused) == 25 - MAX_FAILURES, results
        # Locked: the right password is refused too, and every refusal was counted.
        err = scan.error("locked", rpc_error(login, daemon, "alice", right))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED and "too many failed logins" in (
            err.details() or ""
        )
        assert _login_failures_metric(daemon) == 26

        # The attack of the review: 24 wrong guesses and the right password among them, at once.
        viewer = scan.secret("viewer-password-1")
        set_password(daemon, "viewer", viewer)
        guesses = [f"wrong-guess-{i:02}" for i in range(24)] + [viewer]
        random.Random(10).shuffle(guesses)
        results = _burst(daemon, "viewer", guesses)
        for _, code, details in results:
            scan.seen("burst with the right password", f"{code} {details}" if code != OK else code)
        (outcome,) = [r for r in results if r[0] == viewer]
        wrong_checked = [r for r in results if r[0] != viewer and r[1:] == ("UNAUTHENTICATED", BAD_LOGIN)]
        if outcome[1] == OK:
            scan.secret(outcome[2])
            # It won one of the first slots; its success frees the slots of the failures before it,
            # never more: at most max_failures - 1 guesses beside it and max_failures after it.
            assert len(wrong_checked) <= 2 * MAX_FAILURES - 1, f"{len(wrong_checked)} wrong guesses checked"
        else:
            assert outcome[1] == "UNAUTHENTICATED" and "too many" in outcome[2], outcome[1:]
            assert len(wrong_checked) == MAX_FAILURES, f"{len(wrong_checked)} wrong guesses checked"
    finally:
        daemon.stop()


def test_a_login_that_cannot_be_recorded_fails_closed(tmp_path: Path, scan: SecretScan) -> None:
    """A full disk, made honestly for one process: RLIMIT_FSIZE of the running daemon lowered to one
    byte (prlimit, allowed on one's own processes without privileges). Every write(2) of the daemon
    then fails as it would on a full disk (EFBIG instead of ENOSPC; SQLite reports a write error
    either way) while reads still work - exactly the state in which failures went unrecorded."""
    daemon = start_daemon(tmp_path)
    scan.logs.append(daemon.log_path)
    scan.secret(daemon.token)
    assert daemon.proc is not None
    right = scan.secret("alice-password-1")
    try:
        set_password(daemon, "alice", right)
        soft, hard = resource.prlimit(daemon.proc.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(daemon.proc.pid, resource.RLIMIT_FSIZE, (1, hard))
        try:
            for i in range(MAX_FAILURES + 2):
                err = scan.error("disk full", rpc_error(login, daemon, "alice", f"wrong-guess-{i}"))
                assert err.code() == grpc.StatusCode.UNAVAILABLE, (err.code(), err.details())
                assert "cannot record login attempts" in (err.details() or "")
            # Without a recorded attempt no password is checked: not even the right one gets in.
            err = scan.error("disk full, right password", rpc_error(login, daemon, "alice", right))
            assert err.code() == grpc.StatusCode.UNAVAILABLE, (err.code(), err.details())
            assert "try again later" in (err.details() or "")
        finally:
            resource.prlimit(daemon.proc.pid, resource.RLIMIT_FSIZE, (soft, hard))
        # The disk has room again: the daemon kept serving, and logins work.
        assert daemon.proc.poll() is None
        token = scan.secret(login(daemon, "alice", right))
        assert _user_info(daemon, token).username == "alice"
    finally:
        daemon.stop()


def test_a_password_change_ends_sessions_issued_in_the_same_second(tmp_path: Path, scan: SecretScan) -> None:
    """Whole-second timestamps let a session issued in the second of a password change survive it.

    Deterministic: rather than racing the clock, the test signs session tokens with the daemon's own
    key (as the daemon would have issued them) dated in the very second the password changed (the
    account's password_mtime): one under the generation before the change (refused), one under the
    current generation (accepted). A real login before and after the change is checked too."""
    daemon = start_daemon(tmp_path)
    scan.logs.append(daemon.log_path)
    scan.secret(daemon.token)
    try:
        password = scan.secret("alice-password-0")
        set_password(daemon, "alice", password)
        before = scan.secret(login(daemon, "alice", password))
        new = scan.secret("alice-password-1")
        _change_own_password(daemon, before, password, new)
        err = scan.error("old session", rpc_error(_user_info, daemon, before))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "password was changed" in (err.details() or "")

        conn = sqlite3.connect(f"file:{daemon.data_dir / 'gitopsd.db'}?mode=ro", uri=True)
        changed_at, generation = conn.execute(
            "SELECT password_mtime, session_generation FROM accounts WHERE name = 'alice'"
        ).fetchone()
        conn.close()
        signer = TokenSigner(load_or_create_key(daemon.data_dir / "auth"))
        stale, _ = signer.issue("alice", 3600, now=int(changed_at), generation=int(generation) - 1)
        current, _ = signer.issue("alice", 3600, now=int(changed_at), generation=int(generation))
        err = scan.error("same-second session", rpc_error(_user_info, daemon, scan.secret(stale)))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED, "a session of the changed second survived"
        assert _user_info(daemon, scan.secret(current)).username == "alice"
        # A session issued after the change by a real login works.
        assert _user_info(daemon, scan.secret(login(daemon, "alice", new))).username == "alice"
    finally:
        daemon.stop()


def test_sessions_from_before_generations_end_with_the_next_password_change(
    tmp_path: Path, scan: SecretScan
) -> None:
    """Upgrade: a data dir of schema v3 (before session generations) with alice's account, and a
    session token of that time (no generation claim): it keeps working after the upgrade, until
    alice's password changes."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    conn = sqlite3.connect(data / "gitopsd.db", isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    for version, migration in enumerate(MIGRATIONS[:3], start=1):
        migration(conn)
        conn.execute("INSERT INTO schema_version VALUES (?, '2026-01-01T00:00:00Z')", (version,))
    set_at = int(time.time()) - 60
    conn.execute(
        "INSERT INTO accounts (name, password_hash, password_mtime, created_at, updated_at) "
        "VALUES ('alice', ?, ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        (Passwords().hash(scan.secret("alice-password-1")), set_at),
    )
    conn.close()
    legacy, claims = TokenSigner(load_or_create_key(data / "auth")).issue("alice", 3600, now=set_at + 30)
    scan.secret(legacy)
    assert claims.generation is None
    daemon = start_daemon(tmp_path)
    scan.logs.append(daemon.log_path)
    scan.secret(daemon.token)
    try:
        assert _user_info(daemon, legacy).username == "alice"
        set_password(daemon, "alice", scan.secret("alice-password-2"))
        err = scan.error("legacy session", rpc_error(_user_info, daemon, legacy))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED and "password was changed" in (
            err.details() or ""
        )
    finally:
        daemon.stop()
