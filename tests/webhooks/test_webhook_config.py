"""The webhook settings of a config file reach the HTTP listener, and `http_listen: ""` turns it off."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
from pathlib import Path

import yaml
from fixtures.daemon import DaemonProcess
from webhooks.payloads import Repo, auth_headers, event_headers, get, post, push_body


def _daemon(tmp_path: Path, config: dict[str, object], *args: str) -> DaemonProcess:
    path = tmp_path / "gitopsd.yaml"
    path.write_text(yaml.safe_dump(config))
    return DaemonProcess(
        data_dir=tmp_path / "data",
        log_path=tmp_path / "daemon.log",
        extra_args=["--config", str(path), *args],
    )


def test_config_file_limit_and_secrets_apply(tmp_path: Path) -> None:
    secret = "cfg-" + secrets.token_hex(12)
    bb_secret = "bb-" + secrets.token_hex(12)
    config = {"webhook": {"max_body_bytes": 4096, "github_secret": secret, "bitbucket_secret": bb_secret}}
    proc = _daemon(tmp_path, config).start()
    try:
        body = json.dumps(push_body("github", Repo("r"), "refs/heads/main")).encode()
        # The configured limit, not the default one.
        big = body[:-1] + b" " * 5000 + b"}"
        assert (
            post(
                proc.http_address, {**event_headers("github"), **auth_headers("github", secret, big)}, big
            ).status
            == 413
        )
        # GitHub has a secret: unsigned is refused, signed is taken.
        assert post(proc.http_address, event_headers("github"), body).status == 401
        signed = post(
            proc.http_address, {**event_headers("github"), **auth_headers("github", secret, body)}, body
        )
        assert signed.status == 200 and signed.body["refreshed"] == []
        # GitLab has none: with other secrets set, it cannot be used to skip the check.
        gl = json.dumps(push_body("gitlab", Repo("r"), "refs/heads/main")).encode()
        refused = post(proc.http_address, event_headers("gitlab"), gl)
        assert refused.status == 401 and "no secret is configured for gitlab" in refused.body["message"]
        # Bitbucket Cloud with a webhook secret (no UUID configured): X-Hub-Signature decides.
        bb = json.dumps(push_body("bitbucket", Repo("r"), "refs/heads/main")).encode()
        bb_headers = event_headers("bitbucket")
        good = "sha256=" + hmac.new(bb_secret.encode(), bb, hashlib.sha256).hexdigest()
        bad = "sha256=" + hmac.new(b"guess", bb, hashlib.sha256).hexdigest()
        assert post(proc.http_address, {**bb_headers, "X-Hub-Signature": good}, bb).status == 200
        assert post(proc.http_address, {**bb_headers, "X-Hub-Signature": bad}, bb).status == 401
        assert post(proc.http_address, bb_headers, bb).status == 401
        assert get(proc.http_address, "/healthz") == (200, "ok\n")
    finally:
        proc.stop()
    assert secret not in proc.log() and bb_secret not in proc.log()
    # A clean stop removes the address file.
    assert not (proc.data_dir / "run" / "http.addr").exists()


def test_empty_http_listen_turns_the_listener_off(tmp_path: Path) -> None:
    proc = _daemon(tmp_path, {}, "--http-listen", "").start()
    try:
        assert not (proc.data_dir / "run" / "http.addr").exists()
        assert "http=off" in proc.log()
    finally:
        proc.stop()


def test_http_address_in_use_fails_the_start_with_a_message(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    first = _daemon(tmp_path / "a", {}).start()
    try:
        taken = first.http_address
        second = DaemonProcess(
            data_dir=tmp_path / "b" / "data",
            log_path=tmp_path / "b.log",
            extra_args=["--http-listen", taken],
        )
        try:
            second.start(timeout=20)
        except RuntimeError as exc:
            assert f"cannot listen on {taken} for HTTP" in str(exc)
        else:
            second.stop()
            raise AssertionError("a second daemon started on a taken HTTP port")
    finally:
        first.stop()


def test_slow_clients_are_cut_off_after_the_read_timeout(tmp_path: Path) -> None:
    proc = _daemon(tmp_path, {"webhook": {"read_timeout": 1}}).start()
    try:
        host, _, port = proc.http_address.rpartition(":")
        # A body announced but never sent: 408, and the thread is free again.
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(
                b"POST /api/webhook HTTP/1.1\r\nHost: h\r\nX-GitHub-Event: push\r\nContent-Length: 100\r\n\r\n{"
            )
            answer = sock.recv(4096)
            assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
        # Headers never finished: the connection is closed.
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(b"POST /api/webhook HTTP/1.1\r\nX-GitHub-")
            assert sock.recv(4096) == b""
        assert get(proc.http_address, "/healthz") == (200, "ok\n")
    finally:
        proc.stop()
