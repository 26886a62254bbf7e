"""The repo cache keeps what each credential scope fetched apart (real git over smart HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitopsd.sources.errors import RepoError, RepoErrorKind
from gitopsd.sources.gitauth import RepoCredentials
from gitopsd.sources.gitcache import RepoCache


def test_a_scope_never_reads_what_another_scope_fetched(git_repos, git_http_server, tmp_path: Path) -> None:
    repo = git_repos.create("private")
    sha = repo.commit({"a.yaml": "x: 1\n"})
    url = git_http_server.url(repo)
    creds = RepoCredentials(username="deploy", password=git_http_server.password, scope="production")

    def lookup(_url: str, project: str) -> RepoCredentials | None:
        return creds if project == "production" else None

    cache = RepoCache(tmp_path / "cache", lookup)
    assert cache.resolve(url, "main", project="production").sha == sha
    assert cache.access(url, "production").scope == "project:production"
    assert cache.access(url, "default").scope == "anonymous"
    # The commit is in production's clone, not in the one other projects use.
    assert cache.has_commit(url, sha, project="production")
    assert not cache.has_commit(url, sha, project="default")
    for attempt in (lambda: cache.resolve(url, sha, project="default"), lambda: cache.ls_remote(url, project="default")):
        with pytest.raises(RepoError) as err:
            attempt()
        assert err.value.kind == RepoErrorKind.AUTH_FAILED
    assert len(list((tmp_path / "cache" / "repos").glob("*.git"))) == 1


def test_clones_of_the_unscoped_layout_are_removed_at_start(git_repos, tmp_path: Path) -> None:
    repo = git_repos.create("public")
    sha = repo.commit({"a.yaml": "x: 1\n"})
    cache = RepoCache(tmp_path / "cache")
    assert cache.resolve(repo.url, "main").sha == sha
    (clone,) = (tmp_path / "cache" / "repos").glob("*.git")
    # As gitopsd named clones before scopes: URL slug and 20 hex digits of the URL's hash.
    old = clone.with_name("public-0123456789abcdef0123.git")
    clone.rename(old)

    again = RepoCache(tmp_path / "cache")
    assert not old.exists()
    assert again.resolve(repo.url, "main").sha == sha
    assert again.stats(repo.url).clones == 1
