"""GET /metrics of a real daemon as applications come and go: a deleted application (by the API, or
as the child of an app of apps deleted with it) leaves every family, the others stay, and one made
again under its name starts from zero; and the figures the daemon keeps of git clones, git diffs and
the time background work waited for the API are exported and move."""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml
from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from metrics.scrape import Scrape, scrape
from reconcile.apps import application, configmap, create, status

from gitopsd.sources.giturl import normalize_repo_url


def _names(m: Scrape) -> set[str]:
    return {s.labels["name"] for s in m.samples if "name" in s.labels}


def _compared(cli, name: str) -> bool:  # type: ignore[no-untyped-def]
    return bool(status(cli, name).get("sync", {}).get("status"))


def test_deleted_applications_leave_metrics_and_a_new_one_starts_from_zero(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli, http = gitops_env.cli, gitops_env.daemon.http_address
    repo = git_repos.create("churn")
    child = application("child", repo.url, "web", "child", automated=True)
    repo.commit({"web/cm.yaml": configmap("web-config"), "root/apps.yaml": yaml.safe_dump(child)})
    create(cli, tmp_path, application("web", repo.url, "web", "web"))
    create(cli, tmp_path, application("stays", repo.url, "web", "stays"))
    create(cli, tmp_path, application("root", repo.url, "root", "argocd"))
    for name in ("web", "stays", "root"):
        wait_for(lambda name=name: _compared(cli, name), what=f"{name} compared")
    for name in ("web", "root"):  # root's sync creates its child, an application of its own
        synced = cli("app", "sync", name)
        assert synced.returncode == 0, synced.stdout + synced.stderr
    wait_for(lambda: cli("app", "get", "child").returncode == 0 and _compared(cli, "child"), what="child")

    before = wait_for(
        lambda: (m := scrape(http)).value("gitopsd_app_reconcile_total", name="child") and m,
        what="the child's reconciliations counted",
    )
    assert _names(before) == {"web", "stays", "root", "child"}
    assert before.value("gitopsd_app_sync_total", name="web", phase="Succeeded") == 1
    web_created = before.value("gitopsd_app_reconcile_created", name="web")
    stays = before.value("gitopsd_app_reconcile_total", name="stays")

    assert cli("app", "delete", "web", "--no-cascade", "-y").returncode == 0
    # root goes with its resources, and so its child: deleted by the daemon, not by an API call.
    assert cli("app", "delete", "root", "-y").returncode == 0
    wait_for(lambda: cli("app", "get", "child").returncode != 0, what="the child deleted with its parent")
    after = wait_for(
        lambda: _names(m := scrape(http)) == {"stays"} and m,
        what="the deleted applications gone from every family",
    )
    # The one left keeps its series (nothing refreshes it meanwhile: the interval is an hour).
    assert after.value("gitopsd_app_reconcile_total", name="stays") == stays
    assert after.value("gitopsd_app_sync_status", name="stays", status="OutOfSync") == 1

    create(cli, tmp_path, application("web", repo.url, "web", "web"))
    again = wait_for(
        lambda: (m := scrape(http)).value("gitopsd_app_reconcile_total", name="web") and m,
        what="the new web's reconciliations counted",
    )
    # Counted from zero again, as a counter after a reset: a new _created and no sync of the old one.
    assert (again.value("gitopsd_app_reconcile_created", name="web") or 0) > (web_created or 0)
    assert again.value("gitopsd_app_sync_total", name="web", phase="Succeeded") is None


def test_git_clones_diffs_and_the_background_wait_are_exported_and_move(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli, http = gitops_env.cli, gitops_env.daemon.http_address
    before = scrape(http)
    for family in ("gitopsd_git_clones", "gitopsd_git_diffs", "gitopsd_background_wait_seconds"):
        assert family in before.families, f"{family} missing from /metrics"
    waited = before.value("gitopsd_background_wait_seconds_total")
    assert waited is not None

    repo = git_repos.create("counted")
    first = repo.commit({"web/cm.yaml": configmap("web-config")})
    create(cli, tmp_path, application("web", repo.url, "web", "web"))
    wait_for(lambda: status(cli, "web").get("sync", {}).get("revision") == first, what="web compared")
    key = normalize_repo_url(repo.url)
    m = scrape(http)
    assert m.value("gitopsd_git_clones_total", repo=key) == 1
    assert m.value("gitopsd_git_diffs_total", repo=key) == 0

    # A commit beside the application's path: its render is reused once a diff shows nothing under it.
    second = repo.commit({"README.md": "docs"}, message="docs")
    assert status(cli, "web", refresh=True)["sync"]["revision"] == second
    m = scrape(http)
    assert m.value("gitopsd_git_diffs_total", repo=key) == 1
    assert m.value("gitopsd_git_clones_total", repo=key) == 1  # fetched again, not cloned again

    # A new application is refreshed as soon as its Create is answered: the refresh yields to the API
    # first. Creates are repeated until one refresh has had to wait (the first nearly always does).
    numbers = itertools.count(1)

    def moved() -> bool:
        name = f"more-{next(numbers)}"
        create(cli, tmp_path, application(name, repo.url, "web", name))
        return (scrape(http).value("gitopsd_background_wait_seconds_total") or 0) > waited

    wait_for(moved, what="background work waited for an API call")
