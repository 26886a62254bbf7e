"""Entry point of `gitopsd-jsonnet`: the Jsonnet Renderer sidecar (see gitopsd.sidecar and render.py)."""

from __future__ import annotations

import argparse
import sys

from gitopsd.sidecar import SidecarOptions, add_common_arguments, run_sidecar
from gitopsd.sidecar.logs import setup_logging
from gitopsd_jsonnet.render import JsonnetRenderer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gitopsd-jsonnet",
        description="Renderer sidecar evaluating the Jsonnet files of Directory sources (go-jsonnet, in child processes).",
    )
    add_common_arguments(parser, default_listen="unix:///run/gitopsd/jsonnet.sock")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    options = SidecarOptions.from_args(args)
    setup_logging(options.log_level, options.log_format)
    try:
        backend = JsonnetRenderer(options.work_dir, max_memory_bytes=options.limits.max_memory_bytes)
    except Exception as exc:  # startup problems: say what, exit non-zero
        print(f"gitopsd-jsonnet: cannot start: {exc}", file=sys.stderr)
        return 1
    return run_sidecar(backend, options, "gitopsd-jsonnet")


if __name__ == "__main__":
    sys.exit(main())
