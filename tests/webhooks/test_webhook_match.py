"""Which applications a push concerns: one repository whatever the URL spelling, and the pushed
branch or tag (HEAD: the default branch). Pure functions, no daemon."""

from __future__ import annotations

import pytest

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.server.webhook import BRANCH, TAG, PushedRef, PushEvent
from gitopsd.server.webhook_match import matching_apps, repo_key


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/Org/Repo",
        "https://github.com/org/repo.git",
        "https://github.com/org/repo/",
        "http://github.com:8080/org/repo.git",
        "git@github.com:org/repo.git",
        "ssh://git@github.com:22/org/repo",
        "ssh://git@GitHub.com/org/repo.git",
        "git://github.com/org/repo",
        "https://user:token@github.com/org/repo.git",
    ],
)
def test_one_repository_whatever_the_spelling(url: str) -> None:
    assert repo_key(url) == "github.com/org/repo"


@pytest.mark.parametrize(
    "url", ["https://github.com/org/other", "https://gitlab.com/org/repo", "https://github.com/org/repo/sub"]
)
def test_other_repositories_differ(url: str) -> None:
    assert repo_key(url) != "github.com/org/repo"


@pytest.mark.parametrize("url", ["", "   ", "--upload-pack=evil", "not a url at all", "ftp://h/r"])
def test_hostile_urls_match_nothing(url: str) -> None:
    assert repo_key(url) is None


def _app(name: str, repo: str, target: str, chart: str = "") -> apppb.Application:
    app = apppb.Application()
    app.metadata.name = name
    app.spec.source.repo_url = repo
    app.spec.source.target_revision = target
    app.spec.source.chart = chart
    return app


def _push(*refs: PushedRef, default: str = "main") -> PushEvent:
    return PushEvent("github", ("https://github.com/org/repo",), refs, default)


APPS = [
    _app("on-main", "git@github.com:org/repo.git", "main"),
    _app("on-main-ref", "https://github.com/org/repo", "refs/heads/main"),
    _app("on-head", "https://github.com/org/repo.git", "HEAD"),
    _app("on-empty", "https://github.com/org/repo.git", ""),
    _app("on-dev", "https://github.com/org/repo", "dev"),
    _app("on-tag", "https://github.com/org/repo", "v1.0"),
    _app("on-tag-ref", "https://github.com/org/repo", "refs/tags/v1.0"),
    _app("on-sha", "https://github.com/org/repo", "0123456789abcdef0123456789abcdef01234567"),
    _app("other-repo", "https://github.com/org/other", "main"),
    _app("helm-chart", "https://github.com/org/repo", "main", chart="web"),
]


def test_push_to_the_default_branch() -> None:
    names = matching_apps(APPS, _push(PushedRef(BRANCH, "main")))
    assert names == ["on-main", "on-main-ref", "on-head", "on-empty"]


def test_push_to_another_branch() -> None:
    assert matching_apps(APPS, _push(PushedRef(BRANCH, "dev"))) == ["on-dev"]


def test_push_of_a_tag() -> None:
    assert matching_apps(APPS, _push(PushedRef(TAG, "v1.0"))) == ["on-tag", "on-tag-ref"]


def test_unknown_default_branch_refreshes_head_apps_too() -> None:
    names = matching_apps(APPS, _push(PushedRef(BRANCH, "dev"), default=""))
    assert names == ["on-head", "on-empty", "on-dev"]


def test_several_refs_in_one_push() -> None:
    names = matching_apps(APPS, _push(PushedRef(BRANCH, "dev"), PushedRef(TAG, "v1.0")))
    assert names == ["on-dev", "on-tag", "on-tag-ref"]


def test_multi_source_apps_match_on_any_git_source() -> None:
    app = apppb.Application()
    app.metadata.name = "multi"
    chart = app.spec.sources.add()
    chart.repo_url, chart.chart, chart.target_revision = "https://charts.example.com", "web", "1.0.0"
    values = app.spec.sources.add()
    values.repo_url, values.target_revision = "git@github.com:org/repo.git", "main"
    assert matching_apps([app], _push(PushedRef(BRANCH, "main"))) == ["multi"]
