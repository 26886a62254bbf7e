"""ApplicationSet generators: list, clusters, git (appset_git.py), matrix and merge, each turning
its spec into parameter sets. Pure but for what the context reads (clusters, repository trees).

Semantics follow Argo CD's documentation: a matrix of two generators is their cross product (the
second may use the first's parameters in its own spec); a merge starts from its first generator's
parameter sets and overrides them with those of the others that agree on every mergeKey.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format

from gitopsd.api.gitopsd.v1 import applicationset_pb2 as aspb
from gitopsd.api.gitopsd.v1 import cluster_pb2 as clpb
from gitopsd.app.generators.appset_git import GeneratorError, TreeReader, git_params, normalize_name
from gitopsd.app.generators.appset_template import Params, Renderer, deep_merge, render_documents
from gitopsd.protojson import DocumentError, parse_document, to_document

MAX_PARAM_SETS = 5000
MAX_DEPTH = 3
KINDS = ("list", "clusters", "git", "matrix", "merge")


@dataclass
class GenContext:
    clusters: Callable[[], list[clpb.Cluster]]
    read_tree: TreeReader
    go: bool
    render: Renderer
    # Repositories (URL, revision) the generators read: a change to one regenerates the set.
    repos: set[tuple[str, str]] = field(default_factory=set)


def generate(generators: Sequence[aspb.ApplicationSetGenerator], ctx: GenContext) -> list[Params]:
    """Every generator's parameter sets, in order (each makes its own applications)."""
    if not generators:
        raise GeneratorError("spec.generators: at least one generator is required")
    out: list[Params] = []
    for i, gen in enumerate(generators):
        out.extend(_one(gen, ctx, f"spec.generators[{i}]", 0))
        _check_count(out)
    return out


def _check_count(params: list[Params]) -> None:
    if len(params) > MAX_PARAM_SETS:
        raise GeneratorError(f"the generators make more than {MAX_PARAM_SETS} parameter sets")


def _kind(gen: aspb.ApplicationSetGenerator, where: str) -> str:
    kinds = [k for k in KINDS if gen.HasField(k)]
    if len(kinds) != 1:
        raise GeneratorError(
            f"{where}: give exactly one of {', '.join(KINDS)}"
            + (f" (got {', '.join(kinds)})" if kinds else "")
        )
    return kinds[0]


def _one(gen: aspb.ApplicationSetGenerator, ctx: GenContext, where: str, depth: int) -> list[Params]:
    if depth > MAX_DEPTH:
        raise GeneratorError(f"{where}: generators nested deeper than {MAX_DEPTH} levels")
    kind = _kind(gen, where)
    try:
        if kind == "list":
            return [json_format.MessageToDict(e) for e in gen.list.elements]
        if kind == "clusters":
            return _with_values(_cluster_params(gen.clusters, ctx, where), dict(gen.clusters.values), ctx)
        if kind == "git":
            ctx.repos.add((gen.git.repo_url, gen.git.revision or "HEAD"))
            values = dict(gen.git.values)
            plain = aspb.GitGenerator()
            plain.CopyFrom(gen.git)
            plain.ClearField("values")
            return _with_values(git_params(plain, ctx.read_tree, ctx.go), values, ctx)
        if kind == "matrix":
            return _matrix(gen.matrix, ctx, where, depth)
        return _merge(gen.merge, ctx, where, depth)
    except GeneratorError as exc:
        message = str(exc)
        if message.startswith("generators."):  # a git generator's own field: say which generator
            message = f"{where}.{message.removeprefix('generators.')}"
        raise GeneratorError(message) from None


def _with_values(param_sets: list[Params], values: dict[str, str], ctx: GenContext) -> list[Params]:
    """values.KEY, each value templated with the parameter set's other parameters."""
    if not values:
        return param_sets
    keys = sorted(values)
    rendered = render_documents([values[k] for k in keys], param_sets, ctx.render)
    for params, (texts, _) in zip(param_sets, rendered, strict=True):
        if ctx.go:
            params["values"] = dict(zip(keys, texts, strict=True))
        else:
            params.update({f"values.{k}": t for k, t in zip(keys, texts, strict=True)})
    return param_sets


def _selector_matches(selector: aspb.ClusterSelector, labels: dict[str, str], where: str) -> bool:
    if any(labels.get(k) != v for k, v in selector.match_labels.items()):
        return False
    for i, expr in enumerate(selector.match_expressions):
        op, present = expr.operator, expr.key in labels
        if op == "In":
            ok = present and labels[expr.key] in expr.values
        elif op == "NotIn":
            ok = not present or labels[expr.key] not in expr.values
        elif op == "Exists":
            ok = present
        elif op == "DoesNotExist":
            ok = not present
        else:
            raise GeneratorError(
                f"{where}.clusters.selector.matchExpressions[{i}].operator: {op!r} is not In, NotIn, Exists or DoesNotExist"
            )
        if not ok:
            return False
    return True


def _cluster_params(gen: aspb.ClusterGenerator, ctx: GenContext, where: str) -> list[Params]:
    out: list[Params] = []
    for cluster in sorted(ctx.clusters(), key=lambda c: c.name):
        labels = dict(cluster.labels)
        if not _selector_matches(gen.selector, labels, where):
            continue
        annotations = dict(cluster.annotations)
        base: Params = {
            "name": cluster.name,
            "nameNormalized": normalize_name(cluster.name),
            "server": cluster.server,
            "project": cluster.project,
        }
        if ctx.go:
            base["metadata"] = {"labels": labels, "annotations": annotations}
        else:
            base.update({f"metadata.labels.{k}": v for k, v in labels.items()})
            base.update({f"metadata.annotations.{k}": v for k, v in annotations.items()})
        out.append(base)
    return out


def _matrix(gen: aspb.MatrixGenerator, ctx: GenContext, where: str, depth: int) -> list[Params]:
    if len(gen.generators) != 2:
        raise GeneratorError(f"{where}.matrix.generators: exactly 2 generators (got {len(gen.generators)})")
    first = _one(gen.generators[0], ctx, f"{where}.matrix.generators[0]", depth + 1)
    second_doc = to_document(gen.generators[1])
    inner = f"{where}.matrix.generators[1]"
    out: list[Params] = []
    if "{{" not in str(second_doc):
        seconds = _one(gen.generators[1], ctx, inner, depth + 1)
        pairs = [(a, b) for a in first for b in seconds]
    else:
        # The second generator's spec uses the first's parameters: one spec per first parameter set.
        pairs = []
        for a, (doc, _) in zip(first, render_documents(second_doc, first, ctx.render), strict=True):
            try:
                child = parse_document(doc, aspb.ApplicationSetGenerator())
            except DocumentError as exc:
                raise GeneratorError(f"{inner}: {exc}") from None
            pairs.extend((a, b) for b in _one(child, ctx, inner, depth + 1))
            if len(pairs) > MAX_PARAM_SETS:
                break
    for a, b in pairs:
        out.append(deep_merge(b, a) if ctx.go else _combine(a, b, where))
        _check_count(out)
    return out


def _combine(a: Params, b: Params, where: str) -> Params:
    for key, value in b.items():
        if key in a and a[key] != value:
            raise GeneratorError(
                f"{where}.matrix: both generators set parameter {key!r}, to {a[key]!r} and {value!r}"
            )
    return {**a, **b}


def _lookup(params: Params, key: str) -> Any:
    if key in params:
        return params[key]
    value: Any = params
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _merge(gen: aspb.MergeGenerator, ctx: GenContext, where: str, depth: int) -> list[Params]:
    if not gen.merge_keys:
        raise GeneratorError(f"{where}.merge.mergeKeys: required")
    if len(gen.generators) < 2:
        raise GeneratorError(f"{where}.merge.generators: at least 2 generators")
    keys = list(gen.merge_keys)

    def key_of(params: Params) -> tuple[str, ...] | None:
        values = [_lookup(params, k) for k in keys]
        return None if any(v is None for v in values) else tuple(str(v) for v in values)

    base = _one(gen.generators[0], ctx, f"{where}.merge.generators[0]", depth + 1)
    seen: set[tuple[str, ...]] = set()
    for params in base:
        k = key_of(params)
        if k is not None and k in seen:
            raise GeneratorError(
                f"{where}.merge.generators[0]: two parameter sets have the same mergeKeys values {list(k)}"
            )
        if k is not None:
            seen.add(k)
    for n, child in enumerate(gen.generators[1:], start=1):
        by_key: dict[tuple[str, ...], Params] = {}
        for params in _one(child, ctx, f"{where}.merge.generators[{n}]", depth + 1):
            k = key_of(params)
            if k is not None:
                by_key.setdefault(k, params)  # the first one with a key wins, as in Argo CD
        merged = []
        for params in base:
            k = key_of(params)
            over = by_key.get(k) if k is not None else None
            merged.append(
                params if over is None else deep_merge(params, over) if ctx.go else {**params, **over}
            )
        base = merged
    return base
