"""ApplicationSet templates: `{{param}}` substitution (Argo CD's fasttemplate mode) and Go templates
(goTemplate: true, rendered by appset_gotemplate.py), applied to every string of a document, and
templatePatch. Pure: parameter sets and a template document in, documents out.

Both modes template every string value and mapping key on its own, as Argo CD does, so a parameter
value can never change the document's structure (a value with `: ` or a newline stays a string).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import yaml

from gitopsd.app.generators.appset_gotemplate import GoTemplateLimits, TemplateError, render_go

FAST_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
MISSINGKEY_OPTIONS = ("missingkey=error", "missingkey=zero", "missingkey=default", "missingkey=invalid")

Params = dict[str, Any]
# Renders texts, each with its parameter set: [(params, text)] -> [text].
Renderer = Callable[[Sequence[tuple[Params, str]]], list[str]]


def render_fast(text: str, params: Params) -> str:
    """`{{ name }}` → params[name]; a tag naming no parameter stays as written (Argo CD's behaviour)."""

    def sub(m: re.Match[str]) -> str:
        key = m.group(1).strip()
        return str(params[key]) if key in params else m.group(0)

    return FAST_TAG.sub(sub, text)


def flatten(params: Params, prefix: str = "") -> dict[str, str]:
    """Nested parameters as Argo CD's fasttemplate mode sees them: `a.b.0.c` keys, string values."""
    flat: dict[str, str] = {}

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{key}.{i}" if key else str(i))
        elif key:
            flat[key] = _scalar(value)

    walk(params, prefix)
    return flat


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_options(options: Sequence[str]) -> bool:
    """goTemplateOptions → strict (missingkey=error); an option we do not know is refused."""
    for i, option in enumerate(options):
        if option not in MISSINGKEY_OPTIONS:
            raise ValueError(
                f"spec.goTemplateOptions[{i}]: {option!r} is not supported (only missingkey=error|zero|default|invalid)"
            )
    return "missingkey=error" in options


def fast_renderer() -> Renderer:
    return lambda jobs: [render_fast(text, flatten(p) if _nested(p) else p) for p, text in jobs]


def _nested(params: Params) -> bool:
    return any(isinstance(v, (dict, list)) for v in params.values())


def go_renderer(strict: bool, limits: GoTemplateLimits, names: Sequence[str] | None = None) -> Renderer:
    """One worker process per call, however many texts: parameter sets are sent once each."""

    def render(jobs: Sequence[tuple[Params, str]]) -> list[str]:
        todo = [(i, text) for i, (_, text) in enumerate(jobs) if "{{" in text]
        if not todo:
            return [text for _, text in jobs]
        index: dict[int, int] = {}
        params: list[Params] = []
        for i, _ in todo:
            key = id(jobs[i][0])
            if key not in index:
                index[key] = len(params)
                params.append(jobs[i][0])
        out = render_go(
            [(index[id(jobs[i][0])], text) for i, text in todo],
            params,
            strict=strict,
            names=[names[i] if names else "template" for i, _ in todo],
            limits=limits,
        )
        results = [text for _, text in jobs]
        for (i, _), text in zip(todo, out, strict=True):
            results[i] = text
        return results

    return render


# ------------------------------------------------------------------ documents


def _strings(doc: Any, path: str, out: list[tuple[str, str]]) -> None:
    """Every templatable string of doc, with its path; mapping keys as `path{key}`."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            if isinstance(k, str) and "{{" in k:
                out.append((f"{path}{{key}}{k}", k))
            _strings(v, f"{path}.{k}" if path else str(k), out)
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            _strings(v, f"{path}[{i}]", out)
    elif isinstance(doc, str) and "{{" in doc:
        out.append((path, doc))


def _rebuild(doc: Any, rendered: dict[int, str], counter: list[int]) -> Any:
    # Walks in the same order as _strings, taking rendered texts one by one.
    if isinstance(doc, dict):
        new: dict[Any, Any] = {}
        for k, v in doc.items():
            key = k
            if isinstance(k, str) and "{{" in k:
                key = rendered[counter[0]]
                counter[0] += 1
            new[key] = _rebuild(v, rendered, counter)
        return new
    if isinstance(doc, list):
        return [_rebuild(v, rendered, counter) for v in doc]
    if isinstance(doc, str) and "{{" in doc:
        text = rendered[counter[0]]
        counter[0] += 1
        return text
    return doc


def render_documents(
    doc: Any, param_sets: Sequence[Params], render: Renderer, patch: str = ""
) -> list[tuple[Any, str]]:
    """doc rendered once per parameter set, with the rendered patch text of each (or "")."""
    fields: list[tuple[str, str]] = []
    _strings(doc, "", fields)
    jobs: list[tuple[Params, str]] = []
    for params in param_sets:
        jobs.extend((params, text) for _, text in fields)
        if patch:
            jobs.append((params, patch))
    texts = render(jobs)
    per_set = len(fields) + (1 if patch else 0)
    results = []
    for n in range(len(param_sets)):
        chunk = texts[n * per_set : (n + 1) * per_set]
        rendered = dict(enumerate(chunk[: len(fields)]))
        results.append((_rebuild(doc, rendered, [0]), chunk[-1] if patch else ""))
    return results


def field_names(doc: Any, param_sets: int, patch: bool, prefix: str) -> list[str]:
    """The field path of each job render_documents sends, for error messages."""
    fields: list[tuple[str, str]] = []
    _strings(doc, "", fields)
    one = [f"{prefix}.{path}" for path, _ in fields] + (["spec.templatePatch"] if patch else [])
    return one * param_sets


def apply_patch(doc: dict[str, Any], patch_text: str) -> dict[str, Any]:
    """templatePatch: rendered YAML merged over the document (mappings merged, the rest replaced)."""
    try:
        patch = yaml.safe_load(patch_text) if patch_text.strip() else None
    except yaml.YAMLError as exc:
        raise TemplateError(f"spec.templatePatch: the rendered patch is not valid YAML: {exc}") from None
    if patch is None:
        return doc
    if not isinstance(patch, dict):
        raise TemplateError(
            f"spec.templatePatch: the rendered patch is a {type(patch).__name__}, not a mapping"
        )
    return deep_merge(doc, patch)


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(merged.get(k), dict):
            merged[k] = deep_merge(merged[k], v)
        else:
            merged[k] = v
    return merged
