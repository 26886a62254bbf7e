"""What a render sends its sidecar: for Kustomize and Helm from Git, only the files the render can
read (gitopsd.sources.render_inputs, helm_deps), read by `read_repo_files(only=...)`; the whole
repository when that is not known.

Each "not sent" is proven by a file past the size limit outside the app's inputs: reading the whole
repository (as every render did before) refuses the render; reading what it needs does not. The
renders go through the real, supervised sidecars.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixtures.gitrepos import Symlink
from srchelpers import src

from gitopsd.api.gitopsd.v1 import application_pb2 as apb
from gitopsd.sources.errors import LimitExceededError, RendererError, UnsafePathError
from gitopsd.sources.gitcache import RepoCache
from gitopsd.sources.render import SourceRenderer
from gitopsd.sources.safety import Limits, read_repo_files
from gitopsd.sources.sidecars import SidecarSupervisor

LIMITS = Limits(max_repo_bytes=256 * 1024)
# Past LIMITS on its own: any render that reads it is refused.
HUGE = b"\0" * 300_000


def configmap(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n"


KUSTOMIZE_REPO = {
    "apps/web/kustomization.yaml": (
        "resources:\n  - ../../base\ncomponents:\n  - ../../components/labels\n"
        "patches:\n  - path: patch.yaml\n"
    ),
    "apps/web/patch.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  k: patched\n"
    ),
    "base/kustomization.yaml": "resources:\n  - cm.yaml\n",
    "base/cm.yaml": configmap("shared"),
    "components/labels/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n  - pairs: {team: web}\n"
    ),
    "components/extra/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - extra.yaml\n"
    ),
    "components/extra/extra.yaml": configmap("extra"),
    "apps/other/kustomization.yaml": "resources:\n  - cm.yaml\n",
    "apps/other/cm.yaml": configmap("other"),
    "apps/other/huge.bin": HUGE,
}

CHART_REPO = {
    "charts/web/Chart.yaml": (
        "apiVersion: v2\nname: web\nversion: 0.1.0\n"
        "dependencies:\n  - name: lib\n    version: 0.1.0\n    repository: file://../lib\n"
    ),
    "charts/web/values.yaml": "replicas: 1\n",
    "charts/web/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  replicas: '{{ .Values.replicas }}'\n"
    ),
    "charts/lib/Chart.yaml": "apiVersion: v2\nname: lib\nversion: 0.1.0\n",
    "charts/lib/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lib\ndata:\n  from: dependency\n"
    ),
    "values/prod.yaml": "replicas: 4\n",
    "charts/unrelated/huge.bin": HUGE,
}


@pytest.fixture
def renderer(builtin_sidecars: SidecarSupervisor, tmp_path: Path) -> SourceRenderer:
    return SourceRenderer(RepoCache(tmp_path / "cache"), builtin_sidecars, LIMITS)


def by_name(result) -> dict[str, dict]:
    return {m["metadata"]["name"]: m for m in result.manifests}


def test_kustomize_app_gets_its_bases_components_and_patches_only(git_repos, renderer) -> None:
    repo = git_repos.create()
    repo.commit(KUSTOMIZE_REPO)
    result = renderer.render("web", src(repo.url, "apps/web"), "default")
    shared = by_name(result)["shared"]
    assert shared["data"] == {"k": "patched"}
    assert shared["metadata"]["labels"] == {"team": "web"}
    # A component added by the application's kustomize overrides is sent too.
    overrides = apb.ApplicationSourceKustomize(components=["../../components/extra"])
    extra = renderer.render("web", src(repo.url, "apps/web", kustomize=overrides), "default")
    assert sorted(by_name(extra)) == ["extra", "shared"]
    # The app whose directory holds the big file still reads it, and is refused.
    with pytest.raises(LimitExceededError) as err:
        renderer.render("other", src(repo.url, "apps/other"), "default")
    assert "(reached at 'apps/other/huge.bin')" in str(err.value)


def test_kustomize_remote_resource_falls_back_to_the_whole_repository(git_repos, renderer) -> None:
    repo = git_repos.create()
    repo.commit(
        {
            **KUSTOMIZE_REPO,
            "apps/web/kustomization.yaml": (
                "resources:\n  - ../../base\n  - https://github.com/example/repo//deploy?ref=v1\n"
            ),
        }
    )
    # The whole repository is read, the big file with it: refused before the sidecar sees it.
    with pytest.raises(LimitExceededError) as err:
        renderer.render("web", src(repo.url, "apps/web"), "default")
    assert "(reached at 'apps/other/huge.bin')" in str(err.value)
    small = git_repos.create("small")
    small.commit({k: v for k, v in KUSTOMIZE_REPO.items() if k != "apps/other/huge.bin"})
    small.commit({"apps/web/kustomization.yaml": "resources:\n  - https://github.com/example/repo//deploy?ref=v1\n"})
    with pytest.raises(RendererError) as refused:
        renderer.render("web", src(small.url, "apps/web"), "default")
    assert "remote resource" in str(refused.value)


def test_kustomize_resource_through_a_directory_symlink_gets_the_whole_repository(git_repos, renderer) -> None:
    """A directory reached through a symlink is not analysed (its `../` paths are from the link's
    place): the whole repository is sent, so it renders exactly as it always did."""
    repo = git_repos.create()
    repo.commit(
        {
            "apps/web/kustomization.yaml": "resources:\n  - linked\n",
            "apps/web/linked": Symlink("../../shared/overlay"),
            # From the link's place (apps/web/linked) this is apps/base, outside the app's directory.
            "shared/overlay/kustomization.yaml": "resources:\n  - ../../base\n",
            "apps/base/kustomization.yaml": "resources:\n  - cm.yaml\n",
            "apps/base/cm.yaml": configmap("via-link"),
            "base/kustomization.yaml": "resources:\n  - cm.yaml\n",
            "base/cm.yaml": configmap("not-this-one"),
        }
    )
    assert sorted(by_name(renderer.render("web", src(repo.url, "apps/web"), "default"))) == ["via-link"]
    repo.commit({"unrelated/huge.bin": HUGE})
    with pytest.raises(LimitExceededError):
        renderer.render("web", src(repo.url, "apps/web"), "default", hard=True)


def test_helm_chart_with_outside_value_file_and_file_dependency(git_repos, renderer) -> None:
    repo = git_repos.create()
    repo.commit(CHART_REPO)
    source = src(repo.url, "charts/web", helm=apb.ApplicationSourceHelm(value_files=["../../values/prod.yaml"]))
    result = by_name(renderer.render("web", source, "default"))
    assert result["web"]["data"] == {"replicas": "4"}
    assert result["lib"]["data"] == {"from": "dependency"}
    # Absolute from the repository root, as Argo CD allows: the same file.
    rooted = src(repo.url, "charts/web", helm=apb.ApplicationSourceHelm(value_files=["/values/prod.yaml"]))
    assert by_name(renderer.render("web", rooted, "default"))["web"]["data"] == {"replicas": "4"}


def test_helm_dependency_of_a_dependency_is_sent(git_repos, renderer) -> None:
    repo = git_repos.create()
    repo.commit(
        {
            **CHART_REPO,
            "charts/lib/Chart.yaml": (
                "apiVersion: v2\nname: lib\nversion: 0.1.0\n"
                "dependencies:\n  - name: base\n    version: 0.1.0\n    repository: file://../../common/base\n"
            ),
            "common/base/Chart.yaml": "apiVersion: v2\nname: base\nversion: 0.1.0\n",
            "common/base/templates/cm.yaml": configmap("base"),
        }
    )
    result = renderer.render("web", src(repo.url, "charts/web"), "default")
    assert sorted(by_name(result)) == ["base", "lib", "web"]


# read_repo_files(only=...) on a tree of its own.


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for rel, text in {
        "a/k.yaml": "a",
        "a/sub/x.yaml": "x",
        "a-b/y.yaml": "y",
        "b/z.yaml": "z",
        "shared/s.yaml": "s",
        "top.yaml": "t",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / ".git").write_text("gitdir: /elsewhere\n")
    os.symlink("../shared", root / "b" / "linked")
    os.symlink("../shared/s.yaml", root / "a" / "s-link.yaml")
    os.symlink("..", root / "b" / "loop")
    return root


def test_only_reads_those_paths_as_the_whole_walk_does(tree: Path) -> None:
    everything = read_repo_files(tree, Limits())
    for only in (["a"], ["a", "a/sub", "top.yaml"], ["a-b", "a"], ["b"], ["b/linked/s.yaml"], ["a/sub/x.yaml"]):
        picked = read_repo_files(tree, Limits(), only=only)
        inside = [f for f in everything if any(f.path == p or f.path.startswith(p + "/") for p in only)]
        assert picked == inside, only
    assert read_repo_files(tree, Limits(), only=[""]) == everything
    assert read_repo_files(tree, Limits(), only=[]) == []
    assert read_repo_files(tree, Limits(), only=["missing", "a/nope.yaml", ".git", "b/loop/b/loop"]) == []
    linked = {f.path: f.content for f in read_repo_files(tree, Limits(), only=["b/linked", "a/s-link.yaml"])}
    assert linked == {"a/s-link.yaml": b"s", "b/linked/s.yaml": b"s"}
    with pytest.raises(UnsafePathError):
        read_repo_files(tree, Limits(), only=["../outside"])


def test_only_keeps_the_symlink_and_limit_checks(tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text("secret")
    os.symlink(str(outside), tree / "a" / "sub" / "out")
    os.symlink(str(outside), tree / "escape")
    for only in (["a"], ["a/sub/out/secret.yaml"], ["escape/secret.yaml"]):
        with pytest.raises(UnsafePathError, match="points outside the repository"):
            read_repo_files(tree, Limits(), only=only)
    assert [f.path for f in read_repo_files(tree, Limits(), only=["b"])] == ["b/linked/s.yaml", "b/z.yaml"]
    (tree / "b" / "big.bin").write_bytes(b"\0" * 2048)
    with pytest.raises(LimitExceededError, match="reached at 'b/big.bin'"):
        read_repo_files(tree, Limits(max_repo_bytes=1024), only=["b", "top.yaml"])
    assert len(read_repo_files(tree, Limits(max_repo_bytes=1024), only=["a-b", "top.yaml"])) == 2
    with pytest.raises(LimitExceededError, match="more than 1 files"):
        read_repo_files(tree, Limits(max_files=1), only=["a-b", "top.yaml"])
