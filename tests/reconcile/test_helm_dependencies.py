"""An umbrella Helm chart in Git through the daemon: its file:// and HTTP-repository dependencies are
built (with the credentials of `gitopsd repo add`), synced to the sandbox, fetched once for two
applications; a dependency that cannot be fetched is a ComparisonError naming it, never an empty Synced app."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import helm_python
from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from fixtures.renderers import ChartRepo, OciRegistry, package_chart, write_tree
from reconcile.apps import application, create, status

PASSWORD = "umbrella-Pa55-7c1d"

CACHE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cache
data:
  version: {{ .Chart.Version | quote }}
  size: {{ .Values.size | default "small" | quote }}
"""

WEB = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-web
data:
  replicas: {{ .Values.replicas | quote }}
"""


def _chart_yaml(name: str, *dependencies: dict[str, str]) -> str:
    return json.dumps({"apiVersion": "v2", "name": name, "version": "1.0.0", "dependencies": list(dependencies)})


def _tree(repo_url: str) -> dict[str, str]:
    return {
        # The umbrella: only dependencies, no templates of its own.
        "charts/shop/Chart.yaml": _chart_yaml(
            "shop",
            {"name": "web", "version": "0.3.0", "repository": "file://../web"},
            {"name": "cache", "version": "^1.0", "repository": repo_url},
        ),
        "charts/shop/values.yaml": "web: {replicas: 2}\ncache: {size: big}\n",
        "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.3.0\n",
        "charts/web/values.yaml": "replicas: 1\n",
        "charts/web/templates/cm.yaml": WEB,
        "charts/broken/Chart.yaml": _chart_yaml(
            "broken", {"name": "db", "version": "3.1.4", "repository": "http://127.0.0.1:9/charts"}
        ),
    }


def test_umbrella_chart_dependencies_through_the_daemon(
    gitops_env: GitOpsEnv, git_repos: GitRepos, chart_repo: ChartRepo, kubectl, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    cli = gitops_env.cli
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        chart = write_tree(
            tmp_path / f"cache-{version}" / "cache",
            {"Chart.yaml": f"apiVersion: v2\nname: cache\nversion: {version}\n", "templates/cm.yaml": CACHE},
        )
        chart_repo.publish(chart, version)
    chart_repo.require_auth("deploy", PASSWORD)
    added = cli("repo", "add", chart_repo.url, "--type", "helm", "--username", "deploy", "--password", PASSWORD)
    assert added.returncode == 0, added.stdout + added.stderr

    repo = git_repos.create("umbrella")
    repo.commit(_tree(chart_repo.url))
    create(cli, tmp_path, application("shop", repo.url, "charts/shop", "shop"))
    create(cli, tmp_path, application("shop-eu", repo.url, "charts/shop", "shop-eu"))
    create(cli, tmp_path, application("broken", repo.url, "charts/broken", "broken"))

    for name in ("shop", "shop-eu"):
        wait_for(
            lambda name=name: status(cli, name).get("sync", {}).get("status") == "OutOfSync",  # type: ignore[misc]
            what=f"{name} compared",
        )
    synced = cli("app", "sync", "shop")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    cache = json.loads(kubectl("-n", "shop", "get", "configmap", "shop-cache", "-o", "json").stdout)
    assert cache["data"] == {"version": "1.1.0", "size": "big"}  # the newest 1.x, with the umbrella's values
    web = json.loads(kubectl("-n", "shop", "get", "configmap", "shop-web", "-o", "json").stdout)
    assert web["data"] == {"replicas": "2"}
    assert status(cli, "shop")["sync"]["status"] == "Synced"
    # Two applications rendered the chart; the repository served its archive once.
    assert [p for p in chart_repo.served if p.endswith(".tgz")] == ["/cache-1.1.0.tgz"]
    assert PASSWORD not in gitops_env.daemon.log()

    broken = wait_for(
        lambda: (s := status(cli, "broken")).get("conditions") and s, what="the broken app's condition"
    )
    condition = broken["conditions"][0]
    assert condition["type"] == "ComparisonError"
    assert "dependency 'db' (version '3.1.4', repository http://127.0.0.1:9/charts)" in condition["message"]
    assert broken.get("sync", {}).get("status") != "Synced"
    assert cli("app", "sync", "broken").returncode != 0


def test_oci_dependency_with_credentials_from_repo_add(
    gitops_env: GitOpsEnv, git_repos: GitRepos, oci_registry: OciRegistry, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    for version in ("2.0.0", "2.1.0"):
        chart = write_tree(
            tmp_path / f"db-{version}" / "db",
            {"Chart.yaml": f"apiVersion: v2\nname: db\nversion: {version}\n", "templates/cm.yaml": CACHE},
        )
        oci_registry.push(package_chart(chart, tmp_path / "pkg"))
    added = cli(
        "repo", "add", oci_registry.url, "--type", "oci", "--insecure-oci-force-http",
        "--username", oci_registry.username, "--password", oci_registry.password,
    )
    assert added.returncode == 0, added.stdout + added.stderr
    repo = git_repos.create("oci-umbrella")
    repo.commit({"shop/Chart.yaml": _chart_yaml("shop", {"name": "db", "version": "^2.0", "repository": oci_registry.url})})
    create(cli, tmp_path, application("shop-db", repo.url, "shop", "shop-db"))
    wait_for(lambda: status(cli, "shop-db").get("sync", {}).get("status") == "OutOfSync", what="shop-db compared")
    manifests = cli("app", "manifests", "shop-db")
    assert manifests.returncode == 0, manifests.stderr
    assert 'version: 2.1.0' in manifests.stdout or "version: '2.1.0'" in manifests.stdout, manifests.stdout
    assert oci_registry.password not in gitops_env.daemon.log()


def test_chart_from_a_repository_with_a_dependency_in_another_private_one(
    gitops_env: GitOpsEnv, chart_repo: ChartRepo, other_chart_repo: ChartRepo, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    cache = write_tree(
        tmp_path / "cache" / "cache",
        {"Chart.yaml": "apiVersion: v2\nname: cache\nversion: 1.0.0\n", "templates/cm.yaml": CACHE},
    )
    other_chart_repo.publish(cache, "1.0.0")
    other_chart_repo.require_auth("deploy", PASSWORD)
    # An archive whose charts/ lacks its dependency (made without `helm package`, which refuses).
    chart_yaml = _chart_yaml("shop", {"name": "cache", "version": "1.0.0", "repository": other_chart_repo.url})
    with tarfile.open(chart_repo.directory / "shop-1.0.0.tgz", "w:gz") as archive:
        info = tarfile.TarInfo("shop/Chart.yaml")
        info.size = len(chart_yaml)
        archive.addfile(info, io.BytesIO(chart_yaml.encode()))
    helm_python.repo_index_generate(chart_repo.directory, base_url=chart_repo.url)
    added = cli(
        "repo", "add", other_chart_repo.url, "--type", "helm", "--username", "deploy", "--password", PASSWORD
    )
    assert added.returncode == 0, added.stdout + added.stderr

    app = application("pulled", chart_repo.url, "", "pulled")
    app["spec"]["source"] = {"repoURL": chart_repo.url, "chart": "shop", "targetRevision": "1.0.0"}
    create(cli, tmp_path, app)
    wait_for(lambda: status(cli, "pulled").get("sync", {}).get("status") == "OutOfSync", what="pulled compared")
    manifests = cli("app", "manifests", "pulled")
    assert manifests.returncode == 0, manifests.stderr
    assert "name: pulled-cache" in manifests.stdout
    assert PASSWORD not in gitops_env.daemon.log()
