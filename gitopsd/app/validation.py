"""Validation of Application specs: what Argo CD would refuse, refused with the field named."""

from __future__ import annotations

import re
from typing import Literal

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app.errors import InvalidArgument
from gitopsd.engine.ignore import InvalidJqExpression, compile_jq
from gitopsd.sources.giturl import split_credentials

API_VERSION = "argoproj.io/v1alpha1"

# ObjectMeta fields the daemon sets itself and strips from what a user sends or exports (typed as
# the protobuf stubs' ClearField names).
SERVER_SET_FIELDS: tuple[Literal["uid", "resource_version", "generation", "creation_timestamp"], ...] = (
    "uid",
    "resource_version",
    "generation",
    "creation_timestamp",
)
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")

# Keys of syncPolicy.syncOptions (and the sync-options annotation) gitopsd understands.
SYNC_OPTION_KEYS = frozenset(
    {
        "Validate",
        "CreateNamespace",
        "Prune",
        "PruneLast",
        "Replace",
        "ServerSideApply",
        "ApplyOutOfSyncOnly",
        "PrunePropagationPolicy",
        "RespectIgnoreDifferences",
        "FailOnSharedResource",
        "SkipDryRunOnMissingResource",
        "Force",
        "Delete",
    }
)


def validate_name(name: str, path: str = "metadata.name") -> None:
    if not name:
        raise InvalidArgument(f"{path}: required")
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        raise InvalidArgument(
            f"{path}: {name!r} is not a valid name (lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit, at most 253 characters)"
        )


def validate_sync_options(options: list[str] | tuple[str, ...], path: str) -> None:
    for i, option in enumerate(options):
        key, sep, value = option.partition("=")
        if not sep or not key or not value:
            raise InvalidArgument(
                f"{path}[{i}]: {option!r} must look like Key=Value, e.g. CreateNamespace=true"
            )
        if key not in SYNC_OPTION_KEYS:
            raise InvalidArgument(
                f"{path}[{i}]: unknown sync option {key!r} (known: {', '.join(sorted(SYNC_OPTION_KEYS))})"
            )


def _validate_source(src: apppb.ApplicationSource, path: str) -> None:
    if not src.repo_url.strip():
        raise InvalidArgument(f"{path}.repoURL: required")
    try:
        clean, user, password = split_credentials(src.repo_url.strip())
    except ValueError:
        clean, user, password = "", None, None
    if password:
        # Stored in the spec, it would be shown to everyone who may read the application.
        raise InvalidArgument(
            f"{path}.repoURL: the URL embeds a password; use {clean} and add the credentials with "
            f"`gitopsd repo add {clean} --username {user or 'USER'} --password ...`"
        )
    if src.chart and src.path:
        raise InvalidArgument(
            f"{path}: chart and path are mutually exclusive (chart is for Helm repositories)"
        )
    blocks = [n for n in ("helm", "kustomize", "directory", "plugin") if src.HasField(n)]
    if len(blocks) > 1:
        raise InvalidArgument(
            f"{path}: only one of helm, kustomize, directory, plugin may be set (got {', '.join(blocks)})"
        )
    if src.path.startswith("/") or ".." in src.path.split("/"):
        raise InvalidArgument(f"{path}.path: {src.path!r} must be relative and stay inside the repository")
    for i, param in enumerate(src.helm.parameters):
        if not param.name:
            raise InvalidArgument(f"{path}.helm.parameters[{i}].name: required")
    for i, image in enumerate(src.kustomize.images):
        if not image or any(c.isspace() for c in image):
            raise InvalidArgument(
                f"{path}.kustomize.images[{i}]: {image!r} is not an image ([old=]name:tag or name@digest)"
            )
    for i, replica in enumerate(src.kustomize.replicas):
        if not replica.name:
            raise InvalidArgument(f"{path}.kustomize.replicas[{i}].name: required")
        count = replica.count
        kind = count.WhichOneof("kind")
        ok = (kind == "number_value" and count.number_value.is_integer() and count.number_value >= 0) or (
            kind == "string_value" and count.string_value.isdigit()
        )
        if not ok:
            raise InvalidArgument(f"{path}.kustomize.replicas[{i}].count: must be a non-negative integer")
    # plugin without a name (`plugin: {}`) is valid: a config management plugin is found by its discover rules.


_REF_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_REF_VALUE_FILE = re.compile(r"^\$([A-Za-z0-9_-]+)/(.+)$")


def _validate_refs(spec: apppb.ApplicationSpec) -> None:
    """Multi-source applications: ref names, and the "$ref/path" value files that use them."""
    refs: dict[str, int] = {}
    for i, src in enumerate(spec.sources):
        if not src.ref:
            continue
        if not _REF_NAME.match(src.ref):
            raise InvalidArgument(f"spec.sources[{i}].ref: {src.ref!r} must be letters, digits, '-' or '_'")
        if src.chart:
            raise InvalidArgument(
                f"spec.sources[{i}].ref: a chart repository source cannot serve files to other sources "
                "(ref: is for Git sources)"
            )
        if src.ref in refs:
            raise InvalidArgument(f"spec.sources[{i}].ref: {src.ref!r} is also spec.sources[{refs[src.ref]}]'s")
        refs[src.ref] = i
    if spec.sources and all(s.ref and not s.path and not s.chart for s in spec.sources):
        raise InvalidArgument("spec.sources: every source is ref-only (ref without path or chart): nothing renders")
    for i, src in enumerate(spec.sources):
        for j, vf in enumerate(src.helm.value_files):
            if not vf.startswith("$"):
                continue
            where = f"spec.sources[{i}].helm.valueFiles[{j}]"
            match = _REF_VALUE_FILE.match(vf)
            if match is None:
                raise InvalidArgument(f"{where}: {vf!r} must look like $ref/path/in/that/repository")
            if match.group(1) not in refs:
                raise InvalidArgument(f"{where}: {vf!r}: no source has ref: {match.group(1)}")
            parts = match.group(2).split("/")
            if match.group(2).startswith("/") or ".." in parts or ".git" in parts:
                raise InvalidArgument(f"{where}: {vf!r} must stay inside that source's repository")


def validate_application(app: apppb.Application) -> None:
    """Raises InvalidArgument naming the first problem found."""
    if app.api_version and app.api_version != API_VERSION:
        raise InvalidArgument(f"apiVersion: expected {API_VERSION}, got {app.api_version!r}")
    if app.kind and app.kind != "Application":
        raise InvalidArgument(f"kind: expected Application, got {app.kind!r}")
    validate_name(app.metadata.name)
    if app.HasField("operation"):
        # Argo CD runs an operation written into the manifest; gitopsd starts operations by request only.
        raise InvalidArgument(
            "operation: gitopsd does not run an operation given in the application document; remove it and "
            f"start the sync with `gitopsd app sync {app.metadata.name}`"
        )
    spec = app.spec
    if not app.HasField("spec"):
        raise InvalidArgument("spec: required")
    if spec.HasField("source") and len(spec.sources):
        raise InvalidArgument("spec: source and sources are mutually exclusive")
    if not spec.HasField("source") and not len(spec.sources):
        raise InvalidArgument("spec.source: required (with repoURL)")
    if spec.HasField("source"):
        _validate_source(spec.source, "spec.source")
        for j, vf in enumerate(spec.source.helm.value_files):
            if vf.startswith("$"):
                raise InvalidArgument(
                    f"spec.source.helm.valueFiles[{j}]: {vf!r} names another source's file, which only a "
                    "multi-source application (spec.sources with a ref: source) has"
                )
    for i, src in enumerate(spec.sources):
        _validate_source(src, f"spec.sources[{i}]")
    _validate_refs(spec)
    if not spec.HasField("destination"):
        raise InvalidArgument("spec.destination: required (server or name, and namespace)")
    dest = spec.destination
    if not dest.server and not dest.name:
        raise InvalidArgument("spec.destination: server or name is required")
    if dest.server and dest.name:
        raise InvalidArgument("spec.destination: server and name are mutually exclusive")
    if dest.server and not re.match(r"^https?://[^\s/]+", dest.server):
        raise InvalidArgument(f"spec.destination.server: {dest.server!r} is not an http(s) URL")
    if dest.namespace and not _DNS_LABEL.match(dest.namespace):
        raise InvalidArgument(f"spec.destination.namespace: {dest.namespace!r} is not a valid namespace name")
    if spec.project:
        validate_name(spec.project, "spec.project")
    if spec.HasField("revision_history_limit") and spec.revision_history_limit < 0:
        raise InvalidArgument("spec.revisionHistoryLimit: must not be negative")
    policy = spec.sync_policy
    validate_sync_options(list(policy.sync_options), "spec.syncPolicy.syncOptions")
    backoff = policy.retry.backoff
    for field, value in (("duration", backoff.duration), ("maxDuration", backoff.max_duration)):
        if value and not _DURATION.match(value):
            raise InvalidArgument(
                f"spec.syncPolicy.retry.backoff.{field}: {value!r} is not a duration such as 5s or 3m"
            )
    if policy.retry.limit < 0:
        raise InvalidArgument("spec.syncPolicy.retry.limit: must not be negative")
    for i, ignore in enumerate(spec.ignore_differences):
        if not ignore.kind:
            raise InvalidArgument(f"spec.ignoreDifferences[{i}].kind: required")
        for j, pointer in enumerate(ignore.json_pointers):
            if not pointer.startswith("/"):
                raise InvalidArgument(
                    f"spec.ignoreDifferences[{i}].jsonPointers[{j}]: {pointer!r} must start with /"
                )
        for j, expression in enumerate(ignore.jq_path_expressions):
            try:
                compile_jq(expression)
            except InvalidJqExpression as exc:
                raise InvalidArgument(f"spec.ignoreDifferences[{i}].jqPathExpressions[{j}]: {exc}") from None
