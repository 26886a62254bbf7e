"""AppProject sync windows (issue 12, item 7): Argo CD's rules evaluated at a given instant, invalid
windows refused, and through the daemon and the sandbox: a manual sync refused by an active deny window
(naming it) and let through by manualSync, an automated sync that waits for an allow window (the app says
why) and runs once the window is open, and the state `app get` and `proj windows list` show.

The daemon tests never depend on the hour they run at: each window is computed from "now" (always open:
every minute with an hour's duration; closed: starting hours from now)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.daemon import CLI, DaemonProcess, GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, configmap, create, status

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.app.errors import InvalidArgument
from gitopsd.app.syncwindows import can_sync, validate_windows, window_state

# -------------------------------------------------------------------- the rules, at fixed instants


def _project(*windows: dict[str, Any]) -> projpb.AppProject:
    p = projpb.AppProject()
    for w in windows:
        p.spec.sync_windows.add(**w)
    return p


def _app(name: str = "web", namespace: str = "prod", server: str = "https://kubernetes.default.svc") -> Any:
    a = apppb.Application()
    a.metadata.name = name
    a.spec.destination.namespace = namespace
    a.spec.destination.server = server
    return a


NOON = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def test_a_window_is_active_from_its_start_for_its_duration_in_its_time_zone() -> None:
    w = projpb.SyncWindow(kind="deny", schedule="0 14 * * *", duration="1h30m", time_zone="Europe/Paris")
    # 14:00 in Paris (summer, UTC+2) is 12:00 UTC.
    assert window_state(0, w, NOON).active
    assert window_state(0, w, NOON + timedelta(minutes=89)).active
    closed = window_state(0, w, NOON + timedelta(minutes=90))
    assert not closed.active and closed.next_start == NOON + timedelta(days=1)
    before = window_state(0, w, NOON - timedelta(minutes=1))
    assert not before.active and before.next_start == NOON
    # A window whose start falls on a spring-forward gap opens when the clock resumes (03:00 CEST).
    gap = projpb.SyncWindow(kind="deny", schedule="30 2 * * *", duration="1h", time_zone="Europe/Paris")
    spring = datetime(2026, 3, 29, 1, 15, tzinfo=UTC)  # 03:15 CEST
    assert window_state(0, gap, spring).active


def test_argo_cd_rules_deny_wins_allow_gates_manual_sync_passes_where_allowed() -> None:
    always = {"schedule": "* * * * *", "duration": "1h"}
    later = {"schedule": "0 20 * * *", "duration": "1h"}  # closed at noon
    app = _app()
    # No windows: syncs run.
    assert can_sync(_project(), app, NOON, manual=False).allowed
    # Windows that do not match the app count for nothing.
    assert can_sync(_project({"kind": "deny", "applications": ["other"], **always}), app, NOON, False).allowed
    # Any active deny blocks, even beside an active allow; the reason names the window.
    both = _project({"kind": "allow", "applications": ["*"], **always}, {"kind": "deny", "namespaces": ["prod"], **always})
    blocked = can_sync(both, app, NOON, manual=False)
    assert not blocked.allowed and "deny window 1" in blocked.reason
    assert not can_sync(both, app, NOON, manual=True).allowed
    # manualSync on every active deny lets a manual sync through, not an automated one.
    lenient = _project({"kind": "deny", "clusters": ["https://kubernetes.*"], "manual_sync": True, **always})
    assert can_sync(lenient, app, NOON, manual=True).allowed
    assert not can_sync(lenient, app, NOON, manual=False).allowed
    # An inactive deny does not block.
    assert can_sync(_project({"kind": "deny", "applications": ["*"], **later}), app, NOON, False).allowed
    # Allow windows exist but none is open: wait (manual passes only with manualSync).
    gated = _project({"kind": "allow", "applications": ["web"], **later})
    waiting = can_sync(gated, app, NOON, manual=False)
    assert not waiting.allowed and "opens at 2026-06-15T20:00:00Z" in waiting.reason
    assert not can_sync(gated, app, NOON, manual=True).allowed
    gated.spec.sync_windows[0].manual_sync = True
    assert can_sync(gated, app, NOON, manual=True).allowed
    assert can_sync(gated, app, NOON + timedelta(hours=8, minutes=30), manual=False).allowed


@pytest.mark.parametrize(
    ("window", "named"),
    [
        ({"kind": "block", "schedule": "* * * * *", "duration": "1h"}, "kind"),
        ({"kind": "deny", "schedule": "every night", "duration": "1h"}, "schedule"),
        ({"kind": "deny", "schedule": "0 0 0 * * *", "duration": "1h"}, "schedule"),
        ({"kind": "deny", "schedule": "61 * * * *", "duration": "1h"}, "schedule"),
        ({"kind": "deny", "schedule": "0 1 * * *", "duration": "an hour"}, "duration"),
        ({"kind": "deny", "schedule": "0 1 * * *", "duration": "0s"}, "duration"),
        ({"kind": "deny", "schedule": "0 1 * * *", "duration": "1h", "time_zone": "Mars/Olympus"}, "timeZone"),
    ],
)
def test_invalid_windows_are_refused_naming_the_field(window: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidArgument, match=rf"spec\.syncWindows\[0\]\.{named}:"):
        validate_windows([projpb.SyncWindow(**window)])


def test_valid_windows_pass() -> None:
    validate_windows(
        [
            projpb.SyncWindow(kind="allow", schedule="@daily", duration="90m"),
            projpb.SyncWindow(kind="deny", schedule="0 22 * * 1-5", duration="1.5h", time_zone="America/New_York"),
        ]
    )


# -------------------------------------------------------------------- through the daemon

ALWAYS = {"schedule": "* * * * *", "duration": "1h"}


def _closed_window() -> dict[str, str]:
    """A daily window that opens six hours from now: closed while the test runs."""
    start = datetime.now(UTC) + timedelta(hours=6)
    return {"schedule": f"{start.minute} {start.hour} * * *", "duration": "1h"}


def _put_project(cli: CLI, tmp: Path, windows: list[dict[str, Any]], upsert: bool = False) -> Any:
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "team"},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            "syncWindows": windows,
        },
    }
    path = tmp / "team.yaml"
    path.write_text(yaml.safe_dump(doc))
    return cli("proj", "create", "-f", str(path), *(["--upsert"] if upsert else []))


def test_invalid_window_is_refused_at_create(cli: CLI, daemon: DaemonProcess, tmp_path: Path) -> None:
    bad = _put_project(cli, tmp_path, [{"kind": "deny", "schedule": "0 25 * * *", "duration": "1h"}])
    assert bad.returncode != 0
    assert "INVALID_ARGUMENT" in bad.stderr and "spec.syncWindows[0].schedule" in bad.stderr
    tz = _put_project(cli, tmp_path, [{"kind": "deny", "timeZone": "Nowhere/Land", **ALWAYS}])
    assert tz.returncode != 0 and "spec.syncWindows[0].timeZone" in tz.stderr
    assert cli("proj", "get", "team").returncode != 0  # nothing was stored


def _team_app(name: str, repo_url: str, namespace: str, automated: bool = False) -> dict[str, Any]:
    app = application(name, repo_url, "app", namespace, automated=automated)
    app["spec"]["project"] = "team"
    return app


def test_deny_window_refuses_a_manual_sync_and_manual_sync_lets_it_through(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    cli = gitops_env.cli
    made = _put_project(cli, tmp_path, [{"kind": "deny", "applications": ["frozen"], **ALWAYS}])
    assert made.returncode == 0, made.stderr
    repo = git_repos.create("frozen")
    repo.commit({"app/cm.yaml": configmap("frozen-config")})
    create(cli, tmp_path, _team_app("frozen", repo.url, "frozen"))
    wait_for(lambda: status(cli, "frozen").get("sync", {}).get("status") == "OutOfSync", what="comparison")

    refused = cli("app", "sync", "frozen")
    assert refused.returncode != 0
    assert "FAILED_PRECONDITION" in refused.stderr
    assert "deny window 0 ('* * * * *' UTC, 1h)" in refused.stderr, refused.stderr
    assert kubectl("-n", "frozen", "get", "cm", "frozen-config").returncode != 0  # nothing applied

    got = cli("app", "get", "frozen")
    assert "SyncWindow:" in got.stdout and "Sync Denied" in got.stdout, got.stdout
    listed = cli("proj", "windows", "list", "team")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].split()[:2] == ["0", "Active"], listed.stdout
    as_json = json.loads(cli("proj", "get", "team", "-o", "json").stdout)
    assert as_json["status"]["syncWindows"][0]["active"] is True

    relaxed = _put_project(
        cli, tmp_path, [{"kind": "deny", "applications": ["frozen"], "manualSync": True, **ALWAYS}], upsert=True
    )
    assert relaxed.returncode == 0, relaxed.stderr
    assert "Manual Allowed" in cli("app", "get", "frozen").stdout
    synced = cli("app", "sync", "frozen")
    assert synced.returncode == 0, synced.stderr
    assert kubectl("-n", "frozen", "get", "cm", "frozen-config").returncode == 0


def test_automated_sync_waits_for_an_allow_window_and_runs_once_it_opens(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    cli = gitops_env.cli
    made = _put_project(cli, tmp_path, [{"kind": "allow", "namespaces": ["gated"], **_closed_window()}])
    assert made.returncode == 0, made.stderr
    inactive = cli("proj", "windows", "list", "team")
    assert inactive.stdout.splitlines()[1].split()[:2] == ["0", "Inactive"], inactive.stdout
    repo = git_repos.create("gated")
    repo.commit({"app/cm.yaml": configmap("gated-config")})
    create(cli, tmp_path, _team_app("gated", repo.url, "gated", automated=True))

    def blocked() -> list[str]:
        st = status(cli, "gated")
        return [c["message"] for c in st.get("conditions", []) if c["type"] == "SyncWindowBlocked"]

    messages = wait_for(blocked, what="the SyncWindowBlocked condition")
    assert "automated sync waits: no allow window is active" in messages[0], messages
    assert status(cli, "gated").get("sync", {}).get("status") == "OutOfSync"
    assert not status(cli, "gated").get("operationState")  # no sync was started
    assert kubectl("-n", "gated", "get", "cm", "gated-config").returncode != 0
    assert "Sync Denied" in cli("app", "get", "gated").stdout

    opened = _put_project(cli, tmp_path, [{"kind": "allow", "namespaces": ["gated"], **ALWAYS}], upsert=True)
    assert opened.returncode == 0, opened.stderr
    cli("app", "get", "gated", "--refresh")
    wait_for(
        lambda: status(cli, "gated", refresh=True).get("sync", {}).get("status") == "Synced",
        timeout=60,
        what="the automated sync once the window opened",
    )
    assert kubectl("-n", "gated", "get", "cm", "gated-config").returncode == 0
    assert not blocked()


def test_the_examples_validate() -> None:
    from gitopsd.app.projects import validate_project
    from gitopsd.app.validation import validate_application
    from gitopsd.protojson import parse_document

    root = Path(__file__).resolve().parents[2] / "examples" / "apps"
    project = parse_document(yaml.safe_load((root / "project-with-windows.yaml").read_text()), projpb.AppProject())
    validate_project(project)
    assert len(project.spec.sync_windows) == 2
    app = parse_document(yaml.safe_load((root / "multi-source-app.yaml").read_text()), apppb.Application())
    validate_application(app)
    assert [s.ref for s in app.spec.sources] == ["", "values", ""]
