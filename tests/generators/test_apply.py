"""`gitopsd apply -f` through the daemon: any mix of AppProject, Application and ApplicationSet
documents in files and directories, projects first, upsert semantics with created/configured/unchanged
per document, errors naming file and document, and RBAC per document as for a create."""

from __future__ import annotations

from pathlib import Path

from auth.authhelpers import login, set_password
from fixtures.applydocs import app_doc as _app
from fixtures.applydocs import project_doc as _project
from fixtures.applydocs import write_docs as _write
from fixtures.daemon import CLI, DaemonProcess


def test_apply_mixed_documents_projects_first_with_upsert_results(daemon: DaemonProcess, cli: CLI, tmp_path: Path) -> None:
    tree = tmp_path / "manifests"
    # The application comes before the project it uses, in the same file.
    _write(tree / "a.yaml", _app("web", "team"), _project("team"))
    _write(tree / "nested" / "b.yaml", _app("api", "default"))
    bad = _app("broken", "default")
    bad["spec"]["sorce"] = {}
    _write(tree / "bad.yaml", bad, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}})
    _write(tree / "set.yaml", {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": {"name": "s"}})

    first = cli("apply", "-f", str(tree))
    assert first.returncode == 2, first.stderr
    assert first.stdout.splitlines() == [
        "appproject.argoproj.io/team created",
        "application.argoproj.io/web created",
    ]
    errors = first.stderr
    assert f"{tree / 'bad.yaml'} document 1 (broken): " in errors and "spec.sorce: unknown field" in errors
    assert f"{tree / 'bad.yaml'} document 2 (d): kind 'Deployment' is not one gitopsd applies" in errors
    assert f"{tree / 'set.yaml'} document 1 (s): " in errors and "spec.generators" in errors
    assert cli("app", "get", "api").returncode != 0  # nested/ needs -R

    again = cli("apply", "-R", "-f", str(tree / "a.yaml"), "-f", str(tree / "nested"))
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        "appproject.argoproj.io/team unchanged",
        "application.argoproj.io/web unchanged",
        "application.argoproj.io/api created",
    ]
    _write(tree / "a.yaml", _app("web", "team", path="deploy-v2"), _project("team"))
    changed = cli("apply", "-f", str(tree / "a.yaml"))
    assert changed.stdout.splitlines() == [
        "appproject.argoproj.io/team unchanged",
        "application.argoproj.io/web configured",
    ]
    assert "deploy-v2" in cli("app", "get", "web", "-o", "yaml").stdout


def test_apply_checks_rbac_per_document(tmp_path: Path) -> None:
    proc = DaemonProcess(
        data_dir=tmp_path / "data",
        log_path=tmp_path / "daemon.log",
        env={
            "GITOPSD_AUTH_ACCOUNTS": "{dev: login}",
            # dev may manage applications of project default, and read projects; nothing more.
            "GITOPSD_RBAC_POLICY": "p, dev, applications, *, default/*, allow\np, dev, projects, get, *, allow",
        },
    ).start()
    try:
        set_password(proc, "dev", "dev-password-1")
        token = login(proc, "dev", "dev-password-1")
        cli = CLI(proc.address, tmp_path)
        file = _write(tmp_path / "mixed.yaml", _project("ops"), _app("mine", "default"), _app("theirs", "ops"))
        result = cli("apply", "-f", str(file), env={"GITOPSD_AUTH_TOKEN": token})
        assert result.returncode == 2, result.stderr
        assert result.stdout.splitlines() == ["application.argoproj.io/mine created"], result.stderr
        assert f"{file} document 1 (ops): PERMISSION_DENIED" in result.stderr
        assert f"{file} document 3 (theirs): " in result.stderr
        assert cli("proj", "get", "ops").returncode != 0
    finally:
        proc.stop()
