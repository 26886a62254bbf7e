"""Discovery documents: the legacy forms (/api, /apis, /api/v1, /apis/G/V) and the aggregated v2 form.

kubectl asks for the aggregated form and only honours it when the reply's Content-Type is exactly
``AGGREGATED_CONTENT_TYPE``; the official Python client reads the legacy forms.
"""

from __future__ import annotations

from typing import Any

from .resources import Registry, ResourceType

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
SUBRESOURCE_VERBS = ["get", "patch", "update"]
READ_ONLY_SUBRESOURCES = ("log",)  # pods/log: get only


def wants_aggregated(accept: str) -> bool:
    """True when the Accept header's first acceptable type is the v2 aggregated list."""
    for part in accept.split(","):
        params = {p.strip() for p in part.split(";")[1:]}
        if "g=apidiscovery.k8s.io" in params and "v=v2" in params and "as=APIGroupDiscoveryList" in params:
            return True
    return False


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group_list(registry: Registry) -> dict[str, Any]:
    groups = []
    for name, versions, _ in registry.groups():
        if not name:
            continue
        groups.append(_group_entry(name, versions))
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _group_entry(name: str, versions: list[str]) -> dict[str, Any]:
    vers = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": vers, "preferredVersion": vers[0]}


def api_group(registry: Registry, group: str) -> dict[str, Any] | None:
    for name, versions, _ in registry.groups():
        if name == group and group:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(name, versions)}
    return None


def api_resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    for name, _, by_version in registry.groups():
        if name != group or version not in by_version:
            continue
        resources: list[dict[str, Any]] = []
        for rt in by_version[version]:
            entry: dict[str, Any] = {
                "name": rt.plural,
                "singularName": rt.singular_name,
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": list(rt.verbs),
            }
            if rt.short_names:
                entry["shortNames"] = list(rt.short_names)
            if rt.categories:
                entry["categories"] = list(rt.categories)
            resources.append(entry)
            for sub in rt.subresources:
                sub_entry: dict[str, Any] = {
                    "name": f"{rt.plural}/{sub}",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "kind": "Scale" if sub == "scale" else rt.kind,
                    "verbs": ["get"] if sub in READ_ONLY_SUBRESOURCES else list(SUBRESOURCE_VERBS),
                }
                if sub == "scale":
                    sub_entry.update(group="autoscaling", version="v1")
                resources.append(sub_entry)
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}
    return None


def _aggregated_resource(rt: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": rt.plural,
        # Empty group/version means "the same as the enclosing group version", as the real server says.
        "responseKind": {"group": "", "version": "", "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular_name,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    subs = []
    for sub in rt.subresources:
        kind = (
            {"group": "autoscaling", "version": "v1", "kind": "Scale"}
            if sub == "scale"
            else {"group": "", "version": "", "kind": rt.kind}
        )
        verbs = ["get"] if sub in READ_ONLY_SUBRESOURCES else list(SUBRESOURCE_VERBS)
        subs.append({"subresource": sub, "responseKind": kind, "verbs": verbs})
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(registry: Registry, core: bool) -> dict[str, Any]:
    """The APIGroupDiscoveryList for /api (core=True) or /apis."""
    items = []
    for name, versions, by_version in registry.groups():
        if bool(name) == core:
            continue
        items.append(
            {
                "metadata": {"name": name} if name else {},
                "versions": [
                    {
                        "version": v,
                        "resources": [_aggregated_resource(rt) for rt in by_version[v]],
                        "freshness": "Current",
                    }
                    for v in versions
                ],
            }
        )
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }
