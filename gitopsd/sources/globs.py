"""Glob matching for directory include/exclude, with Argo CD's semantics.

Argo CD matches the pattern against the file's path relative to the app directory with
no path separator: `*` crosses `/`; `?`, `[...]`, `[!...]` and `{a,b}` (nestable) work.
"""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=256)
def compile_glob(pattern: str) -> re.Pattern[str]:
    regex, pos = _parse(pattern, 0, top=True)
    return re.compile(f"^(?:{regex})$", re.DOTALL)


def glob_match(pattern: str, path: str) -> bool:
    return compile_glob(pattern).match(path) is not None


def _parse(p: str, i: int, *, top: bool) -> tuple[str, int]:
    out: list[str] = []
    alternatives: list[str] = []
    while i < len(p):
        c = p[i]
        if c == "\\" and i + 1 < len(p):
            out.append(re.escape(p[i + 1]))
            i += 2
            continue
        if c == "*":
            while i < len(p) and p[i] == "*":
                i += 1
            out.append(".*")
            continue
        if c == "?":
            out.append(".")
        elif c == "[":
            end = p.find("]", i + 2 if p[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = p[i + 1 : end]
                neg = body[:1] in ("!", "^")
                if neg:
                    body = body[1:]
                body = body.replace("\\", "\\\\").replace("^", "\\^")
                out.append(f"[{'^' if neg else ''}{body}]")
                i = end
        elif c == "{":
            inner, i = _parse(p, i + 1, top=False)
            out.append(inner)
            continue
        elif c == "," and not top:
            alternatives.append("".join(out))
            out = []
        elif c == "}" and not top:
            alternatives.append("".join(out))
            return "(?:" + "|".join(alternatives) + ")", i + 1
        else:
            out.append(re.escape(c))
        i += 1
    if not top:
        # An unclosed brace: treat "{" literally, as the rest was read.
        return re.escape("{") + ",".join([*alternatives, "".join(out)]), i
    return "".join(out), i
