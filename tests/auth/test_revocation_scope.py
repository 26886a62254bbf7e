"""A revocation names whose token it ends: the subject and the token id, not the id alone.

Token ids can be chosen (`proj role create-token --id`, `account generate-token --id`), so two
roles, two projects and an account can each hold a token called `gitlab`; deleting one of them
must leave the others working, before and after a daemon restart. Also: a session's logout ends
no other subject's token with the same id, an id of a revoked token is refused when reused (the
token would be born revoked), revocations written before they named the subject (schema v9
and earlier) keep revoking what they revoked, and a role or project made again does not bring back
the tokens of the old one.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
import yaml
from authhelpers import ScannedCLI, SecretScan, start_daemon
from fixtures.daemon import CLI

from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.app.errors import InvalidArgument
from gitopsd.app.projects import Projects
from gitopsd.auth.accounts import ADMIN, Accounts, AuthSettings
from gitopsd.auth.errors import Unauthenticated
from gitopsd.auth.tokens import TokenSigner, load_or_create_key
from gitopsd.store import Store
from gitopsd.store.migrations import MIGRATIONS

ROLES = (("production", "ci"), ("production", "deploy"), ("staging", "ci"))


def _project(name: str, roles: list[str]) -> dict[str, object]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "roles": [
                {"name": r, "policies": [f"p, proj:{name}:{r}, applications, get, {name}/*, allow"]}
                for r in roles
            ],
        },
    }


def _works(cli: ScannedCLI, token: str) -> bool:
    result = cli("version", env={"GITOPSD_AUTH_TOKEN": token})
    if result.returncode == 0:
        return True
    assert "revoked" in result.stderr, result.stderr
    return False


def test_same_id_on_two_roles_a_project_and_accounts(tmp_path: Path, scan: SecretScan) -> None:
    daemon = start_daemon(tmp_path)
    scan.logs.append(daemon.log_path)
    cli = ScannedCLI(CLI(daemon.address, tmp_path), scan)
    try:
        for name in ("production", "staging"):
            path = tmp_path / f"{name}.yaml"
            path.write_text(yaml.safe_dump(_project(name, [r for p, r in ROLES if p == name])))
            assert cli("proj", "create", "-f", str(path)).returncode == 0
        tokens: dict[str, str] = {}
        for project, role in ROLES:
            issued = cli.token_output("proj", "role", "create-token", project, role, "--id", "gitlab")
            assert issued.returncode == 0, issued.stderr
            tokens[f"proj:{project}:{role}"] = scan.secret(issued.stdout.strip())
        for account in ("ci-bot", "viewer"):
            issued = cli.token_output("account", "generate-token", "--account", account, "--id", "gitlab")
            assert issued.returncode == 0, issued.stderr
            tokens[account] = scan.secret(issued.stdout.strip())
        assert all(_works(cli, t) for t in tokens.values())

        # One role's token deleted: only that one ends, now and after a restart.
        assert cli("proj", "role", "delete-token", "production", "ci", "gitlab").returncode == 0
        expected = {subject: subject != "proj:production:ci" for subject in tokens}
        assert {s: _works(cli, t) for s, t in tokens.items()} == expected
        daemon.restart()
        cli = ScannedCLI(CLI(daemon.address, tmp_path), scan)  # a new port
        assert {s: _works(cli, t) for s, t in tokens.items()} == expected

        # An account's key deleted: the other account's key of that id is still working and listed.
        assert cli("account", "delete-token", "gitlab", "--account", "ci-bot").returncode == 0
        expected["ci-bot"] = False
        assert {s: _works(cli, t) for s, t in tokens.items()} == expected
        shown = json.loads(cli("account", "get", "--account", "viewer", "-o", "json").stdout)
        assert [t["id"] for t in shown["tokens"]] == ["gitlab"]
        assert (
            json.loads(cli("account", "get", "--account", "ci-bot", "-o", "json").stdout).get("tokens", [])
            == []
        )

        # The id of a revoked token cannot be given again to its subject: that token would be
        # refused from birth. Another id, or none, is fine.
        again = cli("proj", "role", "create-token", "production", "ci", "--id", "gitlab")
        scan.seen("create-token again", again.stdout + again.stderr)
        assert again.returncode == 2, again.stdout
        assert "token id 'gitlab' is revoked for proj:production:ci" in again.stderr
        again = cli("account", "generate-token", "--account", "ci-bot", "--id", "gitlab")
        scan.seen("generate-token again", again.stdout + again.stderr)
        assert again.returncode == 2 and "is revoked for ci-bot" in again.stderr, again.stderr
        fresh = cli.token_output("proj", "role", "create-token", "production", "ci", "--id", "gitlab-2")
        assert fresh.returncode == 0, fresh.stderr
        assert _works(cli, scan.secret(fresh.stdout.strip()))
    finally:
        daemon.stop()
    scan.secret(daemon.token)


# -- real Accounts over a real store -------------------------------------------------------------------

SETTINGS = AuthSettings(accounts={"alice": "login, apiKey", "bot": "apiKey"})


def _accounts(data: Path) -> tuple[Store, Accounts]:
    store = Store.open_data_dir(data)
    accounts = Accounts(store, data, SETTINGS, Projects(store))
    accounts.ensure_admin()
    return store, accounts


def test_a_logout_ends_no_other_subjects_token_of_the_same_id(tmp_path: Path) -> None:
    store, accounts = _accounts(tmp_path)
    try:
        session, claims = accounts.login(ADMIN, accounts.initial_password_path.read_text().strip())
        admin = accounts.authenticate(session)
        # bot's key takes the session's id (a chosen id may be anything).
        key = accounts.create_token(admin, "bot", 0, claims.token_id)
        accounts.logout(admin)
        with pytest.raises(Unauthenticated, match="revoked"):
            accounts.authenticate(session)
        assert accounts.authenticate(key).subject == "bot"
        assert [t.id for t in accounts.get("bot").tokens] == [claims.token_id]
    finally:
        store.close()


def _legacy_data_dir(data: Path) -> None:
    """A data dir of schema v3 with revocations of that time: keyed by the token id alone."""
    data.mkdir(mode=0o700)
    conn = sqlite3.connect(data / "gitopsd.db", isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    for version, migration in enumerate(MIGRATIONS[:3], start=1):
        migration(conn)  # type: ignore[operator]
        conn.execute("INSERT INTO schema_version VALUES (?, '2026-01-01T00:00:00Z')", (version,))
    now = "2026-01-01T00:00:00Z"
    conn.execute(
        "INSERT INTO accounts (name, tokens, created_at, updated_at) VALUES ('alice', ?, ?, ?)",
        (json.dumps([{"id": "shared", "iat": 1, "exp": 0}]), now, now),
    )
    # bot's key `shared` was deleted then: the row said bot, and ended every token called `shared`.
    conn.execute(
        "INSERT INTO revoked_tokens (token_id, subject, expires_at, revoked_at) VALUES ('shared', 'bot', 0, ?)",
        (now,),
    )
    conn.close()


def test_revocations_from_before_the_subject_counted_keep_their_reach(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _legacy_data_dir(data)
    signer = TokenSigner(load_or_create_key(data / "auth"))
    alice_key, _ = signer.issue("alice", 0, "shared", now=int(time.time()) - 60)
    bot_key, _ = signer.issue("bot", 0, "shared", now=int(time.time()) - 60)
    store, accounts = _accounts(data)
    try:
        # As before the upgrade: the old row still ends every token of that id, whoever holds it
        # (which of them it was meant for cannot be told apart now), and alice's list says so.
        for token in (alice_key, bot_key):
            with pytest.raises(Unauthenticated, match="revoked"):
                accounts.authenticate(token)
        assert list(accounts.get("alice").tokens) == []
        session, _ = accounts.login(ADMIN, accounts.initial_password_path.read_text().strip())
        admin = accounts.authenticate(session)
        with pytest.raises(InvalidArgument, match="token id 'shared' is revoked for bot"):
            accounts.create_token(admin, "bot", 0, "shared")
        # A revocation written now names its subject.
        alice = accounts.create_token(admin, "alice", 0, "new")
        bot = accounts.create_token(admin, "bot", 0, "new")
        accounts.delete_token(admin, "bot", "new")
        assert accounts.authenticate(alice).subject == "alice"
        with pytest.raises(Unauthenticated, match="revoked"):
            accounts.authenticate(bot)
    finally:
        store.close()


def _role_project(projects: Projects, name: str) -> None:
    project = projpb.AppProject(api_version="argoproj.io/v1alpha1", kind="AppProject")
    project.metadata.name = name
    project.spec.source_repos.append("*")
    project.spec.destinations.add(server="*", namespace="*")
    project.spec.roles.add(name="ci", policies=[f"p, proj:{name}:ci, applications, get, {name}/*, allow"])
    projects.create(project, upsert=True)


def test_a_role_or_project_made_again_does_not_bring_back_its_old_tokens(tmp_path: Path) -> None:
    """Deleting a role or its project ends its tokens without a revocation row; a role of the same
    name made again, with a token of the same id, must not make the old token valid again."""
    store, accounts = _accounts(tmp_path)
    projects = Projects(store)
    try:
        _role_project(projects, "production")
        old, _ = accounts.create_project_token("production", "ci", 0, "gitlab")
        assert accounts.authenticate(old).subject == "proj:production:ci"
        project = projects.get("production")
        del project.spec.roles[:]
        projects.update(project)
        time.sleep(1.1)  # token times are whole seconds: the new token's differs from the old one's
        _role_project(projects, "production")
        new, _ = accounts.create_project_token("production", "ci", 0, "gitlab")
        assert accounts.authenticate(new).subject == "proj:production:ci"
        with pytest.raises(Unauthenticated, match="revoked"):
            accounts.authenticate(old)

        projects.delete("production")
        time.sleep(1.1)
        _role_project(projects, "production")
        newer, _ = accounts.create_project_token("production", "ci", 0, "gitlab")
        assert accounts.authenticate(newer).subject == "proj:production:ci"
        for token in (old, new):
            with pytest.raises(Unauthenticated, match="revoked"):
                accounts.authenticate(token)
    finally:
        store.close()
