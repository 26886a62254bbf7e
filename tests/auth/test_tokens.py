"""Tokens: tampered, expired and revoked tokens are refused with a clear message, and API keys."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import grpc
from authhelpers import ScannedCLI, SecretScan, login, rpc_error, set_password, start_daemon
from fixtures.daemon import CLI

from gitopsd.api.gitopsd.v1 import common_pb2, session_pb2, session_pb2_grpc, version_pb2_grpc


def _version(daemon, token: str):  # type: ignore[no-untyped-def]
    with daemon.channel(token=token) as channel:
        return version_pb2_grpc.VersionServiceStub(channel).Version(common_pb2.Empty(), timeout=10)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_tampered_expired_and_revoked_tokens(tmp_path: Path, scan: SecretScan) -> None:
    daemon = start_daemon(tmp_path)
    scan.logs.append(daemon.log_path)
    try:
        set_password(daemon, "viewer", scan.secret("viewer-password-1"))
        viewer = scan.secret(login(daemon, "viewer", "viewer-password-1"))
        assert _version(daemon, viewer).version

        # Tampered: the viewer rewrites its claims to say admin, keeping its signature.
        head, payload, sig = viewer.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        claims["sub"] = "admin"
        forged = scan.secret(f"{head}.{_b64(json.dumps(claims).encode())}.{sig}")
        err = scan.error("forged", rpc_error(_version, daemon, forged))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "signature does not match" in err.details()
        # ... or flips one character of the signature.
        flipped = scan.secret(viewer[:-2] + ("A" if viewer[-2] != "A" else "B") + viewer[-1])
        err = scan.error("flipped", rpc_error(_version, daemon, flipped))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED

        # Expired: an API key that lived one second.
        with daemon.channel(token=viewer) as channel:
            short = session_pb2_grpc.AccountServiceStub(channel).CreateToken(
                session_pb2.CreateAccountTokenRequest(expires_in=1, id="short"), timeout=10
            )
        scan.secret(short.token)
        assert _version(daemon, short.token).version
        time.sleep(2.1)
        err = scan.error("expired", rpc_error(_version, daemon, short.token))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "token expired at" in err.details()

        # Revoked: logout ends the session for good, across a restart too.
        with daemon.channel(token=viewer) as channel:
            session_pb2_grpc.SessionServiceStub(channel).Delete(common_pb2.Empty(), timeout=10)
        daemon.restart()
        err = scan.error("revoked", rpc_error(_version, daemon, viewer))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "revoked" in err.details()

        # A token from another daemon (another signing key) is refused.
        other = start_daemon(tmp_path, name="other")
        scan.logs.append(other.log_path)
        try:
            stranger = scan.secret(other.token)
            err = scan.error("stranger", rpc_error(_version, daemon, stranger))
            assert err.code() == grpc.StatusCode.UNAUTHENTICATED
        finally:
            other.stop()
    finally:
        daemon.stop()
    scan.secret(daemon.token)


def test_api_keys_are_listed_by_id_and_revocable(tmp_path: Path, scan: SecretScan) -> None:
    daemon = start_daemon(tmp_path)
    scan.logs.append(daemon.log_path)
    cli = ScannedCLI(CLI(daemon.address, tmp_path), scan)
    try:
        scan.secret(daemon.token)
        # ci-bot has apiKey but not login: admin issues its keys.
        key = cli.token_output(
            "account", "generate-token", "--account", "ci-bot", "--id", "deploy", "--expires-in", "1h"
        )
        assert key.returncode == 0, key.stderr
        token = scan.secret(key.stdout.strip())
        who = cli("account", "get-user-info", env={"GITOPSD_AUTH_TOKEN": token})
        assert who.returncode == 0 and "ci-bot" in who.stdout
        shown = cli("account", "get", "--account", "ci-bot", "-o", "json")
        assert json.loads(shown.stdout)["tokens"][0]["id"] == "deploy"
        refused = cli(
            "login",
            daemon.address,
            "--username",
            "ci-bot",
            "--password",
            "whatever-pw",
            "--server-ca",
            str(daemon.cert_path),
        )
        assert refused.returncode == 2 and "invalid username or password" in refused.stderr
        assert cli("account", "delete-token", "deploy", "--account", "ci-bot").returncode == 0
        gone = cli("version", env={"GITOPSD_AUTH_TOKEN": token})
        assert gone.returncode == 2 and "revoked" in gone.stderr
        # admin may not hold API keys for accounts without the capability.
        none = cli("account", "generate-token", "--account", "alice")
        assert none.returncode == 2 and "does not have the apiKey capability" in none.stderr
    finally:
        daemon.stop()
