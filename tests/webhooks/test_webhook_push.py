"""A signed push from every provider refreshes (and, when automated, syncs) exactly the applications
on that repository and ref, long before the hour-long poll; a wrong or missing secret is refused."""

from __future__ import annotations

import json

import pytest
from fixtures.daemon import wait_for
from reconcile.apps import application, configmap, create, status
from webhooks.hookenv import HookEnv
from webhooks.payloads import PROVIDERS, Repo, auth_headers, event_headers, post, push_body


def _signed_push(env: HookEnv, provider: str, repo: Repo, ref: str, secret: str | None = "valid"):  # type: ignore[no-untyped-def]
    body = json.dumps(push_body(provider, repo, ref)).encode()
    key = env.secrets[provider] if secret == "valid" else secret
    return post(env.http, {**event_headers(provider), **auth_headers(provider, key, body)}, body)


def _revision(env: HookEnv, name: str) -> str:
    return status(env.cli, name).get("sync", {}).get("revision", "")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_signed_push_refreshes_only_the_matching_app(hook_env: HookEnv, provider: str) -> None:
    env = hook_env
    repo = env.repos.create(f"{provider}-repo")
    main1 = repo.commit({"app/cm.yaml": configmap("settings", {"v": "1"})}, message="v1")
    dev1 = repo.commit({"app/cm.yaml": configmap("settings", {"v": "dev1"})}, message="dev1", branch="dev")
    url = env.git_url(repo)
    auto = application(f"{provider}-main", url, "app", f"{provider}-main", automated=True)
    dev = application(f"{provider}-dev", url, "app", f"{provider}-dev")
    dev["spec"]["source"]["targetRevision"] = "dev"
    create(env.cli, env.tmp, auto)
    create(env.cli, env.tmp, dev)
    wait_for(lambda: _revision(env, f"{provider}-main") == main1, what="first comparison of main")
    wait_for(lambda: _revision(env, f"{provider}-dev") == dev1, what="first comparison of dev")
    wait_for(
        lambda: status(env.cli, f"{provider}-main").get("operationState", {}).get("phase") == "Succeeded",
        what="first automated sync",
    )

    main2 = repo.commit({"app/cm.yaml": configmap("settings", {"v": "2"})}, message="v2")
    dev2 = repo.commit({"app/cm.yaml": configmap("settings", {"v": "dev2"})}, message="dev2", branch="dev")

    # The payload names the repository by https/ssh/web URLs; the apps use git://: same repo.
    reply = _signed_push(env, provider, Repo(repo.bare.name.removesuffix(".git")), "refs/heads/main")
    assert reply.status == 200, reply.body
    assert reply.body["refreshed"] == [f"{provider}-main"]
    wait_for(lambda: _revision(env, f"{provider}-main") == main2, timeout=20, what="refresh by webhook")
    # Automated: the new commit is deployed too.
    wait_for(
        lambda: (
            status(env.cli, f"{provider}-main")
            .get("operationState", {})
            .get("syncResult", {})
            .get("revision")
            == main2
        ),
        timeout=20,
        what="automated sync of the pushed commit",
    )
    # The app on another branch of the same repository did not look.
    assert _revision(env, f"{provider}-dev") == dev1

    reply = _signed_push(env, provider, Repo(repo.bare.name.removesuffix(".git")), "refs/heads/dev")
    assert reply.status == 200 and reply.body["refreshed"] == [f"{provider}-dev"], reply.body
    wait_for(lambda: _revision(env, f"{provider}-dev") == dev2, timeout=20, what="refresh of dev by webhook")
    env.assert_no_secret_logged()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_wrong_or_missing_secret_is_refused(hook_env: HookEnv, provider: str) -> None:
    env = hook_env
    repo = Repo("nobody-cares")
    wrong = _signed_push(env, provider, repo, "refs/heads/main", secret="not-" + env.secrets[provider])
    assert wrong.status == 401, wrong.body
    missing = _signed_push(env, provider, repo, "refs/heads/main", secret=None)
    assert missing.status == 401, missing.body
    # The message says what is wrong without echoing the secret or the signature.
    for reply in (wrong, missing):
        assert env.secrets[provider] not in json.dumps(reply.body)
    # A signature over another body does not pass either (the body is what is signed).
    if provider not in ("gitlab", "bitbucket", "azuredevops"):  # those send a token, not a signature
        body = json.dumps(push_body(provider, repo, "refs/heads/main")).encode()
        signed_other = auth_headers(provider, env.secrets[provider], body + b" ")
        tampered = post(env.http, {**event_headers(provider), **signed_other}, body)
        assert tampered.status == 401, tampered.body
    env.assert_no_secret_logged()


def test_tag_push_refreshes_apps_on_that_tag_and_head_follows_default_branch(hook_env: HookEnv) -> None:
    env = hook_env
    repo = env.repos.create("tagged")
    first = repo.commit({"app/cm.yaml": configmap("settings", {"v": "1"})}, message="v1")
    repo.tag("v1.0")
    url = env.git_url(repo)
    on_tag = application("on-tag", url, "app", "on-tag")
    on_tag["spec"]["source"]["targetRevision"] = "v1.0"
    on_head = application("on-head", url, "app", "on-head")
    on_head["spec"]["source"]["targetRevision"] = "HEAD"
    create(env.cli, env.tmp, on_tag)
    create(env.cli, env.tmp, on_head)
    wait_for(
        lambda: _revision(env, "on-tag") == first and _revision(env, "on-head") == first, what="compared"
    )

    second = repo.commit({"app/cm.yaml": configmap("settings", {"v": "2"})}, message="v2")
    repo.tag("v1.0")  # moved to the new commit
    reply = _signed_push(env, "github", Repo("tagged"), "refs/tags/v1.0")
    assert reply.status == 200 and reply.body["refreshed"] == ["on-tag"], reply.body
    wait_for(lambda: _revision(env, "on-tag") == second, timeout=20, what="tag app refreshed")
    assert _revision(env, "on-head") == first

    # HEAD is the default branch (main, as the payload says).
    reply = _signed_push(env, "gitlab", Repo("tagged"), "refs/heads/main")
    assert reply.status == 200 and reply.body["refreshed"] == ["on-head"], reply.body
    wait_for(lambda: _revision(env, "on-head") == second, timeout=20, what="HEAD app refreshed")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_ping_and_other_events_are_acknowledged(hook_env: HookEnv, provider: str) -> None:
    env = hook_env
    event = {
        "github": "ping",
        "gitlab": "Merge Request Hook",
        "bitbucket": "repo:fork",
        "bitbucketserver": "diagnostics:ping",
        "gitea": "issues",
        "gogs": "create",
    }.get(provider, "ping")
    payload = {"eventType": "build.complete"} if provider == "azuredevops" else {"zen": "hi", "hook_id": 1}
    body = json.dumps(payload).encode()
    headers = {**event_headers(provider, event), **auth_headers(provider, env.secrets[provider], body)}
    reply = post(env.http, headers, body)
    assert reply.status == 200, reply.body
    assert "refreshed" not in reply.body and reply.body["message"]


def test_push_to_any_source_of_a_multi_source_app_refreshes_and_syncs_it(hook_env: HookEnv) -> None:
    # Issue 12, item 3: the values repository (a ref source, never rendered itself) counts as much as
    # the chart's: its push refreshes the application and, automated, deploys the new values.
    env = hook_env
    charts = env.repos.create("ms-charts")
    charts.commit(
        {
            "web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n",
            "web/templates/cm.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ms-config\n"
                "data:\n  colour: {{ .Values.colour | quote }}\n"
            ),
        }
    )
    values = env.repos.create("ms-values")
    values.commit({"prod.yaml": "colour: blue\n"})
    app = application("multi-hook", env.git_url(charts), "web", "multi-hook", automated=True)
    source = app["spec"].pop("source")
    source["helm"] = {"valueFiles": ["$values/prod.yaml"]}
    app["spec"]["sources"] = [source, {"repoURL": env.git_url(values), "targetRevision": "main", "ref": "values"}]
    create(env.cli, env.tmp, app)
    wait_for(
        lambda: status(env.cli, "multi-hook").get("operationState", {}).get("phase") == "Succeeded",
        what="first automated sync",
    )
    pushed = values.commit({"prod.yaml": "colour: green\n"})
    reply = _signed_push(env, "github", Repo(values.bare.name.removesuffix(".git")), "refs/heads/main")
    assert reply.status == 200 and reply.body["refreshed"] == ["multi-hook"], reply.body
    wait_for(
        lambda: status(env.cli, "multi-hook").get("operationState", {}).get("syncResult", {}).get("revisions", [])[-1:]
        == [pushed],
        timeout=30,
        what="the automated sync of the values push",
    )
