"""The route table of the JSON API: Argo CD's REST paths → gitopsd RPCs (one line per route).

A route names the HTTP method and path, the RPC it calls, where the request message's fields come
from — `{field.path}` segments of the path, the JSON body (`body="*"` the whole request, or one
field of it), the query string (any field by its JSON or proto name; `query` renames Argo CD's
parameters) — and Argo CD's defaults where they differ from protobuf's zero values.
A `{field=**}` last segment takes the rest of the path. A test checks that every RPC of the proto
has a route or is in GRPC_ONLY.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

APP = "/gitopsd.v1.ApplicationService/"
PROJ = "/gitopsd.v1.ProjectService/"
CLUSTER = "/gitopsd.v1.ClusterService/"
REPO = "/gitopsd.v1.RepositoryService/"
SESSION = "/gitopsd.v1.SessionService/"
ACCOUNT = "/gitopsd.v1.AccountService/"
VERSION = "/gitopsd.v1.VersionService/"
SETTINGS = "/gitopsd.v1.SettingsService/"
APPSET = "/gitopsd.v1.ApplicationSetService/"

LOGIN = SESSION + "Create"
LOGOUT = SESSION + "Delete"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    rpc: str
    # "" no body; "*" the body is the request message; else the name of the field it fills.
    body: str = ""
    # Query parameter → request field (dotted), where Argo CD's name is not the field's.
    query: Mapping[str, str] = field(default_factory=dict)
    # Query values assumed when absent: Argo CD's defaults that differ from protobuf's zero values.
    defaults: Mapping[str, str] = field(default_factory=dict)
    # Rewrites an Argo CD-shaped body into the message's canonical JSON before it is parsed.
    adapt: Callable[[Any], Any] | None = None
    stream: bool = False

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.strip("/").split("/"))


def _argocd_sync_body(doc: Any) -> Any:
    """Argo CD's ApplicationSyncRequest carries `syncOptions: {items: [...]}`, `strategy:
    {hook: {force}}` and `retryStrategy`; gitopsd's SyncApplicationRequest has
    `syncOptions: [...]`, `force` and `retry`. Anything else is parsed (and refused) as is."""
    if not isinstance(doc, dict):
        return doc
    doc = dict(doc)
    options = doc.get("syncOptions")
    if isinstance(options, dict) and set(options) <= {"items"}:
        doc["syncOptions"] = options.get("items") or []
    strategy = doc.get("strategy")
    # `hook` is what a gitopsd sync does (hooks run); `apply` (no hooks) is not: it stays and is refused.
    if isinstance(strategy, dict) and set(strategy) <= {"hook"}:
        kinds = list(strategy.values())
        if all(isinstance(k, dict) and set(k) <= {"force"} for k in kinds):
            doc.pop("strategy")  # not Argo CD's shape otherwise: the parser names it
            if any(k.get("force") is True for k in kinds):
                doc["force"] = True
    if "retryStrategy" in doc and "retry" not in doc:
        doc["retry"] = doc.pop("retryStrategy")
    return doc


def _argocd_generate_body(doc: Any) -> Any:
    """Argo CD's ApplicationSetGenerateRequest names the set `applicationSet`; the field is `applicationset`."""
    if isinstance(doc, dict) and "applicationSet" in doc and "applicationset" not in doc:
        doc = dict(doc)
        doc["applicationset"] = doc.pop("applicationSet")
    return doc


_A = "/api/v1/applications"
ROUTES: list[Route] = [
    # sessions (login is the one call without a token)
    Route("POST", "/api/v1/session", LOGIN, body="*"),
    Route("DELETE", "/api/v1/session", LOGOUT),
    Route("GET", "/api/v1/session/userinfo", SESSION + "GetUserInfo"),
    # applications
    Route("GET", _A, APP + "List"),
    Route("POST", _A, APP + "Create", body="application"),
    # gitopsd's own (Argo CD has no batch create): {"requests": [CreateApplicationRequest...]}
    Route("POST", _A + ":batchCreate", APP + "BatchCreate", body="*"),
    Route("GET", _A + "/{name}", APP + "Get"),
    Route("PUT", _A + "/{application.metadata.name}", APP + "Update", body="application"),
    # Argo CD deletes the application's resources unless `cascade=false`.
    Route("DELETE", _A + "/{name}", APP + "Delete", defaults={"cascade": "true"}),
    Route("POST", _A + "/{name}/sync", APP + "Sync", body="*", adapt=_argocd_sync_body),
    Route("POST", _A + "/{name}/rollback", APP + "Rollback", body="*"),
    Route("DELETE", _A + "/{name}/operation", APP + "TerminateOperation"),
    Route("GET", _A + "/{name}/manifests", APP + "Manifests"),
    # Argo CD's `name` here is the resource's: the application is the path's.
    Route("GET", _A + "/{name}/managed-resources", APP + "ManagedResources", query={"name": "resource_name"}),
    # Kubernetes events of the application's resources, as Argo CD's `events`.
    Route("GET", _A + "/{name}/events", APP + "ListResourceEvents"),
    Route("PATCH", _A + "/{name}", APP + "Patch", body="*"),
    Route("GET", _A + "/{application_name}/resource-tree", APP + "ResourceTree"),
    Route("GET", _A + "/{name}/logs", APP + "PodLogs", stream=True),
    Route("GET", _A + "/{name}/pods/{pod_name}/logs", APP + "PodLogs", stream=True),
    # One live resource: namespace, resourceName, version, group, kind in the query (as Argo CD).
    Route("GET", _A + "/{name}/resource", APP + "GetResource"),
    Route("POST", _A + "/{name}/resource", APP + "PatchResource", body="patch"),
    Route("DELETE", _A + "/{name}/resource", APP + "DeleteResource"),
    Route("GET", _A + "/{name}/resource/actions", APP + "ListResourceActions"),
    Route("POST", _A + "/{name}/resource/actions", APP + "RunResourceAction", body="action"),
    # gitopsd's own: its event log (who changed what), history, and diffs (Argo CD's are in the browser).
    Route("GET", _A + "/{name}/eventlog", APP + "ListEvents"),
    Route("GET", _A + "/{name}/history", APP + "History"),
    Route("POST", _A + "/{name}/diff", APP + "Diff", body="*"),
    # As Argo CD's, the stream starts with the current state of each application (ADDED).
    Route("GET", "/api/v1/stream/applications", APP + "Watch", defaults={"sendInitial": "true"}, stream=True),
    Route(
        "GET",
        "/api/v1/stream/applications/{application_name}/resource-tree",
        APP + "WatchResourceTree",
        stream=True,
    ),
    # ApplicationSets (Argo CD's paths; the create body is the set itself, `upsert` in the query)
    Route("GET", "/api/v1/applicationsets", APPSET + "List"),
    Route("POST", "/api/v1/applicationsets", APPSET + "Create", body="applicationset"),
    Route(
        "POST", "/api/v1/applicationsets/generate", APPSET + "Generate", body="*", adapt=_argocd_generate_body
    ),
    Route("GET", "/api/v1/applicationsets/{name}", APPSET + "Get"),
    Route("DELETE", "/api/v1/applicationsets/{name}", APPSET + "Delete"),
    # projects
    Route("GET", "/api/v1/projects", PROJ + "List"),
    Route("POST", "/api/v1/projects", PROJ + "Create", body="*"),
    Route("GET", "/api/v1/projects/{name}", PROJ + "Get"),
    Route("PUT", "/api/v1/projects/{project.metadata.name}", PROJ + "Update", body="*"),
    Route("DELETE", "/api/v1/projects/{name}", PROJ + "Delete"),
    Route("POST", "/api/v1/projects/{project}/roles/{role}/token", PROJ + "CreateToken", body="*"),
    Route("DELETE", "/api/v1/projects/{project}/roles/{role}/token/{iat}", PROJ + "DeleteToken"),
    # clusters: the path names the server URL (URL-encoded)
    Route("GET", "/api/v1/clusters", CLUSTER + "List"),
    Route("POST", "/api/v1/clusters", CLUSTER + "Create", body="cluster"),
    Route("GET", "/api/v1/clusters/{server}", CLUSTER + "Get"),
    Route("PUT", "/api/v1/clusters/{cluster.server}", CLUSTER + "Update", body="cluster"),
    Route("DELETE", "/api/v1/clusters/{server}", CLUSTER + "Delete"),
    # repositories: the path names the repository URL (URL-encoded)
    Route("GET", "/api/v1/repositories", REPO + "List"),
    Route("POST", "/api/v1/repositories", REPO + "Create", body="repo"),
    Route("GET", "/api/v1/repositories/{repo}", REPO + "Get"),
    Route("PUT", "/api/v1/repositories/{repo.repo}", REPO + "Update", body="repo"),
    Route("DELETE", "/api/v1/repositories/{repo}", REPO + "Delete"),
    Route("GET", "/api/v1/repositories/{repo}/refs", REPO + "ListRefs"),
    Route("GET", "/api/v1/repositories/{repo}/revisions/{revision}", REPO + "ResolveRevision"),
    Route("GET", "/api/v1/repocreds", REPO + "ListCredentials"),
    Route("POST", "/api/v1/repocreds", REPO + "CreateCredentials", body="creds"),
    Route("DELETE", "/api/v1/repocreds/{url}", REPO + "DeleteCredentials"),
    # accounts
    Route("GET", "/api/v1/account", ACCOUNT + "List"),
    Route("PUT", "/api/v1/account/password", ACCOUNT + "UpdatePassword", body="*"),
    Route("GET", "/api/v1/account/{name}", ACCOUNT + "Get"),
    Route("POST", "/api/v1/account/{name}/token", ACCOUNT + "CreateToken", body="*"),
    Route("DELETE", "/api/v1/account/{name}/token/{id}", ACCOUNT + "DeleteToken"),
    # The object may hold slashes (PROJECT/APP): the rest of the path; an action with slashes is
    # sent URL-encoded (action%2Fapps%2FDeployment%2Frestart).
    Route("GET", "/api/v1/account/can-i/{resource}/{action}/{subresource=**}", ACCOUNT + "CanI"),
    Route("GET", "/api/v1/settings", SETTINGS + "Get"),
    Route("GET", "/api/version", VERSION + "Version"),
]

# Unary RPCs without a route, and why.
GRPC_ONLY: dict[str, str] = {
    APP + "Refresh": "GET /api/v1/applications/{name}?refresh=normal|hard does it, as in Argo CD",
}
