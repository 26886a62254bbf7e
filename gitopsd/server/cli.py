"""`gitopsd serve`: flags for the daemon, merged over the config file and GITOPSD_* variables."""

from __future__ import annotations

import argparse
import sys

from gitopsd.server.config import ConfigError, load_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML config file (see examples/gitopsd.yaml); env GITOPSD_CONFIG")
    parser.add_argument("--data-dir", help="where the database and caches live (default /var/lib/gitopsd)")
    parser.add_argument(
        "--listen", help="gRPC address HOST:PORT or unix:///path.sock (default 127.0.0.1:8443)"
    )
    parser.add_argument(
        "--http-listen", help="HTTP address for webhooks, /metrics, /healthz (default 127.0.0.1:8080)"
    )
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="log level (config log_level, default info)",
    )
    parser.add_argument(
        "--log-format",
        choices=["logfmt", "json"],
        help="one logfmt line or one JSON object per event on stderr (config log_format, default logfmt)",
    )
    parser.add_argument(
        "--plaintext",
        action="store_true",
        default=None,
        help="serve gRPC without TLS (loopback or unix socket only, unless tls.allow_plaintext_non_loopback)",
    )


def run(args: argparse.Namespace) -> int:
    import os

    from gitopsd.logs import setup_logging
    from gitopsd.server.daemon import serve

    try:
        config = load_config(
            args.config or os.environ.get("GITOPSD_CONFIG"),
            overrides={
                "data_dir": args.data_dir,
                "listen": args.listen,
                "http_listen": args.http_listen,
                "log_level": args.log_level,
                "log_format": args.log_format,
            },
        )
        if args.plaintext:
            config.tls.enabled = False
    except ConfigError as exc:
        sys.stderr.write(f"gitopsd serve: config: {exc}\n")
        return 2
    setup_logging(config.log_level, config.log_format)
    return serve(config)
