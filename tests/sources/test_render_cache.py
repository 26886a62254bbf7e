"""The render cache: hits, reuse across commits that change nothing relevant, hard refresh."""

from __future__ import annotations

from pathlib import Path

import pytest
import tiny_renderer
from srchelpers import cm, names, src

from gitopsd.api.gitopsd.v1 import application_pb2 as apb
from gitopsd.sources.gitcache import RepoCache
from gitopsd.sources.render import SourceRenderer

MGP = "argocd.argoproj.io/manifest-generate-paths"


def test_same_commit_is_a_cache_hit_and_results_are_independent(git_repos, make_renderer) -> None:
    repo = git_repos.create()
    sha = repo.commit({"apps/a/cm.yaml": cm("a")}, message="feat: a")
    r = make_renderer()
    first = r.render("a", src(repo.url, "apps/a"), "default")
    assert (first.cache_hit, first.revision, first.source_type) == (False, sha, "Directory")
    assert first.commit is not None and first.commit.message == "feat: a"
    first.manifests[0]["metadata"]["name"] = "mutated by a caller"
    second = r.render("a", src(repo.url, "apps/a"), "default")
    assert second.cache_hit and names(second) == ["a"]
    c = r.counters()
    assert (c.renders, c.cache_hits, c.path_reuses, dict(c.by_type)) == (1, 1, 0, {"Directory": 1})
    # A hard refresh renders again; other parameters are another cache entry.
    assert not r.render("a", src(repo.url, "apps/a"), "default", hard=True).cache_hit
    assert not r.render("a", src(repo.url, "apps/a"), "other-namespace").cache_hit
    assert r.counters().renders == 3


def test_commit_elsewhere_reuses_commit_under_path_rerenders(git_repos, make_renderer) -> None:
    repo = git_repos.create()
    repo.commit({"apps/a/cm.yaml": cm("a"), "apps/b/cm.yaml": cm("b")})
    r = make_renderer()
    r.render("a", src(repo.url, "apps/a"), "default")

    elsewhere = repo.commit({"apps/b/cm.yaml": cm("b2"), "README.md": "docs"}, message="docs")
    r.repo_cache.new_interval()
    reused = r.render("a", src(repo.url, "apps/a"), "default")
    assert reused.cache_hit and reused.revision == elsewhere
    assert reused.commit is not None and reused.commit.message == "docs"
    assert names(reused) == ["a"]
    assert (r.counters().renders, r.counters().path_reuses) == (1, 1)

    here = repo.commit({"apps/a/new.yaml": cm("a-new")})
    r.repo_cache.new_interval()
    fresh = r.render("a", src(repo.url, "apps/a"), "default")
    assert (fresh.cache_hit, fresh.revision, names(fresh)) == (False, here, ["a", "a-new"])


def test_manifest_generate_paths_annotation(git_repos, make_renderer) -> None:
    repo = git_repos.create()
    repo.commit({"apps/a/cm.yaml": cm("a"), "shared/x.txt": "1", "other/y.txt": "1"})
    r = make_renderer()
    ann = {MGP: ".;../../shared"}
    r.render("a", src(repo.url, "apps/a"), "default", annotations=ann)

    repo.commit({"other/y.txt": "2"})
    r.repo_cache.new_interval()
    assert r.render("a", src(repo.url, "apps/a"), "default", annotations=ann).cache_hit

    repo.commit({"shared/x.txt": "2"})
    r.repo_cache.new_interval()
    assert not r.render("a", src(repo.url, "apps/a"), "default", annotations=ann).cache_hit

    # Absolute paths are from the repository root; gitopsd.io/ works as well.
    ann2 = {"gitopsd.io/manifest-generate-paths": "/other"}
    r.render("a", src(repo.url, "apps/a"), "default", annotations=ann2)
    repo.commit({"other/y.txt": "3"})
    r.repo_cache.new_interval()
    assert not r.render("a", src(repo.url, "apps/a"), "default", annotations=ann2).cache_hit


def test_kustomize_dependencies_outside_the_app_path(git_repos, make_renderer) -> None:
    repo = git_repos.create()
    repo.commit(
        {
            "base/kustomization.yaml": "resources: [deployment.yaml]\n",
            "base/deployment.yaml": "kind: Deployment\n",
            "overlays/production/kustomization.yaml": "resources: [../../base]\npatches:\n- path: replica-count.yaml\n",
            "overlays/production/replica-count.yaml": "spec: {replicas: 5}\n",
            "overlays/production/p.txt": "x",
            "overlays/staging/kustomization.yaml": "resources: [../../base]\n",
        }
    )
    r = make_renderer()
    app = src(repo.url, "overlays/production")
    assert r.render("p", app, "prod").source_type == "Kustomize"

    repo.commit({"overlays/staging/kustomization.yaml": "resources: [../../base]\nnamePrefix: s-\n"})
    r.repo_cache.new_interval()
    assert r.render("p", app, "prod").cache_hit  # staging changed: production is unaffected

    repo.commit({"base/deployment.yaml": "kind: Deployment\nmetadata: {name: x}\n"})
    r.repo_cache.new_interval()
    assert not r.render("p", app, "prod").cache_hit  # its base changed


def test_plugins_rerender_on_every_commit_unless_annotated(git_repos, make_renderer) -> None:
    repo = git_repos.create()
    repo.commit({"p/a.txt": "1", "elsewhere.txt": "1"})
    r = make_renderer()
    plugin = src(repo.url, "p", plugin=apb.ApplicationSourcePlugin(name="tiny"))
    r.render("p", plugin, "n")
    repo.commit({"elsewhere.txt": "2"})
    r.repo_cache.new_interval()
    assert not r.render("p", plugin, "n").cache_hit
    r.render("p", plugin, "n", annotations={MGP: "."})
    repo.commit({"elsewhere.txt": "3"})
    r.repo_cache.new_interval()
    assert r.render("p", plugin, "n", annotations={MGP: "."}).cache_hit


def test_new_renderer_version_invalidates(git_repos, tmp_path: Path, short_tmp: Path) -> None:
    from gitopsd.sources.sidecars import SidecarConfig, SidecarSupervisor

    servicer = tiny_renderer.Tiny()
    target = f"unix://{short_tmp}/v.sock"
    server = tiny_renderer.serve(target, servicer)
    sup = SidecarSupervisor(
        SidecarConfig(socket_dir=short_tmp, plugins={"tiny": target}, manage_builtins=False)
    )
    try:
        repo = git_repos.create()
        repo.commit({"p/a.txt": "1"})
        r = SourceRenderer(RepoCache(tmp_path / "c"), sup)
        plugin = src(repo.url, "p", plugin=apb.ApplicationSourcePlugin(name="tiny"))
        assert r.render("p", plugin, "n").renderer.startswith("tiny/1.0")
        assert r.render("p", plugin, "n").cache_hit
        servicer.version = "2.0"
        sup.client("tiny").forget_capabilities()  # what the supervisor does on a restart
        again = r.render("p", plugin, "n")
        assert not again.cache_hit and again.renderer.startswith("tiny/2.0")
    finally:
        sup.stop()
        server.stop(grace=None)


def test_revision_override_and_unknown_plugin(git_repos, make_renderer) -> None:
    repo = git_repos.create()
    old = repo.commit({"a/cm.yaml": cm("old")})
    repo.tag("v1")
    repo.commit({"a/cm.yaml": cm("new")})
    r = make_renderer()
    assert names(r.render("a", src(repo.url, "a"), "n")) == ["new"]
    pinned = r.render("a", src(repo.url, "a"), "n", revision_override="v1")
    assert (names(pinned), pinned.revision) == (["old"], old)
    from gitopsd.sources.errors import SourceSpecError

    with pytest.raises(SourceSpecError, match="plugin 'nope' is not configured"):
        r.render("a", src(repo.url, "a", plugin=apb.ApplicationSourcePlugin(name="nope")), "n")
    assert r.counters().errors == 1


def test_local_files_render_through_the_same_path(make_renderer) -> None:
    r = make_renderer(cache_size=4)
    files = {"base/cm.yaml": cm("from-local").encode(), "apps/x/cm.yaml": cm("x").encode()}
    local = r.render("a", src("https://example.com/r"), "n", local_files=files, local_path="apps/x")
    assert (names(local), local.revision, local.cache_hit) == (["x"], "local", False)
    from gitopsd.sources.errors import UnsafePathError

    with pytest.raises(UnsafePathError):
        r.render("a", src("https://example.com/r"), "n", local_files={"../evil.yaml": b"x"})
    from gitopsd.sources.errors import SourceSpecError

    with pytest.raises(SourceSpecError, match="uploaded file 'a/b.yaml' cannot be used"):
        r.render("a", src("https://example.com/r"), "n", local_files={"a": b"x", "a/b.yaml": b"y"})


def test_refresh_revision_and_invalidate_see_a_new_commit_within_the_interval(
    git_repos, make_renderer
) -> None:
    repo = git_repos.create()
    repo.commit({"a/cm.yaml": cm("one")})
    r = make_renderer()
    assert names(r.render("a", src(repo.url, "a"), "n")) == ["one"]
    new = repo.commit({"a/cm.yaml": cm("two")})
    assert names(r.render("a", src(repo.url, "a"), "n")) == ["one"]  # same interval: no ls-remote
    refreshed = r.render("a", src(repo.url, "a"), "n", refresh_revision=True)
    assert (refreshed.revision, names(refreshed)) == (new, ["two"])
    newer = repo.commit({"a/cm.yaml": cm("three")})
    r.repo_cache.invalidate(repo.url)  # a webhook for this repository arrived
    assert r.render("a", src(repo.url, "a"), "n").revision == newer


def test_cache_hit_is_served_while_the_renderer_is_down(git_repos, tmp_path: Path, short_tmp: Path) -> None:
    from gitopsd.sources.errors import RendererUnavailableError
    from gitopsd.sources.sidecars import SidecarConfig, SidecarSupervisor

    target = f"unix://{short_tmp}/down.sock"
    server = tiny_renderer.serve(target)
    sup = SidecarSupervisor(
        SidecarConfig(socket_dir=short_tmp, plugins={"tiny": target}, manage_builtins=False)
    )
    try:
        repo = git_repos.create()
        repo.commit({"p/a.txt": "1"})
        r = SourceRenderer(RepoCache(tmp_path / "c"), sup)
        plugin = src(repo.url, "p", plugin=apb.ApplicationSourcePlugin(name="tiny"))
        r.render("p", plugin, "n")
        server.stop(grace=None)
        assert r.render("p", plugin, "n").cache_hit
        with pytest.raises(RendererUnavailableError):
            r.render("p", plugin, "n", hard=True)
    finally:
        sup.stop()
        server.stop(grace=None)


def test_plugin_output_must_be_kubernetes_objects(git_repos, make_renderer) -> None:
    from gitopsd.sources.errors import ManifestError

    repo = git_repos.create()
    repo.commit({"p/a.txt": "1", "p/NOKIND": ""})
    plugin = src(repo.url, "p", plugin=apb.ApplicationSourcePlugin(name="tiny"))
    with pytest.raises(ManifestError) as err:
        make_renderer().render("p", plugin, "n")
    assert str(err.value) == "renderer tiny returned manifest #2: object without kind"


def test_concurrent_renders_of_different_commits(git_repos, make_renderer) -> None:
    import threading

    repo = git_repos.create()
    shas = []
    for i in range(4):
        shas.append(repo.commit({"a/cm.yaml": cm(f"v{i}")}))
        repo.tag(f"v{i}")
    r = make_renderer()
    out: dict[int, list[str]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def render(i: int) -> None:
        try:
            barrier.wait()
            res = r.render(f"app{i}", src(repo.url, "a"), "n", revision_override=f"v{i}")
            assert res.revision == shas[i]
            out[i] = names(res)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=render, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert out == {i: [f"v{i}"] for i in range(4)}


def test_the_default_cache_holds_thousands_of_applications(git_repos, make_renderer) -> None:
    # One entry per application and commit: a cache smaller than the number of applications made
    # every reconcile pass render every application again.
    repo = git_repos.create()
    repo.commit({f"apps/a{i}/cm.yaml": cm(f"a{i}") for i in range(1500)})
    r = make_renderer()
    for i in range(1500):
        r.render(f"a{i}", src(repo.url, f"apps/a{i}"), "default")
    assert all(r.render(f"a{i}", src(repo.url, f"apps/a{i}"), "default").cache_hit for i in range(1500))
    assert r.counters().renders == 1500


def test_the_byte_bound_counts_what_small_renders_hold_beside_their_output(git_repos, make_renderer) -> None:
    # 2,000 one-ConfigMap renders are ~400 KB of output but ~1.6 MB in memory with their keys and
    # entries: a 1 MiB cache cannot keep them all.
    repo = git_repos.create()
    repo.commit({f"apps/a{i}/cm.yaml": cm(f"a{i}") for i in range(2000)})
    r = make_renderer(cache_max_bytes=1024 * 1024)
    for i in range(2000):
        r.render(f"a{i}", src(repo.url, f"apps/a{i}"), "default")
    assert r.render("a1999", src(repo.url, "apps/a1999"), "default").cache_hit
    assert not r.render("a0", src(repo.url, "apps/a0"), "default").cache_hit


def test_the_cache_is_bounded_by_the_bytes_of_its_renders(git_repos, make_renderer) -> None:
    repo = git_repos.create()
    big = "x" * 200_000
    repo.commit({f"apps/a{i}/cm.yaml": cm(f"a{i}", f"data:\n  blob: {big}\n") for i in range(12)})
    r = make_renderer(cache_max_bytes=1024 * 1024)  # room for about five of these renders
    for i in range(12):
        r.render(f"a{i}", src(repo.url, f"apps/a{i}"), "default")
    assert r.render("a11", src(repo.url, "apps/a11"), "default").cache_hit  # the newest stay
    assert not r.render("a0", src(repo.url, "apps/a0"), "default").cache_hit  # the oldest went
