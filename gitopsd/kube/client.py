"""KubeClient: the official ``kubernetes`` client (ApiClient + DynamicClient discovery) behind small methods.

Requests go through the official client's Configuration and connection pool (TLS, client certificates,
proxy); the per-request serialization is ours (see ``_raw``).

Objects go in and come out as plain dicts. Discovery is cached in a file per cluster inside ``cache_dir``
(not the shared /tmp default) and refreshed when a kind is missing (a CRD created during a sync). Every
failure leaves as a gitopsd.kube.errors.KubeError carrying the API server's Status message; ApiException
and urllib3 errors never escape this module, and credentials never appear in messages.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError, ResourceNotUniqueError

from gitopsd.kube.credentials import ClusterCredentials
from gitopsd.kube.errors import (
    Conflict,
    Expired,
    Forbidden,
    Invalid,
    KubeError,
    NotFound,
    ServerError,
    Timeout,
    Unauthorized,
    UnknownKind,
    Unreachable,
)
from gitopsd.kube.types import ResourceInfo

_BY_STATUS: dict[int, type[KubeError]] = {
    400: Invalid,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Expired,
    422: Invalid,
    408: Timeout,
    504: Timeout,
}
_MAX_MESSAGE = 2000
_MAX_TRIES = 10  # a throttled request is tried at most this often (client-go's default)
_Query = list[tuple[str, Any]]


def _status_error(status: int, body: bytes | str | None, what: str) -> KubeError:
    """Build our error from an HTTP status and a (maybe) Kubernetes Status body."""
    message = ""
    reason = None
    if body:
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            parsed = None
        if isinstance(parsed, Mapping):
            message = str(parsed.get("message") or "")
            reason = str(parsed.get("reason") or "") or None
        elif isinstance(body, bytes | str):
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            message = text.strip()[:200]
    if not message:
        message = {401: "Unauthorized (the cluster refused the credentials)", 403: "Forbidden"}.get(
            status, f"HTTP {status}"
        )
    cls = _BY_STATUS.get(status, ServerError)
    return cls(f"{what}: {message}"[:_MAX_MESSAGE], status=status, reason=reason)


def _retry_after(status: int, header: str | None) -> float | None:
    """Seconds to wait before trying again, for a 429 or 5xx answer carrying ``Retry-After``
    (whole seconds, as the API server sends); None: do not retry."""
    if header is None or not (status == 429 or 500 <= status <= 599):
        return None
    try:
        seconds = int(header.strip())
    except ValueError:
        return None
    return float(seconds) if seconds >= 0 else None


def _transport_error(exc: BaseException, what: str) -> KubeError:
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2: a refused connection is not a timeout.
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return Unreachable(f"{what}: cannot reach the API server: {_clean(exc)}")
    if isinstance(exc, urllib3.exceptions.TimeoutError) or (
        isinstance(exc, urllib3.exceptions.MaxRetryError)
        and isinstance(exc.reason, urllib3.exceptions.TimeoutError)
    ):
        return Timeout(f"{what}: the API server did not answer in time")
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    if isinstance(exc, urllib3.exceptions.SSLError) or (
        isinstance(exc, ApiException) and "SSL" in str(exc.reason)
    ):
        return Unreachable(f"{what}: TLS error talking to the API server: {_clean(exc)}")
    return Unreachable(f"{what}: cannot reach the API server: {_clean(exc)}")


def _clean(exc: BaseException) -> str:
    text = str(exc.reason) if isinstance(exc, ApiException) else str(exc)
    # urllib3 messages hold the connection object's repr; keep the human part.
    if ": " in text and "<" in text:
        text = text.split(": ", 1)[-1]
    return text.strip()[:300]


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


class KubeClient:
    """One cluster. Thread-safe for requests; discovery is serialized."""

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
        self._base_path = (urllib3.util.parse_url(self._base_url).path or "") if self._direct else self._base_url
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
        self._lock = threading.RLock()
        self._infos: dict[tuple[str, str], ResourceInfo] = {}

    # ---------------------------------------------------------------- plumbing

    def close(self) -> None:
        try:
            self._api.close()
        except Exception:  # closing a pool that never connected can fail harmlessly
            pass
        if self._tls_dir is not None:
            self._tls_dir.cleanup()
            self._tls_dir = None

    def __enter__(self) -> KubeClient:
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
        for attempt in range(_MAX_TRIES):
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
                raise _transport_error(exc, what) from None
            if stream and 200 <= response.status < 300:
                return response
            try:
                data = response.data if not stream else response.read()
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise _transport_error(exc, what) from None
            finally:
                if stream:
                    response.release_conn()
            if 200 <= response.status < 300:
                break
            # Throttled (API priority and fairness answers 429) or told to come back: wait as the
            # server says, as client-go does, within the request's own time budget.
            wait = _retry_after(response.status, response.headers.get("Retry-After"))
            if wait is None or waited + wait > budget or attempt == _MAX_TRIES - 1:
                raise _status_error(response.status, data, what)
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

    # ---------------------------------------------------------------- discovery

    def server_version(self) -> str:
        """``gitVersion`` from /version (e.g. ``v1.31.0``)."""
        info = self._raw("GET", "/version", what="GET /version")
        return str(info.get("gitVersion") or "") if isinstance(info, Mapping) else ""

    def check(self) -> str:
        """Connection check for ``cluster list``: the version, after an authenticated request (/version may
        be open to anonymous users, /api is not), so bad credentials show up as Unauthorized."""
        self._raw("GET", "/api", what="GET /api")
        return self.server_version()

    def _dynamic(self) -> DynamicClient:
        if self._dyn is None:
            try:
                self._dyn = DynamicClient(self._api, cache_file=self._discovery_file)
            except (DynamicApiError, ApiException) as exc:
                if exc.status:
                    raise _status_error(exc.status, exc.body, "API discovery") from None
                raise _transport_error(exc, "API discovery") from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise _transport_error(exc, "API discovery") from None
        return self._dyn

    def resource_info(self, api_version: str, kind: str) -> ResourceInfo:
        key = (api_version, kind)
        with self._lock:
            cached = self._infos.get(key)
            if cached is not None:
                return cached
            dyn = self._dynamic()
            try:
                # LazyDiscoverer refreshes its cache once on a miss: CRDs created since are found.
                res = dyn.resources.get(api_version=api_version, kind=kind)
            except (ResourceNotFoundError, ResourceNotUniqueError):
                raise UnknownKind(f"the cluster does not serve {kind} in {api_version}") from None
            except (DynamicApiError, ApiException) as exc:
                if exc.status:
                    raise _status_error(exc.status, exc.body, "API discovery") from None
                raise _transport_error(exc, "API discovery") from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise _transport_error(exc, "API discovery") from None
            group, _, version = api_version.rpartition("/")
            info = ResourceInfo(group, version, kind, str(res.name), bool(res.namespaced))
            self._infos[key] = info
            return info

    def _path(self, info: ResourceInfo, namespace: str | None, name: str | None = None) -> str:
        base = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
        if info.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{info.plural}"
        if name is not None:
            base += f"/{quote(name, safe='')}"
        return base

    @staticmethod
    def _ident(obj: Mapping[str, Any]) -> tuple[str, str, str, str | None]:
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        meta = obj.get("metadata")
        name = meta.get("name") if isinstance(meta, Mapping) else None
        namespace = meta.get("namespace") if isinstance(meta, Mapping) else None
        if not isinstance(api_version, str) or not isinstance(kind, str) or not isinstance(name, str):
            raise Invalid("object needs apiVersion, kind and metadata.name", status=0)
        return api_version, kind, name, namespace if isinstance(namespace, str) and namespace else None

    # ---------------------------------------------------------------- reads

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """All objects of a kind (in ``namespace``, or everywhere), as dicts with apiVersion and kind set."""
        return self.list_with_version(api_version, kind, namespace, label_selector)[0]

    def list_with_version(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> tuple[builtins.list[dict[str, Any]], str]:
        """``list``, and the list's resourceVersion: where a watch that follows it starts."""
        info = self.resource_info(api_version, kind)
        path = self._path(info, namespace)
        items: builtins.list[dict[str, Any]] = []
        token: str | None = None
        what = f"list {kind}" + (f" in {namespace}" if namespace else "")
        while True:
            query: list[tuple[str, Any]] = [("limit", 500)]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if token:
                query.append(("continue", token))
            page = self._raw("GET", path, what=what, query=query)
            for item in page.get("items") or []:
                if isinstance(item, dict):
                    # Items of typed lists come without apiVersion/kind.
                    item.setdefault("apiVersion", api_version)
                    item.setdefault("kind", kind)
                    items.append(item)
            meta = page.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                # Pages of one list share a snapshot: the last page's resourceVersion is the list's.
                return items, str(meta.get("resourceVersion") or "")

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        info = self.resource_info(api_version, kind)
        what = f"get {kind} {namespace + '/' if namespace and info.namespaced else ''}{name}"
        obj = self._raw("GET", self._path(info, namespace, name), what=what)
        obj.setdefault("apiVersion", api_version)
        obj.setdefault("kind", kind)
        return dict(obj)

    # ---------------------------------------------------------------- writes

    def _write_query(self, field_manager: str | None, dry_run: bool, force: bool | None = None) -> _Query:
        query: _Query = []
        if field_manager:
            query.append(("fieldManager", field_manager))
        if force is not None:
            query.append(("force", "true" if force else "false"))
        if dry_run:
            query.append(("dryRun", "All"))
        return query

    def server_side_apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = "gitopsd",
        force: bool = False,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        api_version, kind, name, namespace = self._ident(obj)
        info = self.resource_info(api_version, kind)
        if info.namespaced and not namespace:
            raise Invalid(f"{kind} {name} is namespaced and has no namespace", status=0)
        what = f"apply {kind} {namespace + '/' if info.namespaced and namespace else ''}{name}"
        return dict(
            self._raw(
                "PATCH",
                self._path(info, namespace, name),
                what=what,
                query=self._write_query(field_manager, dry_run, force),
                # Serialized here: the client's own deep walk of the body (sanitize_for_serialization)
                # cost more than the request itself. JSON is valid YAML for apply-patch+yaml.
                body=json.dumps(obj, separators=(",", ":")).encode(),
                content_type="application/apply-patch+yaml",
            )
        )

    def create(
        self, obj: Mapping[str, Any], *, field_manager: str = "gitopsd", dry_run: bool = False
    ) -> dict[str, Any]:
        api_version, kind, name, namespace = self._ident(obj)
        info = self.resource_info(api_version, kind)
        what = f"create {kind} {namespace + '/' if info.namespaced and namespace else ''}{name}"
        return dict(
            self._raw(
                "POST",
                self._path(info, namespace),
                what=what,
                query=self._write_query(field_manager, dry_run),
                body=dict(obj),
            )
        )

    def replace(
        self, obj: Mapping[str, Any], *, field_manager: str = "gitopsd", dry_run: bool = False
    ) -> dict[str, Any]:
        api_version, kind, name, namespace = self._ident(obj)
        info = self.resource_info(api_version, kind)
        what = f"replace {kind} {namespace + '/' if info.namespaced and namespace else ''}{name}"
        return dict(
            self._raw(
                "PUT",
                self._path(info, namespace, name),
                what=what,
                query=self._write_query(field_manager, dry_run),
                body=dict(obj),
            )
        )

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Background",
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Returns the server's answer: the object while finalizers keep it, or a Status once it is gone."""
        info = self.resource_info(api_version, kind)
        what = f"delete {kind} {namespace + '/' if info.namespaced and namespace else ''}{name}"
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        if dry_run:
            body["dryRun"] = ["All"]
        answer = self._raw(
            "DELETE",
            self._path(info, namespace, name),
            what=what,
            query=[("dryRun", "All")] if dry_run else [],
            body=body,
        )
        return dict(answer) if isinstance(answer, Mapping) else {}

    # ---------------------------------------------------------------- watch

    def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        timeout_seconds: int = 300,
        label_selector: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Events ``{"type": ADDED|MODIFIED|DELETED|BOOKMARK, "object": {...}}`` until the server ends the
        watch (about ``timeout_seconds``). An ERROR event is raised as its KubeError (Expired: list again)."""
        info = self.resource_info(api_version, kind)
        query: list[tuple[str, Any]] = [("watch", "true"), ("timeoutSeconds", timeout_seconds)]
        if resource_version:
            query.append(("resourceVersion", resource_version))
            query.append(("allowWatchBookmarks", "true"))
        if label_selector:
            query.append(("labelSelector", label_selector))
        what = f"watch {kind}"
        response = self._raw(
            "GET",
            self._path(info, namespace),
            what=what,
            query=query,
            timeout=timeout_seconds + self.timeout,
            stream=True,
        )
        buffer = b""
        try:
            for chunk in response.stream(64 * 1024, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    event = self._event(line, api_version, kind, what)
                    if event is not None:
                        yield event
            event = self._event(buffer, api_version, kind, what)
            if event is not None:
                yield event
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _transport_error(exc, what) from None
        finally:
            response.release_conn()

    @staticmethod
    def _event(line: bytes, api_version: str, kind: str, what: str) -> dict[str, Any] | None:
        line = line.strip()
        if not line:
            return None
        try:
            event = json.loads(line)
        except ValueError:
            raise ServerError(f"{what}: malformed watch event") from None
        if not isinstance(event, dict):
            return None
        obj = event.get("object")
        if event.get("type") == "ERROR":
            status = obj if isinstance(obj, Mapping) else {}
            raise _status_error(int(status.get("code") or 500), json.dumps(status), what)
        if isinstance(obj, dict) and event.get("type") != "BOOKMARK":
            obj.setdefault("apiVersion", api_version)
            obj.setdefault("kind", kind)
        return event
