"""Shared scaffolding for Renderer sidecars (gitopsd-helm, gitopsd-kustomize, third-party plugins).

A renderer implements `RenderBackend` (capabilities + render) and calls `run_sidecar()`; this
package supplies everything around it: `--listen` parsing, the gRPC server with health and
reflection, signal handling, one-line structured logs, safe materialization of the request's
files, size limits, YAML-to-JSON manifest conversion, and the mapping of errors to gRPC codes.
"""

from gitopsd.sidecar.errors import (
    DeadlineExceeded,
    InvalidSource,
    LimitExceeded,
    PreconditionFailed,
    RenderError,
    scrub_secrets,
    truncate_message,
)
from gitopsd.sidecar.files import materialize, resolve_inside
from gitopsd.sidecar.limits import DEFAULT_LIMITS, Limits, effective_limits
from gitopsd.sidecar.listen import ListenAddress, parse_listen
from gitopsd.sidecar.manifests import OutputBudget, yaml_to_manifests
from gitopsd.sidecar.server import (
    RenderBackend,
    SidecarOptions,
    add_common_arguments,
    render_dir,
    run_sidecar,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DeadlineExceeded",
    "InvalidSource",
    "LimitExceeded",
    "Limits",
    "ListenAddress",
    "OutputBudget",
    "PreconditionFailed",
    "RenderBackend",
    "RenderError",
    "SidecarOptions",
    "add_common_arguments",
    "effective_limits",
    "materialize",
    "parse_listen",
    "resolve_inside",
    "run_sidecar",
    "scrub_secrets",
    "truncate_message",
    "render_dir",
    "yaml_to_manifests",
]
