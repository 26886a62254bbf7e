"""ApplicationSet generators through the daemon, against the sandbox, with real git repositories:
list, clusters (selector, values, a label change regenerates), git directories (a push adds and
removes applications), git files, matrix and merge. The CLI shows what a user of argocd expects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from appsets import (
    CONFIGMAP,
    IN_CLUSTER,
    apps,
    appset,
    conditions,
    create,
    get,
    github_push,
    template,
)
from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitDaemon, GitRepos

from gitopsd.sandbox import SandboxCluster


def test_list_generator_makes_owned_applications(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    repo = git_repos.create("apps")
    repo.commit({"guestbook/cm.yaml": CONFIGMAP})
    cli = gitops_env.cli
    doc = appset(
        "guestbook",
        [
            {
                "list": {
                    "elements": [
                        {"cluster": "dev", "url": IN_CLUSTER},
                        {"cluster": "prod", "url": IN_CLUSTER},
                    ]
                }
            }
        ],
        template("{{cluster}}-guestbook", repo.url, "guestbook", "{{ cluster }}", server="{{url}}"),
    )
    created = create(cli, tmp_path, doc)
    assert created.returncode == 0, created.stderr
    assert "ApplicationSet 'guestbook' created" in created.stdout
    made = apps(cli)
    assert sorted(made) == ["dev-guestbook", "prod-guestbook"]
    dev = made["dev-guestbook"]
    assert dev["spec"]["destination"] == {"server": IN_CLUSTER, "namespace": "dev"}
    # Owned by the set, and deleted with their resources (Argo CD's resources finalizer on generated apps).
    assert dev["metadata"]["ownerReferences"][0]["kind"] == "ApplicationSet"
    assert dev["metadata"]["ownerReferences"][0]["name"] == "guestbook"
    assert "resources-finalizer.argocd.argoproj.io" in dev["metadata"]["finalizers"]
    assert conditions(cli, "guestbook")["ErrorOccurred"][0] == "False"
    assert conditions(cli, "guestbook")["ResourcesUpToDate"][0] == "True"
    status = get(cli, "guestbook")["status"]
    assert sorted(r["name"] for r in status["resources"]) == ["dev-guestbook", "prod-guestbook"]

    listed = cli("appset", "list")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "PROJECT", "SYNCPOLICY", "CONDITIONS", "REPO", "PATH", "TARGET"]
    assert row.split()[:2] == ["guestbook", "default"]
    shown = cli("appset", "get", "guestbook")
    assert "ParametersGenerated  True" in shown.stdout and "prod-guestbook" in shown.stdout

    # An element removed from the list: its application goes (sync policy: create, update and delete).
    doc["spec"]["generators"][0]["list"]["elements"].pop()
    assert create(cli, tmp_path, doc, "--upsert").returncode == 0
    assert sorted(apps(cli)) == ["dev-guestbook"]

    # Deleting the set deletes what it made.
    deleted = cli("appset", "delete", "guestbook")
    assert deleted.returncode == 0, deleted.stderr
    assert apps(cli) == {}
    assert cli("appset", "get", "guestbook").returncode == 2


def test_clusters_generator_follows_selector_and_labels(
    gitops_env: GitOpsEnv, sandbox: SandboxCluster, git_repos: GitRepos, tmp_path: Path
) -> None:
    repo = git_repos.create("apps")
    repo.commit({"guestbook/cm.yaml": CONFIGMAP})
    cli = gitops_env.cli
    kubeconfig = str(gitops_env.kubeconfig)
    added = cli(
        "cluster", "add", "sandbox", "--name", "production", "--kubeconfig", kubeconfig, "--label", "env=prod"
    )
    assert added.returncode == 0, added.stderr
    everything = appset(
        "all-clusters",
        [{"clusters": {}}],
        template("{{name}}-all", repo.url, "guestbook", "all", server="{{server}}"),
    )
    prod_only = appset(
        "prod",
        [
            {
                "clusters": {
                    "selector": {
                        "matchLabels": {"env": "prod"},
                        "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "staging"]}],
                    },
                    "values": {"tier": "gold-{{metadata.labels.env}}"},
                }
            }
        ],
        template(
            "{{nameNormalized}}-{{values.tier}}",
            repo.url,
            "guestbook",
            "{{metadata.labels.env}}",
            server="{{server}}",
        ),
    )
    assert create(cli, tmp_path, everything).returncode == 0
    assert create(cli, tmp_path, prod_only).returncode == 0
    made = apps(cli)
    # The in-cluster cluster counts as a cluster too, as the local cluster does in Argo CD.
    assert sorted(made) == ["in-cluster-all", "production-all", "production-gold-prod"]
    assert made["production-gold-prod"]["spec"]["destination"] == {"server": sandbox.url, "namespace": "prod"}

    # A label change: the selector no longer matches, the generated application goes.
    relabel = cli(
        "cluster",
        "add",
        "sandbox",
        "--name",
        "production",
        "--kubeconfig",
        kubeconfig,
        "--label",
        "env=dev",
        "--upsert",
    )
    assert relabel.returncode == 0, relabel.stderr
    wait_for(lambda: "production-gold-prod" not in apps(cli), what="the relabelled cluster's app to go")
    assert "production-all" in apps(cli)
    # Labelled back: the application comes back.
    relabel = cli(
        "cluster",
        "add",
        "sandbox",
        "--name",
        "production",
        "--kubeconfig",
        kubeconfig,
        "--label",
        "env=prod",
        "--upsert",
    )
    assert relabel.returncode == 0, relabel.stderr
    wait_for(lambda: "production-gold-prod" in apps(cli), what="the relabelled cluster's app to come back")
    # A removed cluster: the applications generated for it go (their resources cannot be reached).
    assert cli("cluster", "rm", "production", "--force").returncode == 0
    wait_for(lambda: sorted(apps(cli)) == ["in-cluster-all"], what="the removed cluster's apps to go")


def test_git_directories_follow_pushes(
    gitops_env: GitOpsEnv, git_daemon: GitDaemon, git_repos: GitRepos, tmp_path: Path
) -> None:
    repo = git_repos.create("platform")
    repo.commit(
        {
            "apps/web/cm.yaml": CONFIGMAP,
            "apps/api/cm.yaml": CONFIGMAP,
            "apps/experimental/cm.yaml": CONFIGMAP,
            "apps/web/nested/x.yaml": CONFIGMAP,
            "other/cm.yaml": CONFIGMAP,
        }
    )
    url = git_daemon.url(repo)
    cli = gitops_env.cli
    doc = appset(
        "dirs",
        [
            {
                "git": {
                    "repoURL": url,
                    "revision": "main",
                    "directories": [{"path": "apps/*"}, {"path": "apps/experimental", "exclude": True}],
                }
            }
        ],
        template("{{path.basename}}", url, "{{path}}", "{{path[0]}}-{{path.basename}}"),
    )
    assert create(cli, tmp_path, doc).returncode == 0
    made = apps(cli)
    # `*` stays within one directory level (Go's path.Match), and the exclude wins.
    assert sorted(made) == ["api", "web"]
    assert made["web"]["spec"]["source"]["path"] == "apps/web"
    assert made["web"]["spec"]["destination"]["namespace"] == "apps-web"

    # A push adding a directory creates its application; the webhook tells the daemon at once.
    repo.commit({"apps/billing/cm.yaml": CONFIGMAP})
    github_push(gitops_env.daemon.http_address, url.replace("git://", "https://"))
    wait_for(lambda: "billing" in apps(cli), what="a pushed directory to become an application")
    # And one removing a directory deletes it.
    repo.commit({"apps/api": None})
    github_push(gitops_env.daemon.http_address, url.replace("git://", "https://"))
    wait_for(lambda: sorted(apps(cli)) == ["billing", "web"], what="a removed directory's app to go")


def test_git_files_matrix_and_merge(gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path) -> None:
    repo = git_repos.create("config")
    repo.commit(
        {
            "clusters/dev/config.json": json.dumps(
                {"cluster": {"name": "dev", "namespace": "team-dev"}, "replicas": 1}
            ),
            "clusters/prod/config.yaml": "cluster: {name: prod, namespace: team-prod}\nreplicas: 3\n",
            "clusters/prod/ignored.txt": "not a config",
            "services/web/cm.yaml": CONFIGMAP,
            "services/api/cm.yaml": CONFIGMAP,
        }
    )
    cli = gitops_env.cli
    files = appset(
        "files",
        [{"git": {"repoURL": repo.url, "revision": "main", "files": [{"path": "clusters/**/config.*"}]}}],
        template(
            "{{cluster.name}}-{{path.basename}}-{{replicas}}",
            repo.url,
            "services/web",
            "{{cluster.namespace}}",
        ),
    )
    assert create(cli, tmp_path, files).returncode == 0
    made = apps(cli)
    assert sorted(made) == ["dev-dev-1", "prod-prod-3"]
    assert made["prod-prod-3"]["spec"]["destination"]["namespace"] == "team-prod"

    matrix = appset(
        "matrix",
        [
            {
                "matrix": {
                    "generators": [
                        {
                            "git": {
                                "repoURL": repo.url,
                                "revision": "main",
                                "directories": [{"path": "services/*"}],
                            }
                        },
                        {"list": {"elements": [{"env": "staging"}, {"env": "live"}]}},
                    ]
                }
            }
        ],
        template("{{path.basename}}-{{env}}", repo.url, "{{path}}", "{{env}}"),
    )
    assert create(cli, tmp_path, matrix).returncode == 0
    assert sorted(n for n in apps(cli) if n.endswith(("-staging", "-live"))) == [
        "api-live",
        "api-staging",
        "web-live",
        "web-staging",
    ]

    merge = appset(
        "merge",
        [
            {
                "merge": {
                    "mergeKeys": ["svc"],
                    "generators": [
                        {
                            "list": {
                                "elements": [
                                    {"svc": "web", "ns": "default-ns"},
                                    {"svc": "api", "ns": "default-ns"},
                                ]
                            }
                        },
                        {
                            "list": {
                                "elements": [
                                    {"svc": "api", "ns": "api-special"},
                                    {"svc": "unknown", "ns": "x"},
                                ]
                            }
                        },
                    ],
                }
            }
        ],
        template("merged-{{svc}}", repo.url, "services/{{svc}}", "{{ns}}"),
    )
    assert create(cli, tmp_path, merge).returncode == 0
    made = apps(cli)
    # The base's parameter sets, overridden where the mergeKey agrees; "unknown" has no base: dropped.
    assert sorted(n for n in made if n.startswith("merged-")) == ["merged-api", "merged-web"]
    assert made["merged-api"]["spec"]["destination"]["namespace"] == "api-special"
    assert made["merged-web"]["spec"]["destination"]["namespace"] == "default-ns"


@pytest.mark.parametrize(
    "gitops_env_extra", [{"GITOPSD_RECONCILE_INTERVAL": "2", "GITOPSD_RECONCILE_JITTER": "0"}], ids=["poll"]
)
def test_a_new_commit_regenerates_at_the_next_poll(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    # No webhook: the per-interval poll sees the repository at a new commit and regenerates.
    cli = gitops_env.cli
    repo = git_repos.create("platform")
    repo.commit({"apps/web/cm.yaml": CONFIGMAP})
    doc = appset(
        "polled",
        [{"git": {"repoURL": repo.url, "revision": "main", "directories": [{"path": "apps/*"}]}}],
        template("{{path.basename}}", repo.url, "{{path}}", "x"),
    )
    assert create(cli, tmp_path, doc).returncode == 0
    assert sorted(apps(cli)) == ["web"]
    repo.commit({"apps/api/cm.yaml": CONFIGMAP})
    wait_for(lambda: sorted(apps(cli)) == ["api", "web"], what="the polled commit's new app")
