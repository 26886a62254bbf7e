"""Kustomize and Helm applications through the real sidecars: manifests, local diff, the CI flow
(`app set --kustomize-image` then `app sync`), and errors that stay with the application."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, configmap, create, status

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "repo"


def _example_files() -> dict[str, str]:
    return {str(p.relative_to(EXAMPLES)): p.read_text() for p in EXAMPLES.rglob("*") if p.is_file()}


def _image_of(kubectl, ns: str, name: str) -> str:  # type: ignore[no-untyped-def]
    out = kubectl("-n", ns, "get", "deploy", name, "-o", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["spec"]["template"]["spec"]["containers"][0]["image"]


def test_kustomize_overlay_manifests_and_the_ci_flow(gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("k8s-manifests")
    repo.commit(_example_files(), message="feat: mon-app")
    create(cli, tmp_path, application("mon-app", repo.url, "apps/mon-app/overlays/production", "production"))
    wait_for(lambda: status(cli, "mon-app").get("sourceType") == "Kustomize", what="kustomize comparison")

    manifests = cli("app", "manifests", "mon-app")
    assert manifests.returncode == 0, manifests.stderr
    docs = list(yaml.safe_load_all(manifests.stdout))
    deploy = next(d for d in docs if d["kind"] == "Deployment")
    assert deploy["spec"]["replicas"] == 5  # the production overlay's patch

    assert cli("app", "sync", "mon-app").returncode == 0
    assert _image_of(kubectl, "production", "mon-app") == "registry.example.com/mon-app:1.0.0"

    # The article's GitLab CI job: set the image by Kustomize override, then sync --force.
    assert cli("app", "set", "mon-app", "--kustomize-image", "registry.example.com/mon-app:abc1234").returncode == 0
    spec = json.loads(cli("app", "get", "mon-app", "-o", "json").stdout)["spec"]
    assert spec["source"]["kustomize"]["images"] == ["registry.example.com/mon-app:abc1234"]
    assert cli("app", "set", "mon-app", "--kustomize-image", "registry.example.com/mon-app:def5678").returncode == 0
    spec = json.loads(cli("app", "get", "mon-app", "-o", "json").stdout)["spec"]
    assert spec["source"]["kustomize"]["images"] == ["registry.example.com/mon-app:def5678"]  # replaced, not added
    synced = cli("app", "sync", "mon-app", "--force")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert _image_of(kubectl, "production", "mon-app") == "registry.example.com/mon-app:def5678"

    assert cli("app", "unset", "mon-app", "--kustomize-image", "registry.example.com/mon-app").returncode == 0
    assert "kustomize" not in json.loads(cli("app", "get", "mon-app", "-o", "json").stdout)["spec"]["source"]


def test_diff_local_directory_before_committing(gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("local")
    repo.commit(_example_files())
    create(cli, tmp_path, application("mon-app", repo.url, "apps/mon-app/overlays/staging", "staging"))
    wait_for(lambda: status(cli, "mon-app").get("sync", {}).get("status") == "OutOfSync", what="comparison")
    assert cli("app", "sync", "mon-app").returncode == 0

    # An uncommitted change in a local checkout, diffed through the same renderer.
    local = tmp_path / "checkout"
    shutil.copytree(EXAMPLES, local)
    patch = local / "apps/mon-app/overlays/staging/replica-count.yaml"
    patch.write_text(patch.read_text().replace("replicas: 2", "replicas: 9"))
    unchanged = cli("app", "diff", "mon-app")
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    local_diff = cli("app", "diff", "mon-app", "--local", str(local / "apps/mon-app/overlays/staging"),
                     "--local-repo-root", str(local))
    assert local_diff.returncode == 1, local_diff.stdout + local_diff.stderr
    assert "+  replicas: 9" in local_diff.stdout


def test_helm_chart_from_git_with_values(gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("charts")
    repo.commit(_example_files())
    app = application("monitoring", repo.url, "charts/monitoring", "monitoring")
    app["spec"]["source"]["helm"] = {"valueFiles": ["values.production.yaml"], "values": "replicaCount: 3\n"}
    create(cli, tmp_path, app)
    st = wait_for(lambda: (s := status(cli, "monitoring")).get("sourceType") == "Helm" and s, what="helm comparison")
    assert st["sync"]["status"] == "OutOfSync"
    assert cli("app", "sync", "monitoring").returncode == 0
    deploy = json.loads(kubectl("-n", "monitoring", "get", "deploy", "monitoring-server", "-o", "json").stdout)
    assert deploy["spec"]["replicas"] == 3
    assert "--storage.tsdb.retention.time=30d" in deploy["spec"]["template"]["spec"]["containers"][0]["args"]


def test_errors_stay_with_their_application(gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("mixed")
    repo.commit({"good/cm.yaml": configmap("good"), "broken/cm.yaml": "kind: [unclosed\n"})
    create(cli, tmp_path, application("good", repo.url, "good", "good"))
    create(cli, tmp_path, application("broken", repo.url, "broken", "broken"))
    elsewhere = application("elsewhere", repo.url, "good", "x")
    elsewhere["spec"]["destination"]["server"] = "https://nowhere.example.com:6443"
    create(cli, tmp_path, elsewhere)

    st = wait_for(lambda: (s := status(cli, "broken")).get("conditions") and s, what="broken app condition")
    assert st["conditions"][0]["type"] == "ComparisonError"
    assert "broken/cm.yaml" in st["conditions"][0]["message"]
    st = wait_for(lambda: (s := status(cli, "elsewhere")).get("conditions") and s, what="unknown cluster condition")
    assert st["conditions"][0]["type"] == "InvalidSpecError"
    assert "nowhere.example.com" in st["conditions"][0]["message"]
    assert wait_for(lambda: status(cli, "good").get("sync", {}).get("status") == "OutOfSync", what="good app compared")
    listed = cli("app", "list").stdout
    assert "ComparisonError" in listed and "InvalidSpecError" in listed
