"""ApplicationSets on Argo CD's REST paths: create with a list generator, get, list, a dry-run
generate with Argo CD's body shape, and delete, through the same servicer and RBAC as gRPC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apihelpers import client, login, start_daemon
from fixtures.daemon import wait_for


def _appset(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": name},
        "spec": {
            "generators": [{"list": {"elements": [{"env": "dev"}, {"env": "prod"}]}}],
            "template": {
                "metadata": {"name": "{{env}}-web"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": "https://git.example.invalid/apps.git", "path": "web"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "{{env}}"},
                },
            },
        },
    }


def test_applicationsets_over_http(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path)
    try:
        token = login(daemon, "admin", daemon.initial_password()).json()["token"]
        with client(daemon, token=token) as http:
            preview = http.post("/api/v1/applicationsets/generate", json={"applicationSet": _appset("web")})
            assert preview.status_code == 200, preview.text
            assert sorted(a["metadata"]["name"] for a in preview.json()["applications"]) == [
                "dev-web",
                "prod-web",
            ]
            assert http.get("/api/v1/applications").json().get("items", []) == []  # a dry run made nothing

            created = http.post("/api/v1/applicationsets", json=_appset("web"))
            assert created.status_code == 200, created.text
            assert http.get("/api/v1/applicationsets/web").json()["metadata"]["name"] == "web"
            assert [s["metadata"]["name"] for s in http.get("/api/v1/applicationsets").json()["items"]] == [
                "web"
            ]
            wait_for(
                lambda: (
                    sorted(
                        a["metadata"]["name"]
                        for a in http.get("/api/v1/applications").json().get("items", [])
                    )
                    == ["dev-web", "prod-web"]
                ),
                what="generated applications",
            )
            again = http.post("/api/v1/applicationsets", json=_appset("web"))
            assert again.status_code == 409, again.text
            assert (
                http.post(
                    "/api/v1/applicationsets", params={"upsert": "true"}, json=_appset("web")
                ).status_code
                == 200
            )

            assert http.delete("/api/v1/applicationsets/web").status_code == 200
            assert http.get("/api/v1/applicationsets/web").status_code == 404
        with client(daemon, token="") as anonymous:
            assert anonymous.get("/api/v1/applicationsets").status_code == 401
    finally:
        daemon.stop()
