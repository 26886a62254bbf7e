"""KubeClient's transport: the official client's Configuration (TLS, client certificates, proxy,
auth headers built once) and one request through its connection pool, with throttled answers
retried as client-go does; every failure leaves as a gitopsd.kube.errors.KubeError.

gitopsd.kube.client builds discovery, reads, writes and watch on KubeTransport.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import urllib3
from kubernetes import client as k8s
from kubernetes.dynamic import DynamicClient

from gitopsd.kube.credentials import ClusterCredentials
from gitopsd.kube.errors import Invalid, ServerError
from gitopsd.kube.httperrors import retry_after, status_error, transport_error
from gitopsd.kube.types import ResourceInfo

MAX_TRIES = 10  # a throttled request is tried at most this often (client-go's default)
Query = list[tuple[str, Any]]


@dataclass(frozen=True)
class AsyncSettings:
    base_url: str
    headers: dict[str, str]
    ssl_context: ssl.SSLContext
    server_hostname: str | None
    proxy: str | None


def _query_text(value: Any) -> str:
    """Query values as the official client writes them (booleans in lower case)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _header_safe(value: str) -> bool:
    """Latin-1 without control characters: CR/LF would split the header, and http.client refuses
    both with the value (a secret here) in its message."""
    return all(ch == "\t" or (" " <= ch <= "\xff" and ch != "\x7f") for ch in value)


def _dump_secret(directory: Path, name: str, data: bytes) -> str:
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return str(path)


_counts_lock = threading.Lock()
_counts: collections.Counter[str] = collections.Counter()


def request_counts() -> dict[str, int]:
    """Requests sent to API servers since the process started, by HTTP method (every cluster,
    retries included): what `gitopsd_kube_requests_total` shows and the scale bench divides by."""
    with _counts_lock:
        return dict(_counts)


class KubeTransport:
    """The connection to one cluster; thread-safe for requests, discovery state for the client."""

    def __init__(
        self, creds: ClusterCredentials, cache_dir: str | os.PathLike[str], timeout: float = 10.0
    ) -> None:
        self.creds = creds
        self.timeout = timeout
        self._cache_dir = Path(cache_dir)
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        server_id = hashlib.sha256(creds.server.encode()).hexdigest()[:16]
        self._discovery_file = str(self._cache_dir / f"discovery-{server_id}.json")
        self._tls_dir: tempfile.TemporaryDirectory[str] | None = None
        config = k8s.Configuration(host=creds.server)
        if creds.bearer_token:
            config.api_key = {"BearerToken": creds.bearer_token}
            config.api_key_prefix = {"BearerToken": "Bearer"}
        if creds.username:
            config.username = creds.username
            config.password = creds.password
        if creds.ca_data:
            config.ca_cert_data = creds.ca_data.decode("ascii", "replace")
        if creds.cert_data and creds.key_data:
            # urllib3 wants files: keep them in a private directory removed on close().
            self._tls_dir = tempfile.TemporaryDirectory(prefix="gitopsd-tls-", dir=str(self._cache_dir))
            os.chmod(self._tls_dir.name, 0o700)
            config.cert_file = _dump_secret(Path(self._tls_dir.name), "client.crt", creds.cert_data)
            config.key_file = _dump_secret(Path(self._tls_dir.name), "client.key", creds.key_data)
        config.verify_ssl = not creds.insecure
        if creds.server_name:
            config.tls_server_name = creds.server_name
        # No silent retries: an unreachable cluster should fail fast, and writes must not be repeated.
        config.retries = False
        config.connection_pool_maxsize = 16
        self._api = k8s.ApiClient(config)
        # The official client's pool manager (a ProxyManager when a proxy is configured). Without a
        # proxy, its connection pool for the API server is used directly: the manager's per-request
        # URL parsing and pool lookup cost ~70 µs, a tenth of a server-side apply.
        self._manager = self._api.rest_client.pool_manager
        self._base_url = config.host.rstrip("/")
        self._direct = not config.proxy
        # Direct: paths go to the host's pool, so keep only the server URL's path prefix (e.g. a
        # Rancher-style /k8s/clusters/c-1); through a proxy: the full URL.
        self._base_path = (
            (urllib3.util.parse_url(self._base_url).path or "") if self._direct else self._base_url
        )
        self._headers = {"Accept": "application/json", **self._api.default_headers}
        if creds.bearer_token:
            self._headers["Authorization"] = config.get_api_key_with_prefix("BearerToken") or ""
        elif creds.username:
            self._headers["Authorization"] = config.get_basic_auth_token() or ""
        if any(not _header_safe(value) for value in self._headers.values()):
            self.close()
            raise Invalid(
                "cluster credentials: the token, username or password holds control characters "
                "(line breaks?) or characters that cannot be sent in an HTTP header",
                status=0,
            )
        self._timeouts: dict[float, urllib3.Timeout] = {}
        self._host_pool: urllib3.HTTPConnectionPool | None = None
        self._dyn: DynamicClient | None = None
        # KubeClient.capabilities(): (when asked, (version, group/versions)).
        self._capabilities: tuple[float, tuple[str, tuple[str, ...]]] | None = None
        self._capabilities_lock = threading.Lock()
        self._lock = threading.RLock()
        self._infos: dict[tuple[str, str], ResourceInfo] = {}
        self._async: AsyncSettings | None = None

    def async_settings(self) -> AsyncSettings:
        """What an asyncio HTTP client needs to reach this cluster as this transport does (the pod log
        streams of gitopsd.kube.podlogs): URL, headers (credentials), TLS context, proxy. Built once."""
        if self._async is None:
            config = self._api.configuration
            context = ssl.create_default_context()
            if config.ssl_ca_cert:
                context.load_verify_locations(cafile=config.ssl_ca_cert)
            if config.ca_cert_data:
                context.load_verify_locations(cadata=config.ca_cert_data)
            if config.cert_file and config.key_file:
                context.load_cert_chain(config.cert_file, config.key_file)
            if not config.verify_ssl:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._async = AsyncSettings(
                self._base_url,
                dict(self._headers),
                context,
                config.tls_server_name or None,
                config.proxy or None,
            )
        return self._async

    # ---------------------------------------------------------------- plumbing

    def close(self) -> None:
        try:
            self._api.close()  # type: ignore[no-untyped-call]  # the kubernetes package is unannotated
        except Exception:  # closing a pool that never connected can fail harmlessly
            pass
        if self._tls_dir is not None:
            self._tls_dir.cleanup()
            self._tls_dir = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KubeClient(server={self.creds.server!r})"

    def _raw(
        self,
        method: str,
        path: str,
        *,
        what: str,
        query: list[tuple[str, Any]] | None = None,
        body: Any = None,
        content_type: str | None = None,
        timeout: float | None = None,
        stream: bool = False,
    ) -> Any:
        """One request through the official client's connection pool (its TLS, proxy and pool settings).

        The ApiClient's own request path (param_serialize, call_api, RESTClientObject.request) walks
        headers, query and body generically on every call; a sync of 1,000 objects spent more CPU
        there than in the requests themselves. Auth headers are built once in __init__ instead.
        """
        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
            if not isinstance(body, bytes):
                body = json.dumps(body, separators=(",", ":")).encode()
        url = self._base_path + path
        if query:
            url += "?" + "&".join(f"{quote(name)}={quote(_query_text(value))}" for name, value in query)
        waited = 0.0
        budget = timeout or self.timeout
        for attempt in range(MAX_TRIES):
            with _counts_lock:
                _counts[method] += 1
            try:
                response = self._pool().urlopen(
                    method,
                    url,
                    body=body,
                    headers=headers,
                    timeout=self._timeout(timeout or self.timeout),
                    retries=False,
                    redirect=False,
                    preload_content=not stream,
                )
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise transport_error(exc, what) from None
            if stream and 200 <= response.status < 300:
                return response
            try:
                data = response.data if not stream else response.read()
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise transport_error(exc, what) from None
            finally:
                if stream:
                    response.release_conn()
            if 200 <= response.status < 300:
                break
            # Throttled (API priority and fairness answers 429) or told to come back: wait as the
            # server says, as client-go does, within the request's own time budget.
            wait = retry_after(response.status, response.headers.get("Retry-After"))
            if wait is None or waited + wait > budget or attempt == MAX_TRIES - 1:
                raise status_error(response.status, data, what)
            time.sleep(wait)
            waited += wait
        if not data:
            return {}
        try:
            return json.loads(data)
        except ValueError:
            raise ServerError(f"{what}: the API server answered with something that is not JSON") from None

    def _pool(self) -> urllib3.PoolManager | urllib3.HTTPConnectionPool:
        """What requests go through: the API server's connection pool, or the proxy manager (full URLs)."""
        if not self._direct:
            return self._manager
        # connection_from_url returns the manager's pool for the host (created once, then reused).
        pool = self._host_pool
        if pool is None or pool.pool is None:  # first use, or closed by clear()/close()
            pool = self._host_pool = self._manager.connection_from_url(self._base_url)
        return pool

    def _timeout(self, seconds: float) -> urllib3.Timeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = self._timeouts[seconds] = urllib3.Timeout(total=seconds)
        return timeout
