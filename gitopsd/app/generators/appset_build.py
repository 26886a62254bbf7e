"""One generation of an ApplicationSet, without side effects: generators → parameter sets →
rendered template (+ templatePatch) → Application messages. Used by the controller and by the
Generate RPC (a dry run). Every failure is a `GenerationError` naming the field or application.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import applicationset_pb2 as aspb
from gitopsd.api.gitopsd.v1 import cluster_pb2 as clpb
from gitopsd.app.generators.appset_generators import GenContext, generate
from gitopsd.app.generators.appset_git import GeneratorError, TreeReader
from gitopsd.app.generators.appset_gotemplate import GoTemplateLimits, TemplateError
from gitopsd.app.generators.appset_template import (
    apply_patch,
    check_options,
    fast_renderer,
    field_names,
    go_renderer,
    render_documents,
)
from gitopsd.app.generators.ownership import RESOURCES_FINALIZER
from gitopsd.app.validation import API_VERSION
from gitopsd.protojson import DocumentError, parse_document, to_document


class GenerationError(Exception):
    """reason: Argo CD's condition reason (ApplicationGenerationFromParamsError, ...)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class Generated:
    applications: list[apppb.Application]
    params: int
    repos: set[tuple[str, str]] = field(default_factory=set)


def build(
    appset: aspb.ApplicationSet,
    clusters: Callable[[], list[clpb.Cluster]],
    read_tree: TreeReader,
    limits: GoTemplateLimits,
) -> Generated:
    spec = appset.spec
    go = spec.go_template
    try:
        strict = check_options(spec.go_template_options)
    except ValueError as exc:
        raise GenerationError(str(exc), "ApplicationGenerationFromParamsError") from None
    template = {"metadata": to_document(spec.template.metadata), "spec": to_document(spec.template.spec)}
    template["metadata"].pop(
        "namespace", None
    )  # Argo CD's namespace of Application objects: meaningless here
    ctx = GenContext(clusters, read_tree, go, go_renderer(strict, limits) if go else fast_renderer())
    try:
        param_sets = generate(spec.generators, ctx)
    except (GeneratorError, TemplateError) as exc:
        raise GenerationError(str(exc), "ApplicationParamsGenerationError") from None
    render = (
        go_renderer(
            strict, limits, field_names(template, len(param_sets), bool(spec.template_patch), "spec.template")
        )
        if go
        else fast_renderer()
    )
    try:
        rendered = render_documents(template, param_sets, render, spec.template_patch if go else "")
    except TemplateError as exc:
        raise GenerationError(str(exc), "ApplicationGenerationFromParamsError") from None
    apps: list[apppb.Application] = []
    seen: dict[str, int] = {}
    for i, (doc, patch_text) in enumerate(rendered):
        app = _application(doc, patch_text, spec, i)
        name = app.metadata.name
        if name in seen:
            raise GenerationError(
                f"parameter sets {seen[name]} and {i} both generate application {name!r}: names must be unique",
                "ApplicationGenerationFromParamsError",
            )
        seen[name] = i
        apps.append(app)
    return Generated(apps, len(param_sets), ctx.repos)


def _application(
    doc: dict[str, Any], patch_text: str, spec: aspb.ApplicationSetSpec, i: int
) -> apppb.Application:
    full: dict[str, Any] = {"apiVersion": API_VERSION, "kind": "Application", **doc}
    try:
        if patch_text:
            full = apply_patch(full, patch_text)
        app = parse_document(full, apppb.Application())
    except TemplateError as exc:
        raise GenerationError(f"parameter set {i}: {exc}", "ApplicationGenerationFromParamsError") from None
    except DocumentError as exc:
        raise GenerationError(
            f"parameter set {i}: the generated application is not valid: {exc}",
            "ApplicationGenerationFromParamsError",
        ) from None
    if not app.metadata.name:
        raise GenerationError(
            f"parameter set {i}: the generated application has no name",
            "ApplicationGenerationFromParamsError",
        )
    # As Argo CD: generated applications delete their resources with them, unless the set preserves them.
    if not spec.sync_policy.preserve_resources_on_deletion and not any(
        f.startswith(RESOURCES_FINALIZER) for f in app.metadata.finalizers
    ):
        app.metadata.finalizers.append(RESOURCES_FINALIZER)
    return app
