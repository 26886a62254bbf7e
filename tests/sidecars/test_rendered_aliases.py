"""YAML aliases in rendered output (issue 10, item 3): a bomb costs its app a clear error, nothing more.

Rendered output is untrusted: a Helm template or a plugin prints what the repository says. The
renderer below is a plugin on gitopsd.sidecar that prints a repository file as its output, so the
sidecar's own YAML parsing (gitopsd.sidecar.manifests, shared by every sidecar) meets the bomb.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from fixtures.renderers import Sidecar, render_failure, source_files

from gitopsd.api.gitopsd.v1 import application_pb2, renderer_pb2
from gitopsd.sidecar import InvalidSource, LimitExceeded, OutputBudget, yaml_to_manifests

PRINTER = '''
"""A plugin rendering a repository file as its output, verbatim."""
import argparse
import sys

from gitopsd.api.gitopsd.v1 import renderer_pb2
from gitopsd.sidecar import OutputBudget, SidecarOptions, add_common_arguments, run_sidecar, yaml_to_manifests


class Printer:
    def capabilities(self):
        return renderer_pb2.Capabilities(name="printer", version="1.0.0", source_types=["Plugin"])

    def render(self, request, limits):
        text = next(f.content for f in request.files if f.path == request.source.path).decode()
        budget = OutputBudget(limits.max_output_bytes)
        return renderer_pb2.RenderResponse(manifests=yaml_to_manifests(text, request.source.path, budget))

    def close(self):
        pass


parser = argparse.ArgumentParser(prog="printer")
add_common_arguments(parser, default_listen="127.0.0.1:0")
options = SidecarOptions.from_args(parser.parse_args())
sys.exit(run_sidecar(Printer(), options, "printer"))
'''


def alias_bomb(levels: int = 9) -> str:
    """Nine levels of nine aliases: ~450 bytes that expand to 9**9 strings (gigabytes of JSON)."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb}", "data:", "  l0: &l0 [a,a,a,a,a,a,a,a,a]"]
    for level in range(1, levels):
        lines.append(f"  l{level}: &l{level} [" + ",".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


ANCHORED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: &labels {app: web, tier: front}
spec:
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels: *labels
"""


def printed(path: str, content: str) -> renderer_pb2.RenderRequest:
    plugin = application_pb2.ApplicationSourcePlugin(name="printer")
    return renderer_pb2.RenderRequest(
        source_type="Plugin",
        source=application_pb2.ApplicationSource(path=path, plugin=plugin),
        files=source_files({path: content}),
        app_name="printed",
    )


@pytest.fixture
def printer(start_sidecar: Callable[..., Sidecar], tmp_path: Path) -> Sidecar:
    script = tmp_path / "printer.py"
    script.write_text(PRINTER)
    return start_sidecar(script)


def test_alias_bomb_in_rendered_output_is_refused_and_the_sidecar_serves_on(printer: Sidecar) -> None:
    bomb = alias_bomb()
    assert 400 < len(bomb) < 500
    failure = render_failure(printer, printed("out.yaml", bomb))
    assert failure.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert failure.details() == (
        "out.yaml: document at line 1: YAML aliases expand it past the rendered output limit of 10485760 bytes"
    )
    # Anchors used in moderation are real YAML: they still render, expanded.
    reply = printer.stub.Render(printed("web.yaml", ANCHORED), timeout=30)
    [web] = [json.loads(doc) for doc in reply.manifests]
    assert web["spec"]["template"]["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert printer.process.poll() is None


def test_recursive_alias_and_expansion_counted_against_the_budget() -> None:
    with pytest.raises(InvalidSource, match="recursive alias"):
        yaml_to_manifests("apiVersion: v1\nkind: List\nitems: &i [*i]\n", "out")
    # 2 KiB of text whose aliases make ~20 KiB: over a 10 KiB budget, though the text is well under it.
    fanout = "a: &a '" + "x" * 2000 + "'\nb: [" + ",".join(["*a"] * 10) + "]\nkind: K\n"
    assert len(fanout) < 10_000
    with pytest.raises(LimitExceeded, match="limit of 10000 bytes"):
        yaml_to_manifests(fanout, "out", OutputBudget(10_000))
    assert len(json.loads(yaml_to_manifests(fanout, "out", OutputBudget(30_000))[0])["b"]) == 10
