"""A small Renderer plugin of the tests' own (a config management plugin a user could write).

Run as a process: `python tiny_renderer.py --listen unix:///path.sock` (or 127.0.0.1:PORT).
It renders every *.txt file under source.path into a ConfigMap holding the file's text,
with the plugin's env entries as labels. A file named HANG makes it sleep (a hung
template), a file named CRASH makes the process exit, a file named BIG returns a large
output, and `pwd-check` echoes nothing of the chart password.
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import sys
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from gitopsd.api.gitopsd.v1 import renderer_pb2, renderer_pb2_grpc

VERSION = os.environ.get("TINY_RENDERER_VERSION", "1.0")
# What the in-process server last received (tests read it).
REQUESTS: list[renderer_pb2.RenderRequest] = []


class Tiny(renderer_pb2_grpc.RendererServicer):
    def __init__(self) -> None:
        self.version = VERSION

    def GetCapabilities(self, request, context):  # noqa: N802
        return renderer_pb2.Capabilities(
            name="tiny", version=self.version, source_types=["Plugin", "Kustomize"]
        )

    def Render(self, request, context):  # noqa: N802
        REQUESTS.append(request)
        files = {f.path: f.content for f in request.files}
        base = posixpath.normpath(request.source.path or ".")
        prefix = "" if base == "." else base + "/"
        names = sorted(p for p in files if p.startswith(prefix))
        if any(posixpath.basename(p) == "CRASH" for p in names):
            os._exit(3)
        if any(posixpath.basename(p) == "HANG" for p in names):
            hang = next(p for p in names if posixpath.basename(p) == "HANG")
            time.sleep(float(files[hang] or b"30"))
        if not names:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"no files under {base!r}")
        labels = {e.name: e.value for e in request.source.plugin.env}
        out = []
        for p in names:
            if not p.endswith(".txt"):
                continue
            name = posixpath.basename(p)[: -len(".txt")].lower().replace("_", "-")
            out.append(
                json.dumps(
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": name, "namespace": request.namespace, "labels": labels},
                        "data": {"text": files[p].decode(), "app": request.app_name, "rev": request.revision},
                    }
                )
            )
        if any(posixpath.basename(p) == "NOKIND" for p in names):
            out.append(json.dumps({"apiVersion": "v1", "metadata": {"name": "kindless"}}))
        if any(posixpath.basename(p) == "BIG" for p in names):
            out.append(
                json.dumps(
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": "big"},
                        "data": {"x": "y" * 200_000},
                    }
                )
            )
        return renderer_pb2.RenderResponse(manifests=out, warnings=[f"rendered {len(out)} files"])


def serve(listen: str, servicer: Tiny | None = None) -> grpc.Server:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)],
    )
    renderer_pb2_grpc.add_RendererServicer_to_server(servicer or Tiny(), server)
    checker = health.HealthServicer()
    checker.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    server.add_insecure_port(listen)
    server.start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    args = parser.parse_args()
    if os.environ.get("TINY_RENDERER_NEVER_READY"):
        time.sleep(3600)
    server = serve(args.listen)
    print(f"tiny renderer listening on {args.listen}", file=sys.stderr, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
