"""Helm chart dependencies built by the sidecar before rendering: file://, an HTTP chart repository
with Basic auth, an OCI registry, Chart.lock, the dependency cache, and the failures that must never
become an empty render."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import grpc
import helm_python
import pytest
from fixtures.renderers import (
    ChartRepo,
    OciRegistry,
    Sidecar,
    package_chart,
    render_failure,
    source_files,
    write_tree,
)

from gitopsd.api.gitopsd.v1 import application_pb2, renderer_pb2

PASSWORD = "dep-Pa55word-9f3e"
MIB = 1024 * 1024

CACHE_CHART = {
    "templates/cm.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cache
data:
  version: {{ .Chart.Version | quote }}
  size: {{ .Values.size | default "small" | quote }}
""",
}

WEB_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.3.0\n",
    "values.yaml": "replicas: 1\n",
    "templates/cm.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-web
data:
  replicas: {{ .Values.replicas | quote }}
""",
}


def umbrella(*dependencies: dict[str, str]) -> str:
    """Chart.yaml of an umbrella chart: only dependencies, no templates of its own."""
    chart = {"apiVersion": "v2", "name": "shop", "version": "1.0.0", "dependencies": list(dependencies)}
    return json.dumps(chart)


def publish_cache(repo: ChartRepo, tmp_path: Path, *versions: str, name: str = "cache") -> None:
    for version in versions:
        chart = write_tree(
            tmp_path / f"src-{name}-{version}" / name,
            {**CACHE_CHART, "Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\n"},
        )
        repo.publish(chart, version)


def publish_without_dependencies(repo: ChartRepo, *dependencies: dict[str, str]) -> None:
    """Chart `shop` 1.0.0 in `repo`, an archive whose charts/ lacks its dependencies.

    `helm package` refuses to make one; other tools (and older Helm versions) do not.
    """
    chart_yaml = umbrella(*dependencies).encode()
    with tarfile.open(repo.directory / "shop-1.0.0.tgz", "w:gz") as archive:
        info = tarfile.TarInfo("shop/Chart.yaml")
        info.size = len(chart_yaml)
        archive.addfile(info, io.BytesIO(chart_yaml))
    helm_python.repo_index_generate(repo.directory, base_url=repo.url)


def chart_request(
    tree: dict[str, str | bytes], path: str = "charts/shop", **fields: Any
) -> renderer_pb2.RenderRequest:
    return renderer_pb2.RenderRequest(
        source_type="Helm",
        source=application_pb2.ApplicationSource(repo_url="https://git.example.com/shop.git", path=path),
        files=source_files(tree),
        app_name=fields.pop("app_name", "shop"),
        namespace="prod",
        **fields,
    )


def rendered(sidecar: Sidecar, req: renderer_pb2.RenderRequest) -> dict[str, dict[str, Any]]:
    reply = sidecar.stub.Render(req, timeout=60)
    objects = [json.loads(doc) for doc in reply.manifests]
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in objects}


def repo_credentials(repo: ChartRepo) -> list[renderer_pb2.ChartReference]:
    return [renderer_pb2.ChartReference(repo_url=repo.url, username="deploy", password=PASSWORD)]


def archives_served(repo: ChartRepo) -> list[str]:
    return [path for path in repo.served if path.endswith(".tgz")]


def shop_tree(repo: ChartRepo, version: str = "^1.0", **extra: str) -> dict[str, str | bytes]:
    tree: dict[str, str | bytes] = {
        "charts/shop/Chart.yaml": umbrella(
            {"name": "web", "version": ">=0.1.0", "repository": "file://../web"},
            {"name": "cache", "version": version, "repository": repo.url},
        ),
        "charts/shop/values.yaml": "web: {replicas: 2}\ncache: {size: big}\n",
        **{f"charts/web/{name}": content for name, content in WEB_CHART.items()},
    }
    tree.update(extra)
    return tree


def test_umbrella_chart_with_file_and_http_dependencies(
    helm_sidecar: Sidecar, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    publish_cache(chart_repo, tmp_path, "1.0.0", "1.1.0", "2.0.0")
    chart_repo.require_auth("deploy", PASSWORD)
    objects = rendered(
        helm_sidecar, chart_request(shop_tree(chart_repo), dependency_credentials=repo_credentials(chart_repo))
    )
    assert objects["ConfigMap/shop-web"]["data"] == {"replicas": "2"}  # the umbrella's values reach it
    # Resolved as `helm dependency update` does: the newest version in the range.
    assert objects["ConfigMap/shop-cache"]["data"] == {"version": "1.1.0", "size": "big"}
    assert archives_served(chart_repo) == ["/cache-1.1.0.tgz"]

    # Another render of the same dependencies (another application): from the cache, not downloaded again.
    again = rendered(
        helm_sidecar,
        chart_request(
            shop_tree(chart_repo), app_name="shop-eu", dependency_credentials=repo_credentials(chart_repo)
        ),
    )
    assert again["ConfigMap/shop-eu-cache"]["data"]["version"] == "1.1.0"
    assert archives_served(chart_repo) == ["/cache-1.1.0.tgz"]


def test_chart_lock_wins_over_a_newer_version(
    helm_sidecar: Sidecar, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    publish_cache(chart_repo, tmp_path, "1.0.0", "1.1.0")
    lock = json.dumps(
        {
            "dependencies": [
                {"name": "web", "repository": "file://../web", "version": "0.3.0"},
                {"name": "cache", "repository": chart_repo.url, "version": "1.0.0"},
            ],
            "digest": "sha256:0123",
            "generated": "2026-01-01T00:00:00Z",
        }
    )
    tree = shop_tree(chart_repo, **{"charts/shop/Chart.lock": lock})
    objects = rendered(helm_sidecar, chart_request(tree))
    assert objects["ConfigMap/shop-cache"]["data"]["version"] == "1.0.0"
    assert archives_served(chart_repo) == ["/cache-1.0.0.tgz"]

    # A lock that no longer matches Chart.yaml is an error, as `helm dependency build` says.
    stale = shop_tree(chart_repo, version="^2.0", **{"charts/shop/Chart.lock": lock})
    error = render_failure(helm_sidecar, chart_request(stale))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "Chart.lock is out of sync" in error.details() and "'cache'" in error.details()


def test_unfetchable_dependency_names_it_and_never_renders_empty(
    helm_sidecar: Sidecar, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    publish_cache(chart_repo, tmp_path, "1.0.0")
    chart_repo.require_auth("deploy", PASSWORD)
    # Without the repository's credentials.
    error = render_failure(helm_sidecar, chart_request(shop_tree(chart_repo)))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    details = error.details()
    assert "dependency 'cache'" in details and "'^1.0'" in details and chart_repo.url in details
    assert "401" in details
    # With wrong ones: the password is in no message or log line.
    wrong = [renderer_pb2.ChartReference(repo_url=chart_repo.url, username="deploy", password=PASSWORD + "x")]
    error = render_failure(helm_sidecar, chart_request(shop_tree(chart_repo), dependency_credentials=wrong))
    assert "401" in error.details() and PASSWORD not in error.details()
    assert PASSWORD not in helm_sidecar.log()
    # A repository that is not there; a version that is not in it.
    gone = shop_tree(chart_repo)
    gone["charts/shop/Chart.yaml"] = umbrella({"name": "db", "version": "3.1.4", "repository": "http://127.0.0.1:9/charts"})
    error = render_failure(helm_sidecar, chart_request(gone))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "dependency 'db' (version '3.1.4', repository http://127.0.0.1:9/charts)" in error.details()
    error = render_failure(
        helm_sidecar,
        chart_request(shop_tree(chart_repo, version="9.9.9"), dependency_credentials=repo_credentials(chart_repo)),
    )
    assert "dependency 'cache'" in error.details() and "9.9.9" in error.details()
    # No repository and nothing vendored in charts/.
    bare = {"charts/shop/Chart.yaml": umbrella({"name": "lost", "version": "1.0.0"})}
    error = render_failure(helm_sidecar, chart_request(bare))
    assert "dependency 'lost'" in error.details() and "no repository" in error.details()


@pytest.mark.parametrize("repository", ["file://../../../outside", "file:///etc", "file://../../../../../../tmp"])
def test_file_dependency_outside_the_repository_refused(helm_sidecar: Sidecar, repository: str) -> None:
    tree: dict[str, str | bytes] = {
        "charts/shop/Chart.yaml": umbrella({"name": "outside", "version": "*", "repository": repository}),
    }
    error = render_failure(helm_sidecar, chart_request(tree))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "dependency 'outside'" in error.details()
    assert "outside the repository" in error.details() or "relative to the chart" in error.details()


def test_dependency_archive_over_the_chart_limit_refused(
    helm_sidecar: Sidecar, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    big = write_tree(
        tmp_path / "big" / "cache",
        {"Chart.yaml": "apiVersion: v2\nname: cache\nversion: 1.0.0\n", "files/noise.bin": os.urandom(2 * MIB)},
    )
    chart_repo.publish(big, "1.0.0")
    req = chart_request(
        shop_tree(chart_repo, version="1.0.0"), limits=renderer_pb2.RenderLimits(max_chart_bytes=MIB)
    )
    error = render_failure(helm_sidecar, req)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "dependency 'cache'" in error.details() and "limit" in error.details()


def test_oci_dependency_with_registry_credentials(
    helm_sidecar: Sidecar, oci_registry: OciRegistry, tmp_path: Path
) -> None:
    for version in ("2.0.0", "2.1.0", "3.0.0"):
        chart = write_tree(
            tmp_path / f"db-{version}" / "db",
            {**CACHE_CHART, "Chart.yaml": f"apiVersion: v2\nname: db\nversion: {version}\n"},
        )
        oci_registry.push(package_chart(chart, tmp_path / "pkg"))
    tree: dict[str, str | bytes] = {
        "charts/shop/Chart.yaml": umbrella({"name": "db", "version": "^2.0", "repository": oci_registry.url}),
    }
    credentials = [
        renderer_pb2.ChartReference(
            repo_url=oci_registry.url,
            username=oci_registry.username,
            password=oci_registry.password,
            plain_http=True,
        )
    ]
    objects = rendered(helm_sidecar, chart_request(tree, dependency_credentials=credentials))
    assert objects["ConfigMap/shop-cache"]["data"]["version"] == "2.1.0"
    # Without credentials the registry refuses, and the error names the dependency.
    anonymous = [renderer_pb2.ChartReference(repo_url=oci_registry.url, plain_http=True)]
    error = render_failure(helm_sidecar, chart_request(tree, dependency_credentials=anonymous))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "dependency 'db'" in error.details() and oci_registry.password not in error.details()


def test_chart_from_a_repository_whose_archive_lacks_its_dependencies(
    helm_sidecar: Sidecar, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    publish_cache(chart_repo, tmp_path, "1.0.0")
    publish_without_dependencies(chart_repo, {"name": "cache", "version": "1.0.0", "repository": chart_repo.url})
    chart_repo.require_auth("deploy", PASSWORD)
    req = renderer_pb2.RenderRequest(
        source_type="Helm",
        source=application_pb2.ApplicationSource(repo_url=chart_repo.url, chart="shop", target_revision="1.0.0"),
        chart=renderer_pb2.ChartReference(
            repo_url=chart_repo.url, chart="shop", version="1.0.0", username="deploy", password=PASSWORD
        ),
        app_name="shop",
        namespace="prod",
    )
    objects = rendered(helm_sidecar, req)  # the chart's own repository credentials serve its dependencies
    assert objects["ConfigMap/shop-cache"]["data"]["version"] == "1.0.0"


def test_one_chart_twice_under_aliases_and_vendored_dependencies_kept(
    helm_sidecar: Sidecar, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    publish_cache(chart_repo, tmp_path, "1.0.0")
    named_by_alias = CACHE_CHART["templates/cm.yaml"].replace(".Release.Name }}-cache", ".Chart.Name }}")
    chart = write_tree(
        tmp_path / "aliased" / "kv",
        {"Chart.yaml": "apiVersion: v2\nname: kv\nversion: 0.5.0\n", "templates/cm.yaml": named_by_alias},
    )
    chart_repo.publish(chart, "0.5.0")
    tree: dict[str, str | bytes] = {
        "charts/shop/Chart.yaml": umbrella(
            {"name": "kv", "version": "0.5.0", "repository": chart_repo.url, "alias": "sessions"},
            {"name": "kv", "version": "0.5.0", "repository": chart_repo.url, "alias": "carts"},
            {"name": "cache", "version": "1.0.0", "repository": chart_repo.url},
        ),
        "charts/shop/values.yaml": "carts: {size: large}\n",
        # Vendored in charts/ (as `helm dependency build` leaves it, committed): used, not fetched.
        "charts/shop/charts/cache/Chart.yaml": "apiVersion: v2\nname: cache\nversion: 1.0.0\n",
        "charts/shop/charts/cache/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: vendored}\n",
    }
    objects = rendered(helm_sidecar, chart_request(tree))
    assert objects["ConfigMap/sessions"]["data"]["size"] == "small"
    assert objects["ConfigMap/carts"]["data"]["size"] == "large"
    assert "ConfigMap/vendored" in objects
    assert archives_served(chart_repo) == ["/kv-0.5.0.tgz"]  # one archive for both aliases


def test_pulled_chart_with_a_dependency_in_another_private_repository(
    helm_sidecar: Sidecar, chart_repo: ChartRepo, other_chart_repo: ChartRepo, tmp_path: Path
) -> None:
    publish_cache(other_chart_repo, tmp_path, "1.0.0")
    other_chart_repo.require_auth("deploy", PASSWORD)
    publish_without_dependencies(
        chart_repo, {"name": "cache", "version": "1.0.0", "repository": other_chart_repo.url}
    )
    req = renderer_pb2.RenderRequest(
        source_type="Helm",
        source=application_pb2.ApplicationSource(repo_url=chart_repo.url, chart="shop", target_revision="1.0.0"),
        chart=renderer_pb2.ChartReference(repo_url=chart_repo.url, chart="shop", version="1.0.0"),
        app_name="shop",
        namespace="prod",
    )
    # The daemon cannot read a pulled chart's Chart.yaml: the failure says which repositories went
    # without credentials (trailing metadata), so it can send those it holds, and only those.
    with pytest.raises(grpc.RpcError) as failed:
        helm_sidecar.stub.Render(req, timeout=60)
    assert failed.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # type: ignore[attr-defined]
    assert "dependency 'cache'" in failed.value.details()  # type: ignore[attr-defined]
    trailers = dict(failed.value.trailing_metadata())  # type: ignore[attr-defined]
    assert json.loads(trailers["gitopsd-needs-credentials-bin"]) == [other_chart_repo.url]
    req.dependency_credentials.extend(repo_credentials(other_chart_repo))
    objects = rendered(helm_sidecar, req)
    assert objects["ConfigMap/shop-cache"]["data"]["version"] == "1.0.0"
