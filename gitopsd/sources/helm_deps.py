"""Which chart repositories a Helm chart from Git depends on, and the credentials sent for them.

The Helm sidecar builds a chart's `dependencies:` before rendering (sidecars/helm/gitopsd_helm/deps.py);
for repositories that need credentials it uses those the daemon holds (`gitopsd repo add`,
`gitopsd repocreds add`) for the application's project. Only the credentials of repositories the
chart (or a file:// dependency of it, inside the checkout) names are sent, each for its own URL.
Pure file reading and lookups; nothing here talks to a repository.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from gitopsd.api.gitopsd.v1 import renderer_pb2
from gitopsd.sources.errors import RendererError
from gitopsd.sources.gitauth import CredentialsLookup
from gitopsd.sources.render_inputs import normalize_repo_url_lenient
from gitopsd.sources.renderer_client import RendererClient

# Charts looked at (the chart and its file:// dependencies, transitively) and repositories looked up
# (each costs a credentials lookup): more is not a real chart, and the sidecar refuses >100 dependencies.
_MAX_CHARTS = 64
_MAX_REPOSITORIES = 100
_REMOTE = ("http://", "https://", "oci://")


def _declared(chart_dir: Path) -> tuple[list[str], bool]:
    """The `repository` of each dependency in Chart.yaml (or requirements.yaml of apiVersion v1), and
    whether both were read (False when one is there but cannot be read as YAML)."""
    repositories: list[str] = []
    complete = True
    for name in ("Chart.yaml", "requirements.yaml"):
        try:
            document = yaml.safe_load((chart_dir / name).read_text("utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
            complete = False
            continue
        dependencies = document.get("dependencies") if isinstance(document, dict) else None
        for dep in dependencies if isinstance(dependencies, list) else []:
            repository = dep.get("repository") if isinstance(dep, dict) else None
            if isinstance(repository, str) and repository.strip():
                repositories.append(repository.strip())
    return repositories, complete


def _walk_charts(root: Path, app_rel: str) -> tuple[list[str], list[str], bool]:
    """The chart at `app_rel` and its file:// dependencies inside the checkout, transitively; the
    remote repositories (http(s)://, oci://) they name; and whether that is all of them (False past
    the caps, or when a chart's dependency list could not be read)."""
    charts: list[str] = []
    found: list[str] = []
    stack: list[str] = [app_rel]
    complete = True
    while stack:
        chart = stack.pop()
        if chart in charts:
            continue
        if len(charts) >= _MAX_CHARTS:
            return charts, found, False
        charts.append(chart)
        declared, read = _declared(root / chart)
        complete = complete and read
        for repository in declared:
            if repository.startswith("file://"):
                local = posixpath.normpath(posixpath.join(chart, repository.removeprefix("file://")))
                if not (local == ".." or local.startswith("../") or repository.startswith("file:///")):
                    stack.append("" if local == "." else local)
            elif repository.lower().startswith(_REMOTE) and repository not in found:
                found.append(repository)
                if len(found) >= _MAX_REPOSITORIES:
                    return charts, found, False
    return charts, found, complete


def dependency_repositories(root: Path, app_rel: str) -> list[str]:
    """The remote repositories (http(s)://, oci://) named by the chart at `app_rel` and its file:// dependencies."""
    return _walk_charts(root, app_rel)[1]


def helm_sent_paths(root: Path, app_rel: str, inputs: set[str] | None) -> set[str] | None:
    """The repository paths a Helm render from Git needs sent: None for the whole repository.

    `inputs` is helm_inputs (the chart directory, value and file-parameter files). The sidecar also
    packages file:// dependencies from the tree, and theirs in turn (sidecars/helm/gitopsd_helm/deps.py),
    each path relative to the chart naming it; it reads nothing else of the repository.
    """
    if inputs is None:
        return None
    charts, _, complete = _walk_charts(root, app_rel)
    return {*inputs, *charts} if complete else None


def dependency_credentials(
    root: Path, app_rel: str, lookup: CredentialsLookup, project: str
) -> list[renderer_pb2.ChartReference]:
    """Credentials the project may use for each repository the chart's dependencies name (as written)."""
    return credentials_for_urls(dependency_repositories(root, app_rel), lookup, project)


def render_pulled_chart(
    client: RendererClient,
    request: renderer_pb2.RenderRequest,
    timeout: float,
    lookup: CredentialsLookup,
    project: str,
) -> tuple[list[dict[str, Any]], list[str], str]:
    """Render a chart from a chart repository or registry; a pulled chart's dependencies are known only
    to the sidecar, so when fetching some without credentials failed, try once more with ours for them."""
    try:
        return client.render(request, timeout=timeout)
    except RendererError as exc:
        retry = credentials_for_retry(request, exc.needs_credentials, lookup, project)
        if not retry:
            raise
    request.dependency_credentials.extend(retry)
    return client.render(request, timeout=timeout)


def credentials_for_retry(
    request: renderer_pb2.RenderRequest, needed: Sequence[str], lookup: CredentialsLookup, project: str
) -> list[renderer_pb2.ChartReference]:
    """For a render that failed fetching these repositories without credentials (a pulled chart's
    dependencies, which the daemon cannot read beforehand): the credentials held for them, if any
    were not sent already. Empty: trying again would change nothing."""
    sent = {entry.repo_url.rstrip("/") for entry in request.dependency_credentials}
    wanted = [url for url in needed[:_MAX_REPOSITORIES] if url.lower().startswith(_REMOTE)]
    return [c for c in credentials_for_urls(wanted, lookup, project) if c.repo_url.rstrip("/") not in sent]


def credentials_for_urls(
    urls: Sequence[str], lookup: CredentialsLookup, project: str
) -> list[renderer_pb2.ChartReference]:
    """The credentials the project may use for each URL (found by any spelling of it)."""
    out: list[renderer_pb2.ChartReference] = []
    for url in urls:
        # OCI registries are registered with or without the oci:// scheme (Argo CD's form has none).
        candidates = [url, url.removeprefix("oci://")] if url.lower().startswith("oci://") else [url]
        creds = next(
            (
                c
                for c in (lookup(normalize_repo_url_lenient(u), project) for u in candidates)
                if c is not None
            ),
            None,
        )
        if creds is None:
            continue
        out.append(
            renderer_pb2.ChartReference(
                repo_url=url,
                username=creds.username,
                password=creds.password,
                insecure_skip_tls_verify=creds.insecure_skip_server_verification,
                plain_http=creds.insecure_oci_force_http,
            )
        )
    return out
