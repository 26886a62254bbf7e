"""`gitopsd serve`: opens the data dir and its store, has the application layer
(gitopsd/server/app_layer.py) and the API in front of it (gitopsd/server/endpoints.py) built,
starts them, and owns the process lifecycle (readiness, signals, graceful shutdown)."""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass, field

from gitopsd import __version__
from gitopsd.logs import fields
from gitopsd.server import malloc, memprofile
from gitopsd.server.app_layer import AppLayer, build_app_layer
from gitopsd.server.config import Config
from gitopsd.server.datadir import lock_data_dir, write_run_file
from gitopsd.server.endpoints import build_endpoints
from gitopsd.server.grpc_server import GrpcServer
from gitopsd.server.http import HttpServer
from gitopsd.server.listeners import grpc_credentials, http_tls_files
from gitopsd.server.notify import sd_notify
from gitopsd.store import Store

# Seconds a thread runs before the interpreter lets another one in (see serve()).
SWITCH_INTERVAL = 0.0005
# Allocations between collections of the youngest generation, then collections between older ones.
GC_THRESHOLDS = (50_000, 20, 100)

log = logging.getLogger("gitopsd.server")


@dataclass
class Daemon:
    config: Config
    # The application layer (gitopsd/server/app_layer.py) and the API in front of it (endpoints.py).
    layer: AppLayer = field(init=False)
    http: HttpServer | None = field(init=False, default=None)
    address: str = field(init=False, default="")
    _grpc: GrpcServer = field(init=False)
    _stopped: threading.Event = field(init=False, default_factory=threading.Event)
    _lock_fd: int = field(init=False, default=-1)

    def start(self) -> None:
        data = self.config.data_path
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(data, 0o700)  # a data dir made beforehand (0755) holds credentials and keys too
        self._lock_fd = lock_data_dir(data)
        # Refused before anything starts: plaintext HTTP off loopback (see listeners.http_tls_files).
        http_tls = http_tls_files(self.config) if self.config.http_listen else None
        self.layer = build_app_layer(self.config, Store.open_data_dir(data))
        endpoints = build_endpoints(self.config, self.layer, http_tls)
        self._grpc, self.http = endpoints.grpc, endpoints.http
        self._serve()

    def _serve(self) -> None:
        """Starts the built listeners and the background work, then says the daemon is ready."""
        cfg = self.config
        self.address = self._grpc.start(cfg.listen, grpc_credentials(cfg))
        self.layer.reconciler.start()
        self.layer.appsets.start(self.layer.reconciler, cfg.reconcile.interval)
        if self.http is not None:
            self.http.start()
            write_run_file(cfg.data_path, "http.addr", self.http.address)
        # Lets scripts and tests that ask for port 0 find the real address.
        write_run_file(cfg.data_path, "grpc.addr", self.address)
        log.info(
            "serving",
            extra=fields(
                grpc=self.address,
                http=self.http.address if self.http else "off",
                data_dir=str(cfg.data_path),
                version=__version__,
            ),
        )
        sd_notify(f"READY=1\nSTATUS=serving gRPC on {self.address}")

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        sd_notify("STOPPING=1")
        log.info("stopping", extra=fields(grace_seconds=self.config.shutdown_grace))
        self._grpc.begin_stop()
        if self.http is not None:
            self.http.begin_stop()  # /healthz says 503 from now on
        layer = self.layer
        layer.reconciler.stop()
        layer.appsets.stop()
        layer.live.close()
        layer.parents.close()
        layer.events.close()
        # In-flight RPCs get the grace period; new ones are refused from now on.
        self._grpc.stop(self.config.shutdown_grace)
        if self.http is not None:
            self.http.stop()
        layer.controller.close(timeout=self.config.shutdown_grace)
        layer.sidecars.stop()
        layer.connections.close()
        layer.apps.flush()  # the comparison times not written yet (gitopsd.app.reconciled_at)
        layer.store.close()
        for run_file in ("grpc.addr", "http.addr"):
            (self.config.data_path / "run" / run_file).unlink(missing_ok=True)
        os.close(self._lock_fd)  # the next daemon on this data dir may start
        log.info("stopped")

    def wait(self) -> None:
        self._stopped.wait()


def serve(config: Config) -> int:
    """Runs the daemon until SIGTERM or SIGINT; returns the process exit code."""
    memprofile.install_from_env()
    # Before the daemon's threads start taking arenas of their own (gitopsd/server/malloc.py).
    malloc.limit_arenas()
    # A thread back from SQLite, a socket or git waits for the interpreter until the running thread
    # yields it: every switch interval (5 ms by default). The daemon's threads hold the store's write
    # lock across such returns, so each wait also stalls every writer behind it; 0.5 ms cut a no-change
    # pass of 3,000 applications from 4.3 s to 2.7 s and creating them from 22 s to 17 s here (one run
    # each of bench/reconcile_bench.py), for more switching.
    sys.setswitchinterval(SWITCH_INTERVAL)
    # The cyclic collector runs after every 700 allocations by default, and each run costs more the
    # more objects the daemon holds (live cache, render cache, queues): creating 8,000 applications
    # took 17.8 s with the default and 13.4 s with these (one run each, bench/reconcile_bench.py's
    # applications). Most of what a call allocates is freed by reference counting long before.
    gc.set_threshold(*GC_THRESHOLDS)
    daemon = Daemon(config)
    try:
        daemon.start()
    except Exception as exc:  # startup errors are the user's to fix: one clear line
        log.error("cannot start", extra=fields(error=str(exc)))
        return 1
    stop_requested = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        log.info("signal received", extra=fields(signal=signal.Signals(signum).name))
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop_requested.wait(1.0):
        pass
    daemon.stop()
    return 0
