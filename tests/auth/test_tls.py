"""TLS on the gRPC API: the CLI verifies the daemon's certificate; plaintext stays on loopback."""

from __future__ import annotations

import datetime
import ipaddress
import os
import pty
import select
import subprocess
import termios
import time
from pathlib import Path

import pytest
import yaml
from authhelpers import AUTH_ENV, ScannedCLI, SecretScan, start_daemon
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fixtures.daemon import CLI, DaemonProcess, gitopsd_bin


def test_cli_refuses_an_unknown_certificate(tmp_path: Path, scan: SecretScan) -> None:
    daemon = start_daemon(tmp_path)
    scan.logs.append(daemon.log_path)
    scan.secret(daemon.token)
    cli = ScannedCLI(CLI(daemon.address, tmp_path), scan)
    try:
        untrusted = cli("app", "list", env={"GITOPSD_SERVER_CA": ""})
        assert untrusted.returncode == 2
        assert f"the TLS certificate of {daemon.address} is not trusted" in untrusted.stderr
        assert "--server-ca" in untrusted.stderr and "--insecure" in untrusted.stderr

        # Another daemon's certificate does not vouch for this one.
        other = start_daemon(tmp_path, name="other")
        scan.logs.append(other.log_path)
        scan.secret(other.token)
        other.stop()
        wrong_ca = cli("app", "list", "--server-ca", str(other.cert_path))
        assert wrong_ca.returncode == 2 and "is not trusted" in wrong_ca.stderr

        assert cli("app", "list", "--insecure", env={"GITOPSD_SERVER_CA": ""}).returncode == 0
        assert cli("app", "list").returncode == 0  # the fixture's GITOPSD_SERVER_CA: the daemon's cert

        # login without a way to trust the certificate refuses, showing its fingerprint.
        login = cli(
            "login",
            daemon.address,
            "--username",
            "admin",
            "--password-stdin",
            input=daemon.initial_password() + "\n",
            env={"GITOPSD_SERVER_CA": ""},
        )
        scan.secret(daemon.initial_password())
        assert login.returncode == 2
        assert "SHA-256 fingerprint" in login.stderr and "refusing to continue" in login.stderr
        # --insecure is remembered for that server.
        insecure = cli(
            "login",
            daemon.address,
            "--username",
            "admin",
            "--password-stdin",
            "--insecure",
            input=daemon.initial_password() + "\n",
            env={"GITOPSD_SERVER_CA": "", "GITOPSD_AUTH_TOKEN": ""},
        )
        assert insecure.returncode == 0, insecure.stderr
        saved = yaml.safe_load((tmp_path / ".gitopsd-cli" / "config.yaml").read_text())
        scan.secret(saved["servers"][daemon.address]["auth-token"])
        listed = cli("app", "list", env={"GITOPSD_SERVER_CA": "", "GITOPSD_AUTH_TOKEN": ""})
        assert listed.returncode == 0, listed.stderr
    finally:
        daemon.stop()


def test_the_self_signed_certificate_is_kept_and_names_loopback(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path)
    try:
        first = daemon.cert_path.read_bytes()
        key = daemon.data_dir / "tls" / "server.key"
        assert oct(key.stat().st_mode & 0o777) == "0o600"
        daemon.restart()
        assert daemon.cert_path.read_bytes() == first  # clients that pinned it keep working
    finally:
        daemon.stop()
    cert = x509.load_pem_x509_certificate(first)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)


def test_plaintext_is_refused_off_loopback(tmp_path: Path) -> None:
    proc = DaemonProcess(
        tmp_path / "data",
        tmp_path / "d.log",
        extra_args=["--listen", "0.0.0.0:0", "--plaintext"],
        env=AUTH_ENV,
    )
    with pytest.raises(RuntimeError) as err:
        proc.start(timeout=30)
    assert "refusing to serve plaintext gRPC on 0.0.0.0:0" in str(err.value)
    assert "tls.allow_plaintext_non_loopback" in str(err.value)


def test_plaintext_on_loopback_still_needs_a_token(tmp_path: Path) -> None:
    daemon = DaemonProcess(
        tmp_path / "data", tmp_path / "d.log", env={**AUTH_ENV, "GITOPSD_TLS_ENABLED": "false"}
    ).start()
    try:
        assert not daemon.cert_path.exists()
        cli = CLI(daemon.address, tmp_path)
        assert cli("app", "list", "--plaintext").returncode == 0
        anonymous = cli("app", "list", "--plaintext", env={"GITOPSD_AUTH_TOKEN": ""})
        assert anonymous.returncode == 2 and "UNAUTHENTICATED" in anonymous.stderr
        # A TLS client does not silently fall back to plaintext.
        assert cli("app", "list").returncode == 2
    finally:
        daemon.stop()


def _ca_and_leaf(tmp_path: Path) -> tuple[Path, Path, Path]:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gitopsd")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp_path / "ca.crt", tmp_path / "tls.crt", tmp_path / "tls.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


def test_a_configured_certificate_is_served(tmp_path: Path) -> None:
    ca, cert, key = _ca_and_leaf(tmp_path)
    daemon = DaemonProcess(
        tmp_path / "data",
        tmp_path / "d.log",
        env={**AUTH_ENV, "GITOPSD_TLS_CERT_FILE": str(cert), "GITOPSD_TLS_KEY_FILE": str(key)},
    ).start()
    try:
        cli = CLI(daemon.address, tmp_path)
        ok = cli("app", "list", "--server-ca", str(ca))
        assert ok.returncode == 0, ok.stderr
        assert not (daemon.data_dir / "tls" / "server.key").exists()  # no self-signed one was made
    finally:
        daemon.stop()


def test_a_unix_socket_is_plaintext_but_still_needs_a_token(tmp_path: Path) -> None:
    sock = tmp_path / "s" / "gitopsd.sock"
    daemon = DaemonProcess(
        tmp_path / "data", tmp_path / "d.log", extra_args=["--listen", f"unix://{sock}"], env=AUTH_ENV
    ).start()
    try:
        assert daemon.address == f"unix://{sock}"
        cli = CLI(daemon.address, tmp_path)
        assert cli("app", "list").returncode == 0
        anonymous = cli("app", "list", env={"GITOPSD_AUTH_TOKEN": ""})
        assert anonymous.returncode == 2 and "UNAUTHENTICATED" in anonymous.stderr
    finally:
        daemon.stop()


def _login_on_a_terminal(cli: CLI, address: str, typed: str) -> tuple[int, str]:
    """`gitopsd login` with a terminal as stdin/stdout/stderr (no echo), `typed` typed ahead."""
    master, slave = pty.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO  # what is typed (the password) is not printed back
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    env = {**os.environ, **cli.auth_env(), "GITOPSD_SERVER_CA": "", "GITOPSD_AUTH_TOKEN": ""}
    process = subprocess.Popen(
        [gitopsd_bin(), "login", address, "--username", "admin", "--password-stdin"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cli.cwd,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    os.write(master, typed.encode())
    output = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        return process.wait(timeout=30), output.decode("utf-8", "replace")
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()


def test_login_on_a_terminal_asks_before_trusting_the_certificate(tmp_path: Path, scan: SecretScan) -> None:
    daemon = start_daemon(tmp_path)
    scan.logs.append(daemon.log_path)
    scan.secret(daemon.token)
    password = daemon.initial_password()
    scan.secret(password)
    cli = CLI(daemon.address, tmp_path)
    config = tmp_path / ".gitopsd-cli" / "config.yaml"
    try:
        code, shown = _login_on_a_terminal(cli, daemon.address, "n\n" + password + "\n")
        scan.seen("login answered no", shown)
        assert code == 2, shown
        assert "SHA-256 fingerprint" in shown and "Trust this certificate" in shown
        assert "login cancelled: certificate not trusted" in shown
        assert not config.exists()

        code, shown = _login_on_a_terminal(cli, daemon.address, "y\n" + password + "\n")
        scan.seen("login answered yes", shown)
        assert code == 0, shown
        assert "'admin' logged in" in shown
        saved = yaml.safe_load(config.read_text())["servers"][daemon.address]
        scan.secret(saved["auth-token"])
        assert Path(saved["server-ca"]).read_text().strip() == daemon.cert_path.read_text().strip()
        # Later commands trust the saved certificate and use the saved session.
        listed = cli("app", "list", env={"GITOPSD_SERVER_CA": "", "GITOPSD_AUTH_TOKEN": ""})
        scan.seen("app list", listed.stdout + listed.stderr)
        assert listed.returncode == 0, listed.stderr
    finally:
        daemon.stop()
