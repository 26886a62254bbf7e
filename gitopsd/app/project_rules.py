"""AppProject rules: which repositories, destinations and kinds a project permits.

Patterns are globs as in Argo CD (`https://github.com/mon-org/*`, `team-*`); a pattern
starting with `!` denies, and a deny wins over any allow. Cluster-scoped kinds are
denied unless clusterResourceWhitelist names them; namespaced kinds are allowed
unless namespaceResourceBlacklist names them or a non-empty whitelist omits them.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.sources.giturl import normalize_repo_url


def _match(pattern: str, value: str) -> bool:
    return fnmatchcase(value, pattern) or pattern == "*"


def _allowed(patterns: Iterable[str], value: str) -> bool:
    patterns = list(patterns)
    if any(p.startswith("!") and _match(p[1:], value) for p in patterns):
        return False
    return any(not p.startswith("!") and _match(p, value) for p in patterns)


def _repo_forms(url: str) -> set[str]:
    forms = {url, url.rstrip("/"), url.removesuffix(".git")}
    try:
        forms.add(normalize_repo_url(url))
    except ValueError:
        pass
    return forms


def source_denial(project: projpb.AppProject, source: apppb.ApplicationSource) -> str | None:
    """Why the project refuses this source, or None."""
    patterns = list(project.spec.source_repos)
    if any(_allowed(patterns, form) for form in _repo_forms(source.repo_url)):
        return None
    return (
        f"repository {source.repo_url!r} is not permitted in project {project.metadata.name!r} "
        f"(spec.sourceRepos: {', '.join(patterns) or 'none'})"
    )


def destination_denial(project: projpb.AppProject, dest: apppb.ApplicationDestination) -> str | None:
    namespace = dest.namespace
    allow, deny = False, False
    for d in project.spec.destinations:
        cluster_ok = (_match(d.server.lstrip("!"), dest.server) if d.server and dest.server else False) or (
            _match(d.name.lstrip("!"), dest.name) if d.name and dest.name else False
        )
        if not cluster_ok:
            continue
        ns_pattern = d.namespace or "*"
        negated = ns_pattern.startswith("!") or d.server.startswith("!") or d.name.startswith("!")
        if _match(ns_pattern.lstrip("!"), namespace):
            if negated:
                deny = True
            else:
                allow = True
    if allow and not deny:
        return None
    where = dest.server or dest.name
    listed = ", ".join(f"{d.server or d.name}/{d.namespace or '*'}" for d in project.spec.destinations) or "none"
    return (
        f"destination {where} namespace {namespace!r} is not permitted in project {project.metadata.name!r} "
        f"(spec.destinations: {listed})"
    )


def _gk_listed(items: Iterable[projpb.GroupKind], group: str, kind: str) -> bool:
    return any(_match(gk.group or "", group) and _match(gk.kind, kind) for gk in items)


def resource_denial(project: projpb.AppProject, group: str, kind: str, namespaced: bool) -> str | None:
    """Why the project refuses to deploy this kind, or None."""
    spec = project.spec
    name = project.metadata.name
    shown = f"{group}/{kind}" if group else kind
    if not namespaced:
        if not _gk_listed(spec.cluster_resource_whitelist, group, kind):
            return f"cluster-scoped {shown} is not permitted in project {name!r} (not in spec.clusterResourceWhitelist)"
        if _gk_listed(spec.cluster_resource_blacklist, group, kind):
            return f"{shown} is not permitted in project {name!r} (spec.clusterResourceBlacklist)"
        return None
    if _gk_listed(spec.namespace_resource_blacklist, group, kind):
        return f"{shown} is not permitted in project {name!r} (spec.namespaceResourceBlacklist)"
    if len(spec.namespace_resource_whitelist) and not _gk_listed(spec.namespace_resource_whitelist, group, kind):
        return f"{shown} is not permitted in project {name!r} (not in spec.namespaceResourceWhitelist)"
    return None


def application_denial(project: projpb.AppProject, app: apppb.Application) -> str | None:
    sources = [app.spec.source] if app.spec.HasField("source") else list(app.spec.sources)
    for src in sources:
        denial = source_denial(project, src)
        if denial:
            return denial
    return destination_denial(project, app.spec.destination)
