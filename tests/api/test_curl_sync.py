"""A CI script written for Argo CD's REST API (bash, curl and jq) deploys with gitopsd unchanged:
log in, start a sync with Argo CD's request body, poll the application until it is Synced and
Healthy, read its resources, resource tree and pod logs; the Deployment is in the sandbox cluster."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
from fixtures.daemon import GitOpsEnv
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, create, deployment

# As found in CI pipelines for Argo CD: only the server address differs.
SCRIPT = r"""
set -euo pipefail
TOKEN=$(curl -sf -X POST "$ARGOCD_SERVER/api/v1/session" \
  -d "{\"username\":\"$ARGOCD_USERNAME\",\"password\":\"$ARGOCD_PASSWORD\"}" | jq -r .token)
AUTH="Authorization: Bearer $TOKEN"
curl -sf -X POST "$ARGOCD_SERVER/api/v1/applications/$APP/sync" -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"revision":"main","prune":true,"dryRun":false,"strategy":{"hook":{"force":false}},"syncOptions":{"items":["CreateNamespace=true"]}}' \
  | jq -r '"sync started: " + .metadata.name'
for i in $(seq 1 120); do
  APP_JSON=$(curl -sf "$ARGOCD_SERVER/api/v1/applications/$APP?refresh=normal" -H "$AUTH")
  SYNC=$(echo "$APP_JSON" | jq -r .status.sync.status)
  HEALTH=$(echo "$APP_JSON" | jq -r .status.health.status)
  PHASE=$(echo "$APP_JSON" | jq -r '.status.operationState.phase // "none"')
  if [ "$SYNC" = Synced ] && [ "$HEALTH" = Healthy ] && [ "$PHASE" = Succeeded ]; then
    echo "deployed: $SYNC $HEALTH $(echo "$APP_JSON" | jq -r .status.sync.revision)"
    curl -sf "$ARGOCD_SERVER/api/v1/applications/$APP/managed-resources" -H "$AUTH" \
      | jq -r '.items[] | .kind + "/" + .name + " " + .status'
    curl -sf "$ARGOCD_SERVER/api/v1/applications/$APP/resource-tree" -H "$AUTH" \
      | jq -r '"tree: " + ([.nodes[].kind] | unique | join(","))'
    curl -sfN "$ARGOCD_SERVER/api/v1/applications/$APP/logs?tailLines=1" -H "$AUTH" \
      | sed -n 's/^data: //p' | jq -r '.result.content // empty'
    exit 0
  fi
  sleep 0.5
done
echo "timed out: $SYNC $HEALTH $PHASE" >&2
exit 1
"""


def test_an_argocd_curl_script_syncs_an_application(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    repo = git_repos.create("manifests")
    sha = repo.commit({"web/deploy.yaml": deployment(replicas=2)})
    create(gitops_env.cli, tmp_path, application("web", repo.url, "web", "shop"))
    daemon = gitops_env.daemon
    result = subprocess.run(
        ["bash", "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=180,
        env={
            **os.environ,
            "ARGOCD_SERVER": f"http://{daemon.http_address}",
            "ARGOCD_USERNAME": "admin",
            "ARGOCD_PASSWORD": daemon.initial_password(),
            "APP": "web",
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "sync started: web"
    assert lines[1] == f"deployed: Synced Healthy {sha}"
    assert lines[2] == "Deployment/web Synced"
    # The tree and the logs (an event stream that ends with the last line) of the app's two pods.
    assert lines[3] == "tree: Deployment,Pod,ReplicaSet"
    assert lines[4:] == ["sandbox: container web is running"] * 2
    live = json.loads(kubectl("-n", "shop", "get", "deploy", "web", "-o", "json").stdout)
    assert live["spec"]["replicas"] == 2
    # The tree as an event stream: the current tree first.
    headers = {"Authorization": f"Bearer {daemon.token}"}
    with (
        httpx.Client(base_url=f"http://{daemon.http_address}", headers=headers, timeout=30) as http,
        http.stream("GET", "/api/v1/stream/applications/web/resource-tree") as stream,
    ):
        assert stream.status_code == 200
        first = next(line for line in stream.iter_lines() if line.startswith("data: "))
    kinds = {n["kind"] for n in json.loads(first[len("data: ") :])["result"]["nodes"]}
    assert {"Deployment", "ReplicaSet", "Pod"} <= kinds
