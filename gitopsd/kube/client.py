"""KubeClient: the official ``kubernetes`` client (ApiClient + DynamicClient discovery) behind small methods.

Requests go through the official client's Configuration and connection pool (TLS, client certificates,
proxy); the per-request serialization is ours (see ``_raw``).

Objects go in and come out as plain dicts. Discovery is cached in a file per cluster inside ``cache_dir``
(not the shared /tmp default) and refreshed when a kind is missing (a CRD created during a sync). Every
failure leaves as a gitopsd.kube.errors.KubeError carrying the API server's Status message; ApiException
and urllib3 errors never escape this module, and credentials never appear in messages.

The connection and request plumbing is gitopsd.kube.transport's, the mapping of failures to errors
gitopsd.kube.httperrors'.
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import urllib3
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError, ResourceNotUniqueError

from gitopsd.kube.errors import Invalid, KubeError, ServerError, UnknownKind
from gitopsd.kube.httperrors import status_error, transport_error
from gitopsd.kube.transport import KubeTransport, Query
from gitopsd.kube.types import ResourceInfo

# How long a cluster's version and API groups are kept for renders (an upgrade shows within this).
_CAPABILITIES_TTL = 600.0


class KubeClient(KubeTransport):
    """One cluster. Thread-safe for requests; discovery is serialized."""

    # ---------------------------------------------------------------- discovery

    def server_version(self) -> str:
        """``gitVersion`` from /version (e.g. ``v1.31.0``)."""
        info = self._raw("GET", "/version", what="GET /version")
        return str(info.get("gitVersion") or "") if isinstance(info, Mapping) else ""

    def capabilities(self) -> tuple[str, tuple[str, ...]]:
        """(``gitVersion``, every served ``group/version``) of the cluster, as Argo CD gives renders
        (Helm's ``.Capabilities``, a plugin's KUBE_VERSION and KUBE_API_VERSIONS). Asked once and
        kept for _CAPABILITIES_TTL seconds; a cluster that cannot be asked gives ("", ()) for now."""
        with self._capabilities_lock:
            cached = self._capabilities
            if cached is not None and time.monotonic() - cached[0] < _CAPABILITIES_TTL:
                return cached[1]
            try:
                version = self.server_version()
                core = self._raw("GET", "/api", what="GET /api")
                groups = self._raw("GET", "/apis", what="GET /apis")
            except KubeError:
                return "", ()
            served = [str(v) for v in (core.get("versions") or []) if isinstance(v, str)]
            for group in groups.get("groups") or []:
                for v in group.get("versions") or [] if isinstance(group, Mapping) else []:
                    if isinstance(v, Mapping) and isinstance(v.get("groupVersion"), str):
                        served.append(v["groupVersion"])
            answer = (version, tuple(sorted(set(served))))
            self._capabilities = (time.monotonic(), answer)
            return answer

    def check(self) -> str:
        """Connection check for ``cluster list``: the version, after an authenticated request (/version may
        be open to anonymous users, /api is not), so bad credentials show up as Unauthorized."""
        self._raw("GET", "/api", what="GET /api")
        return self.server_version()

    def _dynamic(self) -> DynamicClient:
        if self._dyn is None:
            try:
                # The kubernetes package ships no annotations for its dynamic client.
                self._dyn = DynamicClient(self._api, cache_file=self._discovery_file)  # type: ignore[no-untyped-call]
            except (DynamicApiError, ApiException) as exc:
                if exc.status:
                    raise status_error(exc.status, exc.body, "API discovery") from None
                raise transport_error(exc, "API discovery") from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise transport_error(exc, "API discovery") from None
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
                    raise status_error(exc.status, exc.body, "API discovery") from None
                raise transport_error(exc, "API discovery") from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise transport_error(exc, "API discovery") from None
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

    def _write_query(self, field_manager: str | None, dry_run: bool, force: bool | None = None) -> Query:
        query: Query = []
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

    def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        patch: bytes,
        content_type: str,
        *,
        subresource: str = "",
        field_manager: str = "gitopsd",
    ) -> dict[str, Any]:
        """A merge, JSON or strategic merge patch (``content_type`` says which) of one object, or of its
        ``subresource`` (status); the server checks the patch and answers with the object."""
        info = self.resource_info(api_version, kind)
        where = f"{namespace + '/' if info.namespaced and namespace else ''}{name}"
        path = self._path(info, namespace, name) + (f"/{quote(subresource, safe='')}" if subresource else "")
        return dict(
            self._raw(
                "PATCH",
                path,
                what=f"patch {kind} {where}" + (f" ({subresource})" if subresource else ""),
                query=self._write_query(field_manager, False),
                body=patch,
                content_type=content_type,
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
        grace_period: int | None = None,
    ) -> dict[str, Any]:
        """Returns the server's answer: the object while finalizers keep it, or a Status once it is gone.
        ``grace_period`` 0 deletes a pod at once (kubectl delete --force)."""
        info = self.resource_info(api_version, kind)
        what = f"delete {kind} {namespace + '/' if info.namespaced and namespace else ''}{name}"
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        if grace_period is not None:
            body["gracePeriodSeconds"] = grace_period
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
            raise transport_error(exc, what) from None
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
            raise status_error(int(status.get("code") or 500), json.dumps(status), what)
        if isinstance(obj, dict) and event.get("type") != "BOOKMARK":
            obj.setdefault("apiVersion", api_version)
            obj.setdefault("kind", kind)
        return event
