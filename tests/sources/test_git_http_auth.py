"""Credentials over smart HTTP (git http-backend with Basic auth on 127.0.0.1).

The password reaches git through the environment only: it works, it is not stored in the
clone, and it never shows up in an error message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gitopsd.sources.errors import RepoError, RepoErrorKind
from gitopsd.sources.gitauth import RepoCredentials, Scrubber
from gitopsd.sources.gitcache import RepoCache
from gitopsd.sources.giturl import normalize_repo_url


def _all_files_text(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def test_credentials_from_lookup_work_and_are_not_stored(git_repos, git_http_server, tmp_path: Path) -> None:
    repo = git_repos.create("private")
    sha = repo.commit({"a.yaml": "x: 1\n"})
    url = git_http_server.url(repo)
    creds = RepoCredentials(username=git_http_server.username, password=git_http_server.password)
    asked: list[str] = []

    def lookup(u: str, _project: str) -> RepoCredentials | None:
        asked.append(u)
        return creds if u == normalize_repo_url(url) else None

    cache = RepoCache(tmp_path / "cache", lookup)
    assert cache.resolve(url + "/", "main").sha == sha
    with cache.checkout(url, sha) as tree:
        assert (tree / "a.yaml").read_text() == "x: 1\n"
    assert asked and set(asked) == {normalize_repo_url(url)}
    assert git_http_server.password.encode() not in _all_files_text(tmp_path / "cache")


def test_wrong_password_is_auth_failed_and_never_echoed(git_repos, git_http_server, tmp_path: Path) -> None:
    repo = git_repos.create("private")
    repo.commit({"a.yaml": "x: 1\n"})
    url = git_http_server.url(repo)
    wrong = "Wr0ng-Secret-Value-123"
    cache = RepoCache(tmp_path / "cache", lambda _u, _p: RepoCredentials(username="deploy", password=wrong))
    with pytest.raises(RepoError) as err:
        cache.resolve(url, "main")
    assert err.value.kind == RepoErrorKind.AUTH_FAILED
    assert wrong not in str(err.value)


def test_embedded_url_password_is_refused_and_never_echoed(git_repos, git_http_server, tmp_path: Path) -> None:
    # A password in the URL is never used: credentials belong in `repo add` (scoped, sealed).
    repo = git_repos.create("private")
    repo.commit({"a.yaml": "x: 1\n"})
    good = git_http_server.url(repo).replace(
        "http://", f"http://{git_http_server.username}:{git_http_server.password}@"
    )
    cache = RepoCache(tmp_path / "cache")
    with pytest.raises(RepoError) as err:
        cache.resolve(good, "main")
    assert err.value.kind == RepoErrorKind.INVALID_URL
    assert "gitopsd repo add" in str(err.value)
    assert git_http_server.password not in str(err.value) and "deploy:" not in str(err.value)
    assert cache.stats(good).ls_remote == 0
    assert git_http_server.password.encode() not in _all_files_text(tmp_path / "cache")


def test_no_credentials_is_auth_failed(git_repos, git_http_server, tmp_path: Path) -> None:
    repo = git_repos.create("private")
    repo.commit({"a.yaml": "x: 1\n"})
    with pytest.raises(RepoError) as err:
        RepoCache(tmp_path / "cache").resolve(git_http_server.url(repo), "main")
    assert err.value.kind == RepoErrorKind.AUTH_FAILED


def test_scrubber_and_repr_hide_secrets() -> None:
    creds = RepoCredentials(
        username="u", password="hunter2@long", ssh_private_key="-----BEGIN KEY-----\nabc\n"
    )
    assert "hunter2" not in repr(creds) and "BEGIN" not in repr(creds)
    scrub = Scrubber(creds.secrets())
    text = "fatal: https://u:hunter2@long@h/x failed; password hunter2@long; hunter2%40long"
    cleaned = scrub(text)
    assert "hunter2" not in cleaned
    assert "https://***@h/x failed" in cleaned
    assert "long" not in cleaned


def test_ssh_key_goes_to_a_private_temp_file_only_while_git_runs(tmp_path: Path) -> None:
    import os
    import shlex
    import stat

    from gitopsd.sources.gitauth import git_environment

    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAbase64keymaterialAAAA\n-----END OPENSSH PRIVATE KEY-----"
    creds = RepoCredentials(ssh_private_key=key)
    with git_environment(creds, known_hosts=tmp_path / "known_hosts", tmp_root=tmp_path) as env:
        assert all(key not in value for value in env.values())
        ssh = shlex.split(env["GIT_SSH_COMMAND"])
        key_file = Path(ssh[ssh.index("-i") + 1])
        assert key_file.read_text().strip() == key
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
        assert "StrictHostKeyChecking=accept-new" in ssh and "BatchMode=yes" in ssh
        assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert not key_file.exists()

    insecure = RepoCredentials(
        username="u", password="Unique-Pass-9876", insecure_skip_server_verification=True
    )
    with git_environment(insecure, tmp_root=tmp_path) as env:
        config = {
            env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"]
            for i in range(int(env["GIT_CONFIG_COUNT"]))
        }
        assert config["http.sslVerify"] == "false"
        assert config["credential.helper"] == ""
        assert "StrictHostKeyChecking=no" in env["GIT_SSH_COMMAND"]
        # The askpass helper holds no secret itself: it reads the git process's environment.
        assert "Unique-Pass-9876" not in Path(env["GIT_ASKPASS"]).read_text()
        assert env["GITOPSD_GIT_PASSWORD"] == "Unique-Pass-9876"
        assert os.access(env["GIT_ASKPASS"], os.X_OK)
