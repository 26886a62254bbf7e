"""Untrusted repositories (issue section 6): each case refused with a clear error on that app only.

Nothing outside the checkout is read, and no error echoes the content of a file outside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.gitrepos import Symlink
from srchelpers import cm, names, src

from gitopsd.api.gitopsd.v1 import application_pb2 as apb
from gitopsd.sources.errors import LimitExceededError, RenderTimeoutError, SourceSpecError, UnsafePathError
from gitopsd.sources.safety import Limits

SECRET = "TOP-SECRET-CONTENT-outside-the-repo"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    d = tmp_path / "outside"
    d.mkdir()
    (d / "secret.yaml").write_text(f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {SECRET}\n")
    (d / "values.yaml").write_text(f"password: {SECRET}\n")
    return d


def refused(renderer, source: apb.ApplicationSource, exc=UnsafePathError, **kw) -> str:
    with pytest.raises(exc) as err:
        renderer.render("app", source, "default", **kw)
    message = str(err.value)
    assert SECRET not in message
    return message


def test_app_path_outside_the_repository(git_repos, make_renderer) -> None:
    repo = git_repos.create()
    repo.commit({"apps/a/cm.yaml": cm("a")})
    r = make_renderer()
    assert "points outside the repository" in refused(r, src(repo.url, "../"))
    assert "points outside the repository" in refused(r, src(repo.url, "apps/../../x"))
    assert "is absolute" in refused(r, src(repo.url, "/etc"))
    assert "does not exist" in refused(r, src(repo.url, "apps/missing"), SourceSpecError)
    # The same renderer still serves a good app.
    assert names(r.render("good", src(repo.url, "apps/a"), "default")) == ["a"]


def test_symlink_out_of_a_directory_source(git_repos, make_renderer, outside: Path) -> None:
    repo = git_repos.create()
    repo.commit({"apps/a/cm.yaml": cm("a"), "apps/a/leak.yaml": Symlink(str(outside / "secret.yaml"))})
    msg = refused(make_renderer(), src(repo.url, "apps/a"))
    assert msg == "symlink 'apps/a/leak.yaml' points outside the repository"


def test_relative_symlink_escape_and_directory_symlink(git_repos, make_renderer, outside: Path) -> None:
    repo = git_repos.create()
    repo.commit(
        {
            "apps/a/cm.yaml": cm("a"),
            "apps/a/up": Symlink("../../../../../../../../" + str(outside).lstrip("/")),
        }
    )
    assert "symlink 'apps/a/up' points outside" in refused(make_renderer(), src(repo.url, "apps/a"))


def test_symlink_inside_the_repository_is_fine(git_repos, make_renderer) -> None:
    repo = git_repos.create()
    repo.commit({"shared/cm.yaml": cm("shared"), "apps/a/cm.yaml": Symlink("../../shared/cm.yaml")})
    assert names(make_renderer().render("a", src(repo.url, "apps/a"), "default")) == ["shared"]


def test_symlink_out_of_a_kustomization_or_chart(git_repos, make_renderer, outside: Path) -> None:
    repo = git_repos.create()
    repo.commit(
        {
            "k/kustomization.yaml": "resources: [leak.yaml]\n",
            "k/leak.yaml": Symlink(str(outside / "secret.yaml")),
        }
    )
    assert "symlink 'k/leak.yaml' points outside" in refused(make_renderer(), src(repo.url, "k"))
    chart = git_repos.create("chart")
    chart.commit(
        {
            "c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
            "c/templates/cm.yaml": Symlink(str(outside / "secret.yaml")),
        }
    )
    assert "symlink 'c/templates/cm.yaml' points outside" in refused(make_renderer(), src(chart.url, "c"))


def test_value_files_outside_symlinked_or_urls(git_repos, make_renderer, outside: Path) -> None:
    repo = git_repos.create()
    repo.commit(
        {
            "c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
            "c/templates/cm.txt": "x",
            "envs/prod.yaml": "replicas: 3\n",
        }
    )
    r = make_renderer()

    def helm(*files: str) -> apb.ApplicationSource:
        return src(repo.url, "c", helm=apb.ApplicationSourceHelm(value_files=list(files)))

    assert "points outside the repository" in refused(r, helm("../../etc/passwd"))
    assert "points outside the repository" in refused(r, helm("/../outside/values.yaml"))
    assert "is a URL" in refused(r, helm("https://example.com/values.yaml"))
    assert "not found" in refused(r, helm("missing.yaml"), SourceSpecError)
    # Inside the repository, relative to the chart or absolute from the repository root: fine.
    assert r.render("a", helm("../envs/prod.yaml"), "default").manifests
    assert r.render("b", helm("/envs/prod.yaml"), "default").manifests
    # Missing files can be ignored on request.
    ignored = src(
        repo.url,
        "c",
        helm=apb.ApplicationSourceHelm(value_files=["nope.yaml"], ignore_missing_value_files=True),
    )
    assert "value file 'nope.yaml' not found; ignored" in r.render("c", ignored, "default").warnings

    linked = git_repos.create("linked")
    linked.commit(
        {
            "c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
            "c/values-prod.yaml": Symlink(str(outside / "values.yaml")),
        }
    )
    source = src(linked.url, "c", helm=apb.ApplicationSourceHelm(value_files=["values-prod.yaml"]))
    assert "points outside the repository" in refused(r, source)


def test_value_file_urls_allowed_by_config(git_repos, make_renderer) -> None:
    repo = git_repos.create()
    repo.commit({"c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n", "c/a.txt": "x"})
    r = make_renderer(Limits(value_file_url_schemes=("https",)))
    source = src(repo.url, "c", helm=apb.ApplicationSourceHelm(value_files=["https://example.com/v.yaml"]))
    assert r.render("a", source, "default").manifests


def test_repository_over_the_size_limit(git_repos, make_renderer) -> None:
    repo = git_repos.create()
    repo.commit({"k/kustomization.yaml": "resources: []\n", "k/a.txt": "x", "k/blob.bin": b"\0" * 300_000})
    limited = make_renderer(Limits(max_repo_bytes=256 * 1024))
    msg = refused(limited, src(repo.url, "k"), LimitExceededError)
    assert msg == "repository files exceed the size limit of 256 KiB (reached at 'k/blob.bin')"
    # The limit is on what is sent: a big file the kustomization does not read does not count.
    elsewhere = git_repos.create("elsewhere")
    elsewhere.commit({"k/kustomization.yaml": "resources: []\n", "k/a.txt": "x", "blob.bin": b"\0" * 300_000})
    assert limited.render("k", src(elsewhere.url, "k"), "default").source_type == "Kustomize"
    plain = git_repos.create("plain")
    plain.commit({"big.yaml": cm("big", "data:\n  x: '" + "y" * 300_000 + "'\n")})
    msg = refused(make_renderer(Limits(max_repo_bytes=256 * 1024)), src(plain.url), LimitExceededError)
    assert "size limit of 256 KiB" in msg


def test_rendered_output_over_the_limit(git_repos, make_renderer) -> None:
    repo = git_repos.create()
    repo.commit({"p/a.txt": "x", "p/BIG": ""})
    plugin = src(repo.url, "p", plugin=apb.ApplicationSourcePlugin(name="tiny"))
    msg = refused(make_renderer(Limits(max_output_bytes=100_000)), plugin, LimitExceededError)
    assert "rendered output exceeds the size limit" in msg


def test_render_that_loops_times_out_on_that_app_only(git_repos, make_renderer) -> None:
    repo = git_repos.create()
    repo.commit({"slow/a.txt": "x", "slow/HANG": "2", "fast/b.txt": "y"})
    r = make_renderer(Limits(render_timeout=0.5))
    plugin = apb.ApplicationSourcePlugin(name="tiny")
    msg = refused(r, src(repo.url, "slow", plugin=plugin), RenderTimeoutError)
    assert msg == "renderer tiny did not finish within 0.5s"
    assert names(r.render("fast", src(repo.url, "fast", plugin=plugin), "default")) == ["b"]
