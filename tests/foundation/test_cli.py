"""The `gitopsd` command through its entry point, against a real daemon."""

from __future__ import annotations

from pathlib import Path

import yaml
from fixtures.daemon import CLI, gitopsd_bin

ROOT = Path(__file__).resolve().parents[2]
SEED_APP = ROOT / "examples" / "apps" / "mon-app.yaml"


def test_seed_application_round_trips_through_create_and_get(cli: CLI) -> None:
    created = cli("app", "create", "-f", str(SEED_APP))
    assert created.returncode == 0, created.stderr
    assert "application 'mon-app' created" in created.stdout

    shown = cli("app", "get", "mon-app", "-o", "yaml")
    assert shown.returncode == 0, shown.stderr
    doc = yaml.safe_load(shown.stdout)
    original = yaml.safe_load(SEED_APP.read_text())
    assert doc["apiVersion"] == original["apiVersion"] and doc["kind"] == original["kind"]
    assert doc["spec"] == original["spec"]
    assert doc["metadata"]["name"] == "mon-app" and doc["metadata"]["namespace"] == "argocd"
    assert doc["metadata"]["uid"]


def test_app_get_and_list_tables(cli: CLI) -> None:
    assert cli("app", "create", "-f", str(SEED_APP)).returncode == 0
    got = cli("app", "get", "mon-app")
    assert got.returncode == 0, got.stderr
    lines = dict(line.split(":", 1) for line in got.stdout.splitlines() if ":" in line)
    assert lines["Name"].strip() == "mon-app"
    assert lines["Project"].strip() == "default"
    assert lines["Server"].strip() == "https://kubernetes.default.svc"
    assert lines["Namespace"].strip() == "production"
    assert lines["Repo"].strip() == "https://github.com/mon-org/k8s-manifests"
    assert lines["Target"].strip() == "main"
    assert lines["Path"].strip() == "apps/mon-app"
    assert lines["Sync Policy"].strip() == "Automated (Prune, SelfHeal)"
    assert lines["Sync Status"].strip() == "Unknown"
    assert lines["Health Status"].strip() == "Unknown"

    listed = cli("app", "list")
    header, row = listed.stdout.splitlines()[:2]
    assert header.split()[:8] == [
        "NAME",
        "CLUSTER",
        "NAMESPACE",
        "PROJECT",
        "STATUS",
        "HEALTH",
        "SYNCPOLICY",
        "CONDITIONS",
    ]
    assert row.split()[:7] == [
        "mon-app",
        "https://kubernetes.default.svc",
        "production",
        "default",
        "Unknown",
        "Unknown",
        "Auto-Prune",
    ]
    as_json = cli("app", "list", "-o", "json")
    assert [a["metadata"]["name"] for a in yaml.safe_load(as_json.stdout)] == ["mon-app"]


def test_create_from_flags_and_upsert(cli: CLI) -> None:
    args = [
        "app",
        "create",
        "guestbook",
        "--repo",
        "https://example.com/apps.git",
        "--path",
        "guestbook",
        "--revision",
        "main",
        "--dest-server",
        "https://kubernetes.default.svc",
        "--dest-namespace",
        "web",
    ]
    assert cli(*args, "--sync-policy", "automated", "--self-heal").returncode == 0
    again = cli(*args)
    assert again.returncode == 2
    assert "already exists" in again.stderr and "--upsert" in again.stderr
    upsert = cli(*args, "--upsert", "--project", "default")
    assert upsert.returncode == 0, upsert.stderr
    doc = yaml.safe_load(cli("app", "get", "guestbook", "-o", "json").stdout)
    assert doc["spec"]["source"] == {
        "repoURL": "https://example.com/apps.git",
        "path": "guestbook",
        "targetRevision": "main",
    }
    assert "syncPolicy" not in doc["spec"]  # the upsert replaced the automated policy


def test_several_documents_per_file_and_a_bad_one_is_named(cli: CLI, tmp_path: Path) -> None:
    seed = yaml.safe_load(SEED_APP.read_text())
    second = yaml.safe_load(SEED_APP.read_text())
    second["metadata"]["name"] = "second"
    bad = yaml.safe_load(SEED_APP.read_text())
    bad["metadata"]["name"] = "broken"
    bad["spec"]["source"]["repoUrl"] = bad["spec"]["source"].pop("repoURL")
    path = tmp_path / "apps.yaml"
    path.write_text(yaml.safe_dump_all([seed, bad, second]))
    result = cli("app", "create", "-f", str(path))
    assert result.returncode == 2
    assert "document 2 (broken)" in result.stderr
    assert "spec.source.repoUrl: unknown field" in result.stderr
    names = cli("app", "list", "-o", "name").stdout.split()
    assert names == ["mon-app", "second"]


def test_malformed_input_is_refused_with_a_message(cli: CLI, tmp_path: Path) -> None:
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec: [unclosed\n")
    result = cli("app", "create", "-f", str(bad_yaml))
    assert result.returncode == 2
    assert "not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr

    wrong_kind = tmp_path / "deploy.yaml"
    wrong_kind.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n")
    result = cli("app", "create", "-f", str(wrong_kind))
    assert result.returncode == 2
    assert "INVALID_ARGUMENT: kind: expected Application, got 'Deployment'" in result.stderr
    assert cli("app", "list", "-o", "name").stdout == ""


def test_delete(cli: CLI) -> None:
    assert cli("app", "create", "-f", str(SEED_APP)).returncode == 0
    deleted = cli("app", "delete", "mon-app", "-y")
    assert deleted.returncode == 0 and "deleted" in deleted.stdout
    missing = cli("app", "get", "mon-app")
    assert missing.returncode == 2
    assert "NOT_FOUND: application 'mon-app' not found" in missing.stderr


def test_version_shows_client_and_server(cli: CLI) -> None:
    result = cli("version")
    assert result.returncode == 0
    assert result.stdout.startswith("gitopsd: v")
    assert "gitopsd-server: v" in result.stdout


def test_unreachable_daemon_gives_one_clear_line(tmp_path: Path) -> None:
    cli = CLI("127.0.0.1:1", tmp_path)
    result = cli("app", "list", "--grpc-timeout", "5")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "cannot reach the gitopsd daemon at 127.0.0.1:1" in result.stderr
    assert result.stdout == ""


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    import subprocess

    result = subprocess.run([gitopsd_bin(), "app", "frobnicate"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
