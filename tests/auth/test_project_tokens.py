"""Project roles and their tokens: the seed's GitLab CI job works with a project token, and the
same token cannot touch another project, administer anything or read a credential."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from authhelpers import ScannedCLI, SecretScan
from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, configmap, create, status

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "repo"
PROJECT = ROOT / "examples" / "apps" / "production-project.yaml"
CI_POLICIES = [
    "p, proj:production:ci, applications, get, production/*, allow",
    "p, proj:production:ci, applications, update, production/*, allow",
    "p, proj:production:ci, applications, sync, production/*, allow",
]


def _example_files() -> dict[str, str]:
    return {str(p.relative_to(EXAMPLES)): p.read_text() for p in EXAMPLES.rglob("*") if p.is_file()}


def _image(kubectl) -> str:  # type: ignore[no-untyped-def]
    out = kubectl("-n", "production", "get", "deploy", "mon-app", "-o", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["spec"]["template"]["spec"]["containers"][0]["image"]


def test_ci_flow_with_a_project_token(
    gitops_env: GitOpsEnv,
    sandbox,
    git_repos: GitRepos,
    kubectl,
    tmp_path: Path,
    scan: SecretScan,  # type: ignore[no-untyped-def]
) -> None:
    admin = ScannedCLI(gitops_env.cli, scan)
    scan.logs.append(gitops_env.daemon.log_path)
    scan.secret(gitops_env.daemon.token)
    scan.secret(sandbox.token)  # the in-cluster cluster's bearer token
    repo = git_repos.create("k8s-manifests")
    repo.commit({**_example_files(), "other/cm.yaml": configmap("other")}, message="feat: mon-app")

    project = yaml.safe_load(PROJECT.read_text())
    project["spec"]["sourceRepos"].append(repo.url)
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump(project))
    assert admin("proj", "create", "-f", str(path)).returncode == 0
    app = application("mon-app", repo.url, "apps/mon-app/overlays/production", "production")
    app["spec"]["project"] = "production"
    create(gitops_env.cli, tmp_path, app)
    create(gitops_env.cli, tmp_path, application("other-app", repo.url, "other", "staging"))
    repo_password = scan.secret("repo-password-123")
    assert (
        admin(
            "repo",
            "add",
            "https://127.0.0.1:9/private.git",
            "--username",
            "deploy",
            "--password",
            repo_password,
        ).returncode
        == 0
    )

    # A role may only grant inside its own project.
    escape = admin(
        "proj",
        "role",
        "create",
        "production",
        "ci",
        "--policy",
        "p, proj:production:ci, applications, sync, default/*, allow",
    )
    assert escape.returncode == 2 and "must be inside project 'production'" in escape.stderr
    created = admin(
        "proj", "role", "create", "production", "ci", *[a for p in CI_POLICIES for a in ("--policy", p)]
    )
    assert created.returncode == 0, created.stderr
    issued = admin.token_output(
        "proj", "role", "create-token", "production", "ci", "--expires-in", "24h", "--id", "gitlab"
    )
    assert issued.returncode == 0, issued.stderr
    token = scan.secret(issued.stdout.strip())
    assert "gitlab" in admin("proj", "role", "get", "production", "ci").stdout

    ci_env = {"GITOPSD_AUTH_TOKEN": token}
    wait_for(lambda: status(gitops_env.cli, "mon-app").get("sourceType") == "Kustomize", what="comparison")

    # The article's GitLab CI job, with nothing but the project token.
    image = "registry.example.com/mon-app:abc1234"
    set_image = admin("app", "set", "mon-app", "--kustomize-image", image, env=ci_env)
    assert set_image.returncode == 0, set_image.stderr
    synced = admin("app", "sync", "mon-app", "--force", env=ci_env)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert _image(kubectl) == image
    got = json.loads(admin("app", "get", "mon-app", "-o", "json").stdout)
    assert got["status"]["operationState"]["operation"]["initiatedBy"]["username"] == "proj:production:ci"
    # The event log keeps who did it: the change of image and the sync, by the project token.
    events = [e["message"] for e in json.loads(admin("app", "events", "mon-app", "-o", "json").stdout)]
    assert "proj:production:ci updated the application: spec.source.kustomize.images" in events
    assert "proj:production:ci initiated a sync to the target revision" in events

    # Another project's application: refused, for reads as for writes.
    for args in (
        ("app", "get", "other-app"),
        ("app", "sync", "other-app"),
        ("app", "set", "other-app", "--revision", "x"),
    ):
        denied = admin(*args, env=ci_env)
        assert denied.returncode == 2, args
        assert "PERMISSION_DENIED" in denied.stderr and "proj:production:ci may not" in denied.stderr
    listed = admin("app", "list", "-o", "name", env=ci_env)
    assert listed.stdout.split() == ["mon-app"]
    # Nor anything the role does not name: delete, other resources, its own project's roles.
    for args in (
        ("app", "delete", "mon-app"),
        ("proj", "role", "create-token", "production", "ci"),
        ("cluster", "get", "https://kubernetes.default.svc"),
        ("repo", "get", "https://127.0.0.1:9/private.git"),
        ("account", "get", "--account", "admin"),
    ):
        refused = admin(*args, env=ci_env)
        assert refused.returncode == 2, (args, refused.stdout)
        assert "PERMISSION_DENIED" in refused.stderr, (args, refused.stderr)
    assert admin("cluster", "list", "-o", "json", env=ci_env).stdout.strip() in ("[]", "")
    assert "private.git" not in admin("repo", "list", env=ci_env).stdout
    assert admin("account", "list", "-o", "name", env=ci_env).stdout.split() == []

    # Credentials are never in a reply, even to admin.
    for args in (
        ("cluster", "list", "-o", "json"),
        ("repo", "list", "-o", "json"),
        ("proj", "get", "production", "-o", "json"),
    ):
        assert admin(*args).returncode == 0

    # Revoked: the CI token stops working at once.
    assert admin("proj", "role", "delete-token", "production", "ci", "gitlab").returncode == 0
    revoked = admin("app", "get", "mon-app", env=ci_env)
    assert revoked.returncode == 2 and "UNAUTHENTICATED" in revoked.stderr and "revoked" in revoked.stderr
