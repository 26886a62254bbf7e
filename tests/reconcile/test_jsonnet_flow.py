"""Jsonnet directory sources through the daemon, the gitopsd-jsonnet sidecar and the sandbox, from Argo CD
Application YAML: tlas, extVars (code: true), libs, a jsonnet-bundler vendor dir, .libsonnet imports;
imports outside the repository refused; runaway evaluations bounded; errors as ComparisonError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos, Symlink
from reconcile.apps import application, configmap, create, status

MAIN = """
local util = import 'util.libsonnet';          // from libs: [lib]
local k = import 'github.com/acme/k/k.libsonnet'; // from the jsonnet-bundler vendor dir
local here = import 'parts/labels.libsonnet';  // beside this file
function(name, replicas=1) [
  k.configMap(name, {
    greeting: std.extVar('greeting'),
    answer: std.toString(std.extVar('answer')),
    replicas: std.toString(replicas),
    who: util.who,
    app: std.extVar('app'),
    team: here.team,
  }),
  {apiVersion: 'v1', kind: 'List', items: [k.configMap(name + '-extra', {n: '2'})]},
]
"""


def _jsonnet_repo() -> dict[str, Any]:
    return {
        "apps/web/main.jsonnet": MAIN,
        "apps/web/parts/labels.libsonnet": "{team: 'blue'}",
        "apps/web/jsonnetfile.json": json.dumps({"version": 1, "dependencies": []}),
        "apps/web/vendor/github.com/acme/k/k.libsonnet": (
            "{configMap(name, data):: {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: name}, data: data}}"
        ),
        "apps/web/plain.yaml": configmap("plain"),
        "apps/web/README.md": "not a manifest",
        "lib/util.libsonnet": "{who: 'lib'}",
    }


def _jsonnet_app(name: str, repo: str, path: str, ns: str, **jsonnet: Any) -> dict[str, Any]:
    app = application(name, repo, path, ns)
    app["spec"]["source"]["directory"] = {"jsonnet": jsonnet}
    return app


def _condition(cli, name: str) -> str:  # type: ignore[no-untyped-def]
    st = wait_for(lambda: (s := status(cli, name)).get("conditions") and s, timeout=60, what=f"{name} condition")
    cond = st["conditions"][0]
    assert cond["type"] == "ComparisonError", cond
    return str(cond["message"])


def test_jsonnet_app_with_tlas_extvars_libs_and_vendor(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("jsonnet")
    repo.commit(_jsonnet_repo())
    app = _jsonnet_app(
        "web",
        repo.url,
        "apps/web",
        "jsonnet",
        tlas=[{"name": "name", "value": "web-config"}, {"name": "replicas", "value": "3", "code": True}],
        extVars=[
            {"name": "greeting", "value": "hello"},
            {"name": "answer", "value": "6 * 7", "code": True},
            {"name": "app", "value": "$ARGOCD_APP_NAME"},
        ],
        libs=["lib"],
    )
    create(cli, tmp_path, app)
    st = wait_for(lambda: (s := status(cli, "web")).get("sync", {}).get("status") == "OutOfSync" and s,
                  timeout=60, what="jsonnet comparison")
    assert st["sourceType"] == "Directory"
    synced = cli("app", "sync", "web")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    out = kubectl("-n", "jsonnet", "get", "configmap", "web-config", "-o", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["data"] == {
        "greeting": "hello", "answer": "42", "replicas": "3", "who": "lib", "app": "web", "team": "blue",
    }
    # The List's item, and the plain YAML beside the Jsonnet file.
    for name in ("web-config-extra", "plain"):
        assert kubectl("-n", "jsonnet", "get", "configmap", name).returncode == 0, name
    assert wait_for(lambda: status(cli, "web", refresh=True).get("sync", {}).get("status") == "Synced",
                    what="synced after sync")


def test_include_exclude_and_recurse_apply_to_jsonnet_files(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("globs")
    cm = "function(n='x') {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: '%s'}, data: {}}"
    repo.commit({
        "app/a.jsonnet": cm % "a",
        "app/skip.jsonnet": "error 'must not be evaluated'",
        "app/sub/b.jsonnet": cm % "b",
    })
    app = application("globs", repo.url, "app", "globs")
    app["spec"]["source"]["directory"] = {"recurse": True, "exclude": "skip.jsonnet"}
    create(cli, tmp_path, app)
    wait_for(lambda: status(cli, "globs").get("sync", {}).get("status") == "OutOfSync", timeout=60, what="compare")
    manifests = cli("app", "manifests", "globs")
    assert manifests.returncode == 0, manifests.stderr
    names = sorted(d["metadata"]["name"] for d in yaml.safe_load_all(manifests.stdout) if d)
    assert names == ["a", "b"]


def test_imports_outside_the_repository_are_refused(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("escape")
    wrap = "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'x'}, data: {p: %s}}"
    repo.commit({
        "dotdot/main.jsonnet": wrap % "importstr '../../../../../../../../etc/passwd'",
        "absolute/main.jsonnet": wrap % "importstr '/etc/passwd'",
        "lib/main.jsonnet": wrap % "importstr 'passwd'",
    })
    # A repository with an escaping symlink is refused whole, before any renderer sees it.
    linked = git_repos.create("linked")
    linked.commit({"link/main.jsonnet": wrap % "importstr 'inside'", "link/inside": Symlink("/etc/passwd")})
    create(cli, tmp_path, application("dotdot", repo.url, "dotdot", "esc"))
    create(cli, tmp_path, application("absolute", repo.url, "absolute", "esc"))
    libs = _jsonnet_app("lib", repo.url, "lib", "esc", libs=["../../../../../../etc"])
    create(cli, tmp_path, libs)
    create(cli, tmp_path, application("link", linked.url, "link", "esc"))
    message = _condition(cli, "dotdot")
    assert "'../../../../../../../../etc/passwd' refused: it points outside the repository" in message
    assert "dotdot/main.jsonnet:1" in message
    assert "root:" not in message
    message = _condition(cli, "absolute")
    assert "'/etc/passwd' refused: absolute paths are not allowed" in message
    message = _condition(cli, "lib")
    assert "points outside the repository" in message and "root:" not in message
    message = _condition(cli, "link")
    assert "symlink" in message and "outside" in message and "root:" not in message
    for name in ("dotdot", "absolute", "lib", "link"):
        st = status(cli, name)
        assert st.get("sync", {}).get("status") != "Synced", st


def test_syntax_and_runtime_errors_name_the_file_without_host_paths(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("errors")
    repo.commit({
        "syntax/main.jsonnet": "{a: }",
        "runtime/main.jsonnet": "error 'the config is wrong'",
        "shape/main.jsonnet": "'a string'",
    })
    for name in ("syntax", "runtime", "shape"):
        create(cli, tmp_path, application(name, repo.url, name, "errs"))
    message = _condition(cli, "syntax")
    assert "syntax/main.jsonnet:1" in message and "gitopsd-sidecar-" not in message and "/renders/" not in message
    message = _condition(cli, "runtime")
    assert "the config is wrong" in message and "runtime/main.jsonnet" in message and "gitopsd-sidecar-" not in message
    message = _condition(cli, "shape")
    assert "not an object, an array of objects or a List" in message


@pytest.mark.parametrize(
    "gitops_env_extra",
    [{"GITOPSD_RENDER_TIMEOUT": "10", "GITOPSD_RENDER_MAX_OUTPUT_BYTES": str(1024 * 1024)}],
    ids=["render-limits"],
)
def test_runaway_evaluations_are_bounded(gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("runaway")
    repo.commit({
        "recursion/main.jsonnet": "local f(x) = f(x + 1); f(0)",
        "huge/main.jsonnet": (
            f"local pad = '{'x' * 200}'; "
            "[{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'c' + i}, data: {pad: pad}}"
            " for i in std.range(1, 10000)]"
        ),
        "slow/main.jsonnet": "std.length([i for i in std.range(1, 2000000000)])",
        "good/cm.yaml": configmap("still-served"),
    })
    for name in ("recursion", "huge", "slow", "good"):
        create(cli, tmp_path, application(name, repo.url, name, "runaway"))
    assert "max stack frames exceeded" in _condition(cli, "recursion")
    assert "exceeds the limit of 1048576 bytes" in _condition(cli, "huge")
    message = _condition(cli, "slow")
    assert "did not finish within 10" in message or "ran out of memory" in message, message
    # Others are still served meanwhile, and after.
    assert wait_for(lambda: status(cli, "good").get("sync", {}).get("status") == "OutOfSync", what="good app")
