"""TLS of the daemon's two listeners: the gRPC server's credentials and the HTTP listener's
certificate files (the same certificate: configured, or self-signed in DATA_DIR/tls), and the rule
they share that plaintext is for loopback only unless the operator says otherwise.

Used by gitopsd.server.daemon at start.
"""

from __future__ import annotations

import grpc

from gitopsd.server import tls
from gitopsd.server.config import Config
from gitopsd.server.datadir import write_run_file


def http_tls_files(config: Config) -> tuple[str, str] | None:
    """The certificate and key files of the HTTP listener (http.tls), the gRPC API's own; or
    None for plaintext, refused off loopback as for gRPC."""
    listen = config.http_listen
    if not config.http.tls:
        if not config.tls.allow_plaintext_non_loopback and not tls.is_loopback_listen(listen):
            raise ValueError(
                f"refusing to serve plaintext HTTP on {listen}: API tokens and passwords would cross "
                "the network unencrypted. Set http.tls: true, listen on a loopback address, or set "
                "tls.allow_plaintext_non_loopback: true"
            )
        return None
    if config.tls.cert_file:
        tls.configured(config.tls.cert_file, config.tls.key_file)  # a clear error for an unreadable file
        return config.tls.cert_file, config.tls.key_file
    host = listen.rpartition(":")[0].strip("[]")
    tls.self_signed(config.data_path / "tls", [host] if host not in ("", "0.0.0.0", "::") else [])
    return str(config.data_path / "tls" / "server.crt"), str(config.data_path / "tls" / "server.key")


def grpc_credentials(config: Config) -> grpc.ServerCredentials | None:
    """TLS credentials of the gRPC server, or None for plaintext (refused off loopback unless configured)."""
    cfg, listen = config.tls, config.listen
    # Unix sockets are plaintext: the socket's file mode guards them (tokens are still required).
    if not cfg.enabled or listen.startswith("unix:"):
        tls.check_plaintext(listen, cfg.allow_plaintext_non_loopback)
        (config.data_path / "run" / "grpc.crt").unlink(missing_ok=True)
        return None
    if cfg.cert_file:
        cert = tls.configured(cfg.cert_file, cfg.key_file)
    else:
        host = listen.rpartition(":")[0].strip("[]")
        cert = tls.self_signed(config.data_path / "tls", [host] if host not in ("", "0.0.0.0", "::") else [])
    # Public: lets scripts and tests on this host trust the daemon (--server-ca).
    write_run_file(config.data_path, "grpc.crt", cert.cert_pem.decode().strip())
    return grpc.ssl_server_credentials([(cert.key_pem, cert.cert_pem)])
