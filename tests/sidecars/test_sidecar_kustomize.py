"""The Kustomize sidecar over real gRPC: the seed's overlays, Argo CD's overrides, refusals."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import grpc
import pytest
from fixtures.renderers import RenderFailure, Sidecar, render_failure, source_files
from fixtures.seedtree import SEED_KUSTOMIZE
from google.protobuf import struct_pb2

from gitopsd.api.gitopsd.v1 import application_pb2, renderer_pb2

# The seed's layout, with a component and a file that is no manifest.
SEED = {
    **SEED_KUSTOMIZE,
    "components/monitoring/kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
  - monitor.yaml
""",
    "components/monitoring/monitor.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: monitoring\ndata: {scrape: 'true'}\n",
    "README.md": "not a manifest\n",
}


def request(
    path: str,
    tree: Mapping[str, str | bytes] | None = None,
    kustomize: application_pb2.ApplicationSourceKustomize | None = None,
    limits: renderer_pb2.RenderLimits | None = None,
) -> renderer_pb2.RenderRequest:
    source = application_pb2.ApplicationSource(repo_url="https://git.example.com/app.git", path=path)
    if kustomize is not None:
        source.kustomize.CopyFrom(kustomize)
    req = renderer_pb2.RenderRequest(
        source_type="Kustomize",
        source=source,
        files=source_files(SEED if tree is None else tree),
        app_name="mon-app",
        namespace="production",
        revision="0123456789abcdef0123456789abcdef01234567",
    )
    if limits is not None:
        req.limits.CopyFrom(limits)
    return req


def render(sidecar: Sidecar, req: renderer_pb2.RenderRequest) -> list[dict[str, Any]]:
    reply = sidecar.stub.Render(req, timeout=60)
    return [json.loads(doc) for doc in reply.manifests]


def render_error(sidecar: Sidecar, req: renderer_pb2.RenderRequest) -> RenderFailure:
    return render_failure(sidecar, req)


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    matches = [obj for obj in objects if obj["kind"] == kind]
    assert len(matches) == 1, objects
    return matches[0]


def test_capabilities_report_the_pinned_kustomize(kustomize_sidecar: Sidecar) -> None:
    caps = kustomize_sidecar.stub.GetCapabilities(renderer_pb2.CapabilitiesRequest(), timeout=10)
    assert caps.name == "gitopsd-kustomize"
    assert list(caps.source_types) == ["Kustomize"]
    assert caps.tool_versions["kustomize"].startswith("v5.")
    assert caps.tool_versions["kubectl"].startswith("1.37")


def test_production_overlay_patches_replicas_to_five(kustomize_sidecar: Sidecar) -> None:
    objects = render(kustomize_sidecar, request("overlays/production"))
    assert sorted(obj["kind"] for obj in objects) == ["Deployment", "Service"]
    assert by_kind(objects, "Deployment")["spec"]["replicas"] == 5
    staging = render(kustomize_sidecar, request("overlays/staging"))
    assert by_kind(staging, "Deployment")["spec"]["replicas"] == 2


def test_images_override_by_name_tag_digest_and_rename(kustomize_sidecar: Sidecar) -> None:
    overrides = application_pb2.ApplicationSourceKustomize(
        images=[
            "registry.example.com/mon-app:2.0.1",
            "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000abc",
        ]
    )
    containers = by_kind(
        render(kustomize_sidecar, request("overlays/production", kustomize=overrides)), "Deployment"
    )["spec"]["template"]["spec"]["containers"]
    images = {c["name"]: c["image"] for c in containers}
    assert images == {
        "app": "registry.example.com/mon-app:2.0.1",
        "sidecar": "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000abc",
    }

    renamed = application_pb2.ApplicationSourceKustomize(
        images=["registry.example.com/mon-app=mirror.local:5000/mon-app:3.1"]
    )
    containers = by_kind(
        render(kustomize_sidecar, request("overlays/production", kustomize=renamed)), "Deployment"
    )["spec"]["template"]["spec"]["containers"]
    assert containers[0]["image"] == "mirror.local:5000/mon-app:3.1"


def test_image_override_merges_with_an_existing_images_entry(kustomize_sidecar: Sidecar) -> None:
    tree = dict(SEED)
    tree["overlays/production/kustomization.yaml"] += "images:\n  - name: nginx\n    newTag: '1.26'\n"
    overrides = application_pb2.ApplicationSourceKustomize(images=["nginx:1.27"])
    containers = by_kind(
        render(kustomize_sidecar, request("overlays/production", tree, overrides)), "Deployment"
    )["spec"]["template"]["spec"]["containers"]
    assert containers[1]["image"] == "nginx:1.27"


def test_name_prefix_suffix_namespace_labels_annotations(kustomize_sidecar: Sidecar) -> None:
    overrides = application_pb2.ApplicationSourceKustomize(
        name_prefix="eu-",
        name_suffix="-v2",
        namespace="shop",
        common_labels={"team": "payments"},
        common_annotations={"owner": "ops@example.com", "app": "$ARGOCD_APP_NAME"},
        common_annotations_envsubst=True,
    )
    objects = render(kustomize_sidecar, request("overlays/production", kustomize=overrides))
    for obj in objects:
        assert obj["metadata"]["name"] == "eu-mon-app-v2"
        assert obj["metadata"]["namespace"] == "shop"
        assert obj["metadata"]["labels"]["team"] == "payments"
        assert obj["metadata"]["annotations"] == {"owner": "ops@example.com", "app": "mon-app"}
    deployment = by_kind(objects, "Deployment")
    assert deployment["spec"]["selector"]["matchLabels"]["team"] == "payments"


def test_label_already_set_needs_force(kustomize_sidecar: Sidecar) -> None:
    tree = dict(SEED)
    tree["overlays/production/kustomization.yaml"] += "commonLabels:\n  team: search\n"
    plain = application_pb2.ApplicationSourceKustomize(common_labels={"team": "payments"})
    error = render_error(kustomize_sidecar, request("overlays/production", tree, plain))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "team" in error.details() and "force" in error.details()

    forced = application_pb2.ApplicationSourceKustomize(
        common_labels={"team": "payments"}, force_common_labels=True
    )
    objects = render(kustomize_sidecar, request("overlays/production", tree, forced))
    assert {obj["metadata"]["labels"]["team"] for obj in objects} == {"payments"}


def test_replicas_accept_int_and_string_counts(kustomize_sidecar: Sidecar) -> None:
    overrides = application_pb2.ApplicationSourceKustomize(
        replicas=[application_pb2.KustomizeReplica(name="mon-app", count=struct_pb2.Value(number_value=7))]
    )
    assert (
        by_kind(render(kustomize_sidecar, request("overlays/production", kustomize=overrides)), "Deployment")[
            "spec"
        ]["replicas"]
        == 7
    )
    as_string = application_pb2.ApplicationSourceKustomize(
        replicas=[application_pb2.KustomizeReplica(name="mon-app", count=struct_pb2.Value(string_value="9"))]
    )
    assert (
        by_kind(render(kustomize_sidecar, request("overlays/production", kustomize=as_string)), "Deployment")[
            "spec"
        ]["replicas"]
        == 9
    )
    bad = application_pb2.ApplicationSourceKustomize(
        replicas=[
            application_pb2.KustomizeReplica(name="mon-app", count=struct_pb2.Value(string_value="many"))
        ]
    )
    error = render_error(kustomize_sidecar, request("overlays/production", kustomize=bad))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "mon-app" in error.details()


def test_components_and_patches(kustomize_sidecar: Sidecar) -> None:
    patch = struct_pb2.Struct()
    patch.update(
        {
            "target": {"kind": "Service", "name": "mon-app"},
            "patch": "- op: replace\n  path: /spec/ports/0/port\n  value: 8443\n",
        }
    )
    overrides = application_pb2.ApplicationSourceKustomize(
        components=["../../components/monitoring"], patches=[patch]
    )
    objects = render(kustomize_sidecar, request("overlays/production", kustomize=overrides))
    assert by_kind(objects, "ConfigMap")["metadata"]["name"] == "monitoring"
    assert by_kind(objects, "Service")["spec"]["ports"][0]["port"] == 8443


def test_broken_kustomization_reports_kustomize_message(kustomize_sidecar: Sidecar) -> None:
    tree = dict(SEED)
    tree["overlays/production/kustomization.yaml"] = "resources:\n  - ../../base\n  - missing-file.yaml\n"
    error = render_error(kustomize_sidecar, request("overlays/production", tree))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "kustomize build failed" in error.details()
    assert "missing-file.yaml" in error.details()
    assert "/renders/" not in error.details()  # no scratch paths of the sidecar in what users read


def test_invalid_yaml_in_kustomization(kustomize_sidecar: Sidecar) -> None:
    tree = dict(SEED)
    tree["overlays/production/kustomization.yaml"] = "resources: [unclosed\n"
    error = render_error(
        kustomize_sidecar,
        request("overlays/production", tree, application_pb2.ApplicationSourceKustomize(name_prefix="x-")),
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "overlays/production/kustomization.yaml" in error.details()


@pytest.mark.parametrize(
    "remote",
    [
        "https://github.com/kubernetes-sigs/kustomize//examples/multibases?ref=v5.0.0",
        "github.com/example/repo/base?ref=main",
        "git@github.com:example/repo.git//base",
    ],
)
def test_remote_base_refused(kustomize_sidecar: Sidecar, remote: str) -> None:
    tree = dict(SEED)
    tree["overlays/production/kustomization.yaml"] = f"resources:\n  - ../../base\n  - {remote}\n"
    error = render_error(kustomize_sidecar, request("overlays/production", tree))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "remote" in error.details() and "no network" in error.details()


def test_resource_outside_the_repository_refused(kustomize_sidecar: Sidecar) -> None:
    tree = dict(SEED)
    tree["overlays/production/kustomization.yaml"] = "resources:\n  - ../../../outside\n"
    error = render_error(kustomize_sidecar, request("overlays/production", tree))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "outside the repository" in error.details()
    tree["overlays/production/kustomization.yaml"] = (
        "resources:\n  - ../../base\ntransformers:\n  - ../../../t\n"
    )
    error = render_error(kustomize_sidecar, request("overlays/production", tree))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "transformer '../../../t' points outside the repository" in error.details()
    tree["overlays/production/kustomization.yaml"] = "resources:\n  - /etc/kubernetes\n"
    error = render_error(kustomize_sidecar, request("overlays/production", tree))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "absolute" in error.details()


def test_app_path_outside_or_missing(kustomize_sidecar: Sidecar) -> None:
    error = render_error(kustomize_sidecar, request("../elsewhere"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "outside the repository" in error.details()
    error = render_error(kustomize_sidecar, request("overlays/qa"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "overlays/qa" in error.details()
    error = render_error(
        kustomize_sidecar, request("components/monitoring/missing-kustomization", {"x/a.yaml": "a: 1"})
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_output_over_the_limit(kustomize_sidecar: Sidecar) -> None:
    error = render_error(
        kustomize_sidecar,
        request("overlays/production", limits=renderer_pb2.RenderLimits(max_output_bytes=200)),
    )
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "200 bytes" in error.details()


def test_list_kinds_expand_and_empty_documents_drop(kustomize_sidecar: Sidecar) -> None:
    tree = {
        "app/kustomization.yaml": "resources:\n  - list.yaml\n",
        "app/list.yaml": (
            "---\n---\napiVersion: v1\nkind: List\nitems:\n"
            "- {apiVersion: v1, kind: ConfigMap, metadata: {name: one}}\n"
            "- {apiVersion: v1, kind: ConfigMap, metadata: {name: two}}\n"
        ),
    }
    objects = render(kustomize_sidecar, request("app", tree))
    assert sorted(obj["metadata"]["name"] for obj in objects) == ["one", "two"]


def _children(sidecar: Sidecar) -> list[str]:
    pids = []
    for task in Path(f"/proc/{sidecar.process.pid}/task").iterdir():
        pids.extend((task / "children").read_text().split())
    return pids


def test_kustomize_killed_at_the_deadline(kustomize_sidecar: Sidecar) -> None:
    # kustomize's prefix and label transformers are quadratic: thousands of objects take many seconds.
    many = "---\n".join(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{index}\ndata: {{a: b}}\n"
        for index in range(5000)
    )
    tree = {
        "slow/kustomization.yaml": "resources: [many.yaml]\nnamePrefix: x-\nlabels:\n- pairs: {a: b}\n",
        "slow/many.yaml": many,
    }
    limits = renderer_pb2.RenderLimits(timeout_seconds=1, max_output_bytes=64 * 1024 * 1024)
    error = render_error(kustomize_sidecar, request("slow", tree, limits=limits))
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "1 s" in error.details()
    assert _children(kustomize_sidecar) == []  # the kustomize process is gone
    objects = render(kustomize_sidecar, request("overlays/production"))
    assert by_kind(objects, "Deployment")["spec"]["replicas"] == 5


def _trees_holding(sidecar: Sidecar, marker: str) -> list[Path]:
    trees = sidecar.socket_path.parent / "work" / "trees"
    return [tree for tree in trees.iterdir() if (tree / marker).exists()]


def test_renders_of_the_same_files_share_one_materialized_tree(kustomize_sidecar: Sidecar) -> None:
    tree = {**SEED, "reuse-marker.txt": "reuse\n"}
    first = render(kustomize_sidecar, request("overlays/production", tree))
    again = render(kustomize_sidecar, request("overlays/production", tree))
    staging = render(kustomize_sidecar, request("overlays/staging", tree))
    assert first == again
    assert by_kind(staging, "Deployment")["spec"]["replicas"] == 2
    assert len(_trees_holding(kustomize_sidecar, "reuse-marker.txt")) == 1
    # One changed byte is another tree, rendered from its own files.
    changed = {**tree, "overlays/production/replica-count.yaml": tree["overlays/production/replica-count.yaml"].replace("5", "7")}
    assert by_kind(render(kustomize_sidecar, request("overlays/production", changed)), "Deployment")["spec"][
        "replicas"
    ] == 7
    assert len(_trees_holding(kustomize_sidecar, "reuse-marker.txt")) == 2


def test_overrides_never_change_the_shared_tree(kustomize_sidecar: Sidecar) -> None:
    tree = {**SEED, "override-marker.txt": "override\n"}
    overrides = application_pb2.ApplicationSourceKustomize(
        images=["registry.example.com/mon-app:9.9.9"], name_prefix="pre-"
    )

    def app_image(objects: list[dict[str, Any]]) -> str:
        return str(by_kind(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"])

    plain = render(kustomize_sidecar, request("overlays/production", tree))
    edited = render(kustomize_sidecar, request("overlays/production", tree, overrides))
    plain_again = render(kustomize_sidecar, request("overlays/production", tree))
    assert app_image(edited) == "registry.example.com/mon-app:9.9.9"
    assert by_kind(edited, "Deployment")["metadata"]["name"] == "pre-mon-app"
    assert plain_again == plain
    assert app_image(plain_again) == "registry.example.com/mon-app:1.0.0"
    (shared,) = _trees_holding(kustomize_sidecar, "override-marker.txt")
    kustomization = (shared / "overlays/production/kustomization.yaml").read_text()
    assert kustomization == tree["overlays/production/kustomization.yaml"]
    assert not list(shared.rglob(".edited-*"))
