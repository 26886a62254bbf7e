"""The Go-template worker of ApplicationSets: run as `python -m gitopsd.app.generators.appset_goworker`.

It renders with the Helm SDK's template engine (Go text/template with sprig, as Argo CD uses), in a
process of its own so that a template that never ends can be killed (Helm's render cannot be
interrupted in-process) and its memory bounded by the kernel. Reads one JSON job on stdin:
`{"templates": [[param_index, text], ...], "params": [{...}, ...], "strict": bool}` and writes
`{"results": [text, ...]}` or `{"error": message}` on stdout.

Each template becomes one file of a throwaway chart; the parameters are its values, and each
file first points `$` and `.` at its own parameter set, so templates read `.path.basename` as
they do in Argo CD.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

MAX_ERROR_CHARS = 2000


def _file(index: int, text: str) -> str:
    # `range list $` sets the dot to the parameters even when they are an empty (falsy) map.
    return f"{{{{ $ = .Values.p{index} }}}}{{{{ range list $ }}}}{text}{{{{ end }}}}"


def render(job: dict[str, Any]) -> list[str]:
    from helm_python import Chart  # imported here: the module is also imported for its constants

    templates: list[list[Any]] = job["templates"]
    values = {f"p{i}": p for i, p in enumerate(job["params"])}
    with tempfile.TemporaryDirectory(prefix="gitopsd-appset-") as tmp:
        chart = Path(tmp) / "appset"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text("apiVersion: v2\nname: appset\nversion: 0.1.0\n")
        for k, (index, text) in enumerate(templates):
            (chart / "templates" / f"t{k}.tpl").write_text(_file(int(index), str(text)))
        loaded = Chart.load(chart)
        if job.get("strict"):
            from helm_python import _native

            # The SDK's render options take `strict` (missingkey=error), though render() does not expose it.
            out = json.loads(
                _native.call_string(
                    "helm_render", loaded._raw(), json.dumps(values), json.dumps({"strict": True})
                )
            )
        else:
            out = loaded.render(values)
    return [out.get(f"appset/templates/t{k}.tpl", "") for k in range(len(templates))]


def main() -> int:
    try:
        job = json.load(sys.stdin)
        reply: dict[str, Any] = {"results": render(job)}
    except Exception as exc:  # every failure is the template's: reported, never a traceback
        message = str(exc).replace("appset/templates/", "")
        reply = {"error": message[:MAX_ERROR_CHARS]}
    json.dump(reply, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
