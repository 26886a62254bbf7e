"""`app sync|wait|get|delete` as a user of argocd expects them (issue 15): the summary header with
`Synced to main (abc1234)`, an aligned resource table with HEALTH, a hook shown Running until it
ends, `app wait` saying what it waits for, -l/--project selections, and Ctrl-C on a sync saying the
operation goes on and how to follow or stop it."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from fixtures.daemon import GitOpsEnv, gitopsd_bin, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import (
    application,
    configmap,
    create,
    create_compared,
    deployment,
    job,
    presync_hook,
    status,
)

COLUMNS = ["GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "HOOK", "MESSAGE"]


def _labelled(name: str, url: str, path: str, team: str) -> dict:
    app = application(name, url, path, name)
    app["metadata"]["labels"] = {"team": team}
    return app


def _table(out: str) -> list[list[str]]:
    """The rows of the resource table printed after the header (split on runs of spaces)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split() == COLUMNS)
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        rows.append(line)
    return [lines[start], *rows]  # type: ignore[list-item]


def _cells(header: str, row: str) -> dict[str, str]:
    """A table row cut where each header starts: proves the columns are aligned."""
    starts = [header.index(f" {c} ") + 1 if i else 0 for i, c in enumerate(COLUMNS[:-1])]
    starts.append(header.index(" MESSAGE") + 1)
    ends = [*starts[1:], None]
    return {c: row[a:b].strip() for c, a, b in zip(COLUMNS, starts, ends, strict=True)}


def test_sync_and_wait_print_header_and_health_table_for_a_selection(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("selected")
    sha = repo.commit(
        {
            "a/cm.yaml": configmap("a-config"),
            "a/deploy.yaml": deployment(replicas=1),
            "a/hook.yaml": job(
                "a-check",
                {"argocd.argoproj.io/hook": "PostSync", "sandbox.gitopsd.io/job-duration": "2"},
            ),
            "b/cm.yaml": configmap("b-config"),
            "c/cm.yaml": configmap("c-config"),
        }
    )
    create(cli, tmp_path, _labelled("web-a", repo.url, "a", "web"))

    # Right after create: the real state once compared, not empty words.
    waited = cli("app", "wait", "web-a", "--operation", "--timeout", "60")
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert f"Sync Status:        OutOfSync from main ({sha[:7]})" in waited.stdout

    create_compared(cli, tmp_path, _labelled("web-b", repo.url, "b", "web"))
    create_compared(cli, tmp_path, _labelled("other-c", repo.url, "c", "ops"))

    none = cli("app", "sync", "-l", "team=nobody")
    assert none.returncode != 0 and "no applications match selector 'team=nobody'" in none.stderr

    synced = cli("app", "sync", "-l", "team=web")
    out = synced.stdout
    assert synced.returncode == 0, out + synced.stderr
    # Both selected apps synced, each with its header; the other one untouched.
    assert "Name:               web-a" in out and "Name:               web-b" in out
    assert "other-c" not in out
    assert kubectl("-n", "other-c", "get", "cm", "c-config").returncode != 0
    assert f"Sync Status:        Synced to main ({sha[:7]})" in out
    assert "Repo:               " + repo.url in out and "Path:               a" in out
    # The hook was shown Running while it ran, and Succeeded in the final table.
    progress = [line for line in out.splitlines() if "a-check" in line]
    assert any("Running" in line.split() for line in progress), progress
    table = _table(out)
    cells = {_cells(table[0], r)["NAME"]: _cells(table[0], r) for r in table[1:]}
    assert cells["a-check"] == {
        "GROUP": "batch",
        "KIND": "Job",
        "NAMESPACE": "web-a",
        "NAME": "a-check",
        "STATUS": "Succeeded",
        "HEALTH": "",
        "HOOK": "PostSync",
        "MESSAGE": cells["a-check"]["MESSAGE"],
    }
    assert cells["a-config"]["STATUS"] == "Synced" and cells["a-config"]["MESSAGE"] == "created"
    # The final table is of the app as compared after the sync: its health, its sync status.
    assert "Health Status:      Healthy" in out
    assert cells["web"]["KIND"] == "Deployment" and cells["web"]["HEALTH"] == "Healthy"

    got = cli("app", "get", "-l", "team=web")
    assert got.returncode == 0, got.stderr
    assert "Name:               web-a" in got.stdout and "Name:               web-b" in got.stdout
    assert f"Sync Status:        Synced to main ({sha[:7]})" in got.stdout
    assert "other-c" not in got.stdout

    waited = cli("app", "wait", "--project", "default", "--sync", "--timeout", "5")
    assert waited.returncode == 1  # other-c is not synced: the wait says so, naming it
    assert "waiting for 'other-c'" in waited.stdout and "sync (OutOfSync)" in waited.stdout
    assert "ConfigMap other-c/c-config (Missing)" in waited.stdout
    assert "other-c" in waited.stderr and "timed out" in waited.stderr

    deleted = cli("app", "delete", "-l", "team=web", "-y")
    assert deleted.returncode == 0, deleted.stderr
    assert cli("app", "list", "-o", "name").stdout.split() == ["other-c"]


def test_ctrl_c_on_sync_says_the_operation_goes_on(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("slow")
    repo.commit({"app/hook.yaml": presync_hook("slow-hook", 60)})
    create(cli, tmp_path, application("slow", repo.url, "app", "slow"))
    wait_for(lambda: status(cli, "slow").get("sync", {}).get("status"), what="comparison")
    proc = subprocess.Popen(
        [gitopsd_bin(), "app", "sync", "slow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **cli.auth_env(), "GITOPSD_SERVER": cli.address},
    )
    try:
        wait_for(
            lambda: status(cli, "slow").get("operationState", {}).get("phase") == "Running", what="operation"
        )
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert "continues on the server" in err
    assert "gitopsd app wait slow" in err and "gitopsd app terminate-op slow" in err
    assert "Traceback" not in err
    assert status(cli, "slow")["operationState"]["phase"] == "Running"  # it did go on
    assert cli("app", "terminate-op", "slow").returncode == 0
