"""CLI rough edges of issue 15 against a real daemon: proj add/remove-source and -destination,
`proj windows list`, `proj get` alignment, `app events` of an unknown app, `gitopsd context`."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from fixtures.daemon import CLI, DaemonProcess

PROJECT = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "AppProject",
    "metadata": {"name": "team"},
    "spec": {
        "sourceRepos": ["https://example.com/one.git"],
        "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "team-*"}],
        "namespaceResourceWhitelist": [{"group": "", "kind": "ConfigMap"}],
        "syncWindows": [
            {
                "kind": "deny",
                "schedule": "0 22 * * *",
                "duration": "1h",
                "applications": ["*-prod"],
                "manualSync": True,
                "timeZone": "Europe/Paris",
            }
        ],
    },
}


def _spec(cli: CLI) -> dict:
    got = cli("proj", "get", "team", "-o", "json")
    assert got.returncode == 0, got.stderr
    return dict(json.loads(got.stdout)["spec"])


def test_project_sources_destinations_and_windows(cli: CLI, daemon: DaemonProcess, tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(yaml.safe_dump(PROJECT))
    assert cli("proj", "create", "-f", str(path)).returncode == 0

    added = cli("proj", "add-source", "team", "https://example.com/two.git")
    assert added.returncode == 0, added.stderr
    assert cli("proj", "add-source", "team", "https://example.com/two.git").returncode == 0  # already: fine
    assert _spec(cli)["sourceRepos"] == ["https://example.com/one.git", "https://example.com/two.git"]
    assert cli("proj", "remove-source", "team", "https://example.com/one.git").returncode == 0
    assert _spec(cli)["sourceRepos"] == ["https://example.com/two.git"]

    assert cli("proj", "add-destination", "team", "in-cluster", "apps", "--name").returncode == 0
    dup = cli("proj", "add-destination", "team", "in-cluster", "apps", "--name")
    assert dup.returncode != 0 and "already allowed" in dup.stderr
    assert {"name": "in-cluster", "namespace": "apps"} in _spec(cli)["destinations"]
    removed = cli("proj", "remove-destination", "team", "https://kubernetes.default.svc", "team-*")
    assert removed.returncode == 0, removed.stderr
    assert _spec(cli)["destinations"] == [{"name": "in-cluster", "namespace": "apps"}]
    missing = cli("proj", "remove-destination", "team", "https://nowhere", "x")
    assert missing.returncode != 0 and "is not in project 'team'" in missing.stderr

    windows = cli("proj", "windows", "list", "team")
    assert windows.returncode == 0, windows.stderr
    lines = windows.stdout.splitlines()
    assert lines[0].split() == [
        "ID", "STATUS", "KIND", "SCHEDULE", "DURATION", "APPLICATIONS", "NAMESPACES", "CLUSTERS", "MANUALSYNC",
        "TIMEZONE",
    ]  # fmt: skip
    # Active or not depends on the hour the test runs: the state column is checked in test_syncwindows.
    assert lines[1].split()[0] == "0" and lines[1].split()[1] in ("Active", "Inactive")
    assert lines[1].split()[4:] == [
        "deny",
        "0",
        "22",
        "*",
        "*",
        "*",
        "1h",
        "*-prod",
        "-",
        "-",
        "Enabled",
        "Europe/Paris",
    ]
    assert "not enforce" not in windows.stderr

    # Long labels ("Allowed Namespaced Resources") keep every value in one column.
    got = cli("proj", "get", "team").stdout.splitlines()
    starts = {
        len(line) - len(line.split(":", 1)[1].lstrip()) for line in got if line.split(":", 1)[1].strip()
    }
    assert len(starts) == 1, got


def test_events_of_an_unknown_application_are_not_found(cli: CLI, daemon: DaemonProcess) -> None:
    got = cli("app", "events", "no-such-app")
    assert got.returncode != 0
    assert "NOT_FOUND" in got.stderr and "no-such-app" in got.stderr


def test_context_lists_and_switches_between_saved_daemons(daemon: DaemonProcess, tmp_path: Path) -> None:
    second = DaemonProcess(data_dir=tmp_path / "second", log_path=tmp_path / "second.log").start()
    # A user's shell: nothing in the environment, only what `login` saves.
    env = {
        "GITOPSD_CONFIG_DIR": str(tmp_path / "home"),
        "GITOPSD_AUTH_TOKEN": "",
        "GITOPSD_SERVER": "",
        "GITOPSD_SERVER_CA": "",
    }
    cli = CLI("", tmp_path)
    try:
        for d, server in ((daemon, daemon.address), (second, "https://" + second.address)):
            logged = cli(
                "login", server, "--username", "admin", "--password-stdin", "--server-ca", str(d.cert_path),
                input=d.initial_password() + "\n", env=env,
            )  # fmt: skip
            assert logged.returncode == 0, logged.stderr
        path = tmp_path / "team.yaml"
        path.write_text(yaml.safe_dump(PROJECT))
        made = cli("proj", "create", "-f", str(path), env=env)  # on the current one: the second
        assert made.returncode == 0, made.stderr

        listed = cli("context", env=env)
        assert listed.returncode == 0, listed.stderr
        rows = [line.split() for line in listed.stdout.splitlines()]
        assert rows[0] == ["CURRENT", "NAME", "USER"]
        assert sorted(rows[1:]) == sorted([[daemon.address, "admin"], ["*", second.address, "admin"]])

        switched = cli("context", daemon.address, env=env)
        assert switched.returncode == 0, switched.stderr
        assert "team" not in cli("proj", "list", "-o", "name", env=env).stdout.split()
        assert cli("context", "https://" + second.address, env=env).returncode == 0
        assert "team" in cli("proj", "list", "-o", "name", env=env).stdout.split()

        unknown = cli("context", "nowhere:1", env=env)
        assert unknown.returncode != 0 and "no saved login for 'nowhere:1'" in unknown.stderr
        assert cli("context", "--delete", daemon.address, env=env).returncode == 0
        assert daemon.address not in cli("context", env=env).stdout
    finally:
        second.stop()
