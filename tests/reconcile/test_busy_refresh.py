"""A push announced while its application is busy with another refresh is not lost: the webhook's
refresh waits its second for the application's lock, then is tried again once that refresh ends
(gitopsd.app.scheduler, RefreshBusy), instead of leaving the application at the commit the other
refresh read before the push, until the next poll (an hour here).

The other refresh is a user's hard refresh of an application rendered by a Config Management Plugin
that takes seconds: a real plugin script under the real gitopsd-cmp sidecar."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, configmap, create, status

SLOW = 5  # seconds each render of the plugin takes: the window in which the push comes


@pytest.fixture
def gitops_env_extra(tmp_path: Path) -> dict[str, str]:
    plugins = tmp_path / "cmp"
    plugins.mkdir()
    (plugins / "slow.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "ConfigManagementPlugin",
                "metadata": {"name": "slow"},
                "spec": {"generate": {"command": ["sh", "-c", f"sleep {SLOW}; cat cm.yaml"]}},
            }
        )
    )
    return {"GITOPSD_CMP_PATH": str(plugins)}


def _push(http: str, url: str, before: str, after: str, modified: list[str]) -> dict[str, object]:
    commit = {"id": after, "message": "change", "added": [], "removed": [], "modified": modified}
    body = {
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "commits": [commit],
        "head_commit": commit,
        "repository": {"name": "busy", "full_name": "t/busy", "html_url": url, "clone_url": url},
    }
    request = urllib.request.Request(
        f"http://{http}/api/webhook",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-GitHub-Event": "push"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return dict(json.loads(reply.read()))


def test_a_push_during_another_refresh_is_compared_after_it(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("busy")
    first = repo.commit({"apps/slow/cm.yaml": configmap("slow-cm", {"v": "1"})})
    app = application("slow", repo.url, "apps/slow", "busy")
    app["spec"]["source"]["plugin"] = {"name": "slow"}
    create(cli, tmp_path, app)
    wait_for(lambda: status(cli, "slow").get("sync", {}).get("revision") == first, timeout=60, what="first compare")

    # A user's hard refresh: it reads the branch now (the first commit), then renders for SLOW seconds.
    hard = threading.Thread(target=cli, args=("app", "get", "slow", "--hard-refresh"), daemon=True)
    hard.start()
    time.sleep(2.0)  # its ls-remote is done: it renders the first commit from here on
    second = repo.commit({"apps/slow/cm.yaml": configmap("slow-cm", {"v": "2"})})
    reply = _push(gitops_env.daemon.http_address, f"file://{repo.url}", first, second, ["apps/slow/cm.yaml"])
    assert reply.get("refreshed") == ["slow"], reply
    hard.join(60)
    # The webhook's refresh found the application busy; it runs again once the hard refresh is done.
    wait_for(
        lambda: status(cli, "slow").get("sync", {}).get("revision") == second,
        timeout=SLOW * 4 + 20,
        what="the pushed commit compared",
    )
