"""The Helm sidecar against hostile charts and repositories: memory, download sizes, YAML bombs, its workers' lifetime.

Each worker renders under a kernel memory limit (--max-memory-bytes) and dies with its sidecar;
index.yaml and chart archives are cut off at their caps while they download.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from fixtures.renderers import (
    ChartRepo,
    Sidecar,
    helm_worker_pids,
    process_alive,
    render_failure,
    source_files,
    write_tree,
)
from grpc_health.v1 import health_pb2

from gitopsd.api.gitopsd.v1 import application_pb2, renderer_pb2

MIB = 1024 * 1024

SMALL = {
    "Chart.yaml": "apiVersion: v2\nname: small\nversion: 1.0.0\n",
    "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-small\n",
}

# Doubles a string 40 times: a terabyte, unless something stops it.
MEMORY_HOG = """\
{{- $s := "x" }}{{- range until 40 }}{{- $s = print $s $s }}{{- end }}
apiVersion: v1
kind: ConfigMap
metadata: {name: hog}
data: {size: "{{ len $s }}"}
"""

# Runs forever without allocating: keeps a worker busy.
SPIN = "{{- range until 100000 }}{{- range until 100000 }}{{- range until 100000 }}{{- end }}{{- end }}{{- end }}\n"


def chart_request(extra: dict[str, str] | None = None, **fields: object) -> renderer_pb2.RenderRequest:
    tree = {f"charts/small/{name}": text for name, text in {**SMALL, **(extra or {})}.items()}
    return renderer_pb2.RenderRequest(
        source_type="Helm",
        source=application_pb2.ApplicationSource(
            repo_url="https://git.example.com/shop.git", path="charts/small"
        ),
        files=source_files(tree),
        app_name="shop",
        namespace="prod",
        **fields,  # type: ignore[arg-type]
    )


def rendered_names(sidecar: Sidecar, request: renderer_pb2.RenderRequest) -> set[str]:
    reply = sidecar.stub.Render(request, timeout=60)
    return {json.loads(doc)["metadata"]["name"] for doc in reply.manifests}


# ---------------------------------------------------------------- memory


def test_a_template_eating_memory_fails_with_the_limit_and_the_next_render_works(
    start_sidecar: Callable[..., Sidecar],
) -> None:
    limit = 512 * MIB
    sidecar = start_sidecar("gitopsd-helm", "--warm-workers", "1", "--max-memory-bytes", str(limit))
    error = render_failure(sidecar, chart_request({"templates/hog.yaml": MEMORY_HOG}))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details() == f"helm ran out of memory: render.max_memory_bytes is {limit} bytes"
    # The worker that hit the limit was replaced; the sidecar serves on.
    assert rendered_names(sidecar, chart_request()) == {"shop-small"}
    assert sidecar.health() == health_pb2.HealthCheckResponse.SERVING
    assert "a Helm worker died" in sidecar.log()


def test_workers_die_with_a_killed_sidecar_even_when_they_cannot_run(
    start_sidecar: Callable[..., Sidecar],
) -> None:
    sidecar = start_sidecar("gitopsd-helm", "--warm-workers", "2")
    workers = helm_worker_pids(sidecar, 2)
    assert len(workers) == 2
    # A worker that cannot run its own code (stopped here; stuck in a native call in real life)
    # must still go: only the kernel can see to that.
    os.kill(workers[0], signal.SIGSTOP)
    try:
        sidecar.process.kill()
        sidecar.process.wait()
        deadline = time.monotonic() + 30
        while any(process_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [pid for pid in workers if process_alive(pid)] == []
    finally:
        for pid in workers:
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------- downloads


def repo_request(repo: ChartRepo, version: str = "1.0.0") -> renderer_pb2.RenderRequest:
    return renderer_pb2.RenderRequest(
        source_type="Helm",
        chart=renderer_pb2.ChartReference(repo_url=repo.url, chart="small", version=version),
        app_name="shop",
        namespace="prod",
    )


@pytest.fixture
def small_repo(chart_repo: ChartRepo, tmp_path: Path) -> Iterator[ChartRepo]:
    chart_repo.publish(write_tree(tmp_path / "src" / "small", SMALL), "1.0.0")
    yield chart_repo


def test_a_huge_index_is_cut_off_while_it_downloads(helm_sidecar: Sidecar, small_repo: ChartRepo) -> None:
    small_repo.generated["/index.yaml"] = 100 * MIB  # the attack: Helm itself grew to 5 GB on it
    error = render_failure(helm_sidecar, repo_request(small_repo))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "index.yaml" in error.details()
    assert f"limit of {32 * MIB} bytes" in error.details()
    # The download stopped near the cap (socket buffers hold a little more), not at 100 MiB.
    assert small_repo.sent["/index.yaml"] < 40 * MIB
    del small_repo.generated["/index.yaml"]
    assert rendered_names(helm_sidecar, repo_request(small_repo)) == {"shop-small"}


def test_a_huge_chart_archive_is_cut_off_while_it_downloads(
    start_sidecar: Callable[..., Sidecar], small_repo: ChartRepo
) -> None:
    index = small_repo.directory / "index.yaml"
    index.write_text(index.read_text().replace("small-1.0.0.tgz", "endless/small-1.0.0.tgz"))
    small_repo.generated["/endless/small-1.0.0.tgz"] = 200 * MIB
    sidecar = start_sidecar("gitopsd-helm", "--warm-workers", "1")
    request = repo_request(small_repo)
    request.limits.max_chart_bytes = 2 * MIB
    error = render_failure(sidecar, request)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert small_repo.sent["/endless/small-1.0.0.tgz"] < 20 * MIB  # stopped near the cap, not at 200 MiB
    assert "chart archive 'small'" in error.details()
    assert f"limit of {2 * MIB} bytes" in error.details()


def test_index_cap_is_a_flag(start_sidecar: Callable[..., Sidecar], small_repo: ChartRepo) -> None:
    sidecar = start_sidecar("gitopsd-helm", "--warm-workers", "1", "--max-index-bytes", "100")
    error = render_failure(sidecar, repo_request(small_repo))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "limit of 100 bytes" in error.details()


# ---------------------------------------------------------------- YAML bombs


def test_a_template_rendering_a_yaml_alias_bomb_costs_one_error(helm_sidecar: Sidecar) -> None:
    # ~450 bytes of template; its output expands to 9^9 strings if the aliases are followed.
    levels = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    bomb = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n" + "".join(
        f"  {line}\n" for line in levels
    )
    assert len(bomb) < 600
    error = render_failure(helm_sidecar, chart_request({"templates/bomb.yaml": bomb}))
    assert error.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert "alias" in error.details().lower() or "anchor" in error.details().lower()
    assert rendered_names(helm_sidecar, chart_request()) == {"shop-small"}
    assert helm_sidecar.health() == health_pb2.HealthCheckResponse.SERVING
