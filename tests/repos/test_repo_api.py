"""Repositories through the CLI and the daemon: credentials in, never out; connection checks."""

from __future__ import annotations

import json

from fixtures.daemon import CLI, DaemonProcess
from fixtures.gitrepos import GitHttpServer, GitRepos


def test_add_private_repository_checks_it_and_hides_the_password(
    cli: CLI, daemon: DaemonProcess, git_repos: GitRepos, git_http_server: GitHttpServer
) -> None:
    repo = git_repos.create("private")
    repo.commit({"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"})
    url = git_http_server.url(repo)

    wrong = cli("repo", "add", url, "--username", "deploy", "--password", "wrong-password-123")
    assert wrong.returncode == 0, wrong.stderr  # stored, but the check says it failed
    assert "authentication failed" in wrong.stdout

    added = cli(
        "repo", "add", url, "--username", "deploy", "--password", git_http_server.password, "--upsert"
    )
    assert added.returncode == 0, added.stderr
    listed = cli("repo", "list")
    header, row = listed.stdout.splitlines()[:2]
    assert header.split() == ["REPO", "TYPE", "NAME", "STATUS", "MESSAGE"]
    assert row.split()[:3] == [url, "git", "Successful"]

    as_json = cli("repo", "get", url, "-o", "json")
    doc = json.loads(as_json.stdout)
    assert doc["hasCredentials"] is True and doc["username"] == "deploy"
    for text in (
        as_json.stdout,
        listed.stdout,
        wrong.stdout,
        wrong.stderr,
        cli("repo", "list", "-o", "yaml").stdout,
        daemon.log(),
    ):
        assert git_http_server.password not in text
        assert "wrong-password-123" not in text

    # The same repository spelled differently finds the same entry.
    assert cli("repo", "get", url + "/").returncode == 0
    assert cli("repo", "rm", url).returncode == 0
    assert cli("repo", "list", "-o", "url").stdout.strip() == ""


def test_missing_repository_is_reported_failed(cli: CLI, git_repos: GitRepos, tmp_path) -> None:
    gone = tmp_path / "nowhere.git"
    added = cli("repo", "add", str(gone))
    assert added.returncode == 0
    row = cli("repo", "list").stdout.splitlines()[1]
    assert "Failed" in row


def test_password_in_url_is_refused(cli: CLI) -> None:
    result = cli("repo", "add", "https://deploy:hunter2hunter2@example.com/org/repo.git")
    assert result.returncode == 2
    assert "embeds a password" in result.stderr
    assert "hunter2hunter2" not in result.stderr


def test_resolve_revision_and_refs_over_the_api(daemon: DaemonProcess, git_repos: GitRepos) -> None:
    from gitopsd.api.gitopsd.v1 import repository_pb2 as repopb
    from gitopsd.api.gitopsd.v1 import repository_pb2_grpc as repogrpc

    repo = git_repos.create("public")
    sha = repo.commit({"a.yaml": "x: 1\n"}, message="feat: first\n\nbody")
    repo.tag("v1.0.0")
    with daemon.channel() as channel:
        stub = repogrpc.RepositoryServiceStub(channel)
        info = stub.ResolveRevision(
            repopb.ResolveRevisionRequest(repo=repo.url, revision="v1.0.0"), timeout=30
        )
        assert info.sha == sha and info.message.startswith("feat: first")
        refs = stub.ListRefs(repopb.GetRepositoryRequest(repo=repo.url), timeout=30)
        assert list(refs.branches) == ["main"] and list(refs.tags) == ["v1.0.0"]
