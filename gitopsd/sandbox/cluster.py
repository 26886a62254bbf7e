"""``SandboxCluster``: the emulated Kubernetes API server as one object to start and stop.

Wires the store, the resource catalogue, the API, the HTTPS server and the simulated controllers,
and writes kubeconfigs that point clients at it.
"""

from __future__ import annotations

import base64
import os
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from .api import Api
from .controllers import Controller
from .faults import Faults
from .gc import Collector
from .kinds import Loop, start_kinds
from .kinds.seed import seed
from .resources import Registry
from .server import App, SandboxHTTPServer
from .store import Store
from .tls import make_tls_material, new_token, server_context

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class SandboxCluster:
    """An emulated Kubernetes API server on ``host:port`` (port 0: a free one), over HTTPS."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        ready_delay: float = 0.2,
        watch_cache_size: int = 50_000,
        bookmark_interval: float = 60.0,
        pod_grace_scale: float = 0.05,
        pod_grace_max: float = 10.0,
    ) -> None:
        self.host = host
        self._port = port
        self.token = token or new_token()
        self.ready_delay = ready_delay
        self.faults = Faults()
        self.store = Store(history=watch_cache_size)
        self.registry = Registry()
        self.api = Api(self.store, self.registry)
        self.api.bookmark_interval = bookmark_interval
        # Pods' grace periods pass ``pod_grace_scale`` times faster, capped (deletion.py, gc.py).
        self.api.deletion.configure(pod_grace_scale, pod_grace_max)
        self._collector = Collector(self.store, self.registry, self.api.deletion)
        self._tls = make_tls_material(tuple(dict.fromkeys((host, "127.0.0.1", "localhost"))))
        self.ca_pem: bytes = self._tls.ca_pem
        self._app = App(self.api, self.registry, self.token, self.faults)
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._controller: Controller | None = None
        self._kinds: Loop | None = None
        for ns in SYSTEM_NAMESPACES:
            self.api.create_internal(
                self.registry.types_for_storage("/namespaces")[0],
                "",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                "kube-apiserver",
            )
        seed(self.api)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox cluster is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    def start(self) -> SandboxCluster:
        if self._server is not None:
            return self
        self._server = SandboxHTTPServer((self.host, self._port), server_context(self._tls), self._app)
        self._app.server_address = f"{self.host}:{self.port}"
        self._controller = Controller(self.api, self.registry, self.ready_delay, self.ca_pem)
        self._controller.start()
        self._kinds = start_kinds(self.api, self.ready_delay)
        self._collector.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="sandbox-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._app.stopping.set()
        self.store.close_watchers()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._controller is not None:
            self._controller.stop()
        if self._kinds is not None:
            self._kinds.stop()
        self._collector.stop()

    def __enter__(self) -> SandboxCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def kubeconfig(self, context: str = "sandbox") -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": context,
                    "cluster": {
                        "server": self.url,
                        "certificate-authority-data": base64.b64encode(self.ca_pem).decode(),
                    },
                }
            ],
            "users": [{"name": context, "user": {"token": self.token}}],
            "contexts": [
                {"name": context, "context": {"cluster": context, "user": context, "namespace": "default"}}
            ],
            "current-context": context,
            "preferences": {},
        }

    def write_kubeconfig(self, path: str | os.PathLike[str], context: str = "sandbox") -> Path:
        """Write a kubeconfig for this cluster (mode 0600: it holds the token).

        Written to a temp file then renamed: whoever waits for the file to appear (scripts, the
        benchmarks) never reads it half-written.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                yaml.safe_dump(self.kubeconfig(context), fh, sort_keys=False)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        return target
