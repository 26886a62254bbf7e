"""AppResources: what the resource RPCs do, on an application named in the request. The servicer
(gitopsd.server.servicers.app_resources) stays a translation of messages; RBAC has been decided
before (gitopsd.server.permissions)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import json_merge_patch
import jsonpatch

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.api.gitopsd.v1 import resource_pb2 as respb
from gitopsd.app.applications import Applications
from gitopsd.app.cachedclient import CachedKubeClient
from gitopsd.app.connections import Connections
from gitopsd.app.errors import AppError, InvalidArgument, NotFound, Unavailable
from gitopsd.app.resources import access, actions
from gitopsd.app.resources.kube_events import resource_events
from gitopsd.app.resources.tree import LiveObject, descendants, managed_live, node_of
from gitopsd.engine.health import LuaHealthChecks
from gitopsd.kube.errors import KubeError
from gitopsd.kube.errors import NotFound as KubeNotFound
from gitopsd.kube.podlogs import LogQuery
from gitopsd.protojson import DocumentError, parse_document, to_document

# Pods whose logs one PodLogs call reads at most (as Argo CD's maxPodLogsToRender).
MAX_LOG_PODS = 10
MAX_TAIL_LINES = 100_000


def kube_failure(exc: KubeError) -> AppError:
    """A cluster's answer to a user's request: its own words, as the matching error."""
    if isinstance(exc, KubeNotFound):
        return NotFound(str(exc))
    if exc.cluster_unavailable:
        return Unavailable(f"cluster: {exc}")
    return InvalidArgument(str(exc))


class AppResources:
    def __init__(
        self,
        apps: Applications,
        connections: Connections,
        health_checks: Callable[[], LuaHealthChecks | None] = lambda: None,
    ) -> None:
        self._apps = apps
        self._connections = connections
        self._health = health_checks

    # -- reading ------------------------------------------------------------------------

    def client_for(self, app: apppb.Application) -> CachedKubeClient:
        _, client = self._connections.for_destination(app.spec.destination)
        return client

    def _items(self, name: str) -> tuple[apppb.Application, CachedKubeClient, list[LiveObject]]:
        app = self._apps.get(name)
        client = self.client_for(app)
        try:
            return app, client, descendants(client, managed_live(client, app))
        except KubeError as exc:
            raise kube_failure(exc) from None

    def namespaces(self, name: str) -> set[str]:
        """Where the application's objects are or will be: its destination and its resources' namespaces."""
        app = self._apps.get(name)
        return {app.spec.destination.namespace} | {r.namespace for r in app.status.resources}

    def tree(self, name: str) -> respb.ApplicationTree:
        _, _, items = self._items(name)
        health = self._health()
        return respb.ApplicationTree(nodes=[node_of(i, health) for i in items])

    def events(self, q: respb.ResourceEventsQuery) -> respb.KubeEventList:
        app, client, items = self._items(q.name)
        if q.resource_name or q.resource_uid:
            items = [
                i
                for i in items
                if (not q.resource_name or i.key.name == q.resource_name)
                and (not q.resource_namespace or i.key.namespace == q.resource_namespace)
                and (not q.resource_uid or (i.obj.get("metadata") or {}).get("uid") == q.resource_uid)
            ]
        found = resource_events(client, items)
        if not q.resource_name and not q.resource_uid:
            found = self._app_events(app) + found
            found.sort(key=lambda e: e.last_timestamp)
        return respb.KubeEventList(items=found)

    def _app_events(self, app: apppb.Application) -> list[respb.KubeEvent]:
        """The application's own event log, as events of the Application object."""
        out = []
        for n, e in enumerate(self._apps.event_log.list(app.metadata.name)):
            out.append(
                respb.KubeEvent(
                    metadata=common_pb2.ObjectMeta(name=f"{app.metadata.name}.{n}", creation_timestamp=e.timestamp),
                    involved_object=respb.ObjectReference(
                        kind="Application", name=app.metadata.name, api_version="argoproj.io/v1alpha1"
                    ),
                    reason=e.reason,
                    message=e.message,
                    type=e.type,
                    source=respb.EventSource(component="gitopsd"),
                    first_timestamp=e.timestamp,
                    last_timestamp=e.timestamp,
                    count=1,
                )
            )
        return out

    def _find(self, name: str, group: str, kind: str, namespace: str, resource: str) -> tuple[CachedKubeClient, LiveObject]:
        app = self._apps.get(name)
        client = self.client_for(app)
        try:
            return client, access.find(client, app, group, kind, namespace, resource)
        except KubeError as exc:
            raise kube_failure(exc) from None

    def get(self, r: respb.ApplicationResourceRequest) -> respb.ApplicationResourceResponse:
        _, item = self._find(r.name, r.group, r.kind, r.namespace, r.resource_name)
        return respb.ApplicationResourceResponse(manifest=access.manifest_of(item.obj))

    # -- writing ------------------------------------------------------------------------

    def patch(self, r: respb.ApplicationResourcePatchRequest) -> respb.ApplicationResourceResponse:
        client, item = self._find(r.name, r.group, r.kind, r.namespace, r.resource_name)
        try:
            answer = access.patch(client, item, r.patch, r.patch_type)
        except KubeError as exc:
            raise kube_failure(exc) from None
        return respb.ApplicationResourceResponse(manifest=access.manifest_of(answer))

    def delete(self, r: respb.ApplicationResourceDeleteRequest) -> None:
        client, item = self._find(r.name, r.group, r.kind, r.namespace, r.resource_name)
        try:
            access.delete(client, item, force=r.force, orphan=r.orphan)
        except KubeError as exc:
            raise kube_failure(exc) from None

    def list_actions(self, r: respb.ApplicationResourceRequest) -> respb.ResourceActionsListResponse:
        _, item = self._find(r.name, r.group, r.kind, r.namespace, r.resource_name)
        return respb.ResourceActionsListResponse(
            actions=[respb.ResourceAction(name=n, disabled=d, display_name=n) for n, d in actions.available(item)]
        )

    def run_action(self, r: respb.ResourceActionRunRequest) -> None:
        client, item = self._find(r.name, r.group, r.kind, r.namespace, r.resource_name)
        try:
            actions.run(client, item, r.action)
        except KubeError as exc:
            raise kube_failure(exc) from None

    # -- logs ---------------------------------------------------------------------------

    def log_targets(self, q: respb.ApplicationPodLogsQuery) -> tuple[CachedKubeClient, list[LogQuery]]:
        """The client and the pods (at most MAX_LOG_PODS) whose logs the query asks for."""
        if q.tail_lines < 0 or q.tail_lines > MAX_TAIL_LINES:
            raise InvalidArgument(f"tailLines: must be between 0 and {MAX_TAIL_LINES}, got {q.tail_lines}")
        if q.since_seconds < 0:
            raise InvalidArgument(f"sinceSeconds: must not be negative, got {q.since_seconds}")
        app, client, items = self._items(q.name)
        if q.kind and q.resource_name and not q.pod_name:
            roots = [
                i for i in items
                if (i.key.group, i.key.kind, i.key.name) == (q.group, q.kind, q.resource_name)
                and (not q.namespace or i.key.namespace == q.namespace)
            ]
            if not roots:
                raise NotFound(f"{q.kind} {q.resource_name} is not a live resource of application {q.name!r}")
            try:
                items = descendants(client, roots)
            except KubeError as exc:
                raise kube_failure(exc) from None
        pods = [i for i in items if i.key.group == "" and i.key.kind == "Pod"]
        if q.pod_name:
            pods = [p for p in pods if p.key.name == q.pod_name and (not q.namespace or p.key.namespace == q.namespace)]
            if not pods:
                raise NotFound(f"pod {q.pod_name} is not a pod of application {q.name!r}")
        pods.sort(key=lambda p: (p.key.namespace, p.key.name))
        targets = [
            LogQuery(
                namespace=p.key.namespace,
                pod=p.key.name,
                container=q.container,
                follow=q.follow,
                tail_lines=q.tail_lines or None,
                since_seconds=q.since_seconds or None,
                previous=q.previous,
            )
            for p in pods[:MAX_LOG_PODS]
        ]
        return client, targets

    # -- the application document ---------------------------------------------------------

    def patch_app(self, r: respb.ApplicationPatchRequest, actor: str) -> apppb.Application:
        app = self._apps.get(r.name)
        doc = to_document(app)
        doc.pop("status", None)
        doc.pop("operation", None)
        patch_type = r.patch_type or "merge"
        if len(r.patch) > access.MAX_PATCH_BYTES:
            raise InvalidArgument(f"patch: {len(r.patch)} bytes is over the {access.MAX_PATCH_BYTES}-byte limit")
        try:
            body: Any = json.loads(r.patch)
        except ValueError as exc:
            raise InvalidArgument(f"patch: not JSON ({exc})") from None
        if patch_type == "merge":
            if not isinstance(body, dict):
                raise InvalidArgument("patch: a merge patch is a JSON object")
            patched = json_merge_patch.merge(copy.deepcopy(doc), body)
        elif patch_type == "json":
            if not isinstance(body, list):
                raise InvalidArgument("patch: a JSON patch is a list of operations")
            try:
                patched = jsonpatch.JsonPatch(body).apply(doc)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as exc:
                raise InvalidArgument(f"patch: {exc}") from None
        else:
            raise InvalidArgument(f"patchType: {r.patch_type!r} is not merge or json")
        if not isinstance(patched, dict):
            raise InvalidArgument("patch: the result is not an Application document")
        meta = patched.get("metadata")
        if not isinstance(meta, dict) or meta.get("name") != app.metadata.name:
            raise InvalidArgument("patch: metadata.name cannot be changed")
        spec = patched.get("spec")
        if not isinstance(spec, dict) or spec.get("project", "") != doc.get("spec", {}).get("project", ""):
            # Moving needs rights on both projects: `app set --project` (Update) checks them.
            raise InvalidArgument("patch: spec.project cannot be changed by a patch; use gitopsd app set --project")
        try:
            updated = parse_document(patched, apppb.Application())
        except DocumentError as exc:
            raise InvalidArgument(f"patch: {exc}") from None
        # What was read is what is patched: a change in between is a Conflict, not lost.
        updated.metadata.resource_version = app.metadata.resource_version
        return self._apps.update(updated, actor=actor)
