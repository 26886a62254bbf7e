"""The Renderer gRPC client against a plugin of our own on a real unix socket."""

from __future__ import annotations

import json
import os
from pathlib import Path

import grpc
import pytest
import tiny_renderer
from fixtures.gitrepos import Symlink
from srchelpers import src

from gitopsd.api.gitopsd.v1 import application_pb2 as apb
from gitopsd.api.gitopsd.v1 import renderer_pb2
from gitopsd.sources.errors import RendererError, RendererUnavailableError
from gitopsd.sources.gitauth import RepoCredentials
from gitopsd.sources.render import SourceRenderer
from gitopsd.sources.renderer_client import RendererClient, build_render_request, chart_reference
from gitopsd.sources.safety import RepoFile


def test_capabilities_and_render(tiny_target: str) -> None:
    client = RendererClient("tiny", tiny_target, timeout=5)
    info = client.capabilities()
    assert (info.name, info.version, info.source_types) == ("tiny", "1.0", ("Plugin", "Kustomize"))
    assert client.healthy()
    request = build_render_request(
        source_type="Plugin",
        source=src(
            "https://x/y",
            "p",
            plugin=apb.ApplicationSourcePlugin(name="tiny", env=[apb.EnvEntry(name="team", value="a")]),
        ),
        files=[RepoFile("p/hello.txt", b"hi", False)],
        app_name="demo",
        namespace="prod",
        revision="abc",
    )
    manifests, warnings, _ = client.render(request)
    assert manifests == [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "hello", "namespace": "prod", "labels": {"team": "a"}},
            "data": {"text": "hi", "app": "demo", "rev": "abc"},
        }
    ]
    assert warnings == ["rendered 1 files"]
    client.close()


def test_renderer_error_keeps_its_message(tiny_target: str) -> None:
    client = RendererClient("tiny", tiny_target, timeout=5)
    request = build_render_request(
        source_type="Plugin", source=src("https://x/y", "empty"), app_name="a", namespace="n"
    )
    with pytest.raises(RendererError) as err:
        client.render(request)
    assert str(err.value) == "renderer tiny: no files under 'empty'"
    assert err.value.code == "FAILED_PRECONDITION"


def test_renderer_not_running_is_unavailable(short_tmp: Path) -> None:
    client = RendererClient("helm", f"unix://{short_tmp}/absent.sock", timeout=5)
    with pytest.raises(RendererUnavailableError) as err:
        client.render(
            build_render_request(source_type="Helm", source=src("https://x/y"), app_name="a", namespace="n")
        )
    assert str(err.value).startswith(
        f"renderer helm unavailable: not running (socket {short_tmp}/absent.sock)"
    )
    assert not client.healthy(timeout=0.5)


def test_request_carries_repo_files_without_git_and_resolved_symlinks(
    git_repos, tmp_path: Path, tiny_registry
) -> None:
    from gitopsd.sources.gitcache import RepoCache

    repo = git_repos.create()
    repo.commit(
        {
            "base/cm.txt": "base",
            "overlay/kustomization.yaml": "resources: [../base]\n",
            "overlay/link.txt": Symlink("../base/cm.txt"),
            "base/tool.sh": "#!/bin/sh\n",
            # Nothing the kustomization reads: not sent.
            "elsewhere/cm.txt": "other",
        }
    )
    os.chmod(repo.work / "base" / "tool.sh", 0o755)
    repo.commit({}, message="exec bit")
    tiny_renderer.REQUESTS.clear()
    r = SourceRenderer(RepoCache(tmp_path / "cache"), tiny_registry)
    r.render("app", src(repo.url, "overlay"), "ns", kube_version="1.30.0")
    sent = tiny_renderer.REQUESTS[-1]
    files = {f.path: f for f in sent.files}
    assert sorted(files) == ["base/cm.txt", "base/tool.sh", "overlay/kustomization.yaml", "overlay/link.txt"]
    assert files["overlay/link.txt"].content == b"base"
    assert files["base/tool.sh"].executable and not files["base/cm.txt"].executable
    assert (sent.source_type, sent.source.path, sent.app_name, sent.namespace) == (
        "Kustomize",
        "overlay",
        "app",
        "ns",
    )
    assert sent.kube_version == "1.30.0"
    assert len(sent.revision) == 40
    assert sent.limits.max_output_bytes == 10 * 1024 * 1024 and sent.limits.timeout_seconds == 90


def test_chart_reference_credentials_and_oci_default() -> None:
    source = apb.ApplicationSource(
        repo_url="registry.example.com/charts", chart="app", target_revision="1.2.3"
    )
    ref = chart_reference(
        source, "1.2.3", RepoCredentials(username="u", password="p", insecure_oci_force_http=True)
    )
    assert (ref.repo_url, ref.chart, ref.version, ref.username, ref.password, ref.plain_http) == (
        "oci://registry.example.com/charts",
        "app",
        "1.2.3",
        "u",
        "p",
        True,
    )


def test_chart_source_request_and_password_scrubbed(short_tmp: Path) -> None:
    """A chart source goes out as a ChartReference; a renderer echoing the password is scrubbed."""
    from concurrent import futures

    from gitopsd.api.gitopsd.v1 import renderer_pb2_grpc
    from gitopsd.sources.sidecars import SidecarConfig, SidecarSupervisor

    seen: list[renderer_pb2.RenderRequest] = []

    class Echo(renderer_pb2_grpc.RendererServicer):
        def GetCapabilities(self, request, context):  # noqa: N802
            return renderer_pb2.Capabilities(name="helm", version="t")

        def Render(self, request, context):  # noqa: N802
            seen.append(request)
            if request.chart.version == "9.9.9":
                context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION, f"login failed with {request.chart.password}"
                )
            doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": request.chart.chart}}
            return renderer_pb2.RenderResponse(
                manifests=[json.dumps(doc)], resolved_version=request.chart.version
            )

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    renderer_pb2_grpc.add_RendererServicer_to_server(Echo(), server)
    target = f"unix://{short_tmp}/echo.sock"
    server.add_insecure_port(target)
    server.start()
    sup = SidecarSupervisor(
        SidecarConfig(socket_dir=short_tmp, endpoints={"helm": target}, manage_builtins=False)
    )
    creds = RepoCredentials(username="robot", password="chart-Repo-Passw0rd")
    r = SourceRenderer(
        None, sup, credentials_lookup=lambda url, _project: creds if url == "https://charts.example.com" else None
    )
    try:
        source = apb.ApplicationSource(
            repo_url="https://charts.example.com/", chart="prometheus", target_revision="25.0.0"
        )
        first = r.render("mon", source, "monitoring")
        assert first.revision == "25.0.0" and first.commit is None and not first.cache_hit
        assert [m["metadata"]["name"] for m in first.manifests] == ["prometheus"]
        assert seen[-1].chart.username == "robot" and seen[-1].chart.password == "chart-Repo-Passw0rd"
        assert len(seen[-1].files) == 0
        # An exact chart version is cached.
        assert r.render("mon", source, "monitoring").cache_hit
        assert len(seen) == 1
        bad = apb.ApplicationSource(
            repo_url="https://charts.example.com", chart="prometheus", target_revision="9.9.9"
        )
        with pytest.raises(RendererError) as err:
            r.render("mon", bad, "monitoring")
        assert "chart-Repo-Passw0rd" not in str(err.value)
        assert str(err.value) == "renderer helm: login failed with ***"
    finally:
        sup.stop()
        server.stop(grace=None)
