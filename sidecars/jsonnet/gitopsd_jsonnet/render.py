"""The Jsonnet renderer backend: the `.jsonnet` files of a Directory source, evaluated in a child process.

The daemon renders a Directory source's YAML and JSON itself and sends the repository with the
`.jsonnet` files it selected (recurse/include/exclude) as `entry_files`. As Argo CD: each file is
evaluated with the source's `directory.jsonnet` tlas and extVars (`code: true` for Jsonnet code; values
may use the build variables `$ARGOCD_APP_NAME`, ...), imports are looked up beside the importing file,
then in the app directory, then in `libs` (repository-relative); a `vendor/` directory beside a
`jsonnetfile.json` (jsonnet-bundler) in the app directory or at the repository root is searched last.
The output of a file is an object, an array of objects, or a List. Evaluation runs in a child
(gitopsd_jsonnet.evaluate) under the memory limit, killed at the deadline, its output capped.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import _gojsonnet
from google.protobuf import json_format

from gitopsd.api.gitopsd.v1 import renderer_pb2
from gitopsd.sidecar import (
    DEFAULT_LIMITS,
    InvalidSource,
    LimitExceeded,
    Limits,
    materialize,
    render_dir,
    resolve_inside,
    truncate_message,
)
from gitopsd.sidecar.buildenv import build_env, envsubst
from gitopsd.sidecar.childio import run_child
from gitopsd.sidecar.childproc import ChildLimits
from gitopsd.sidecar.version import package_version


def _variables(items: Any, what: str, env: dict[str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        data = json_format.MessageToDict(item)
        name, value, code = data.get("name"), data.get("value", ""), data.get("code", False)
        where = f"directory.jsonnet.{what}[{index}]"
        if not isinstance(name, str) or not name:
            raise InvalidSource(f"{where}: a name is required")
        if not isinstance(value, str):
            raise InvalidSource(f"{where} ({name}): value must be a string (Jsonnet code with code: true)")
        if not isinstance(code, bool):
            raise InvalidSource(f"{where} ({name}): code must be true or false")
        unknown = sorted(set(data) - {"name", "value", "code"})
        if unknown:
            raise InvalidSource(f"{where} ({name}): unknown field {unknown[0]!r}")
        out.append({"name": name, "value": envsubst(value, env), "code": code})
    return out


def _objects(value: Any, where: str) -> list[dict[str, Any]]:
    """An object, an array of objects (arrays nested in it too) or a List: the objects, Lists expanded."""
    if isinstance(value, list):
        return [obj for index, item in enumerate(value) for obj in _objects(item, f"{where}[{index}]")]
    if not isinstance(value, dict):
        raise InvalidSource(
            f"{where}: the output is a {type(value).__name__}, not an object, an array of objects or a List"
        )
    kind, items = value.get("kind"), value.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        return [obj for index, item in enumerate(items) for obj in _objects(item, f"{where}.items[{index}]")]
    meta = value.get("metadata")
    missing = [k for k in ("apiVersion", "kind") if not isinstance(value.get(k), str) or not value.get(k)]
    if not isinstance(meta, dict) or not (meta.get("name") or meta.get("generateName")):
        missing.append("metadata.name")
    if missing:
        raise InvalidSource(f"{where}: object without {', '.join(missing)}")
    return [value]


class JsonnetRenderer:
    """RenderBackend for the Jsonnet files of Directory sources."""

    def __init__(self, work_dir: Path, max_memory_bytes: int = DEFAULT_LIMITS.max_memory_bytes) -> None:
        self.work_dir = work_dir
        self.children = ChildLimits(max_memory_bytes)

    def capabilities(self) -> renderer_pb2.Capabilities:
        return renderer_pb2.Capabilities(
            name="gitopsd-jsonnet",
            version=package_version(),
            source_types=["Directory"],
            tool_versions={"go-jsonnet": str(_gojsonnet.version)},
        )

    def close(self) -> None:
        pass

    def render(self, request: renderer_pb2.RenderRequest, limits: Limits) -> renderer_pb2.RenderResponse:
        if request.source_type and request.source_type != "Directory":
            raise InvalidSource(f"gitopsd-jsonnet renders Directory sources, not {request.source_type!r}")
        if not request.entry_files:
            raise InvalidSource("no .jsonnet files to evaluate")
        jsonnet = request.source.directory.jsonnet
        env = build_env(request)
        with render_dir(self.work_dir) as scratch:
            root = scratch / "repo"
            root.mkdir()
            materialize(request.files, root, limits.max_input_bytes)
            app_rel = request.source.path.strip("/") or "."
            app_dir = resolve_inside(root, app_rel, "source.path")
            for rel in request.entry_files:
                resolve_inside(root, rel, "jsonnet file")
            search = [app_rel]
            for index, lib in enumerate(jsonnet.libs):
                path = resolve_inside(root, lib, f"directory.jsonnet.libs[{index}]", must_exist=False)
                search.append(str(path.relative_to(root)) if path != root else ".")
            for base in (app_dir, root):
                if (base / "jsonnetfile.json").is_file() and (base / "vendor").is_dir():
                    search.append(str((base / "vendor").relative_to(root)))
            spec = {
                "root": str(root),
                "files": list(request.entry_files),
                "search": search,
                "ext_vars": _variables(jsonnet.ext_vars, "extVars", env),
                "tlas": _variables(jsonnet.tlas, "tlas", env),
                "max_output_bytes": limits.max_output_bytes,
            }
            spec_path = scratch / "spec.json"
            spec_path.write_text(json.dumps(spec))
            answer = self._evaluate(spec_path, scratch, limits)
        if "error" in answer:
            error = truncate_message(f"jsonnet: {answer['error']}")
            raise LimitExceeded(error) if answer.get("limit") else InvalidSource(error)
        manifests = [
            json.dumps(obj, separators=(",", ":"))
            for rel, value in answer["results"]
            for obj in _objects(value, str(rel))
        ]
        return renderer_pb2.RenderResponse(manifests=manifests)

    def _evaluate(self, spec_path: Path, scratch: Path, limits: Limits) -> dict[str, Any]:
        # -I: no PYTHON* variables, no user site, not the current directory on sys.path.
        argv = self.children.argv([sys.executable, "-I", "-m", "gitopsd_jsonnet.evaluate", str(spec_path)])
        env = {"PATH": "/nonexistent", "HOME": str(scratch), "LANG": "C.UTF-8"}
        code, out, err = run_child(
            argv,
            cwd=str(scratch),
            env=env,
            deadline=time.monotonic() + limits.timeout_seconds,
            # The evaluator checks the output limit itself; room for the JSON around the values.
            max_stdout=2 * limits.max_output_bytes + 65536,
            what="jsonnet evaluation",
            timeout_seconds=limits.timeout_seconds,
        )
        exhausted = self.children.exhausted("jsonnet evaluation", code, err)
        if exhausted is not None:
            raise exhausted
        if code < 0:
            raise InvalidSource(f"jsonnet evaluation was killed by {signal.Signals(-code).name}")
        if code != 0:
            message = err.decode("utf-8", "replace").replace(str(scratch), ".").strip().splitlines()
            raise InvalidSource(truncate_message("jsonnet evaluation failed: " + (message[-1] if message else f"exit code {code}")))
        try:
            answer: dict[str, Any] = json.loads(out)
        except ValueError:
            raise InvalidSource("jsonnet evaluation failed: unreadable answer from the evaluator") from None
        return answer
