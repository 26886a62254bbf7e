"""Entry point of `gitopsd-cmp`: runs Argo CD Config Management Plugins as a Renderer sidecar (render.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gitopsd.sidecar import SidecarOptions, add_common_arguments, run_sidecar
from gitopsd.sidecar.logs import setup_logging
from gitopsd_cmp.config import PluginConfigError, load_plugins
from gitopsd_cmp.render import CmpRenderer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gitopsd-cmp",
        description="Renderer sidecar running Argo CD ConfigManagementPlugin definitions (plugin.yaml).",
    )
    add_common_arguments(parser, default_listen="unix:///run/gitopsd/cmp.sock")
    parser.add_argument(
        "--plugins",
        required=True,
        help="a ConfigManagementPlugin plugin.yaml, or a directory of them (*.yaml, *.yml)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    options = SidecarOptions.from_args(args)
    setup_logging(options.log_level, options.log_format)
    try:
        plugins = load_plugins(Path(args.plugins))
        backend = CmpRenderer(options.work_dir, plugins, max_memory_bytes=options.limits.max_memory_bytes)
    except PluginConfigError as exc:
        print(f"gitopsd-cmp: invalid plugin configuration: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # startup problems: say what, exit non-zero
        print(f"gitopsd-cmp: cannot start: {exc}", file=sys.stderr)
        return 1
    return run_sidecar(backend, options, "gitopsd-cmp")


if __name__ == "__main__":
    sys.exit(main())
