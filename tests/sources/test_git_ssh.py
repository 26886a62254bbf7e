"""SSH credentials against a real sshd on 127.0.0.1: the key works, is never stored, never echoed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitopsd.sources.errors import RepoError, RepoErrorKind
from gitopsd.sources.gitauth import RepoCredentials
from gitopsd.sources.gitcache import RepoCache


def _all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def test_ssh_key_from_lookup(git_repos, ssh_server, tmp_path: Path) -> None:
    repo = git_repos.create("over-ssh")
    sha = repo.commit({"a.yaml": "x: 1\n"})
    creds = RepoCredentials(ssh_private_key=ssh_server.private_key)
    cache = RepoCache(tmp_path / "cache", lambda _url, _project: creds)
    url = ssh_server.url(repo)
    assert cache.resolve(url, "main").sha == sha
    with cache.checkout(url, sha) as tree:
        assert (tree / "a.yaml").read_text() == "x: 1\n"
    key_body = ssh_server.private_key.splitlines()[1].encode()
    assert key_body not in _all_bytes(tmp_path / "cache")
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []  # the temp key file is gone
    # The host key was accepted on first use and pinned.
    host_key = (ssh_server.root / "host_key.pub").read_text().split()[1]
    assert host_key in (tmp_path / "cache" / "known_hosts").read_text()


def test_ssh_without_or_with_a_wrong_key_is_auth_failed(git_repos, ssh_server, tmp_path: Path) -> None:
    repo = git_repos.create("over-ssh")
    repo.commit({"a.yaml": "x: 1\n"})
    url = ssh_server.url(repo)
    with pytest.raises(RepoError) as err:
        RepoCache(tmp_path / "none").resolve(url, "main")
    assert err.value.kind == RepoErrorKind.AUTH_FAILED

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    wrong = (tmp_path / "other").read_text()
    with pytest.raises(RepoError) as err:
        RepoCache(tmp_path / "wrong", lambda _u, _p: RepoCredentials(ssh_private_key=wrong)).resolve(url, "main")
    assert err.value.kind == RepoErrorKind.AUTH_FAILED
    assert wrong.splitlines()[1] not in str(err.value)


def test_changed_host_key_is_refused(git_repos, ssh_server, tmp_path: Path) -> None:
    repo = git_repos.create("over-ssh")
    repo.commit({"a.yaml": "x: 1\n"})
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "impostor")], check=True
    )
    impostor = (tmp_path / "impostor.pub").read_text().split()
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    # A different key was pinned for this server earlier: someone is in the middle.
    (cache_dir / "known_hosts").write_text(f"[127.0.0.1]:{ssh_server.port} {impostor[0]} {impostor[1]}\n")
    cache = RepoCache(cache_dir, lambda _u, _p: RepoCredentials(ssh_private_key=ssh_server.private_key))
    with pytest.raises(RepoError) as err:
        cache.resolve(ssh_server.url(repo), "main")
    assert err.value.kind == RepoErrorKind.UNREACHABLE
    assert "host key verification failed" in str(err.value).lower()
