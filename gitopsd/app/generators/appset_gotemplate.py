"""Go templates for ApplicationSets (goTemplate: true): runs appset_goworker.py in a child process
with a time-out and a kernel memory limit, so a template that loops or grows forever costs the daemon
nothing but the wait. Pure Python callers hand it strings and parameter sets; it hands back strings.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MAX_OUTPUT_BYTES = 10 * 1024 * 1024


class TemplateError(Exception):
    """A template that does not parse, fails, times out or outgrows its limits (the user's to fix)."""


@dataclass(frozen=True)
class GoTemplateLimits:
    timeout: float = 10.0
    max_memory_bytes: int = 1024 * 1024 * 1024
    max_output_bytes: int = MAX_OUTPUT_BYTES


def render_go(
    templates: Sequence[tuple[int, str]],
    params: Sequence[dict[str, Any]],
    *,
    strict: bool,
    names: Sequence[str] = (),
    limits: GoTemplateLimits = GoTemplateLimits(),
) -> list[str]:
    """Each (param index, text) rendered with that parameter set; names[k] says where template k
    comes from (a field path) in error messages. strict: missingkey=error."""
    if not templates:
        return []
    job = json.dumps({"templates": [list(t) for t in templates], "params": list(params), "strict": strict})
    cmd = [sys.executable, "-m", "gitopsd.app.generators.appset_goworker"]
    prlimit = shutil.which("prlimit")
    if prlimit and limits.max_memory_bytes > 0:
        cmd = [prlimit, f"--data={limits.max_memory_bytes}", *cmd]
    try:
        done = subprocess.run(
            cmd, input=job.encode(), capture_output=True, timeout=limits.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise TemplateError(
            f"Go template rendering did not finish in {limits.timeout:g}s (stopped)"
        ) from None
    if len(done.stdout) > limits.max_output_bytes:
        raise TemplateError(f"Go template output is larger than {limits.max_output_bytes} bytes")
    try:
        reply = json.loads(done.stdout or b"null")
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        # Killed by the memory limit, or crashed: the exit status is all there is.
        raise TemplateError(
            f"Go template rendering failed (worker exit status {done.returncode}; out of memory?)"
        )
    if "error" in reply:
        raise TemplateError(_name_files(str(reply["error"]), names))
    results = reply.get("results")
    if not isinstance(results, list) or len(results) != len(templates):
        raise TemplateError("Go template rendering gave no result")
    return [str(r) for r in results]


def _name_files(message: str, names: Sequence[str]) -> str:
    """t3.tpl:1:41 → the field the template came from (positions are of the wrapped file: dropped)."""

    def name(m: re.Match[str]) -> str:
        k = int(m.group(1))
        return names[k] if k < len(names) else f"template {k}"

    message = re.sub(r"\bt(\d+)\.tpl(?::\d+(?::\d+)?)?", name, message)
    return " ".join(message.split())
