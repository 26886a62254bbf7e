"""Entry point of `gitopsd-kustomize`: the Kustomize Renderer sidecar (see gitopsd.sidecar)."""

from __future__ import annotations

import argparse
import sys

from gitopsd.sidecar import SidecarOptions, add_common_arguments, run_sidecar
from gitopsd.sidecar.logs import setup_logging
from gitopsd_kustomize.render import KustomizeRenderer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gitopsd-kustomize",
        description="Renderer sidecar rendering Kustomize sources with the kustomize built into the pinned kubectl.",
    )
    add_common_arguments(parser, default_listen="unix:///run/gitopsd/kustomize.sock")
    parser.add_argument(
        "--tree-cache-mb",
        type=_non_negative_int,
        default=256,
        help="disk kept for repository trees reused across renders of the same files (default 256; 0 keeps none)",
    )
    return parser


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    options = SidecarOptions.from_args(args)
    setup_logging(options.log_level, options.log_format)
    try:
        backend = KustomizeRenderer(
            options.work_dir,
            tree_cache_bytes=args.tree_cache_mb * 1024 * 1024,
            max_memory_bytes=options.limits.max_memory_bytes,
        )
    except Exception as exc:  # startup problems: say what, exit non-zero
        print(f"gitopsd-kustomize: cannot start: {exc}", file=sys.stderr)
        return 1
    return run_sidecar(backend, options, "gitopsd-kustomize")


if __name__ == "__main__":
    sys.exit(main())
