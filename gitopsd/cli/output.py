"""Output helpers: aligned tables as the argocd CLI prints them, and -o json|yaml."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import yaml


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO = sys.stdout) -> None:
    cells = [[str(c) for c in headers]] + [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(map(len, column)) for column in zip(*cells, strict=True)]
    # One write: `app list` of 10,000 applications is 10,000 lines.
    out.write("".join("  ".join(map(str.ljust, row, widths)).rstrip() + "\n" for row in cells))


def print_fields(pairs: Sequence[tuple[str, Any]], out: TextIO = sys.stdout) -> None:
    """`Name:               value` lines (the label column is 20 wide, as argocd's, wider when a
    label is longer so values stay aligned); an empty label prints a blank separator line."""
    width = max([20, *(len(label) + 2 for label, _ in pairs)])
    for label, value in pairs:
        if not label:
            out.write("\n")
            continue
        out.write(f"{label + ':':<{width}}{'' if value is None else value}".rstrip() + "\n")


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    # Multi-line strings (inline Helm values) print as blocks, as users wrote them.
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)


def dump(value: Any, fmt: str, out: TextIO = sys.stdout) -> None:
    if fmt == "json":
        out.write(json.dumps(value, indent=2, sort_keys=False) + "\n")
    elif fmt == "yaml":
        out.write(
            yaml.dump(value, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)
        )
    else:
        raise ValueError(fmt)


def add_output_flag(
    parser: argparse.ArgumentParser, choices: Sequence[str] = ("wide", "json", "yaml"), default: str = "wide"
) -> None:
    """The `-o/--output` flag of a read command (argocd's): a table by default, or JSON/YAML."""
    parser.add_argument(
        "-o",
        "--output",
        choices=list(choices),
        default=default,
        help=f"output format: {', '.join(choices)} (default {default}: {'a table' if default == 'wide' else default})",
    )
