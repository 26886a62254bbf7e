#!/usr/bin/env python3
"""Regenerates gitopsd/api/ from proto/ (the only way generated code changes).

Usage: python scripts/genproto.py [--check]
With --check, generates into a temporary directory and exits 1 if gitopsd/api/ differs.
"""

from __future__ import annotations

import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO = ROOT / "proto"
OUT = ROOT / "gitopsd" / "api"


def generate(out: Path) -> None:
    import grpc_tools
    from grpc_tools import protoc

    include = Path(grpc_tools.__file__).parent / "_proto"
    files = sorted(str(p.relative_to(PROTO)) for p in PROTO.rglob("*.proto"))
    out.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTO}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # protoc writes gitopsd/v1/*.py under out; imports inside are "from gitopsd.v1 import x_pb2".
    # Rewrite them to the package they live in, gitopsd.api.gitopsd.v1.
    for py in (out / "gitopsd" / "v1").glob("*.py*"):
        text = py.read_text()
        text = text.replace("from gitopsd.v1 import", "from gitopsd.api.gitopsd.v1 import")
        py.write_text(text)
    for d in (out / "gitopsd", out / "gitopsd" / "v1"):
        (d / "__init__.py").write_text("")
    (out / "__init__.py").write_text(
        '"""Generated gRPC/protobuf code for proto/gitopsd/v1. Never edit: run scripts/genproto.py."""\n'
    )


def main() -> int:
    if "--check" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp))
            cmp = filecmp.dircmp(tmp, OUT)
            stale: list[str] = []

            def walk(c: filecmp.dircmp[str], prefix: str) -> None:
                stale.extend(
                    prefix + n for n in c.left_only + c.right_only + c.diff_files if n != "__pycache__"
                )
                for name, sub in c.subdirs.items():
                    if name != "__pycache__":
                        walk(sub, prefix + name + "/")

            walk(cmp, "")
            if stale:
                print("gitopsd/api is stale; run scripts/genproto.py:", ", ".join(sorted(stale)))
                return 1
            return 0
    if OUT.exists():
        shutil.rmtree(OUT)
    generate(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
