"""A third-party renderer plugin built on gitopsd.sidecar: the scaffolding is usable outside gitopsd's own sidecars."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import grpc
from fixtures.renderers import Sidecar, render_failure, source_files

from gitopsd.api.gitopsd.v1 import application_pb2, renderer_pb2

PLUGIN = '''
"""A config management plugin: one ConfigMap listing the files under source.path."""
import argparse
import sys

from gitopsd.api.gitopsd.v1 import renderer_pb2
from gitopsd.sidecar import (
    InvalidSource, OutputBudget, SidecarOptions, add_common_arguments, materialize, render_dir,
    resolve_inside, run_sidecar, yaml_to_manifests,
)


class Inventory:
    def __init__(self, work_dir):
        self.work_dir = work_dir

    def capabilities(self):
        return renderer_pb2.Capabilities(name="inventory", version="1.0.0", source_types=["Plugin"])

    def render(self, request, limits):
        params = {p.name: p.string for p in request.source.plugin.parameters}
        if "name" not in params:
            raise InvalidSource("parameter 'name' is required")
        with render_dir(self.work_dir) as scratch:
            materialize(request.files, scratch, limits.max_input_bytes)
            base = resolve_inside(scratch, request.source.path, "source.path")
            names = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())
        lines = "".join(f"  f{i}: {n}\\n" for i, n in enumerate(names))
        text = f"apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: {params['name']}\\ndata:\\n{lines}"
        return renderer_pb2.RenderResponse(
            manifests=yaml_to_manifests(text, "inventory", OutputBudget(limits.max_output_bytes))
        )

    def close(self):
        pass


parser = argparse.ArgumentParser(prog="inventory")
add_common_arguments(parser, default_listen="127.0.0.1:0")
options = SidecarOptions.from_args(parser.parse_args())
sys.exit(run_sidecar(Inventory(options.work_dir), options, "inventory"))
'''


def plugin_request(name: str | None) -> renderer_pb2.RenderRequest:
    plugin = application_pb2.ApplicationSourcePlugin(name="inventory")
    if name is not None:
        plugin.parameters.append(application_pb2.PluginParameter(name="name", string=name))
    return renderer_pb2.RenderRequest(
        source_type="Plugin",
        source=application_pb2.ApplicationSource(path="app", plugin=plugin),
        files=source_files({"app/a.txt": "a", "app/sub/b.txt": "b", "other/c.txt": "c"}),
        app_name="inv",
    )


def test_plugin_on_the_scaffolding(start_sidecar: Callable[..., Sidecar], tmp_path: Path) -> None:
    script = tmp_path / "inventory.py"
    script.write_text(PLUGIN)
    sidecar = start_sidecar(script)
    caps = sidecar.stub.GetCapabilities(renderer_pb2.CapabilitiesRequest(), timeout=10)
    assert (caps.name, list(caps.source_types)) == ("inventory", ["Plugin"])

    reply = sidecar.stub.Render(plugin_request("files"), timeout=30)
    assert [json.loads(doc) for doc in reply.manifests] == [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "files"},
            "data": {"f0": "a.txt", "f1": "sub/b.txt"},
        }
    ]

    failure = render_failure(sidecar, plugin_request(None))
    assert failure.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.details() == "parameter 'name' is required"
