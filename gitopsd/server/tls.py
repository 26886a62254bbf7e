"""TLS for the gRPC API: a self-signed certificate made on first start (kept in the data
dir), or the configured one; and the rule that plaintext is loopback/unix-only.

The self-signed certificate names 127.0.0.1, ::1, localhost and the host name, and is
its own CA (basicConstraints CA:TRUE) so clients can pin it as their trust root.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_VALIDITY_DAYS = 825


@dataclass(frozen=True)
class ServerCert:
    cert_pem: bytes
    key_pem: bytes


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    tmp.replace(path)


def _generate(names: list[str]) -> ServerCert:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gitopsd")])
    sans: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERT_VALIDITY_DAYS))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return ServerCert(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def self_signed(directory: Path, extra_names: list[str] | None = None) -> ServerCert:
    """The data dir's certificate, generated when missing or expiring within a day."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    if cert_path.exists() and key_path.exists():
        cert_pem, key_pem = cert_path.read_bytes(), key_path.read_bytes()
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
            fresh = cert.not_valid_after_utc > datetime.datetime.now(datetime.UTC) + datetime.timedelta(
                days=1
            )
        except ValueError:
            fresh = False
        if fresh:
            return ServerCert(cert_pem, key_pem)
    names = ["localhost", "127.0.0.1", "::1", socket.gethostname(), *(extra_names or [])]
    made = _generate([n for n in names if n])
    _write_private(key_path, made.key_pem)
    # Public, but 0600 like every file of the data dir (clients read run/grpc.crt as the same user).
    _write_private(cert_path, made.cert_pem)
    return made


def configured(cert_file: str, key_file: str) -> ServerCert:
    """The operator's certificate chain and key; ValueError naming the unreadable file."""
    out: list[bytes] = []
    for what, path in (("tls.cert_file", cert_file), ("tls.key_file", key_file)):
        try:
            out.append(Path(path).read_bytes())
        except OSError as exc:
            raise ValueError(f"{what}: cannot read {path}: {exc.strerror}") from None
    try:
        x509.load_pem_x509_certificate(out[0])
    except ValueError:
        raise ValueError(f"tls.cert_file: {cert_file} is not a PEM certificate") from None
    try:
        serialization.load_pem_private_key(out[1], password=None)
    except (ValueError, TypeError):
        raise ValueError(f"tls.key_file: {key_file} is not an unencrypted PEM private key") from None
    return ServerCert(out[0], out[1])


def is_loopback_listen(listen: str) -> bool:
    """True for unix sockets and HOST:PORT whose host resolves only to loopback addresses."""
    if listen.startswith("unix:"):
        return True
    host = listen.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_plaintext(listen: str, allow_non_loopback: bool) -> None:
    """ValueError (a refusal to start) for plaintext on a non-loopback address."""
    if not allow_non_loopback and not is_loopback_listen(listen):
        raise ValueError(
            f"refusing to serve plaintext gRPC on {listen}: tokens and passwords would cross the "
            "network unencrypted. Enable TLS (tls.enabled: true, the default), listen on a loopback "
            "address or a unix socket, or set tls.allow_plaintext_non_loopback: true"
        )
