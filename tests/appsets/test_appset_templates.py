"""ApplicationSet templates through the daemon: Go templates with sprig (rendered by the Helm SDK's
engine in a worker process), missingkey=error, templatePatch, duplicate names, the dry-run preview,
and hostile templates (a loop that never ends, a generator that explodes) bounded while the daemon
keeps serving."""

from __future__ import annotations

from pathlib import Path

import pytest
from appsets import CONFIGMAP, apps, appset, conditions, create, template
from fixtures.daemon import GitOpsEnv
from fixtures.gitrepos import GitRepos


@pytest.fixture
def gitops_env_extra() -> dict[str, str]:
    """gitops_env's daemon gives up on a render after 10 s (the hostile templates)."""
    return {"GITOPSD_RENDER_TIMEOUT": "10"}


def _dirs(repo_url: str) -> list[dict[str, object]]:
    return [{"git": {"repoURL": repo_url, "revision": "main", "directories": [{"path": "services/*"}]}}]


def test_go_template_with_sprig_and_template_patch(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    repo = git_repos.create("svc")
    repo.commit({"services/web/cm.yaml": CONFIGMAP, "services/api/cm.yaml": CONFIGMAP})
    cli = gitops_env.cli
    tpl = template(
        "{{ .path.basename }}-{{ len .path.segments }}", repo.url, "{{ .path.path }}", "{{ .path.basename }}"
    )
    tpl["metadata"]["labels"] = {
        "shout": "{{ .path.basename | upper }}",
        "first": "{{ index .path.segments 0 }}",
    }
    doc = appset(
        "go",
        _dirs(repo.url),
        tpl,
        goTemplate=True,
        goTemplateOptions=["missingkey=error"],
        # Only web syncs automatically: a patch per parameter set, merged over the template.
        templatePatch='{{- if eq .path.basename "web" }}\nspec:\n  syncPolicy:\n    automated: {prune: true}\n{{- end }}\n',
    )
    created = create(cli, tmp_path, doc)
    assert created.returncode == 0, created.stderr
    made = apps(cli)
    assert sorted(made) == ["api-2", "web-2"]
    assert made["web-2"]["metadata"]["labels"] == {"shout": "WEB", "first": "services"}
    assert made["web-2"]["spec"]["source"]["path"] == "services/web"
    assert made["web-2"]["spec"]["syncPolicy"]["automated"]["prune"] is True
    assert "automated" not in made["api-2"]["spec"].get("syncPolicy", {})

    # The preview (a dry run): what the set would make, nothing stored.
    preview = tmp_path / "preview.yaml"
    preview.write_text((tmp_path / "go-appset.yaml").read_text().replace("name: go\n", "name: preview\n"))
    shown = cli("appset", "generate", "-f", str(preview))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split()[:6] == ["NAME", "PROJECT", "SERVER", "NAMESPACE", "REPO", "PATH"]
    assert "api-2" in shown.stdout and cli("appset", "get", "preview").returncode == 2


def test_missingkey_error_names_the_field(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    repo = git_repos.create("svc")
    repo.commit({"services/web/cm.yaml": CONFIGMAP})
    cli = gitops_env.cli
    tpl = template("{{ .path.basename }}", repo.url, "{{ .path.path }}", "{{ .path.nmespace }}")
    doc = appset("typo", _dirs(repo.url), tpl, goTemplate=True, goTemplateOptions=["missingkey=error"])
    created = create(cli, tmp_path, doc)
    # Stored, but it generates nothing: the condition says which field and which key.
    assert created.returncode == 2
    status, message = conditions(cli, "typo")["ErrorOccurred"]
    assert status == "True"
    assert "spec.template.spec.destination.namespace" in message
    assert 'map has no entry for key "nmespace"' in message
    assert apps(cli) == {}


def test_duplicate_names_are_an_error_and_nothing_is_made(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    repo = git_repos.create("svc")
    repo.commit({"services/web/cm.yaml": CONFIGMAP, "services/api/cm.yaml": CONFIGMAP})
    cli = gitops_env.cli
    doc = appset("dup", _dirs(repo.url), template("same", repo.url, "{{path}}", "x"))
    assert create(cli, tmp_path, doc).returncode == 2
    status, message = conditions(cli, "dup")["ErrorOccurred"]
    assert status == "True" and "both generate application 'same'" in message
    assert apps(cli) == {}
    # No parameter set at all is fine: nothing to make, no error.
    empty = appset("empty", [{"list": {"elements": []}}], template("{{x}}", repo.url, "p", "x"))
    assert create(cli, tmp_path, empty).returncode == 0
    assert conditions(cli, "empty")["ErrorOccurred"][0] == "False"


def test_hostile_templates_are_bounded(gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path) -> None:
    repo = git_repos.create("svc")
    repo.commit({"services/web/cm.yaml": CONFIGMAP})
    cli = gitops_env.cli
    # A loop of 10^10 empty steps: stopped at the render time-out (render.timeout, 10 s here).
    forever = template(
        "{{ range $i := until 100000 }}{{ range $j := until 100000 }}{{ end }}{{ end }}", repo.url, "p", "x"
    )
    looping = create(cli, tmp_path, appset("loop", _dirs(repo.url), forever, goTemplate=True))
    assert looping.returncode == 2
    assert "did not finish in 10s" in conditions(cli, "loop")["ErrorOccurred"][1]
    # A list of 10^9 numbers: stopped by the kernel's memory limit of the worker (render.max_memory_bytes).
    hog = template("{{ len (until 1000000000) }}", repo.url, "p", "x")
    hogging = create(cli, tmp_path, appset("hog", _dirs(repo.url), hog, goTemplate=True))
    assert hogging.returncode == 2
    assert "out of memory" in conditions(cli, "hog")["ErrorOccurred"][1]
    # A generator that explodes (a 200 x 200 matrix) is refused by size, not computed.
    many = [{"n": str(i)} for i in range(200)]
    matrix = [
        {
            "matrix": {
                "generators": [
                    {"list": {"elements": many}},
                    {"list": {"elements": [{"m": e["n"]} for e in many]}},
                ]
            }
        }
    ]
    explode = create(cli, tmp_path, appset("explode", matrix, template("a-{{n}}-{{m}}", repo.url, "p", "x")))
    assert explode.returncode == 2
    assert "more than 5000 parameter sets" in conditions(cli, "explode")["ErrorOccurred"][1]
    # The daemon kept serving, and a fixed set generates.
    fixed = appset(
        "loop", _dirs(repo.url), template("{{ .path.basename }}", repo.url, "p", "x"), goTemplate=True
    )
    assert create(cli, tmp_path, fixed, "--upsert").returncode == 0
    assert sorted(apps(cli)) == ["web"]
    # Unsupported Argo CD generators and options are refused, naming the field.
    scm = appset("scm", [{"scmProvider": {}}], template("x", repo.url, "p", "x"))
    refused = create(cli, tmp_path, scm)
    assert refused.returncode == 2 and "scmProvider" in refused.stderr
    bad_option = appset(
        "opt",
        _dirs(repo.url),
        template("x", repo.url, "p", "x"),
        goTemplate=True,
        goTemplateOptions=["funcs=all"],
    )
    refused = create(cli, tmp_path, bad_option)
    assert refused.returncode == 2 and "spec.goTemplateOptions[0]" in refused.stderr


def test_the_example_applicationset_generates_a_preview_per_overlay(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    root = Path(__file__).resolve().parents[2] / "examples"
    repo = git_repos.create("k8s-manifests")
    files = {
        str(p.relative_to(root / "repo")): p.read_text() for p in (root / "repo").rglob("*") if p.is_file()
    }
    repo.commit(files)
    example = tmp_path / "applicationset.yaml"
    example.write_text(
        (root / "apps" / "applicationset.yaml")
        .read_text()
        .replace("https://github.com/mon-org/k8s-manifests", repo.url)
    )
    created = gitops_env.cli("appset", "create", "-f", str(example))
    assert created.returncode == 0, created.stderr
    made = apps(gitops_env.cli)
    assert sorted(made) == ["mon-app-preview-production", "mon-app-preview-staging"]
    assert made["mon-app-preview-staging"]["spec"]["destination"]["namespace"] == "preview-staging"
