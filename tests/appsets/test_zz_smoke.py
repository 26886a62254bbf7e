from __future__ import annotations
from pathlib import Path
from fixtures.daemon import GitOpsEnv
from fixtures.gitrepos import GitRepos
from appsets import appset, template, create, get, apps

def test_smoke(gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path) -> None:
    repo = git_repos.create("apps")
    repo.commit({"guestbook/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n"})
    cli = gitops_env.cli
    doc = appset("guestbook", [{"list": {"elements": [{"cluster": "dev", "url": "https://kubernetes.default.svc"}, {"cluster": "prod", "url": "https://kubernetes.default.svc"}]}}],
                 template("{{cluster}}-guestbook", repo.url, "guestbook", "{{cluster}}"))
    r = create(cli, tmp_path, doc)
    print(r.stdout, r.stderr)
    print(cli("appset", "list").stdout)
    print(sorted(apps(cli)))
    print(gitops_env.daemon.log()[-3000:])
