"""The Helm sidecar over real gRPC: charts from files, an HTTP chart repository and an OCI registry."""

from __future__ import annotations

import io
import json
import os
import signal
import tarfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from fixtures.renderers import (
    ChartRepo,
    OciRegistry,
    RenderFailure,
    Sidecar,
    files_under,
    package_chart,
    render_failure,
    source_files,
    write_tree,
)
from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2

from gitopsd.api.gitopsd.v1 import application_pb2, renderer_pb2

WEBAPP = {
    "Chart.yaml": """\
apiVersion: v2
name: webapp
version: 1.2.3
appVersion: "2.0"
dependencies:
  - name: redis
    version: 0.1.0
  - name: cache
    version: 0.3.0
""",
    "values.yaml": """\
replicaCount: 1
image: {repository: nginx, tag: "1.25"}
service: {type: ClusterIP, port: 80}
ports: [80, 443]
annotations: {}
label: plain
redis: {enabled: true, size: small}
""",
    "values-production.yaml": "replicaCount: 3\nservice: {port: 8080}\n",
    "templates/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  namespace: {{ .Release.Namespace }}
  annotations: {{ toJson .Values.annotations }}
spec:
  replicas: {{ .Values.replicaCount }}
  template:
    spec:
      containers:
        - name: web
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
""",
    "templates/values.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-values
data:
  values: {{ toJson .Values | quote }}
  labelType: {{ kindOf .Values.label | quote }}
  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}
  hasMonitoring: {{ .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" | quote }}
""",
    "templates/hook.yaml": """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: busybox}]
""",
    "templates/tests/test-connection.yaml": """\
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations:
    helm.sh/hook: test
spec:
  containers: [{name: wget, image: busybox}]
""",
    "templates/NOTES.txt": "Thank you for installing {{ .Chart.Name }}.\n",
    "templates/optional.yaml": "{{- if .Values.never }}\napiVersion: v1\nkind: Secret\nmetadata: {name: never}\n{{- end }}\n",
    "templates/_helpers.tpl": '{{- define "webapp.name" -}}webapp{{- end }}\n',
    "crds/crontab.yaml": """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
""",
    "charts/redis/Chart.yaml": "apiVersion: v2\nname: redis\nversion: 0.1.0\n",
    "charts/redis/values.yaml": "size: tiny\n",
    "charts/redis/templates/cm.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-redis
data:
  size: {{ .Values.size | quote }}
""",
}

CACHE = {
    "Chart.yaml": "apiVersion: v2\nname: cache\nversion: 0.3.0\n",
    "templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-cache\n",
}


@pytest.fixture(scope="module")
def webapp_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The webapp chart with redis vendored as a directory and cache as a .tgz in charts/."""
    base = tmp_path_factory.mktemp("webapp")
    chart = write_tree(base / "webapp", WEBAPP)
    cache = write_tree(base / "cache-src" / "cache", CACHE)
    package_chart(cache, chart / "charts")
    return chart


def helm_source(path: str = "charts/webapp", **helm: Any) -> application_pb2.ApplicationSource:
    return application_pb2.ApplicationSource(
        repo_url="https://git.example.com/shop.git",
        path=path,
        helm=application_pb2.ApplicationSourceHelm(**helm),
    )


def request(
    chart_dir: Path | None = None, source: application_pb2.ApplicationSource | None = None, **fields: Any
) -> renderer_pb2.RenderRequest:
    files = files_under(chart_dir, "charts/webapp/") if chart_dir is not None else []
    return renderer_pb2.RenderRequest(
        source_type="Helm",
        source=source or helm_source(),
        files=files,
        app_name="shop",
        namespace="prod",
        **fields,
    )


def render(
    sidecar: Sidecar, req: renderer_pb2.RenderRequest
) -> tuple[list[dict[str, Any]], renderer_pb2.RenderResponse]:
    reply = sidecar.stub.Render(req, timeout=60)
    return [json.loads(doc) for doc in reply.manifests], reply


def render_error(sidecar: Sidecar, req: renderer_pb2.RenderRequest) -> RenderFailure:
    return render_failure(sidecar, req)


def named(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{obj['kind']}/{obj['metadata']['name']}": obj for obj in objects}


def rendered_values(objects: list[dict[str, Any]], release: str = "shop") -> dict[str, Any]:
    values: dict[str, Any] = json.loads(named(objects)[f"ConfigMap/{release}-values"]["data"]["values"])
    return values


def tgz(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


def test_health_and_capabilities(helm_sidecar: Sidecar) -> None:
    assert helm_sidecar.health() == health_pb2.HealthCheckResponse.SERVING
    assert helm_sidecar.health("gitopsd.v1.Renderer") == health_pb2.HealthCheckResponse.SERVING
    caps = helm_sidecar.stub.GetCapabilities(renderer_pb2.CapabilitiesRequest(), timeout=30)
    assert caps.name == "gitopsd-helm"
    assert list(caps.source_types) == ["Helm"]
    assert caps.tool_versions["helm"].startswith("v4.")


def test_chart_from_files_defaults(helm_sidecar: Sidecar, webapp_dir: Path) -> None:
    objects, reply = render(helm_sidecar, request(webapp_dir))
    kinds = [f"{obj['kind']}/{obj['metadata']['name']}" for obj in objects]
    # CRDs from crds/ come first; NOTES.txt and templates rendering to nothing are dropped.
    assert kinds[0] == "CustomResourceDefinition/crontabs.stable.example.com"
    assert set(kinds) == {
        "CustomResourceDefinition/crontabs.stable.example.com",
        "Deployment/shop-web",
        "ConfigMap/shop-values",
        "Job/shop-migrate",
        "Pod/shop-test",
        "ConfigMap/shop-redis",
        "Service/shop-cache",
    }
    by_name = named(objects)
    deployment = by_name["Deployment/shop-web"]
    assert deployment["metadata"]["namespace"] == "prod"  # the app's namespace by default
    assert deployment["spec"]["replicas"] == 1
    # Hooks stay, with their annotations, for the engine to map to sync phases.
    assert by_name["Job/shop-migrate"]["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert by_name["ConfigMap/shop-redis"]["data"]["size"] == "small"  # parent values reach the subchart
    assert reply.warnings == []


def test_values_files_inline_values_and_parameters(helm_sidecar: Sidecar, webapp_dir: Path) -> None:
    source = helm_source(
        value_files=["values-production.yaml"],
        values="service:\n  type: NodePort\nimage:\n  tag: '1.26'\nports: [80, 443]\n",
        parameters=[
            application_pb2.HelmParameter(name="image.tag", value="2.0.1"),
            application_pb2.HelmParameter(name="ports[1]", value="8443"),
            application_pb2.HelmParameter(name=r"annotations.example\.com/team", value="payments"),
            application_pb2.HelmParameter(name="label", value="123", force_string=True),
            application_pb2.HelmParameter(name="redis.size", value="large,fast"),
        ],
        release_name="storefront",
        namespace="web",
    )
    objects, _ = render(helm_sidecar, request(webapp_dir, source))
    by_name = named(objects)
    deployment = by_name["Deployment/storefront-web"]
    assert deployment["metadata"]["namespace"] == "web"
    assert deployment["spec"]["replicas"] == 3  # from values-production.yaml
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2.0.1"  # --set wins
    assert deployment["metadata"]["annotations"] == {"example.com/team": "payments"}  # escaped dot
    values = rendered_values(objects, "storefront")
    assert values["service"] == {"type": "NodePort", "port": 8080}
    # One element of the list in the user's values replaced (Helm's --set index semantics).
    assert values["ports"] == [80, 8443]
    assert values["label"] == "123"
    assert by_name["ConfigMap/storefront-values"]["data"]["labelType"] == "string"  # forceString
    assert by_name["ConfigMap/storefront-redis"]["data"]["size"] == "large,fast"  # commas kept in one value


def test_values_object_wins_over_values(helm_sidecar: Sidecar, webapp_dir: Path) -> None:
    values_object = struct_pb2.Struct()
    values_object.update({"replicaCount": 4, "service": {"type": "LoadBalancer"}, "annotations": {"a": "b"}})
    source = helm_source(values="replicaCount: 9\n", values_object=values_object)
    objects, _ = render(helm_sidecar, request(webapp_dir, source))
    deployment = named(objects)["Deployment/shop-web"]
    assert deployment["spec"]["replicas"] == 4
    assert deployment["metadata"]["annotations"] == {"a": "b"}
    assert rendered_values(objects)["service"] == {"type": "LoadBalancer", "port": 80}


def test_skip_crds_and_skip_tests(helm_sidecar: Sidecar, webapp_dir: Path) -> None:
    objects, _ = render(helm_sidecar, request(webapp_dir, helm_source(skip_crds=True, skip_tests=True)))
    kinds = {obj["kind"] for obj in objects}
    assert "CustomResourceDefinition" not in kinds
    assert "Pod" not in kinds  # the helm.sh/hook: test pod
    assert "Job" in kinds  # other hooks stay


def test_kube_version_and_api_versions(helm_sidecar: Sidecar, webapp_dir: Path) -> None:
    source = helm_source(kube_version="1.29.4", api_versions=["monitoring.coreos.com/v1"])
    objects, _ = render(helm_sidecar, request(webapp_dir, source))
    data = named(objects)["ConfigMap/shop-values"]["data"]
    assert data["kubeVersion"] == "v1.29.4"
    assert data["hasMonitoring"] == "true"
    objects, _ = render(helm_sidecar, request(webapp_dir, kube_version="1.31.0"))
    data = named(objects)["ConfigMap/shop-values"]["data"]
    assert data["kubeVersion"] == "v1.31.0"
    assert data["hasMonitoring"] == "false"


@pytest.mark.parametrize(
    ("value_file", "expected"),
    [
        ("../../../etc/passwd", "outside the repository"),
        ("/etc/passwd", "absolute"),
        ("https://example.com/values.yaml", "URL"),
    ],
)
def test_value_files_outside_the_tree_refused(
    helm_sidecar: Sidecar, webapp_dir: Path, value_file: str, expected: str
) -> None:
    error = render_error(helm_sidecar, request(webapp_dir, helm_source(value_files=[value_file])))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert expected in error.details()
    assert "root:" not in error.details()


def test_value_files_elsewhere_in_the_repository_and_missing(helm_sidecar: Sidecar, webapp_dir: Path) -> None:
    req = request(webapp_dir, helm_source(value_files=["../../envs/prod.yaml"]))
    req.files.extend(source_files({"envs/prod.yaml": "replicaCount: 6\n"}))
    objects, _ = render(helm_sidecar, req)
    assert named(objects)["Deployment/shop-web"]["spec"]["replicas"] == 6

    error = render_error(helm_sidecar, request(webapp_dir, helm_source(value_files=["values-qa.yaml"])))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "values-qa.yaml" in error.details()
    objects, _ = render(
        helm_sidecar,
        request(webapp_dir, helm_source(value_files=["values-qa.yaml"], ignore_missing_value_files=True)),
    )
    assert named(objects)["Deployment/shop-web"]["spec"]["replicas"] == 1


def test_template_error_names_the_template(helm_sidecar: Sidecar, webapp_dir: Path) -> None:
    req = request(webapp_dir)
    req.files.extend(source_files({"charts/webapp/templates/broken.yaml": "a: {{ .Values.nope.deeper }}\n"}))
    error = render_error(helm_sidecar, req)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "broken.yaml" in error.details()
    assert "/renders/" not in error.details()


def test_infinite_include_recursion_gives_a_short_error(helm_sidecar: Sidecar, webapp_dir: Path) -> None:
    req = request(webapp_dir)
    req.files.extend(
        source_files(
            {
                "charts/webapp/templates/recurse.yaml": '{{- define "loop" }}{{ include "loop" . }}{{ end }}{{ include "loop" . }}\n'
            }
        )
    )
    error = render_error(helm_sidecar, req)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "recurse.yaml" in error.details() or "loop" in error.details()
    assert len(error.details()) < 5000  # Helm's own message is ~97 KB


def test_looping_template_hits_the_deadline_and_the_sidecar_recovers(
    helm_sidecar: Sidecar, webapp_dir: Path
) -> None:
    req = request(webapp_dir, limits=renderer_pb2.RenderLimits(timeout_seconds=2))
    # 10^15 iterations over small lists: runs forever without eating memory.
    req.files.extend(
        source_files(
            {
                "charts/webapp/templates/spin.yaml": (
                    "{{- range until 100000 }}{{- range until 100000 }}{{- range until 100000 }}"
                    "{{- end }}{{- end }}{{- end }}\n"
                )
            }
        )
    )
    started = time.monotonic()
    error = render_error(helm_sidecar, req)
    elapsed = time.monotonic() - started
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "2 s" in error.details()
    # The request's timeout applied, not the sidecar's 30 s default.
    assert elapsed < 25
    objects, _ = render(helm_sidecar, request(webapp_dir))
    assert "Deployment/shop-web" in named(objects)
    assert helm_sidecar.health() == health_pb2.HealthCheckResponse.SERVING


def test_output_over_the_limit(helm_sidecar: Sidecar, webapp_dir: Path) -> None:
    error = render_error(
        helm_sidecar, request(webapp_dir, limits=renderer_pb2.RenderLimits(max_output_bytes=300))
    )
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "300 bytes" in error.details()


def test_repository_files_over_the_input_limit(helm_sidecar: Sidecar, webapp_dir: Path) -> None:
    req = request(webapp_dir)
    req.files.extend(source_files({"blob.bin": b"\0" * (11 * 1024 * 1024)}))
    error = render_error(helm_sidecar, req)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "size limit" in error.details()


@pytest.mark.parametrize(
    "bad_path", ["/etc/passwd", "charts/../../x.yaml", "charts//x.yaml", "charts/webapp/Chart.yaml"]
)
def test_bad_file_paths_refused(helm_sidecar: Sidecar, webapp_dir: Path, bad_path: str) -> None:
    req = request(webapp_dir)
    req.files.extend(source_files({bad_path: "a: 1\n"}))  # the last one duplicates an existing path
    error = render_error(helm_sidecar, req)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_path in error.details()


def test_vendored_dependency_archive_expanding_too_far_refused(
    helm_sidecar: Sidecar, webapp_dir: Path
) -> None:
    bomb = tgz(
        {
            "bomb/Chart.yaml": b"apiVersion: v2\nname: bomb\nversion: 0.1.0\n",
            "bomb/files/zeros.bin": b"\0" * (3 * 1024 * 1024),
        }
    )
    assert len(bomb) < 20_000
    req = request(webapp_dir, limits=renderer_pb2.RenderLimits(max_chart_bytes=1024 * 1024))
    req.files.extend(source_files({"charts/webapp/charts/bomb-0.1.0.tgz": bomb}))
    error = render_error(helm_sidecar, req)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "bomb-0.1.0.tgz" in error.details()


# ---------------------------------------------------------------- HTTP chart repository


def repo_request(
    repo: ChartRepo, version: str, limits: renderer_pb2.RenderLimits | None = None, **chart: Any
) -> renderer_pb2.RenderRequest:
    return renderer_pb2.RenderRequest(
        limits=limits,
        source_type="Helm",
        source=application_pb2.ApplicationSource(
            repo_url=repo.url, chart="webapp", target_revision=version, helm=chart.pop("helm", None)
        ),
        chart=renderer_pb2.ChartReference(repo_url=repo.url, chart="webapp", version=version, **chart),
        app_name="shop",
        namespace="prod",
    )


def test_chart_from_http_repository_with_basic_auth(
    helm_sidecar: Sidecar, webapp_dir: Path, chart_repo: ChartRepo
) -> None:
    chart_repo.publish(webapp_dir, "1.2.3")
    chart_repo.publish(webapp_dir, "1.3.0")
    chart_repo.publish(webapp_dir, "2.0.0")
    password = "s3cr3t-pa55word"
    chart_repo.require_auth("deploy", password)

    objects, reply = render(
        helm_sidecar, repo_request(chart_repo, "1.2.3", username="deploy", password=password)
    )
    assert reply.resolved_version == "1.2.3"
    assert "Deployment/shop-web" in named(objects)

    _, reply = render(helm_sidecar, repo_request(chart_repo, "^1.2", username="deploy", password=password))
    assert reply.resolved_version == "1.3.0"  # the newest version in the range

    # valueFiles of a pulled chart are files shipped inside the chart.
    helm = application_pb2.ApplicationSourceHelm(value_files=["values-production.yaml"])
    objects, _ = render(
        helm_sidecar, repo_request(chart_repo, "2.0.0", username="deploy", password=password, helm=helm)
    )
    assert named(objects)["Deployment/shop-web"]["spec"]["replicas"] == 3

    wrong = repo_request(chart_repo, "1.2.3", username="deploy", password=password + "-wrong")
    error = render_error(helm_sidecar, wrong)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert password not in error.details()
    assert "401" in error.details() or "nauthorized" in error.details()
    assert password not in helm_sidecar.log()

    missing = render_error(
        helm_sidecar, repo_request(chart_repo, "9.9.9", username="deploy", password=password)
    )
    assert missing.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "9.9.9" in missing.details()


def test_credentials_in_the_repository_url_refused(helm_sidecar: Sidecar, chart_repo: ChartRepo) -> None:
    req = repo_request(chart_repo, "1.0.0")
    req.chart.repo_url = chart_repo.url.replace("http://", "http://deploy:hunter2-secret@")
    error = render_error(helm_sidecar, req)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "hunter2-secret" not in error.details()


def test_pulled_archive_with_symlink_or_too_large_refused(
    helm_sidecar: Sidecar, chart_repo: ChartRepo
) -> None:
    import helm_python

    chart_yaml = b"apiVersion: v2\nname: webapp\nversion: 6.6.6\n"
    (chart_repo.directory / "webapp-6.6.6.tgz").write_bytes(
        tgz({"webapp/Chart.yaml": chart_yaml}, symlinks={"webapp/templates/passwd.yaml": "/etc/passwd"})
    )
    big = b"apiVersion: v2\nname: webapp\nversion: 7.0.0\n"
    (chart_repo.directory / "webapp-7.0.0.tgz").write_bytes(
        tgz({"webapp/Chart.yaml": big, "webapp/files/zeros.bin": b"\0" * (3 * 1024 * 1024)})
    )
    helm_python.repo_index_generate(chart_repo.directory, base_url=chart_repo.url)

    error = render_error(helm_sidecar, repo_request(chart_repo, "6.6.6"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "link" in error.details()
    small_limit = renderer_pb2.RenderLimits(max_chart_bytes=1024 * 1024)
    error = render_error(helm_sidecar, repo_request(chart_repo, "7.0.0", limits=small_limit))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "expands beyond" in error.details()


def test_unreachable_repository(helm_sidecar: Sidecar) -> None:
    req = renderer_pb2.RenderRequest(
        source_type="Helm",
        chart=renderer_pb2.ChartReference(
            repo_url="http://127.0.0.1:9/charts", chart="webapp", version="1.0.0"
        ),
        app_name="shop",
    )
    error = render_error(helm_sidecar, req)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "127.0.0.1:9" in error.details()


# ---------------------------------------------------------------- OCI registry


def test_chart_from_oci_registry(
    helm_sidecar: Sidecar, webapp_dir: Path, oci_registry: OciRegistry, tmp_path: Path
) -> None:
    oci_registry.push(package_chart(webapp_dir, tmp_path / "pkg", version="1.4.0"))
    oci_registry.push(package_chart(webapp_dir, tmp_path / "pkg", version="1.5.0"))
    req = renderer_pb2.RenderRequest(
        source_type="Helm",
        source=application_pb2.ApplicationSource(
            repo_url=oci_registry.url,
            chart="webapp",
            helm=application_pb2.ApplicationSourceHelm(release_name="oci"),
        ),
        chart=renderer_pb2.ChartReference(
            repo_url=oci_registry.url,
            chart="webapp",
            version="1.4.0",
            plain_http=True,
            username=oci_registry.username,
            password=oci_registry.password,
        ),
        app_name="shop",
        namespace="prod",
    )
    objects, reply = render(helm_sidecar, req)
    assert reply.resolved_version == "1.4.0"
    assert "Deployment/oci-web" in named(objects)

    req.chart.version = ">=1.4.0 <2.0.0"
    _, reply = render(helm_sidecar, req)
    assert reply.resolved_version == "1.5.0"

    absent = renderer_pb2.RenderRequest()
    absent.CopyFrom(req)
    absent.chart.chart = "absent"
    error = render_error(helm_sidecar, absent)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION

    wrong = renderer_pb2.RenderRequest()
    wrong.CopyFrom(req)
    wrong.chart.password = oci_registry.password + "-wrong"
    error = render_error(helm_sidecar, wrong)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert oci_registry.password not in error.details()
    assert oci_registry.password not in helm_sidecar.log()


def test_schema_validation_and_skipping_it(helm_sidecar: Sidecar, webapp_dir: Path) -> None:
    schema = '{"type": "object", "properties": {"replicaCount": {"type": "integer", "minimum": 1}}}'
    req = request(webapp_dir, helm_source(values="replicaCount: 0\n"))
    req.files.extend(source_files({"charts/webapp/values.schema.json": schema}))
    error = render_error(helm_sidecar, req)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "replicaCount" in error.details()

    req.source.helm.skip_schema_validation = True
    objects, _ = render(helm_sidecar, req)
    assert named(objects)["Deployment/shop-web"]["spec"]["replicas"] == 0


def test_concurrent_renders_beyond_the_warm_workers(helm_sidecar: Sidecar, webapp_dir: Path) -> None:
    releases = [f"r{index}" for index in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(
                lambda name: render(helm_sidecar, request(webapp_dir, helm_source(release_name=name)))[0],
                releases,
            )
        )
    for name, objects in zip(releases, results, strict=True):
        assert f"Deployment/{name}-web" in named(objects)


def _worker_pids(sidecar: Sidecar) -> list[int]:
    """The render workers the sidecar started (its children running multiprocessing's spawn main)."""
    pids = []
    for task in Path(f"/proc/{sidecar.process.pid}/task").iterdir():
        for pid in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                pids.append(int(pid))
    return pids


def test_a_worker_killed_from_outside_is_replaced(
    start_sidecar: Callable[..., Sidecar], webapp_dir: Path
) -> None:
    sidecar = start_sidecar("gitopsd-helm", "--warm-workers", "2")
    render(sidecar, request(webapp_dir))  # both warm workers have started by now or soon
    deadline = time.monotonic() + 30
    while len(_worker_pids(sidecar)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    victims = _worker_pids(sidecar)
    assert victims
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    objects, _ = render(sidecar, request(webapp_dir))
    assert "Deployment/shop-web" in named(objects)
    assert sidecar.health() == health_pb2.HealthCheckResponse.SERVING


def test_file_parameters(helm_sidecar: Sidecar, webapp_dir: Path) -> None:
    certificate = "-----BEGIN CERTIFICATE-----\nMIIB,with=odd\\chars\n-----END CERTIFICATE-----\n"
    source = helm_source(
        file_parameters=[application_pb2.HelmFileParameter(name="tls.cert", path="files/tls.crt")]
    )
    req = request(webapp_dir, source)
    req.files.extend(source_files({"charts/webapp/files/tls.crt": certificate}))
    objects, _ = render(helm_sidecar, req)
    assert rendered_values(objects)["tls"] == {"cert": certificate}

    outside = helm_source(
        file_parameters=[application_pb2.HelmFileParameter(name="tls.cert", path="../../../etc/passwd")]
    )
    error = render_error(helm_sidecar, request(webapp_dir, outside))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "outside the repository" in error.details()
