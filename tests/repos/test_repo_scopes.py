"""Repository credentials and projects, through the real daemon and real git over smart HTTP.

Project-scoped credentials serve their project's applications only, however warm the repo
cache and the render cache are; file:// URLs into the daemon's own data dir are refused; a
password in an application's repoURL is refused without being echoed.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import yaml
from auth.authhelpers import app_doc, project_doc
from fixtures.daemon import CLI, DaemonProcess
from fixtures.gitrepos import GitHttpServer, GitRepos

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: private-settings}\ndata: {k: v}\n"


def _leaks(secrets: list[str], *texts: str | bytes) -> list[int]:
    """Indices of the secrets that appear in any text; never the secrets, so test output stays clean."""
    return [
        i
        for i, s in enumerate(secrets)
        if any((s.encode() if isinstance(t, bytes) else s) in t for t in texts)
    ]


def _project(cli: CLI, tmp: Path, name: str) -> None:
    path = tmp / f"proj-{name}.yaml"
    path.write_text(yaml.safe_dump(project_doc(name, ["*"], server="*")))
    created = cli("proj", "create", "-f", str(path))
    assert created.returncode == 0, created.stderr


def _app(name: str, project: str, repo: str, revision: str = "main") -> dict:
    return app_doc(name, project, name, repo=repo, path="app", revision=revision)


def _create(cli: CLI, tmp: Path, app: dict, *extra: str):  # type: ignore[no-untyped-def]
    path = tmp / f"app-{app['metadata']['name']}.yaml"
    path.write_text(yaml.safe_dump(app))
    return cli("app", "create", "-f", str(path), *extra)


def test_project_scoped_credentials_serve_only_their_project(
    cli: CLI, daemon: DaemonProcess, git_repos: GitRepos, git_http_server: GitHttpServer, tmp_path: Path
) -> None:
    repo = git_repos.create("private")
    sha = repo.commit({"app/cm.yaml": CONFIGMAP})
    url = git_http_server.url(repo)
    _project(cli, tmp_path, "production")
    added = cli(
        "repo", "add", url, "--username", "deploy", "--password", git_http_server.password,
        "--project", "production",
    )
    assert added.returncode == 0, added.stderr
    row = cli("repo", "list").stdout.splitlines()[1]
    assert "Successful" in row  # the entry's own check uses its own (production's) credentials

    for name, project, revision in (
        ("prod-app", "production", "main"),
        ("other-app", "default", "main"),
        ("other-pinned", "default", sha),  # a full SHA: no ls-remote, straight to the clone
    ):
        made = _create(cli, tmp_path, _app(name, project, url, revision))
        assert made.returncode == 0, made.stderr

    # production first: its clone, its ls-remote answer and its render are now cached.
    prod = cli("app", "manifests", "prod-app")
    assert prod.returncode == 0, prod.stderr
    assert "private-settings" in prod.stdout

    for name in ("other-app", "other-pinned"):
        other = cli("app", "manifests", name)
        assert other.returncode != 0, other.stdout
        assert "private-settings" not in other.stdout
        assert "authentication failed" in other.stderr, other.stderr
        leaked = _leaks([git_http_server.password], other.stdout, other.stderr)
        assert leaked == []

    # The comparison of the default project's app fails the same way (its condition says so).
    got = json.loads(cli("app", "get", "other-app", "-o", "json", "--refresh").stdout)
    assert "private-settings" not in json.dumps(got)

    # Made global (no project), the same credentials serve every project.
    assert cli(
        "repo", "add", url, "--username", "deploy", "--password", git_http_server.password, "--upsert"
    ).returncode == 0
    other = cli("app", "manifests", "other-app")
    assert other.returncode == 0, other.stderr
    assert "private-settings" in other.stdout
    leaked = _leaks([git_http_server.password], daemon.log())
    assert leaked == []


def test_file_urls_into_the_data_dir_are_refused(
    cli: CLI, daemon: DaemonProcess, git_repos: GitRepos, tmp_path: Path
) -> None:
    # A real clone in the repo cache, the target an attacker wants.
    public = git_repos.create("victim")
    public.commit({"app/cm.yaml": CONFIGMAP})
    warm = _create(cli, tmp_path, _app("warm", "default", public.url))
    assert warm.returncode == 0, warm.stderr
    assert cli("app", "manifests", "warm").returncode == 0
    clones = sorted((daemon.data_dir / "git" / "repos").glob("*.git"))
    assert clones, "the repo cache has a clone"
    clone = clones[0]

    link = tmp_path / "innocent"
    link.symlink_to(clone)
    suffixed = tmp_path / "plain.git"  # git tries NAME.git when NAME does not exist
    suffixed.symlink_to(clone)
    sneaky = tmp_path / "looks-fine"
    sneaky.mkdir()
    (sneaky / ".git").write_text(f"gitdir: {clone}\n")
    attempts = [
        f"file://{clone}",
        str(clone),
        f"file://{daemon.data_dir}/git/repos/../repos/{clone.name}",
        f"file://{daemon.data_dir}",
        f"file://{daemon.data_dir}/auth",
        f"file://{link}",  # a symlink into the data dir
        f"file://{tmp_path / 'plain'}",
        f"file://{sneaky}",  # a .git file pointing into the data dir
    ]
    for i, url in enumerate(attempts):
        refused = cli("repo", "add", url)
        assert refused.returncode == 2, (url, refused.stdout)
        assert "data dir" in refused.stderr
        made = _create(cli, tmp_path, _app(f"steal-{i}", "default", url))
        assert made.returncode == 2, (url, made.stdout)
        assert "spec.source.repoURL" in made.stderr and "data dir" in made.stderr
    assert cli("app", "list", "-o", "name").stdout.split() == ["warm"]

    # Through upsert and update too, and for spec.sources.
    app = _app("warm", "default", public.url)
    app["spec"]["source"]["repoURL"] = f"file://{clone}"
    assert _create(cli, tmp_path, app, "--upsert").returncode == 2
    multi = _app("warm", "default", public.url)
    multi["spec"]["sources"] = [multi["spec"].pop("source")]
    multi["spec"]["sources"][0]["repoURL"] = f"file://{link}"
    upserted = _create(cli, tmp_path, multi, "--upsert")
    assert upserted.returncode == 2 and "spec.sources[0].repoURL" in upserted.stderr

    # A path that turns into a link after the application was written is refused at fetch time.
    later = tmp_path / "later"
    later_repo = git_repos.create("later")
    later_repo.commit({"app/cm.yaml": CONFIGMAP})
    later.symlink_to(later_repo.bare)
    made = _create(cli, tmp_path, _app("late", "default", f"file://{later}"))
    assert made.returncode == 0, made.stderr
    later.unlink()
    later.symlink_to(clone)
    # Renders reuse a check for up to a second (gitopsd.sources.localrepos; git itself is checked
    # afresh before every read, tests/sources/test_repo_cache.py): past it, the render is refused too.
    time.sleep(1.1)
    fetched = cli("app", "manifests", "late", "--revision", "main")
    assert fetched.returncode != 0
    assert "data dir" in fetched.stderr


def test_password_in_repo_url_is_refused_without_echoing_it(
    cli: CLI, daemon: DaemonProcess, tmp_path: Path
) -> None:
    secret = "Hunter2-in-the-URL-77"
    url = f"https://deploy:{secret}@git.example.com/org/repo.git"
    made = _create(cli, tmp_path, _app("leaky", "default", url))
    assert made.returncode == 2
    assert "embeds a password" in made.stderr
    assert "gitopsd repo add https://git.example.com/org/repo.git --username deploy --password" in made.stderr
    leaked = _leaks([secret], made.stdout, made.stderr)
    assert leaked == []

    # The other ways in: the create command's flags, upsert, update (set), spec.sources.
    flags = cli(
        "app", "create", "leaky", "--repo", url, "--path", "app",
        "--dest-server", "https://kubernetes.default.svc", "--dest-namespace", "leaky",
    )
    assert flags.returncode == 2
    ok = _create(cli, tmp_path, _app("leaky", "default", "https://git.example.com/org/repo.git"))
    assert ok.returncode == 0, ok.stderr
    upsert = _create(cli, tmp_path, _app("leaky", "default", url), "--upsert")
    assert upsert.returncode == 2 and "embeds a password" in upsert.stderr
    update = cli("app", "set", "leaky", "--repo", url)
    assert update.returncode == 2 and "embeds a password" in update.stderr
    multi = _app("leaky", "default", url)
    multi["spec"]["sources"] = [multi["spec"].pop("source")]
    upsert_sources = _create(cli, tmp_path, multi, "--upsert")
    assert upsert_sources.returncode == 2 and "spec.sources[0].repoURL" in upsert_sources.stderr
    for result in (flags, upsert, update, upsert_sources):
        leaked = _leaks([secret], result.stdout, result.stderr)
        assert leaked == []

    got = cli("app", "get", "leaky", "-o", "json")
    assert json.loads(got.stdout)["spec"]["source"]["repoURL"] == "https://git.example.com/org/repo.git"
    db = daemon.data_dir / "gitopsd.db"
    files = [Path(f"{db}{s}").read_bytes() for s in ("", "-wal") if os.path.exists(f"{db}{s}")]
    leaked = _leaks([secret], daemon.log(), *files)
    assert leaked == []
