"""Benchmark: a Jsonnet render through gitopsd-jsonnet's backend (a child process per render) beside go-jsonnet
evaluating the same file in this process, so the cost of the isolation (process start, JSON hand-over) shows.

Cases: one ConfigMap (the per-render overhead), and a 100,000-element comprehension (the case where the C++
binding is quadratic; go-jsonnet is linear).
Run: .venv/bin/python bench/jsonnet_render.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import _gojsonnet
from gitopsd_jsonnet.render import JsonnetRenderer

from gitopsd.api.gitopsd.v1 import renderer_pb2
from gitopsd.sidecar.limits import Limits

CASES = {
    "one ConfigMap": "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'a'}, data: {}}",
    "100k-element comprehension": (
        "[{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'c' + i}, data: {}} for i in std.range(1, 100000)]"
    ),
}


def _request(text: str) -> renderer_pb2.RenderRequest:
    request = renderer_pb2.RenderRequest(source_type="Directory", app_name="bench")
    request.source.path = "app"
    request.files.append(renderer_pb2.SourceFile(path="app/main.jsonnet", content=text.encode()))
    request.entry_files.append("app/main.jsonnet")
    return request


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-jsonnet-"))
    renderer = JsonnetRenderer(work)
    limits = Limits(max_output_bytes=64 * 1024 * 1024)
    print(f"{'case':30} {'sidecar backend (child)':>24} {'go-jsonnet in-process':>22}")
    for name, text in CASES.items():
        source = work / "direct.jsonnet"
        source.write_text(text)
        backend, direct = [], []
        for _ in range(args.repeat):
            started = time.monotonic()
            renderer.render(_request(text), limits)
            backend.append(time.monotonic() - started)
            started = time.monotonic()
            _gojsonnet.evaluate_file(str(source))
            direct.append(time.monotonic() - started)
        print(f"{name:30} {statistics.median(backend) * 1000:>21.0f} ms {statistics.median(direct) * 1000:>19.0f} ms")


if __name__ == "__main__":
    main()
