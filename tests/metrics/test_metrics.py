"""GET /metrics after real work (a sync, a never-synced app, webhooks) shows what an operator
would chart and alert on; GET /healthz answers while the daemon serves."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from metrics.scrape import get, scrape
from reconcile.apps import application, configmap, create, deployment, status

from gitopsd.sources.giturl import normalize_repo_url


def _post(address: str, headers: dict[str, str], body: bytes) -> int:
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", "/api/webhook", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_healthz_answers_ok(gitops_env: GitOpsEnv) -> None:
    assert get(gitops_env.daemon.http_address, "/healthz")[::2] == (200, "ok\n")


def test_metrics_after_a_sync_and_webhooks(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli, http = gitops_env.cli, gitops_env.daemon.http_address

    before = scrape(http)
    for family in (
        "gitopsd_app_sync_status",
        "gitopsd_app_health_status",
        "gitopsd_app_sync",
        "gitopsd_app_sync_duration_seconds",
        "gitopsd_app_reconcile_seconds",
        "gitopsd_git_requests",
        "gitopsd_renders",
        "gitopsd_render_cache_hits",
        "gitopsd_webhook_requests",
        "gitopsd_login_failures",
        "gitopsd_kube_requests",
    ):
        assert family in before.families, f"{family} missing from /metrics"
    assert before.value("gitopsd_login_failures_total") == 0
    assert before.value("gitopsd_renders_total") == 0

    repo = git_repos.create("metered")
    repo.commit({"web/deploy.yaml": deployment(replicas=1), "web/cm.yaml": configmap("web-config")})
    create(cli, tmp_path, application("web", repo.url, "web", "metered"))
    create(cli, tmp_path, application("idle", repo.url, "web", "idle"))
    wait_for(lambda: status(cli, "idle").get("sync", {}).get("status") == "OutOfSync", what="idle compared")
    wait_for(lambda: status(cli, "web").get("sync", {}).get("status") == "OutOfSync", what="web compared")
    synced = cli("app", "sync", "web")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    waited = cli("app", "wait", "web", "--sync", "--health", "--timeout", "30")
    assert waited.returncode == 0, waited.stderr

    # No secret configured here: an unsigned push is taken (for a repository no app uses).
    push = {"ref": "refs/heads/main", "repository": {"html_url": "https://git.example.com/org/other"}}
    assert _post(http, {"X-GitHub-Event": "push"}, json.dumps(push).encode()) == 200
    assert _post(http, {"X-GitHub-Event": "push"}, b"{not json") == 400
    assert _post(http, {}, b"{}") == 400
    # One failed login.
    daemon = gitops_env.daemon
    failed = cli(
        "login",
        daemon.address,
        "--server-ca",
        str(daemon.cert_path),
        "--username",
        "admin",
        "--password",
        "not-the-password",
    )
    assert failed.returncode != 0 and "invalid username or password" in failed.stderr

    m = scrape(http)
    # One-hot status per application.
    assert m.value("gitopsd_app_sync_status", name="web", project="default", status="Synced") == 1
    assert m.value("gitopsd_app_sync_status", name="web", project="default", status="OutOfSync") == 0
    assert m.value("gitopsd_app_health_status", name="web", project="default", status="Healthy") == 1
    assert m.value("gitopsd_app_sync_status", name="idle", project="default", status="OutOfSync") == 1
    assert m.value("gitopsd_app_health_status", name="idle", project="default", status="Missing") == 1
    assert m.value("gitopsd_app_health_status", name="idle", project="default", status="Healthy") == 0
    # The one sync operation, its phase and duration.
    assert m.value("gitopsd_app_sync_total", name="web", phase="Succeeded") == 1
    assert m.value("gitopsd_app_sync_total", name="idle", phase="Succeeded") is None
    assert m.value("gitopsd_app_sync_duration_seconds_count", phase="Succeeded") == 1
    assert (m.value("gitopsd_app_sync_duration_seconds_sum", phase="Succeeded") or 0) > 0
    # Reconciliations: at least the first comparison of each app and the one after the sync.
    assert (m.value("gitopsd_app_reconcile_total", name="web") or 0) >= 2
    assert (m.value("gitopsd_app_reconcile_total", name="idle") or 0) >= 1
    assert (m.value("gitopsd_app_reconcile_seconds_count") or 0) >= 3
    # Git: both apps share one repository, asked with ls-remote and fetched at least once.
    key = normalize_repo_url(repo.url)
    assert (m.value("gitopsd_git_requests_total", repo=key, kind="ls-remote") or 0) >= 1
    assert (m.value("gitopsd_git_requests_total", repo=key, kind="fetch") or 0) >= 1
    # The sync applied the Deployment and the ConfigMap with server-side apply (PATCH) after reading.
    assert (m.value("gitopsd_kube_requests_total", verb="PATCH") or 0) >= 2
    assert (m.value("gitopsd_kube_requests_total", verb="GET") or 0) >= 1
    # Renders: the refreshes after the first render of the commit come from the cache.
    assert (m.value("gitopsd_renders_total") or 0) >= 1
    assert (m.value("gitopsd_render_cache_hits_total") or 0) >= 1
    # Webhooks by provider and result.
    assert m.value("gitopsd_webhook_requests_total", provider="github", result="no_match") == 1
    assert m.value("gitopsd_webhook_requests_total", provider="github", result="malformed") == 1
    assert m.value("gitopsd_webhook_requests_total", provider="unknown", result="unknown_provider") == 1
    assert m.value("gitopsd_login_failures_total") == 1
    # Neither the admin's password nor the wrong one tried is logged.
    assert daemon.initial_password() not in daemon.log() and "not-the-password" not in daemon.log()

    # Deleting an application removes its status series.
    deleted = cli("app", "delete", "idle", "--no-cascade", "-y")
    assert deleted.returncode == 0, deleted.stderr
    wait_for(
        lambda: scrape(http).value("gitopsd_app_sync_status", name="idle", status="OutOfSync") is None,
        what="deleted app gone from /metrics",
    )
