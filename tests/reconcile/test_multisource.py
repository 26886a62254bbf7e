"""Multi-source applications (issue 12, item 3) through the daemon, the sandbox, a real chart repository
and real git repositories: a chart from a Helm repository with its values from another Git repository
(`$values/...` of a `ref:` source) beside a plain directory source; each source's revision in the status
and the history; a push to the values repository alone is a new target; rollback redeploys every
source's recorded revision; duplicate objects and paths out of the ref's checkout are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos, Symlink
from fixtures.renderers import ChartRepo, write_tree
from reconcile.apps import configmap, create, status

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    "values.yaml": "greeting: hello-default\nreplicas: 1\n",
    "templates/config.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n  replicas: {{ .Values.replicas | quote }}\n"
    ),
}


def _values(greeting: str, replicas: int) -> str:
    return yaml.safe_dump({"greeting": greeting, "replicas": replicas})


def _app(name: str, namespace: str, sources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "sources": sources,
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
        },
    }


def _data(kubectl, namespace: str, name: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    got = kubectl("-n", namespace, "get", "cm", name, "-o", "json")
    assert got.returncode == 0, got.stderr
    return dict(json.loads(got.stdout)["data"])


def test_chart_with_values_from_a_ref_source_and_a_directory_source(
    gitops_env: GitOpsEnv, git_repos: GitRepos, chart_repo: ChartRepo, kubectl, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    cli = gitops_env.cli
    chart_repo.publish(write_tree(tmp_path / "chart", CHART), "1.0.0")
    values = git_repos.create("values")
    first_values = values.commit({"envs/prod.yaml": _values("hello-prod", 3)})
    extras = git_repos.create("extras")
    extras_sha = extras.commit({"manifests/extra.yaml": configmap("extra", {"from": "extras"})})
    sources = [
        {
            "repoURL": chart_repo.url,
            "chart": "web",
            "targetRevision": "1.0.0",
            "helm": {"valueFiles": ["$values/envs/prod.yaml"]},
        },
        {"repoURL": values.url, "targetRevision": "main", "ref": "values"},
        {"repoURL": extras.url, "targetRevision": "main", "path": "manifests"},
    ]
    create(cli, tmp_path, _app("multi", "multi", sources))
    st = wait_for(
        lambda: (s := status(cli, "multi")).get("sync", {}).get("status") == "OutOfSync" and s,
        what="the multi-source comparison",
    )
    assert st["sync"]["revisions"] == ["1.0.0", first_values, extras_sha], st
    assert {r["name"] for r in st["resources"]} == {"web-config", "extra"}
    assert len(st["sync"]["comparedTo"]["sources"]) == 3

    shown = cli("app", "get", "multi")
    assert shown.returncode == 0, shown.stderr
    for line in ("Source 1:", "chart web", "Source 2:", "ref values", "Source 3:", "path manifests"):
        assert line in shown.stdout, shown.stdout
    assert f"({first_values[:7]})" in shown.stdout

    synced = cli("app", "sync", "multi")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert _data(kubectl, "multi", "web-config") == {"greeting": "hello-prod", "replicas": "3"}
    assert _data(kubectl, "multi", "extra") == {"from": "extras"}

    # A push to the values repository alone (a ref source, never rendered itself) is a new target.
    second_values = values.commit({"envs/prod.yaml": _values("hello-again", 5)})
    st = status(cli, "multi", refresh=True)
    assert st["sync"]["status"] == "OutOfSync" and st["sync"]["revisions"][1] == second_values
    assert cli("app", "sync", "multi").returncode == 0
    assert _data(kubectl, "multi", "web-config") == {"greeting": "hello-again", "replicas": "5"}

    history = json.loads(cli("app", "history", "multi", "-o", "json").stdout)
    assert [h["revisions"] for h in history] == [
        ["1.0.0", first_values, extras_sha],
        ["1.0.0", second_values, extras_sha],
    ]
    assert all(len(h["sources"]) == 3 for h in history)
    table = cli("app", "history", "multi").stdout
    assert f"1.0.0,{first_values[:7]},{extras_sha[:7]}" in table, table

    # Rollback redeploys every source at its recorded revision: the older values come back.
    rolled = cli("app", "rollback", "multi", str(history[0]["id"]))
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    wait_for(
        lambda: _data(kubectl, "multi", "web-config") == {"greeting": "hello-prod", "replicas": "3"},
        what="the rolled-back values",
    )
    last = json.loads(cli("app", "history", "multi", "-o", "json").stdout)[-1]
    assert last["revisions"] == ["1.0.0", first_values, extras_sha]

    # A pinned revision means nothing for several sources: refused, saying what to do instead.
    pinned = cli("app", "sync", "multi", "--revision", first_values)
    assert pinned.returncode != 0 and "has several sources" in pinned.stderr, pinned.stderr
    # Nor would a local directory stand for all of them (a diff of one source would look like the app's).
    local = tmp_path / "local"
    (local / "manifests").mkdir(parents=True)
    (local / "manifests" / "extra.yaml").write_text(configmap("extra", {"from": "local"}))
    diffed = cli("app", "diff", "multi", "--local", str(local / "manifests"))
    assert diffed.returncode == 2 and "multi-source application" in diffed.stderr, diffed.stdout + diffed.stderr


def test_an_object_rendered_by_two_sources_is_an_error_naming_both(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    one = git_repos.create("one")
    one.commit({"app/cm.yaml": configmap("shared", {"from": "one"})})
    two = git_repos.create("two")
    two.commit({"deploy/cm.yaml": configmap("shared", {"from": "two"})})
    create(
        cli,
        tmp_path,
        _app(
            "dupes",
            "dupes",
            [
                {"repoURL": one.url, "targetRevision": "main", "path": "app"},
                {"repoURL": two.url, "targetRevision": "main", "path": "deploy"},
            ],
        ),
    )

    def errors() -> list[str]:
        st = status(cli, "dupes")
        return [c["message"] for c in st.get("conditions", []) if c["type"] == "ComparisonError"]

    message = wait_for(errors, what="the duplicate-object error")[0]
    assert "ConfigMap dupes/shared is rendered by two sources" in message, message
    assert "spec.sources[0]" in message and "path app" in message
    assert "spec.sources[1]" in message and "path deploy" in message
    refused = cli("app", "sync", "dupes")
    assert refused.returncode != 0


def test_value_files_stay_inside_their_ref_source(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    charts = git_repos.create("charts")
    charts.commit({f"web/{k}": v for k, v in CHART.items()})
    values = git_repos.create("leaky")
    values.commit({"envs/leak.yaml": Symlink("/etc/passwd")})

    def app(value_file: str) -> dict[str, Any]:
        return _app(
            "leaky",
            "leaky",
            [
                {"repoURL": charts.url, "targetRevision": "main", "path": "web", "helm": {"valueFiles": [value_file]}},
                {"repoURL": values.url, "targetRevision": "main", "ref": "values"},
            ],
        )

    path = tmp_path / "escape.yaml"
    path.write_text(yaml.safe_dump(app("$values/../../etc/passwd")))
    escaped = cli("app", "create", "-f", str(path))
    assert escaped.returncode != 0
    assert "must stay inside that source's repository" in escaped.stderr, escaped.stderr

    create(cli, tmp_path, app("$values/envs/leak.yaml"))

    def errors() -> list[str]:
        st = status(cli, "leaky")
        return [c["message"] for c in st.get("conditions", []) if c["type"] == "ComparisonError"]

    message = wait_for(errors, what="the symlink escape error")[0]
    assert "envs/leak.yaml" in message and "outside" in message, message
    assert "root:" not in message  # nothing of the file it points to
