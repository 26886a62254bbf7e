"""Data at rest, on the files a real `gitopsd serve` leaves: modes, sealed credentials, the key.

The data dir is 0700 and its files 0600 whatever the umask and however the dir was made;
repository and cluster credentials are sealed with DATA_DIR/auth/secret.key, so the database
files (db, WAL) never hold one; an older database is migrated; a missing or foreign key stops
the start with a clear error instead of losing credentials.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from fixtures.daemon import CLI, DaemonProcess
from fixtures.gitrepos import GitHttpServer, GitRepos

from gitopsd.sandbox import SandboxCluster
from gitopsd.store.db import DB_FILENAME, SEALED_SINCE
from gitopsd.store.migrations import LATEST_VERSION, MIGRATIONS

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sealed-settings}\ndata: {k: v}\n"


def _leaks(secrets: list[str], *texts: str | bytes) -> list[int]:
    """Indices of the secrets that appear in any text; never the secrets, so test output stays clean."""
    return [
        i
        for i, s in enumerate(secrets)
        if any((s.encode() if isinstance(t, bytes) else s) in t for t in texts)
    ]


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _db_bytes(data_dir: Path) -> bytes:
    db = data_dir / DB_FILENAME
    return b"".join(
        Path(f"{db}{suffix}").read_bytes()
        for suffix in ("", "-wal", "-shm", "-journal")
        if Path(f"{db}{suffix}").exists()
    )


def _start(tmp_path: Path, data_dir: Path) -> DaemonProcess:
    return DaemonProcess(data_dir=data_dir, log_path=tmp_path / "daemon.log").start()


def test_pre_created_data_dir_and_files_become_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with _umask(0o022):
        data.mkdir(mode=0o755)
        os.chmod(data, 0o755)
        daemon = _start(tmp_path, data)
    try:
        assert _mode(data) == 0o700
        private = [
            data / DB_FILENAME,
            data / f"{DB_FILENAME}-wal",
            data / f"{DB_FILENAME}-shm",
            data / "auth" / "token.key",
            data / "auth" / "secret.key",
            data / "initial-admin-password",
            data / "run" / "grpc.addr",
            data / "run" / "http.addr",
            data / "run" / "grpc.crt",
        ]
        for path in private:
            assert path.exists(), path
            assert _mode(path) == 0o600, f"{path.relative_to(data)} is {oct(_mode(path))}"
        for directory in (data / "auth", data / "run", data / "tls"):
            assert _mode(directory) == 0o700, f"{directory.relative_to(data)} is {oct(_mode(directory))}"
        # Nothing directly in the data dir or its key and run dirs is readable by others.
        for directory in (data, data / "auth", data / "run", data / "tls"):
            for entry in directory.iterdir():
                if entry.is_file() and not entry.is_symlink():
                    assert _mode(entry) & 0o077 == 0, f"{entry.relative_to(data)} is {oct(_mode(entry))}"
    finally:
        daemon.stop()

    # A data dir left by an older gitopsd (0755 dir, 0644 database) is fixed at the next start.
    os.chmod(data, 0o755)
    os.chmod(data / DB_FILENAME, 0o644)
    with _umask(0o022):
        daemon = _start(tmp_path, data)
    try:
        assert _mode(data) == 0o700 and _mode(data / DB_FILENAME) == 0o600
        assert _mode(data / f"{DB_FILENAME}-wal") == 0o600
    finally:
        daemon.stop()


def _password_kubeconfig(tmp_path: Path, password: str) -> Path:
    path = tmp_path / "basic-kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "far", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "ops", "user": {"username": "ops", "password": password}}],
                "contexts": [{"name": "far", "context": {"cluster": "far", "user": "ops"}}],
                "current-context": "far",
            }
        )
    )
    return path


def test_database_files_hold_no_credential(
    cli: CLI,
    daemon: DaemonProcess,
    git_repos: GitRepos,
    git_http_server: GitHttpServer,
    sandbox: SandboxCluster,
    sandbox_kubeconfig: Path,
    tmp_path: Path,
) -> None:
    repo = git_repos.create("private")
    repo.commit({"app/cm.yaml": CONFIGMAP})
    url = git_http_server.url(repo)
    added = cli("repo", "add", url, "--username", "deploy", "--password", git_http_server.password)
    assert added.returncode == 0, added.stderr
    cluster_password = "Cluster-Basic-Pa55-4242"
    for args in (
        ("sandbox", "--name", "sandbox", "--kubeconfig", str(sandbox_kubeconfig)),
        ("far", "--name", "far", "--kubeconfig", str(_password_kubeconfig(tmp_path, cluster_password))),
    ):
        made = cli("cluster", "add", *args)
        assert made.returncode == 0, made.stderr
    secrets = [git_http_server.password, sandbox.token, cluster_password]

    # The credentials work (the repository answers, the cluster is reachable)...
    assert "Successful" in cli("repo", "list").stdout.splitlines()[1]
    sandbox_row = next(r for r in cli("cluster", "list").stdout.splitlines() if r.split()[1] == "sandbox")
    assert "Successful" in sandbox_row
    # ... and are in no byte of the database, its WAL or shared memory, while it runs or stopped.
    running = _db_bytes(daemon.data_dir)
    leaked = _leaks(secrets, running)
    assert leaked == []
    daemon.stop()
    stopped = _db_bytes(daemon.data_dir)
    leaked = _leaks(secrets, stopped)
    assert leaked == []
    # The sealed rows are there, and the key is not in the database either.
    key = (daemon.data_dir / "auth" / "secret.key").read_bytes()
    key_found = key in stopped or key.hex().encode() in stopped
    assert not key_found


def _unsealed_database(data_dir: Path, repo_url: str, password: str, token: str) -> None:
    """A database as the gitopsd before sealing left it (schema SEALED_SINCE - 1): plaintext credentials."""
    data_dir.mkdir()
    conn = sqlite3.connect(data_dir / DB_FILENAME, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    for version in range(1, SEALED_SINCE):
        MIGRATIONS[version - 1](conn)  # type: ignore[operator]
        conn.execute("INSERT INTO schema_version VALUES (?, '2026-01-01T00:00:00Z')", (version,))
    now = "2026-01-01T00:00:00Z"
    conn.execute(
        "INSERT INTO repositories (key, url, manifest, secret, info, created_at, updated_at) VALUES (?, ?, ?, ?, '{}', ?, ?)",
        (
            repo_url,
            repo_url,
            json.dumps({"repo": repo_url, "type": "git"}),
            json.dumps({"username": "deploy", "password": password}),
            now,
            now,
        ),
    )
    conn.execute(
        "INSERT INTO clusters (server, name, manifest, secret, info, created_at, updated_at) VALUES (?, ?, ?, ?, '{}', ?, ?)",
        (
            "https://old.example.com",
            "old",
            json.dumps({"server": "https://old.example.com", "name": "old"}),
            json.dumps({"connect": "https://old.example.com", "bearerToken": token}),
            now,
            now,
        ),
    )
    conn.close()
    plaintext = _leaks([password], _db_bytes(data_dir))
    assert plaintext == [0]


def test_older_database_is_migrated_and_its_credentials_sealed(
    git_repos: GitRepos, git_http_server: GitHttpServer, tmp_path: Path
) -> None:
    repo = git_repos.create("private")
    repo.commit({"app/cm.yaml": CONFIGMAP})
    url = git_http_server.url(repo)
    token = "Old-Cluster-Bearer-Token-31337"
    data = tmp_path / "data"
    from gitopsd.sources.giturl import normalize_repo_url

    _unsealed_database(data, normalize_repo_url(url), git_http_server.password, token)

    daemon = _start(tmp_path, data)
    cli = CLI(daemon.address, tmp_path)
    try:
        got = json.loads(cli("repo", "get", url, "-o", "json").stdout)
        assert got["hasCredentials"] is True and got["username"] == "deploy"
        cluster = json.loads(cli("cluster", "get", "old", "-o", "json").stdout)
        assert cluster["config"]["hasBearerToken"] is True
        # The migrated credentials still fetch the private repository.
        app = tmp_path / "app.yaml"
        app.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Application",
                    "metadata": {"name": "web"},
                    "spec": {
                        "source": {"repoURL": url, "targetRevision": "main", "path": "app"},
                        "destination": {"server": "https://old.example.com", "namespace": "web"},
                    },
                }
            )
        )
        assert cli("app", "create", "-f", str(app)).returncode == 0
        manifests = cli("app", "manifests", "web")
        assert manifests.returncode == 0, manifests.stderr
        assert "sealed-settings" in manifests.stdout
        running = _db_bytes(data)
        leaked = _leaks([git_http_server.password, token], running)
        assert leaked == []
    finally:
        daemon.stop()
    stopped = _db_bytes(data)
    leaked = _leaks([git_http_server.password, token], stopped)
    assert leaked == []
    conn = sqlite3.connect(data / DB_FILENAME)
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == LATEST_VERSION
    conn.close()

    # Without its key, or with another one, the daemon refuses to start and says why.
    key = data / "auth" / "secret.key"
    saved = key.read_bytes()
    key.unlink()
    with pytest.raises(RuntimeError) as err:
        _start(tmp_path, data)
    assert "secret key" in str(err.value) and "missing" in str(err.value)
    assert not key.exists()  # no new key made up over sealed credentials
    key.write_bytes(os.urandom(32))
    with pytest.raises(RuntimeError) as err:
        _start(tmp_path, data)
    assert "is not the key this database's credentials are sealed with" in str(err.value)
    key.write_bytes(saved)
    daemon = _start(tmp_path, data)
    try:
        assert json.loads(CLI(daemon.address, tmp_path)("repo", "get", url, "-o", "json").stdout)["hasCredentials"]
    finally:
        daemon.stop()
