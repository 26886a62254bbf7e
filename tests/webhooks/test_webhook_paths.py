"""The files a push changed, read from its payload, and the refresh order they give: the
applications whose paths hold a changed file first, the others after them, and those whose
manifest-generate-paths annotation names no changed file not at all. Whenever the payload may not
list every changed file (or lists them in a shape the provider does not document), the list is
"unknown" and every matching application is refreshed at once, as without it. Pure functions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from webhooks.payloads import Repo, event_headers, push_body

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.server.webhook import BRANCH, Headers, PushedRef, PushEvent, parse
from gitopsd.server.webhook_match import plan_refreshes
from gitopsd.server.webhook_paths import GITHUB_MAX_COMMITS, MAX_CHANGED_PATHS

SHA1, SHA2 = "1" * 40, "2" * 40


def _commit(**files: list[Any]) -> dict[str, Any]:
    return {"id": SHA2, "message": "m", **{k: files.get(k, []) for k in ("added", "modified", "removed")}}


def _parse(provider: str, **fields: Any) -> PushEvent:
    body = push_body(provider, Repo("repo"), "refs/heads/main")
    body.update(fields)
    event = parse(provider, Headers(event_headers(provider).items()), json.dumps(body).encode())
    assert isinstance(event, PushEvent)
    return event


def test_github_commits_and_head_commit_list_the_changed_files() -> None:
    first = _commit(added=["apps/a/new.yaml"], modified=["apps/b/cm.yaml"])
    last = _commit(removed=["/apps/c/old.yaml"], modified=["apps/b/cm.yaml"])
    event = _parse("github", before=SHA1, after=SHA2, commits=[first, last], head_commit=last)
    assert event.changed_paths == ("apps/a/new.yaml", "apps/b/cm.yaml", "apps/c/old.yaml")


@pytest.mark.parametrize("provider", ["gitea", "gogs"])
def test_github_shaped_providers_list_them_too(provider: str) -> None:
    event = _parse(provider, before=SHA1, after=SHA2, commits=[_commit(modified=["apps/b/cm.yaml"])])
    assert event.changed_paths == ("apps/b/cm.yaml",)


def test_gitlab_lists_them_when_it_lists_every_commit() -> None:
    commits = [_commit(modified=["apps/b/cm.yaml"]), _commit(added=["apps/a/x.yaml"])]
    event = _parse("gitlab", before=SHA1, after=SHA2, commits=commits, total_commits_count=2)
    assert event.changed_paths == ("apps/b/cm.yaml", "apps/a/x.yaml")
    # GitLab sends the latest 20 commits of a larger push: what the others changed is not said.
    cut = _parse("gitlab", before=SHA1, after=SHA2, commits=commits, total_commits_count=25)
    assert cut.changed_paths is None and "2 of 25 commits" in cut.paths_unknown


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"commits": []}, "no commits"),
        ({"created": True}, "created the branch"),
        ({"deleted": True, "after": "0" * 40}, "deleted the branch"),
        ({"forced": True}, "forced"),
        ({"before": "0" * 40}, "created or deleted"),
        ({"commits": [_commit(modified=["a"])] * GITHUB_MAX_COMMITS}, f"at most {GITHUB_MAX_COMMITS} commits"),
        ({"total_commits": 40}, "1 of 40 commits"),
    ],
    ids=["no-commits", "created", "deleted", "forced", "zero-before", "github-cap", "total-larger"],
)
def test_a_list_that_may_not_be_whole_is_unknown(fields: dict[str, Any], why: str) -> None:
    base: dict[str, Any] = {"before": SHA1, "after": SHA2, "commits": [_commit(modified=["apps/b/cm.yaml"])]}
    event = _parse("github", **{**base, **fields})
    assert event.changed_paths is None
    assert why in event.paths_unknown


@pytest.mark.parametrize(
    ("commits", "why"),
    [
        ("apps/b/cm.yaml", "commits: expected an array"),
        ({"modified": ["a"]}, "commits: expected an array"),
        ([1], "commits[0]: expected an object"),
        ([_commit(), None], "commits[1]: expected an object"),
        ([{"modified": "apps/b/cm.yaml"}], "commits[0].modified: expected an array"),
        ([{"added": {"a": 1}}], "commits[0].added: expected an array"),
        ([_commit(removed=[None])], "commits[0].removed: expected file paths"),
        ([_commit(modified=[42])], "commits[0].modified: expected file paths"),
        ([_commit(modified=["  "])], "commits[0].modified: expected file paths"),
        ([_commit(modified=["x" * 5000])], "commits[0].modified: expected file paths"),
        ([_commit(added=[f"f/{i}" for i in range(MAX_CHANGED_PATHS + 1)])], f"more than {MAX_CHANGED_PATHS}"),
    ],
    ids=[
        "string", "object", "number-item", "null-item", "string-list", "object-list", "null-path",
        "number-path", "blank-path", "long-path", "too-many-files",
    ],
)
def test_a_malformed_or_huge_list_is_unknown_and_the_push_still_counts(commits: Any, why: str) -> None:
    event = _parse("github", before=SHA1, after=SHA2, commits=commits)
    assert event.changed_paths is None and why in event.paths_unknown
    assert event.refs == (PushedRef(BRANCH, "main"),)  # the push itself is understood


@pytest.mark.parametrize("provider", ["bitbucket", "bitbucketserver", "azuredevops"])
def test_providers_without_file_lists_say_unknown(provider: str) -> None:
    body = json.dumps(push_body(provider, Repo("repo"), "refs/heads/main")).encode()
    event = parse(provider, Headers(event_headers(provider).items()), body)
    assert isinstance(event, PushEvent) and event.changed_paths is None and event.paths_unknown


# ---------------------------------------------------------------------- the order


def _app(name: str, path: str, annotation: str | None = None, repo: str = "https://github.com/org/repo") -> apppb.Application:
    app = apppb.Application()
    app.metadata.name = name
    app.spec.source.repo_url, app.spec.source.target_revision, app.spec.source.path = repo, "main", path
    if annotation is not None:
        app.metadata.annotations["argocd.argoproj.io/manifest-generate-paths"] = annotation
    return app


def _push(changed: tuple[str, ...] | None) -> PushEvent:
    return PushEvent("github", ("https://github.com/org/repo",), (PushedRef(BRANCH, "main"),), "main", changed)


APPS = [
    _app("a", "apps/a"),
    _app("b", "apps/b/"),
    _app("b-prefix", "apps/b-other"),  # a name that starts like apps/b is not under it
    _app("root", ""),
    _app("dot", "."),
    _app("other-repo", "apps/b", repo="https://github.com/org/other"),
]


def test_apps_whose_path_holds_a_changed_file_come_first() -> None:
    plan = plan_refreshes(APPS, _push(("apps/b/cm.yaml",)))
    assert plan.first == ["b", "root", "dot"]  # the whole repository holds every file
    assert plan.later == ["a", "b-prefix"]
    assert plan.skipped == []


def test_changed_files_unknown_refresh_every_matching_app_first() -> None:
    plan = plan_refreshes(APPS, _push(None))
    assert plan.first == ["a", "b", "b-prefix", "root", "dot"] and plan.later == []


def test_manifest_generate_paths_decides_for_the_apps_that_set_it() -> None:
    apps = [
        _app("rel", "apps/rel", "."),
        _app("abs", "apps/abs", "/shared"),
        _app("several", "apps/sev", "../untouched; /also/untouched ;values.yaml"),
        _app("untouched", "apps/untouched", "."),
        _app("outside", "apps/out", "../../.."),  # names nothing inside the repository: not an opt-out
        _app("gitopsd-key", "apps/g", None),
    ]
    apps[-1].metadata.annotations["gitopsd.io/manifest-generate-paths"] = "/elsewhere"
    changed = ("apps/rel/cm.yaml", "shared/base/kustomization.yaml", "apps/sev/values.yaml")
    plan = plan_refreshes(apps, _push(changed))
    assert plan.first == ["rel", "abs", "several"]
    assert plan.skipped == ["untouched", "gitopsd-key"]
    assert plan.later == ["outside"]
    # Unknown changes: the annotation cannot tell, so every one is refreshed (as Argo CD does).
    unknown = plan_refreshes(apps, _push(None))
    assert unknown.first == [a.metadata.name for a in apps] and unknown.skipped == []
