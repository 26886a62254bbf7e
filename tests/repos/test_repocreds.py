"""Credential templates (`gitopsd repocreds`, Argo CD's repocreds) through the real daemon and real git
over authenticating smart HTTP: a repository without an entry is fetched with the template of the
longest prefix its URL starts with; the password is sealed at rest and never shown."""

from __future__ import annotations

from pathlib import Path

import yaml
from fixtures.daemon import CLI, DaemonProcess
from fixtures.gitrepos import GitHttpServer, GitRepos

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: templated-settings}\ndata: {k: v}\n"


def _create_app(cli: CLI, tmp: Path, name: str, url: str) -> None:
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "project": "default",
            "source": {"repoURL": url, "targetRevision": "main", "path": "app"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
        },
    }
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(app))
    made = cli("app", "create", "-f", str(path))
    assert made.returncode == 0, made.stderr


def test_a_template_serves_every_repository_under_its_prefix(
    cli: CLI, daemon: DaemonProcess, git_repos: GitRepos, git_http_server: GitHttpServer, tmp_path: Path
) -> None:
    secret = git_http_server.password
    repo = git_repos.create("templated")
    repo.commit({"app/cm.yaml": CONFIGMAP})
    url = git_http_server.url(repo)
    host = f"http://127.0.0.1:{git_http_server.port}/"
    longer = url[: len(host) + 5]  # a prefix of the repository's name: matched as text, as Argo CD does

    _create_app(cli, tmp_path, "templated", url)
    before = cli("app", "manifests", "templated")
    assert before.returncode != 0 and "authentication failed" in before.stderr, before.stderr

    # A wrong template for the whole host, the right one for a longer prefix: the longest wins.
    wrong = cli("repocreds", "add", host, "--username", "deploy", "--password", "not-it")
    assert wrong.returncode == 0, wrong.stderr
    right = cli("repocreds", "add", longer, "--username", "deploy", "--password", secret)
    assert right.returncode == 0, right.stderr
    got = cli("app", "manifests", "templated")
    assert got.returncode == 0, got.stderr
    assert "templated-settings" in got.stdout

    listed = cli("repocreds", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split() == ["URL", "PATTERN", "TYPE", "USERNAME", "CREDENTIALS"]
    assert host in listed.stdout and "deploy" in listed.stdout
    as_json = cli("repocreds", "list", "-o", "json")
    assert as_json.returncode == 0 and '"hasCredentials": true' in as_json.stdout

    again = cli("repocreds", "add", host, "--username", "deploy", "--password", "x")
    assert again.returncode != 0 and "already exists" in again.stderr
    bad = cli("repocreds", "add", "h", "--username", "deploy", "--password", "x")
    assert bad.returncode != 0 and "prefix" in bad.stderr

    # Sealed at rest, never in a reply or the log; kept across a restart.
    stored = b"".join(p.read_bytes() for p in daemon.data_dir.rglob("*") if p.is_file() and "db" in p.name)
    assert secret.encode() not in stored
    assert secret not in listed.stdout + as_json.stdout + daemon.log()
    daemon.restart()
    cli = CLI(daemon.address, cli.cwd)
    after = cli("repocreds", "list", "-o", "url")
    assert after.returncode == 0, after.stderr
    assert after.stdout.split() == sorted([host, longer])

    removed = cli("repocreds", "rm", host)
    assert removed.returncode == 0, removed.stderr
    missing = cli("repocreds", "rm", host)
    assert missing.returncode != 0 and "not found" in missing.stderr
