"""The child process that evaluates a render's Jsonnet files (run by gitopsd_jsonnet.render, never in the sidecar).

Jsonnet has no time or memory limit of its own, so each render evaluates in a child of the sidecar
under the kernel memory limit, killed at the deadline (gitopsd.sidecar.childproc, childio). The child
reads a JSON spec (files, variables, search path) from the file named by its argument and writes one
JSON object to stdout: {"results": [[file, value], ...]} or {"error": message}.

Imports go through `import_callback`, which sees every `import`, `importstr` and `importbin`: a path is
looked up beside the importing file, then in each library directory, and anything that is absolute or
resolves (symlinks included) outside the repository tree is refused, found or not, so nothing outside
the checkout can be read and nothing says whether it exists.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import _gojsonnet  # gojsonnet: linear where the C++ binding is quadratic on large comprehensions

# Jsonnet's own default: deep enough for real libraries, and infinite recursion stops at once.
MAX_STACK = 500


class ImportRefused(Exception):
    pass


class Importer:
    """The import callback: repository files only."""

    def __init__(self, root: str, search: list[str]) -> None:
        self.root = os.path.realpath(root)
        self.search = search
        # The binding garbles the end of a callback's message (bytes past it): errors use this copy.
        self.last_error = ""

    def shown(self, path: str) -> str:
        return os.path.relpath(path, self.root) if self._inside(path) else "?"

    def _inside(self, path: str) -> bool:
        return path == self.root or path.startswith(self.root + os.sep)

    def _check(self, rel: str, candidate: str) -> str:
        real = os.path.realpath(candidate)
        if not self._inside(real):
            raise ImportRefused(f"import {rel!r} refused: it points outside the repository")
        return real

    def __call__(self, base: str, rel: str) -> tuple[str, bytes]:
        try:
            return self._find(base, rel)
        except ImportRefused as exc:
            self.last_error = str(exc)
            raise

    def _find(self, base: str, rel: str) -> tuple[str, bytes]:
        if "\x00" in rel:
            raise ImportRefused("import refused: the path contains a NUL byte")
        if os.path.isabs(rel):
            raise ImportRefused(f"import {rel!r} refused: absolute paths are not allowed, only repository files")
        if "://" in rel:
            raise ImportRefused(f"import {rel!r} refused: only repository files can be imported")
        for directory in [base, *self.search]:
            candidate = os.path.normpath(os.path.join(directory, rel))
            real = self._check(rel, candidate)
            if os.path.isfile(real):
                with open(real, "rb") as handle:
                    # The found path names the file in later errors and relative imports inside it.
                    return candidate, handle.read()
        raise ImportRefused(f"couldn't open import {rel!r}: no match beside the importing file or in the library paths")


def _variables(items: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
    strings: dict[str, str] = {}
    codes: dict[str, str] = {}
    for item in items:
        (codes if item.get("code") else strings)[str(item["name"])] = str(item["value"])
    return strings, codes


def _message(text: str, importer: Importer, root: str) -> str:
    """Jsonnet's error, with our import refusal intact and paths relative to the repository."""
    marker = "importer error: "
    if importer.last_error and marker in text:
        head, _, rest = text.partition(marker)
        newline = rest.find("\n")
        text = head + marker + importer.last_error + (rest[newline:] if newline >= 0 else "")
    for prefix in {root, importer.root}:
        text = text.replace(prefix + os.sep, "").replace(prefix, ".")
    return text.strip()


def evaluate(spec: dict[str, Any]) -> dict[str, Any]:
    root = spec["root"]
    importer = Importer(root, [os.path.join(root, lib) for lib in spec["search"]])
    ext_vars, ext_codes = _variables(spec["ext_vars"])
    tla_vars, tla_codes = _variables(spec["tlas"])
    budget = int(spec["max_output_bytes"])
    results: list[list[Any]] = []
    for rel in spec["files"]:
        path = os.path.join(root, rel)
        try:
            text = _gojsonnet.evaluate_file(
                path,
                ext_vars=ext_vars,
                ext_codes=ext_codes,
                tla_vars=tla_vars,
                tla_codes=tla_codes,
                import_callback=importer,
                max_stack=MAX_STACK,
            )
        except RuntimeError as exc:
            return {"error": _message(str(exc), importer, root)}
        budget -= len(text)
        if budget < 0:
            return {"error": f"{rel}: rendered output exceeds the limit of {spec['max_output_bytes']} bytes", "limit": True}
        results.append([rel, json.loads(text)])
    return {"results": results}


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    answer = evaluate(spec)
    sys.stdout.write(json.dumps(answer, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
