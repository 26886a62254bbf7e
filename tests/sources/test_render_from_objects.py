"""Directory sources rendered from git objects (gitopsd.sources.render_objects), against a checkout's render.

Real repositories; the checkout path is the same SourceRenderer with `read_objects` off. What git was
asked is read from GIT_TRACE, which every git the cache runs writes to.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixtures.gitrepos import GitRepo, Symlink
from srchelpers import cm, names, src

from gitopsd.api.gitopsd.v1 import application_pb2 as apb
from gitopsd.sources.errors import (
    LimitExceededError,
    ManifestError,
    RepoError,
    RepoErrorKind,
    UnsafePathError,
)
from gitopsd.sources.gitcache import RepoCache
from gitopsd.sources.gitcache_objects import is_unusual
from gitopsd.sources.render import SourceRenderer
from gitopsd.sources.safety import Limits

SECRET = "TOP-SECRET-CONTENT-outside-the-repo"


def renderer(root: Path, *, objects: bool = True, limits: Limits = Limits(), **cache_kw) -> SourceRenderer:  # noqa: B008
    r = SourceRenderer(RepoCache(root, **cache_kw), None, limits)
    r.read_objects = objects
    return r


def checkouts(r: SourceRenderer) -> list[Path]:
    assert r.repo_cache is not None
    return [p for p in (r.repo_cache.root / "checkouts").glob("*/*")]


LAYOUT = {
    # Names whose walk order differs from git's order: files of a directory before its subdirectories.
    "apps/a/z.yaml": cm("z"),
    "apps/a/b/inner.yaml": cm("inner"),
    "apps/a/b/deeper/d.yml": cm("deeper"),
    "apps/a/b.yaml": cm("b-file"),
    "apps/a/a-b.json": '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "json"}}',
    "apps/a/multi.yaml": cm("one") + "---\n" + cm("two") + "---\n",
    "apps/a/list.yaml": "apiVersion: v1\nkind: List\nitems:\n- " + cm("listed").replace("\n", "\n  ").rstrip() + "\n",
    "apps/a/README.md": "not a manifest",
    "apps/a/jsonnetfile.json": '{"version": 1}',
    "apps/a/script.yaml": cm("executable"),
    "apps/b/cm.yaml": cm("other-app"),
    "top.yaml": cm("top"),
}

SOURCES = [
    src("", "apps/a"),
    src("", "apps/a", directory=apb.ApplicationSourceDirectory(recurse=True)),
    src("", "apps/a", directory=apb.ApplicationSourceDirectory(recurse=True, include="b/*")),
    src("", "apps/a", directory=apb.ApplicationSourceDirectory(recurse=True, exclude="{*.json,b/deeper/*}")),
    src("", "apps/a", directory=apb.ApplicationSourceDirectory(include="*.yaml", exclude="multi.yaml")),
    src("", "."),
    src("", "", directory=apb.ApplicationSourceDirectory(recurse=True)),
]


@pytest.mark.parametrize("index", range(len(SOURCES)))
def test_objects_render_what_a_checkout_renders(git_repos, tmp_path: Path, index: int) -> None:
    repo = git_repos.create()
    repo.commit(LAYOUT)
    (repo.work / "apps/a/script.yaml").chmod(0o755)
    repo.commit({})  # the mode change (not trusted, and no different to a render)
    source = SOURCES[index]
    source.repo_url = repo.url
    fast, slow = renderer(tmp_path / "fast"), renderer(tmp_path / "slow", objects=False)
    got, want = fast.render("app", source, "default"), slow.render("app", source, "default")
    assert got.manifests == want.manifests and got.manifests
    assert got.revision == want.revision and got.source_type == want.source_type
    assert checkouts(fast) == [] and checkouts(slow) != []
    # What the render read is the same too: a commit elsewhere reuses it, one to a file read does not.
    sha = repo.commit({"apps/b/cm.yaml": cm("other-app", "data:\n  x: '1'\n")})
    assert fast.render("app", source, "default").cache_hit == slow.render("app", source, "default").cache_hit
    repo.commit({"apps/a/b/inner.yaml": cm("inner", "data:\n  x: '2'\n")})
    again, slow_again = fast.render("app", source, "default"), slow.render("app", source, "default")
    assert again.cache_hit == slow_again.cache_hit and again.manifests == slow_again.manifests
    assert again.revision != sha


def _big_repo(repo: GitRepo, n: int) -> None:
    repo.commit({f"apps/app-{i:03d}/cm.yaml": cm(f"cm-{i:03d}") for i in range(n)})


def test_a_push_to_one_app_lists_and_reads_only_that_app(git_repos, tmp_path: Path, monkeypatch) -> None:
    repo = git_repos.create()
    _big_repo(repo, 300)
    r = renderer(tmp_path / "cache", max_fetch_bytes=10 * 1024 * 1024)
    assert names(r.render("warm", src(repo.url, "apps/app-000"), "default")) == ["cm-000"]
    repo.commit({"apps/app-007/cm.yaml": cm("cm-007", "data:\n  pushed: 'yes'\n")})
    trace = tmp_path / "git.trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    out = r.render("app-007", src(repo.url, "apps/app-007"), "default", refresh_revision=True)
    assert out.manifests[0]["data"] == {"pushed": "yes"}
    commands = [line.split("trace: built-in: ", 1)[1] for line in trace.read_text().splitlines() if "built-in: " in line]
    assert commands, "GIT_TRACE recorded nothing"
    # Nothing written or walked for the whole tree: no work tree, no listing of the commit (the app's
    # trees and blobs come through the cat-file process started for the first render).
    assert not [c for c in commands if c.split()[1] in ("checkout", "worktree", "clean", "read-tree", "ls-tree")]
    assert any(c.startswith("git diff-tree") for c in commands)  # the summary from the last commit's
    assert checkouts(r) == []


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    d = tmp_path / "outside"
    d.mkdir()
    (d / "secret.yaml").write_text(f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {SECRET}\n")
    return d


def _refused(r: SourceRenderer, source: apb.ApplicationSource, exc: type[Exception] = UnsafePathError) -> str:
    with pytest.raises(exc) as err:
        r.render("app", source, "default", refresh_revision=True)
    assert SECRET not in str(err.value)
    return str(err.value)


def test_a_symlink_out_of_the_repository_is_refused_in_the_app_and_elsewhere(
    git_repos, tmp_path: Path, outside: Path
) -> None:
    repo = git_repos.create()
    _big_repo(repo, 20)
    r = renderer(tmp_path / "cache")
    assert names(r.render("app", src(repo.url, "apps/app-001"), "default")) == ["cm-001"]  # from objects
    # The next commit's summary comes from the last one's and their diff: the new symlink is in it.
    repo.commit({"apps/app-001/leak.yaml": Symlink(str(outside / "secret.yaml"))})
    assert _refused(r, src(repo.url, "apps/app-001")) == "symlink 'apps/app-001/leak.yaml' points outside the repository"
    # As on a checkout, the whole repository is refused, not just the application holding it.
    assert "points outside the repository" in _refused(r, src(repo.url, "apps/app-002"))
    repo.commit({"apps/app-001/leak.yaml": None, "apps/app-003/up": Symlink("../../..")})
    assert "symlink 'apps/app-003/up' points outside" in _refused(r, src(repo.url, "apps/app-002"))
    # Gone again: rendered (from objects) as before.
    repo.commit({"apps/app-003/up": None})
    assert names(r.render("app", src(repo.url, "apps/app-002"), "default", refresh_revision=True)) == ["cm-002"]


def test_a_symlink_inside_the_repository_still_reads_its_target(git_repos, tmp_path: Path) -> None:
    repo = git_repos.create()
    repo.commit({"shared/cm.yaml": cm("shared"), "apps/a/own.yaml": cm("own"), "apps/a/s.yaml": Symlink("../../shared/cm.yaml")})
    r = renderer(tmp_path / "cache")
    assert names(r.render("app", src(repo.url, "apps/a"), "default")) == ["own", "shared"]


def test_an_oversized_file_is_refused(git_repos, tmp_path: Path) -> None:
    repo = git_repos.create()
    repo.commit({"apps/a/small.yaml": cm("small"), "apps/a/zbig.yaml": cm("big", "data:\n  x: '" + "x" * 5000 + "'\n")})
    r = renderer(tmp_path / "cache", limits=Limits(max_repo_bytes=4096))
    msg = _refused(r, src(repo.url, "apps/a"), LimitExceededError)
    assert msg == "manifest files exceed the size limit of 4 KiB (reached at 'apps/a/zbig.yaml')"
    assert checkouts(r) == []
    # An invalid file before it is reported first, as a checkout's walk finds it first.
    repo.commit({"apps/a/bad.yaml": "a: [\n"})
    assert _refused(r, src(repo.url, "apps/a"), ManifestError).startswith("apps/a/bad.yaml: line")


def test_a_commit_over_max_fetch_bytes_is_refused_even_outside_the_app(git_repos, tmp_path: Path) -> None:
    repo = git_repos.create()
    _big_repo(repo, 5)
    r = renderer(tmp_path / "cache", max_fetch_bytes=64 * 1024)
    assert names(r.render("app", src(repo.url, "apps/app-001"), "default")) == ["cm-001"]
    repo.commit({"elsewhere/blob.bin": b"\0" * (100 * 1024)})  # counted from the diff with the last commit
    # (apps/app-001 would reuse its render: the commit changed nothing it reads.)
    with pytest.raises(RepoError) as err:
        r.render("app", src(repo.url, "apps/app-002"), "default", refresh_revision=True)
    assert err.value.kind == RepoErrorKind.TOO_LARGE and "render.max_fetch_bytes" in str(err.value)
    repo.commit({"elsewhere/blob.bin": None})
    assert names(r.render("app", src(repo.url, "apps/app-002"), "default", refresh_revision=True)) == ["cm-002"]


def test_summaries_from_diffs_match_full_listings(git_repos, tmp_path: Path) -> None:
    repo = git_repos.create()
    shas = [
        repo.commit({"a/x.yaml": "x", "a/l": Symlink("x.yaml"), "b/y": "yy"}),
        repo.commit({"a/l": "no longer a link", "b": None, "b.yaml": "bbb", "c/l2": Symlink("../a")}),
        repo.commit({"a": None, "a/new": Symlink("/etc/hosts"), "d/e/f": "f" * 100}),
    ]
    walked = RepoCache(tmp_path / "walked", max_fetch_bytes=1 << 20)
    fresh = [RepoCache(tmp_path / f"fresh-{i}", max_fetch_bytes=1 << 20) for i in range(len(shas))]
    for i, sha in enumerate(shas):
        assert walked.tree_summary(repo.url, sha) == fresh[i].tree_summary(repo.url, sha)


def test_what_git_refuses_to_check_out_is_unusual() -> None:
    assert is_unusual(".git/config") and is_unusual("a/.GIT/x") and is_unusual("a/.git. /x")
    assert is_unusual("a/../b") and is_unusual("a\\b") and is_unusual("GIT~1/x")
    assert not is_unusual("apps/app-1/.gitignore") and not is_unusual("apps/.github/x.yaml")


def test_gitattributes_that_apply_to_the_app_are_applied_as_a_checkout_would(git_repos, tmp_path: Path) -> None:
    repo = git_repos.create()
    repo.commit({
        "apps/a/cm.yaml": cm("a", "data:\n  id: '$Id$'\n"),
        "apps/b/cm.yaml": cm("b", "data:\n  id: '$Id$'\n"),
        "apps/b/.gitattributes": "*.yaml ident\n",  # applies to apps/b only
    })  # fmt: skip
    fast, slow = renderer(tmp_path / "fast"), renderer(tmp_path / "slow", objects=False)
    assert fast.render("a", src(repo.url, "apps/a"), "default").manifests[0]["data"] == {"id": "$Id$"}
    assert checkouts(fast) == []  # apps/b's attributes do not apply to apps/a
    got = fast.render("b", src(repo.url, "apps/b"), "default").manifests
    assert got == slow.render("b", src(repo.url, "apps/b"), "default").manifests
    assert got[0]["data"]["id"].startswith("$Id: ")  # expanded, as git's checkout does
    # One at the root applies everywhere (added in a later commit: found in the diff).
    repo.commit({".gitattributes": "*.yaml ident\n", "apps/a/cm.yaml": cm("a", "data:\n  id: '$Id$'\n  v: '2'\n")})
    again = fast.render("a", src(repo.url, "apps/a"), "default", refresh_revision=True).manifests
    assert again[0]["data"]["id"].startswith("$Id: ")


def _cat_file_children() -> list[int]:
    """This process's `git cat-file --batch-command` children."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and b"--batch-command" in cmdline:
            found.append(int(stat.parent.name))
    return found


def test_cat_file_processes_are_bounded_and_stopped(git_repos, tmp_path: Path) -> None:
    before = set(_cat_file_children())
    repos = [git_repos.create(f"r{i}") for i in range(3)]
    for i, repo in enumerate(repos):
        repo.commit({"app/cm.yaml": cm(f"cm-{i}")})
    r = SourceRenderer(RepoCache(tmp_path / "cache", batch_processes=2), None)
    for i, repo in enumerate(repos):
        assert names(r.render("app", src(repo.url, "app"), "default")) == [f"cm-{i}"]
        assert 1 <= len(set(_cat_file_children()) - before) <= 2  # one per clone read, two at most
    assert r.repo_cache is not None
    r.repo_cache.release_idle()
    assert set(_cat_file_children()) - before == set()
    # Used again after that: a new process, the same answers.
    repos[0].commit({"app/cm.yaml": cm("again")})
    assert names(r.render("app", src(repos[0].url, "app"), "default", refresh_revision=True)) == ["again"]
