"""Renderer sidecars: started and supervised by the daemon, or external endpoints.

With no endpoint configured for `helm`/`kustomize`, the supervisor runs `gitopsd-helm` and
`gitopsd-kustomize` itself on unix sockets in `socket_dir`, waits for grpc.health.v1
readiness, restarts a crashed or hung one with backoff and stops them on shutdown
(SIGTERM, then SIGKILL). Configured endpoints (systemd-run sidecars) and plugins are only
health-checked. Renders ask `client_for()` which renderer serves a source.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from gitopsd.sources import sidecar_logs
from gitopsd.sources.detect import SourceType
from gitopsd.sources.errors import RendererUnavailableError, SourceSpecError
from gitopsd.sources.jsonnet_source import JSONNET_RENDERER
from gitopsd.sources.renderer_client import RendererClient
from gitopsd.sources.sidecar_config import (
    BUILTIN_COMMANDS,
    CMP_COMMAND,
    CMP_NAME,
    MAX_SOCKET_PATH,
    ManagedSidecar,
    SidecarConfig,
    SidecarStatus,
    find_command,
)

__all__ = ["BUILTIN_COMMANDS", "SidecarConfig", "SidecarStatus", "SidecarSupervisor", "find_command"]

log = logging.getLogger(__name__)


class SidecarSupervisor:
    """The renderer registry of the daemon (also usable with endpoints only)."""

    def __init__(self, config: SidecarConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._managed: dict[str, ManagedSidecar] = {}
        self._external: dict[str, RendererClient] = {}
        self._external_state: dict[str, str] = {}
        self._external_checked: dict[str, float] = {}
        for name, target in {**config.endpoints, **config.plugins}.items():
            self._external[name] = self._new_client(name, target)
            self._external_state[name] = "unknown"
        commands: dict[str, list[str]] = {}
        if config.manage_builtins:
            for name, script in BUILTIN_COMMANDS.items():
                if name not in config.endpoints:
                    exe = find_command(script)
                    commands[name] = [exe or script]
        if config.cmp_path:
            commands[CMP_NAME] = [find_command(CMP_COMMAND) or CMP_COMMAND, "--plugins", config.cmp_path]
        for name, argv in config.commands.items():
            commands[name] = list(argv)
        self.socket_dir = Path(config.socket_dir)
        self._own_socket_dir: Path | None = None
        longest = max((len(str(self.socket_dir / f"{n}.sock")) for n in commands), default=0)
        if longest > MAX_SOCKET_PATH:
            # A unix socket path is limited to 107 bytes: a deep data dir gets a short one.
            self._own_socket_dir = Path(tempfile.mkdtemp(prefix="gitopsd-renderers-"))
            log.info(
                "socket dir %s is too long for unix sockets; using %s", self.socket_dir, self._own_socket_dir
            )
            self.socket_dir = self._own_socket_dir
        for name, argv in commands.items():
            sock = self.socket_dir / f"{name}.sock"
            client = self._new_client(name, f"unix://{sock}")
            self._managed[name] = ManagedSidecar(name, argv, sock, client)

    def _new_client(self, name: str, target: str) -> RendererClient:
        return RendererClient(
            name, target, timeout=self.config.render_timeout, max_message_bytes=self.config.max_message_bytes
        )

    # ------------------------------------------------------------------ lifecycle

    def start(self, *, wait: bool = True) -> None:
        """Starts managed sidecars and the monitor; with `wait`, until each is ready or gave up."""
        if self._managed:
            self.socket_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(self.socket_dir, 0o700)
        with self._lock:
            for m in self._managed.values():
                self._spawn(m)
        if wait:
            deadline = time.monotonic() + self.config.ready_timeout
            for m in self._managed.values():
                self._wait_ready(m, deadline)
        self._thread = threading.Thread(target=self._monitor, name="gitopsd-sidecars", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            for m in self._managed.values():
                self._terminate(m)
                m.state = "stopped"
                m.client.close()
                with contextlib.suppress(FileNotFoundError):
                    m.socket.unlink()
            for client in self._external.values():
                client.close()
        if self._own_socket_dir is not None:
            shutil.rmtree(self._own_socket_dir, ignore_errors=True)

    def __enter__(self) -> SidecarSupervisor:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ queries

    def names(self) -> list[str]:
        return sorted({*self._managed, *self._external})

    def client(self, name: str, *, wait: bool = True) -> RendererClient:
        """The client of a renderer by name; raises RendererUnavailableError when it is down.

        With wait=False the client is returned whatever the sidecar's state (for cached
        capabilities: a render-cache hit must not wait for a restarting sidecar).
        """
        m = self._managed.get(name)
        if m is not None and not wait:
            return m.client
        if m is not None:
            if m.state == "starting":
                # A render arriving during a (re)start waits for it rather than failing.
                self.wait_ready(name, min(self.config.ready_timeout, 10.0))
            with self._lock:
                self._reap(m)  # a crash is known at once, not at the next monitor pass
                if m.state in ("down", "stopped", "starting"):
                    raise RendererUnavailableError(
                        name, f"renderer {name} unavailable: {m.message or m.state}"
                    )
                return m.client
        with self._lock:
            ext = self._external.get(name)
        if ext is None:
            raise RendererUnavailableError(
                name,
                f"renderer {name} unavailable: not configured (known renderers: {', '.join(self.names()) or 'none'})",
            )
        return ext

    def client_for(self, source_type: str, plugin_name: str = "", *, wait: bool = True) -> RendererClient:
        if source_type == SourceType.PLUGIN:
            if plugin_name and (plugin_name in self._external or plugin_name in self.config.commands):
                return self.client(plugin_name, wait=wait)  # a gRPC Renderer plugin
            if CMP_NAME in self._managed:
                # gitopsd-cmp picks the ConfigManagementPlugin by name, or by discovery without one.
                return self.client(CMP_NAME, wait=wait)
            known = ", ".join(sorted(self.config.plugins)) or "none"
            if not plugin_name:
                raise SourceSpecError(
                    "plugin source without a plugin name, and no config management plugins to discover "
                    f"one among (cmp.path is not set; gRPC plugins: {known})"
                )
            raise SourceSpecError(f"plugin {plugin_name!r} is not configured (configured plugins: {known})")
        if source_type == SourceType.HELM:
            return self.client("helm", wait=wait)
        if source_type == SourceType.KUSTOMIZE:
            return self.client("kustomize", wait=wait)
        if source_type == JSONNET_RENDERER:
            return self.client("jsonnet", wait=wait)
        raise SourceSpecError(f"no renderer for source type {source_type!r}")

    def status(self) -> list[SidecarStatus]:
        out: list[SidecarStatus] = []
        with self._lock:
            for m in self._managed.values():
                out.append(
                    SidecarStatus(
                        m.name,
                        m.client.target,
                        True,
                        m.state,
                        m.proc.pid if m.proc else None,
                        m.restarts,
                        m.message,
                    )
                )
            for name, client in self._external.items():
                out.append(SidecarStatus(name, client.target, False, self._external_state[name], None, 0, ""))
        return sorted(out, key=lambda s: s.name)

    def wait_ready(self, name: str, timeout: float) -> bool:
        """Blocks until a managed sidecar is ready again (tests, startup checks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = False
            with self._lock:
                m = self._managed.get(name)
                if m is not None:
                    self._reap(m)
                    ready = m.state == "ready"
            # poll() can miss a death while another thread waits on the process: ask the sidecar too.
            if m is not None and ready and m.client.healthy(timeout=1.0):
                with self._lock:
                    self._reap(m)
                    if m.state == "ready":
                        return True
            if m is None:
                return self._external[name].healthy(timeout=max(0.1, deadline - time.monotonic()))
            time.sleep(0.05)
        return False

    # ------------------------------------------------------------------ processes

    def _spawn(self, m: ManagedSidecar) -> None:
        with contextlib.suppress(FileNotFoundError):
            m.socket.unlink()
        argv = [*m.argv, "--listen", f"unix://{m.socket}"]
        if Path(m.argv[0]).name in (*BUILTIN_COMMANDS.values(), CMP_COMMAND):
            # What keeps a sidecar started here out of the data dir: it runs as the daemon's user, so
            # file modes do not (the systemd units hide the data dir with InaccessiblePaths= and give
            # gitopsd-kustomize no network; prefer them in production). What holds: a sidecar gets no
            # --work-dir, so its trees live in a temp dir of its own, never under the data dir; it sees
            # only the request's files, written as regular files (no symlinks to follow); kustomize
            # references that are remote, absolute or leave the tree are refused before kubectl runs;
            # and kubectl runs with no git on PATH, no git transport allowed, a dead proxy and no HOME
            # credentials, under --max-memory-bytes (gitopsd_kustomize.render, gitopsd.sidecar.childproc).
            # Our sidecars stop by themselves when the daemon is gone, even after a SIGKILL.
            argv += ["--parent-pid", str(os.getpid())]
            # JSON lines, which sidecar_logs relays as events of the daemon's log in its own format.
            argv += ["--log-format", "json"]
            argv += ["--max-memory-bytes", str(self.config.max_memory_bytes)]
        try:
            m.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            m.proc = None
            m.state = "down"
            m.message = f"cannot start {m.argv[0]}: {exc.strerror}"
            self._schedule_restart(m)
            log.error("renderer %s: %s", m.name, m.message)
            return
        m.state = "starting"
        m.message = "starting"
        m.started_at = time.monotonic()
        m.failed_checks = 0
        m.client.forget_capabilities()
        stream = m.proc.stdout
        if stream is not None:
            threading.Thread(target=sidecar_logs.pump, args=(m.name, stream), daemon=True).start()
        log.info("renderer %s started (pid %d)", m.name, m.proc.pid)

    def _wait_ready(self, m: ManagedSidecar, deadline: float) -> None:
        while time.monotonic() < deadline and not self._stop.is_set():
            proc = m.proc
            if proc is None or proc.poll() is not None:
                return
            if m.socket.exists() and m.client.healthy(timeout=1.0):
                with self._lock:
                    if m.proc is proc:
                        m.state = "ready"
                        m.message = ""
                return
            time.sleep(0.05)

    def _reap(self, m: ManagedSidecar) -> bool:
        """Notices an exited sidecar (under the lock); True when it just went down."""
        proc = m.proc
        if proc is None or proc.poll() is None:
            return False
        code = proc.returncode
        m.proc = None
        m.state = "down"
        m.restarts += 1
        self._schedule_restart(m)
        m.message = (
            f"process exited with {'signal ' + str(-code) if code < 0 else 'code ' + str(code)}; "
            f"restarting in {m.backoff:g}s ({m.client.where()})"
        )
        log.warning("renderer %s: %s", m.name, m.message)
        return True

    def _schedule_restart(self, m: ManagedSidecar) -> None:
        cfg = self.config
        uptime = time.monotonic() - m.started_at if m.started_at else 0.0
        if uptime > cfg.backoff_reset_after:
            m.backoff = 0.0
        m.backoff = (
            cfg.restart_backoff_initial if m.backoff == 0 else min(m.backoff * 2, cfg.restart_backoff_max)
        )
        m.next_start = time.monotonic() + m.backoff

    def _terminate(self, m: ManagedSidecar) -> None:
        proc = m.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=self.config.stop_grace)
        except subprocess.TimeoutExpired:
            log.warning(
                "renderer %s did not stop within %gs of SIGTERM; sending SIGKILL",
                m.name,
                self.config.stop_grace,
            )
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def _monitor(self) -> None:
        cfg = self.config
        while not self._stop.wait(0.1):
            now = time.monotonic()
            for m in list(self._managed.values()):
                with self._lock:
                    if self._stop.is_set():
                        return
                    if self._reap(m):
                        continue
                    proc = m.proc
                    if proc is None and m.state == "down" and now >= m.next_start:
                        self._spawn(m)
                        continue
                if m.state == "starting" and m.proc is not None:
                    if m.socket.exists() and m.client.healthy(timeout=cfg.health_timeout):
                        with self._lock:
                            m.state, m.message = "ready", ""
                        log.info("renderer %s ready", m.name)
                    elif now - m.started_at > cfg.ready_timeout:
                        self._kill_hung(m, f"not ready after {cfg.ready_timeout:g}s")
                    continue
                if m.state in ("ready", "unhealthy") and now - m.last_check >= cfg.health_interval:
                    m.last_check = now
                    if m.client.healthy(timeout=cfg.health_timeout):
                        m.failed_checks = 0
                        if m.state == "unhealthy":
                            with self._lock:
                                m.state, m.message = "ready", ""
                    else:
                        m.failed_checks += 1
                        with self._lock:
                            m.state = "unhealthy"
                            m.message = f"not answering health checks ({m.client.where()})"
                        if m.failed_checks >= cfg.hung_after_failures:
                            self._kill_hung(m, "hung: no answer to health checks")
            for name, client in self._external.items():
                if now - self._external_checked.get(name, 0.0) >= cfg.health_interval:
                    self._external_checked[name] = now
                    self._external_state[name] = (
                        "ready" if client.healthy(timeout=cfg.health_timeout) else "unhealthy"
                    )

    def _kill_hung(self, m: ManagedSidecar, why: str) -> None:
        log.warning("renderer %s: %s; killing it", m.name, why)
        with self._lock:
            proc = m.proc
            if proc is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        # The exit is picked up by the next monitor pass, which schedules the restart.
