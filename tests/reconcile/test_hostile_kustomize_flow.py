"""Through the real daemon (issue 10, item 2): a kustomization in one repository cannot get another
repository of the host rendered, neither when the app is compared nor by `app diff --local`."""

from __future__ import annotations

from pathlib import Path

from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, configmap, create, status

PRIVATE = "private-config-of-another-app"


def _look_alike(entry: str) -> dict[str, str]:
    # pathlib collapses "//": the old check found this committed directory and let the entry pass.
    return {
        "attack/kustomization.yaml": f"resources:\n  - {entry}\n",
        f"{Path('attack') / entry}/kustomization.yaml": "resources: []\n",
    }


def test_look_alike_base_cannot_render_another_repository(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    private = git_repos.create("private")
    private.commit({"app/kustomization.yaml": "resources: [cm.yaml]\n", "app/cm.yaml": configmap(PRIVATE)})
    create(cli, tmp_path, application("private", private.url, "app", "private"))
    wait_for(lambda: status(cli, "private").get("sourceType") == "Kustomize", what="the private app's comparison")
    [clone] = (gitops_env.daemon.data_dir / "git" / "repos").glob("private-*.git")
    entry = f"file://{clone}//app?ref=main"

    attacker = git_repos.create("attacker")
    attacker.commit(_look_alike(entry))
    create(cli, tmp_path, application("attacker", attacker.url, "attack", "attacker"))
    st = wait_for(lambda: (s := status(cli, "attacker")).get("conditions") and s, what="the attacker's condition")
    assert st["conditions"][0]["type"] == "ComparisonError"
    assert f"remote resource {entry!r} refused" in st["conditions"][0]["message"]
    manifests = cli("app", "manifests", "attacker")
    assert PRIVATE not in manifests.stdout + manifests.stderr

    # The same kustomization uploaded for a local diff.
    local = tmp_path / "local"
    for path, content in _look_alike(entry).items():
        (local / path).parent.mkdir(parents=True, exist_ok=True)
        (local / path).write_text(content)
    diff = cli("app", "diff", "attacker", "--local", str(local / "attack"), "--local-repo-root", str(local))
    assert diff.returncode not in (0, 1), diff.stdout + diff.stderr  # an error, not "no diff"/"diff"
    assert f"remote resource {entry!r} refused" in diff.stdout + diff.stderr
    assert PRIVATE not in diff.stdout + diff.stderr
