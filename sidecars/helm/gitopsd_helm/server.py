"""Entry point of `gitopsd-helm`: the Helm Renderer sidecar (see gitopsd.sidecar and gitopsd_helm.render)."""

from __future__ import annotations

import argparse
import sys

from gitopsd.sidecar import SidecarOptions, add_common_arguments, run_sidecar
from gitopsd.sidecar.logs import setup_logging
from gitopsd_helm.render import DEFAULT_DEPENDENCY_CACHE_BYTES, DEFAULT_MAX_INDEX_BYTES, HelmRenderer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gitopsd-helm",
        description="Renderer sidecar rendering Helm charts with the Helm v4 SDK (helm-python-sdk).",
    )
    add_common_arguments(parser, default_listen="unix:///run/gitopsd/helm.sock")
    parser.add_argument(
        "--warm-workers",
        type=int,
        default=2,
        help="render worker processes kept started and idle (default 2)",
    )
    parser.add_argument(
        "--max-workers",
        type=int,
        default=4,
        help="render worker processes running at once at most (default 4)",
    )
    parser.add_argument(
        "--max-index-bytes",
        type=int,
        default=DEFAULT_MAX_INDEX_BYTES,
        help="size of a chart repository's index.yaml, checked while it downloads (default 32 MiB)",
    )
    parser.add_argument(
        "--dependency-cache-mb",
        type=int,
        default=DEFAULT_DEPENDENCY_CACHE_BYTES // (1024 * 1024),
        help="chart dependencies fetched from repositories, kept for later renders (default 512; 0: none)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.warm_workers < 0 or args.max_workers < 1 or args.max_index_bytes < 1 or args.dependency_cache_mb < 0:
        parser.error(
            "--warm-workers and --dependency-cache-mb must be >= 0, --max-workers and --max-index-bytes >= 1"
        )
    options = SidecarOptions.from_args(args)
    setup_logging(options.log_level, options.log_format)
    backend = HelmRenderer(
        options.work_dir,
        warm_workers=args.warm_workers,
        max_workers=args.max_workers,
        max_memory_bytes=options.limits.max_memory_bytes,
        max_index_bytes=args.max_index_bytes,
        dependency_cache_bytes=args.dependency_cache_mb * 1024 * 1024,
    )
    return run_sidecar(backend, options, "gitopsd-helm")


if __name__ == "__main__":
    sys.exit(main())
