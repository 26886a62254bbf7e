"""End to end: real git repositories rendered through the real, supervised sidecars.

The seed's Kustomize base/overlays layout (overlays refer to ../../base) and a Helm chart
kept in Git, through `gitopsd-kustomize` and `gitopsd-helm` started by SidecarSupervisor;
then the kustomize sidecar is killed with SIGKILL and comes back without a daemon restart.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.seedtree import SEED_KUSTOMIZE
from srchelpers import src

from gitopsd.api.gitopsd.v1 import application_pb2 as apb
from gitopsd.sources.errors import RendererUnavailableError
from gitopsd.sources.gitcache import RepoCache
from gitopsd.sources.render import SourceRenderer
from gitopsd.sources.sidecars import SidecarConfig, SidecarSupervisor

# The seed's Kustomize layout and a Helm chart kept in Git.
SEED = {
    **SEED_KUSTOMIZE,
    "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "charts/web/values.yaml": "replicaCount: 1\nimage: nginx:1.27\n",
    "charts/web/templates/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  namespace: {{ .Release.Namespace }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: {{ .Values.image }}
""",
    "envs/production/web-values.yaml": "replicaCount: 4\n",
}


@pytest.fixture(scope="module")
def real_sidecars() -> Iterator[SidecarSupervisor]:
    with tempfile.TemporaryDirectory(prefix="gsrc-real-", dir="/tmp") as d:  # noqa: S108
        sup = SidecarSupervisor(
            SidecarConfig(
                socket_dir=Path(d),
                ready_timeout=60,
                restart_backoff_initial=1.0,
                health_interval=0.5,
                render_timeout=60,
            )
        )
        sup.start()
        try:
            yield sup
        finally:
            sup.stop()


@pytest.fixture
def seed_repo(git_repos):
    repo = git_repos.create("k8s-manifests")
    repo.commit(SEED, message="feat: seed layout")
    return repo


def by_kind(result) -> dict[str, dict]:
    return {m["kind"]: m for m in result.manifests}


def test_seed_overlays_through_the_kustomize_sidecar(real_sidecars, seed_repo, tmp_path: Path) -> None:
    assert {s.name: s.state for s in real_sidecars.status()} == {"helm": "ready", "jsonnet": "ready", "kustomize": "ready"}
    r = SourceRenderer(RepoCache(tmp_path / "cache"), real_sidecars)
    prod = r.render("mon-app", src(seed_repo.url, "overlays/production"), "production")
    assert prod.source_type == "Kustomize"
    assert by_kind(prod)["Deployment"]["spec"]["replicas"] == 5
    assert by_kind(prod)["Service"]["metadata"]["name"] == "mon-app"
    staging = r.render("mon-app-staging", src(seed_repo.url, "overlays/staging"), "staging")
    assert by_kind(staging)["Deployment"]["spec"]["replicas"] == 2

    # Argo CD's kustomize overrides, as `argocd app set --kustomize-images` would set them.
    with_image = src(
        seed_repo.url,
        "overlays/production",
        kustomize=apb.ApplicationSourceKustomize(
            images=["registry.example.com/mon-app=registry.example.com/mon-app:abc123"]
        ),
    )
    deployment = by_kind(r.render("mon-app", with_image, "production"))["Deployment"]
    assert (
        deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        == "registry.example.com/mon-app:abc123"
    )


def test_helm_chart_from_git_with_value_files(real_sidecars, seed_repo, tmp_path: Path) -> None:
    r = SourceRenderer(RepoCache(tmp_path / "cache"), real_sidecars)
    source = src(
        seed_repo.url,
        "charts/web",
        helm=apb.ApplicationSourceHelm(
            value_files=["/envs/production/web-values.yaml"], values="image: nginx:1.28\n"
        ),
    )
    result = r.render("shop", source, "production")
    deployment = by_kind(result)["Deployment"]
    assert result.source_type == "Helm"
    assert deployment["metadata"]["name"] == "shop-web"
    assert deployment["spec"]["replicas"] == 4
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"


def test_kustomize_sidecar_killed_then_back(real_sidecars, seed_repo, tmp_path: Path) -> None:
    r = SourceRenderer(RepoCache(tmp_path / "cache"), real_sidecars)
    app = src(seed_repo.url, "overlays/production")
    assert r.render("mon-app", app, "production").manifests
    pid = next(s.pid for s in real_sidecars.status() if s.name == "kustomize")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while (
        time.monotonic() < deadline
        and next(s for s in real_sidecars.status() if s.name == "kustomize").pid == pid
    ):
        time.sleep(0.02)
    with pytest.raises(RendererUnavailableError) as err:
        r.render("mon-app", app, "production", hard=True)
    assert str(err.value).startswith("renderer kustomize unavailable: ")
    assert real_sidecars.wait_ready("kustomize", 60)
    assert by_kind(r.render("mon-app", app, "production", hard=True))["Deployment"]["spec"]["replicas"] == 5


def test_plain_defaults_render_every_source_type(seed_repo, tmp_path: Path) -> None:
    """What a plain `gitopsd serve` gets: its own sidecars, every source type renders."""
    from gitopsd.sources.wiring import SourcesSettings, open_sources

    seed_repo.commit({"plain/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n"})
    sources = open_sources(SourcesSettings(data_dir=tmp_path / ("a-rather-long-data-directory-name" * 2)))
    sources.start()
    try:
        render = sources.renderer.render
        assert render("p", src(seed_repo.url, "plain"), "n").source_type == "Directory"
        assert render("k", src(seed_repo.url, "overlays/production"), "n").source_type == "Kustomize"
        assert render("h", src(seed_repo.url, "charts/web"), "n").source_type == "Helm"
        sockets = [Path(s.target.removeprefix("unix://")) for s in sources.supervisor.status()]
        assert all(p.exists() for p in sockets)
    finally:
        sources.stop()
    assert not any(p.exists() for p in sockets)
