"""Argo CD Config Management Plugins (plugin.yaml) run by gitopsd-cmp, through the daemon and the sandbox: a
real shell script as init and generate, the environment Argo CD gives (checked through the rendered ConfigMap),
selection by name and by discovery (fileName, find.glob, find.command), parameters, and failures as errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.daemon import CLI, DaemonProcess, GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, configmap, create, status

# A real script, as plugin authors write them: init leaves a file that generate needs.
GENERATE_SH = r"""#!/bin/sh
set -eu
test -f .init-ran || { echo "init did not run" >&2; exit 9; }
cat <<DOC
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${ARGOCD_APP_NAME}-env
data:
  app: "${ARGOCD_APP_NAME}"
  namespace: "${ARGOCD_APP_NAMESPACE}"
  revision: "${ARGOCD_APP_REVISION}"
  revisionShort: "${ARGOCD_APP_REVISION_SHORT}"
  repo: "${ARGOCD_APP_SOURCE_REPO_URL}"
  path: "${ARGOCD_APP_SOURCE_PATH}"
  targetRevision: "${ARGOCD_APP_SOURCE_TARGET_REVISION}"
  kubeVersion: "${KUBE_VERSION}"
  apiVersionsHaveApps: "$(echo "${KUBE_API_VERSIONS}" | grep -c apps/v1 || true)"
  foo: "${ARGOCD_ENV_FOO}"
  rev: "${ARGOCD_ENV_REV}"
  parameters: '${ARGOCD_APP_PARAMETERS}'
  paramString: "${PARAM_SOME_STRING:-}"
  paramArray: "${PARAM_VALUES_FILES_0:-},${PARAM_VALUES_FILES_1:-}"
  paramMap: "${PARAM_HELM_PARAMETERS_IMAGE_TAG:-}"
  home: "$(test -d "$HOME" && test -w "$HOME" && echo private)"
  path_var: "${PATH}"
  secret: "${GITOPSD_WEBHOOK_GITHUB_SECRET:-absent}"
  cwdFile: "$(cat input.txt)"
  execBit: "$(test -x tool.sh && echo kept || echo reset)"
DOC
"""


def _plugin(name: str, spec: dict[str, Any]) -> str:
    return yaml.safe_dump(
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "ConfigManagementPlugin", "metadata": {"name": name},
         "spec": spec}
    )


def _named_cm(text: str) -> dict[str, Any]:
    return {"command": ["sh", "-c"], "args": [
        f"printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: %s\\n' \"$ARGOCD_APP_NAME-{text}\""
    ]}


@pytest.fixture
def plugins_dir(tmp_path: Path) -> Path:
    d = tmp_path / "cmp"
    d.mkdir()
    (d / "generate.sh").write_text(GENERATE_SH)
    (d / "env.yaml").write_text(_plugin("env-plugin", {
        "version": "v1.0",
        "init": {"command": ["sh", "-c"], "args": ["touch .init-ran"]},
        "generate": {"command": ["sh", str(d / "generate.sh")]},
        "parameters": {"static": [{"name": "some-string", "string": "default"}]},
    }))
    (d / "discovery.yaml").write_text(
        _plugin("by-file-name", {"generate": _named_cm("file-name"), "discover": {"fileName": "*.cmp"}})
        + "---\n"
        + _plugin("by-glob", {"generate": _named_cm("glob"), "discover": {"find": {"glob": "**/marker.txt"}}})
        + "---\n"
        + _plugin("by-command", {"generate": _named_cm("command"),
                                 "discover": {"find": {"command": ["sh", "-c", "ls | grep -x command-marker || true"]}}})
    )
    (d / "failing.yaml").write_text(_plugin("failing", {
        "generate": {"command": ["sh", "-c", "echo partial; echo \"boom: bad input in $PWD\" >&2; exit 3"]},
    }))
    (d / "preserve.yaml").write_text(_plugin("preserve", {
        "preserveFileMode": True,
        "init": {"command": ["sh", "-c", "touch .init-ran"]},
        "generate": {"command": ["sh", str(d / "generate.sh")]},
    }))
    return d


@pytest.fixture
def gitops_env_extra(plugins_dir: Path) -> dict[str, str]:
    """gitops_env's daemon with the plugins, and a daemon secret in its environment: no plugin may see it."""
    return {"GITOPSD_CMP_PATH": str(plugins_dir), "GITOPSD_WEBHOOK_GITHUB_SECRET": "s3cr3t-hook-key"}


@pytest.fixture
def cmp_env(gitops_env: GitOpsEnv) -> CLI:
    return gitops_env.cli


def _plugin_app(name: str, repo: str, path: str, plugin: dict[str, Any]) -> dict[str, Any]:
    app = application(name, repo, path, "cmp")
    app["spec"]["source"]["plugin"] = plugin
    return app


def _manifests(cli: CLI, name: str) -> list[dict[str, Any]]:
    wait_for(lambda: status(cli, name).get("sync", {}).get("status") == "OutOfSync", timeout=60, what=f"{name} compared")
    out = cli("app", "manifests", name)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def _condition(cli: CLI, name: str) -> str:
    st = wait_for(lambda: (s := status(cli, name)).get("conditions") and s, timeout=60, what=f"{name} condition")
    assert st["conditions"][0]["type"] == "ComparisonError", st["conditions"]
    return str(st["conditions"][0]["message"])


def test_plugin_by_name_gets_argo_cds_environment(cmp_env: CLI, git_repos: GitRepos, kubectl, tmp_path: Path) -> None:
    cli = cmp_env
    repo = git_repos.create("cmp")
    sha = repo.commit({"apps/one/input.txt": "from the repo", "apps/one/tool.sh": "#!/bin/sh\n"})
    (repo.work / "apps/one/tool.sh").chmod(0o755)
    sha = repo.commit({}, message="executable tool")
    app = _plugin_app("one", repo.url, "apps/one", {
        "name": "env-plugin-v1.0",
        "env": [{"name": "FOO", "value": "bar"}, {"name": "REV", "value": "test-$ARGOCD_APP_REVISION"}],
        "parameters": [
            {"name": "some-string", "string": "hello"},
            {"name": "values-files", "array": ["values-dev.yaml", "values-prod.yaml"]},
            {"name": "helm-parameters", "map": {"image.tag": "v1.2.3"}},
        ],
    })
    create(cli, tmp_path, app)
    wait_for(lambda: status(cli, "one").get("sync", {}).get("status") == "OutOfSync", timeout=60, what="compared")
    synced = cli("app", "sync", "one")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    out = kubectl("-n", "cmp", "get", "configmap", "one-env", "-o", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)["data"]
    assert data["app"] == "one" and data["namespace"] == "cmp"
    assert data["revision"] == sha and data["revisionShort"] == sha[:7]
    assert data["repo"] == repo.url and data["path"] == "apps/one" and data["targetRevision"] == "main"
    # The destination cluster's version and served API groups, as Argo CD gives plugins.
    assert data["kubeVersion"] == "v1.37.0-gitopsd-sandbox"
    assert data["apiVersionsHaveApps"] == "1"
    assert data["foo"] == "bar" and data["rev"] == f"test-{sha}"
    assert json.loads(data["parameters"]) == [
        {"name": "some-string", "string": "hello"},
        {"name": "values-files", "array": ["values-dev.yaml", "values-prod.yaml"]},
        {"name": "helm-parameters", "map": {"image.tag": "v1.2.3"}},
    ]
    assert data["paramString"] == "hello"
    assert data["paramArray"] == "values-dev.yaml,values-prod.yaml"
    assert data["paramMap"] == "v1.2.3"
    assert data["home"] == "private"
    assert data["path_var"] == "/usr/local/bin:/usr/bin:/bin"
    assert data["secret"] == "absent"
    assert data["cwdFile"] == "from the repo"
    assert data["execBit"] == "reset"  # preserveFileMode is false


def test_preserve_file_mode_and_a_version_less_name(cmp_env: CLI, git_repos: GitRepos, tmp_path: Path) -> None:
    cli = cmp_env
    repo = git_repos.create("modes")
    repo.commit({"app/input.txt": "x", "app/tool.sh": "#!/bin/sh\n"})
    (repo.work / "app/tool.sh").chmod(0o755)
    repo.commit({}, message="executable")
    env = [{"name": "FOO", "value": "1"}, {"name": "REV", "value": "2"}]
    create(cli, tmp_path, _plugin_app("modes", repo.url, "app", {"name": "preserve", "env": env}))
    (doc,) = _manifests(cli, "modes")
    assert doc["data"]["execBit"] == "kept"
    # Without its version the name does not select a versioned plugin, and the error says how to name it.
    create(cli, tmp_path, _plugin_app("unversioned", repo.url, "app", {"name": "env-plugin"}))
    message = _condition(cli, "unversioned")
    assert "no config management plugin named 'env-plugin'" in message and "'env-plugin-v1.0'" in message


def test_discovery_by_file_name_find_glob_and_find_command(cmp_env: CLI, git_repos: GitRepos, tmp_path: Path) -> None:
    cli = cmp_env
    repo = git_repos.create("discover")
    repo.commit({
        "a/config.cmp": "x",
        "b/deep/er/marker.txt": "x",
        "c/command-marker": "x",
        "none/readme.txt": "x",
    })
    for name, path in (("a", "a"), ("b", "b"), ("c", "c"), ("none", "none")):
        create(cli, tmp_path, _plugin_app(name, repo.url, path, {}))
    assert [d["metadata"]["name"] for d in _manifests(cli, "a")] == ["a-file-name"]
    assert [d["metadata"]["name"] for d in _manifests(cli, "b")] == ["b-glob"]
    assert [d["metadata"]["name"] for d in _manifests(cli, "c")] == ["c-command"]
    assert "no config management plugin's discover rules match" in _condition(cli, "none")
    # A named plugin with discover rules is used only where they match.
    create(cli, tmp_path, _plugin_app("named-mismatch", repo.url, "a", {"name": "by-glob"}))
    assert "'by-glob' does not match this source" in _condition(cli, "named-mismatch")


def test_failing_plugin_is_a_comparison_error_with_its_stderr(
    cmp_env: CLI, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = cmp_env
    repo = git_repos.create("failing")
    repo.commit({"app/x.txt": "x", "good/cm.yaml": configmap("fine")})
    create(cli, tmp_path, _plugin_app("failing", repo.url, "app", {"name": "failing"}))
    create(cli, tmp_path, application("good", repo.url, "good", "cmp"))
    message = _condition(cli, "failing")
    assert "plugin failing: generate failed with exit code 3: boom: bad input in app" in message
    assert "gitopsd-sidecar-" not in message and "/renders/" not in message
    assert status(cli, "failing").get("sync", {}).get("status") != "Synced"
    assert wait_for(lambda: status(cli, "good").get("sync", {}).get("status") == "OutOfSync", what="others served")


def test_a_broken_plugin_yaml_stops_the_daemon_with_its_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(_plugin("git", {"generate": {"command": ["true"]}, "provideGitCreds": True}))
    daemon = DaemonProcess(data_dir=tmp_path / "data", log_path=tmp_path / "daemon.log",
                           env={"GITOPSD_CMP_PATH": str(bad)})
    with pytest.raises(RuntimeError) as failed:
        daemon.start()
    assert "cmp.path: bad.yaml (git): spec.provideGitCreds: true is not supported" in str(failed.value)
