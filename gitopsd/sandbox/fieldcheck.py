"""The request-level checks of written bodies: ``fieldValidation``, metadata limits, identity.

Called by api.py on every create, update, patch and apply before the object is defaulted and
stored. Built-in kinds go through their published schema (schemas.py), custom resources through
their CRD version's structural schema (crdschema.py). Returns the warnings the HTTP layer sends
as ``Warning: 299 - "..."`` headers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import crdschema, schemas
from .errors import ApiError, bad_request, conflict, invalid
from .resources import ResourceType

MAX_ANNOTATIONS_BYTES = 256 * 1024
MAX_REPORTED = 50  # unknown fields named in one error or as warnings (a hostile body may hold many)
# Field selectors every kind supports, and the ones each built-in adds (as the real registry's
# GetAttrs/field label conversion functions do); anything else is "field label not supported".
_COMMON_FIELDS = frozenset({"metadata.name", "metadata.namespace"})
_KIND_FIELDS: dict[str, frozenset[str]] = {
    "/pods": frozenset(
        {
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        }
    ),
    "/events": frozenset(
        {
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        }
    ),
    "events.k8s.io/events": frozenset(
        {
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reason",
            "reportingController",
            "type",
        }
    ),
    "/secrets": frozenset({"type"}),
    "/namespaces": frozenset({"status.phase"}),
    "/nodes": frozenset({"spec.unschedulable"}),
    "/replicationcontrollers": frozenset({"status.replicas"}),
    "apps/replicasets": frozenset({"status.replicas"}),
    "batch/jobs": frozenset({"status.successful"}),
    "/services": frozenset({"spec.clusterIP", "spec.type"}),
    "certificates.k8s.io/certificatesigningrequests": frozenset({"spec.signerName"}),
}


def directive(query: dict[str, str]) -> str:
    """The request's fieldValidation (the server's default is Warn; kubectl sends Strict)."""
    value = query.get("fieldValidation") or "Warn"
    if value not in schemas.DIRECTIVES:
        raise bad_request(f'fieldValidation must be one of "Ignore", "Warn", or "Strict", not "{value[:50]}"')
    return value


def _cannot_handle(rt: ResourceType, why: str) -> ApiError:
    return bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {why}')


def check_body(
    rt: ResourceType,
    obj: dict[str, Any],
    query: dict[str, str],
    crd_of: Callable[[ResourceType], dict[str, Any] | None],
    builtin: bool,
    apply: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """Decode ``obj`` as the server would: (the object to keep, warnings). Raises 400/422."""
    mode = directive(query)
    _annotations(rt, obj)
    unknown: list[str]
    fields: list[str]
    if builtin:
        out, found = schemas.decode(rt.group, rt.version, rt.kind, obj)
        if found.errors:
            raise _cannot_handle(rt, found.errors[0])
        unknown, fields = found.unknown, found.fields
        if unknown and apply:
            # Apply configurations are typed against the schema, whatever fieldValidation says.
            meta = obj.get("metadata") or {}
            where = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
            raise bad_request(
                f"failed to create typed patch object ({where}; {rt.group_version}, Kind={rt.kind}): "
                f".{unknown[0]}: field not declared in schema"
            )
    else:
        crd = crd_of(rt)
        schema = crdschema.version_schema(crd, rt.version) if crd else None
        if schema is None:
            return obj, []
        out = obj
        res = crdschema.check(out, schema)
        if res.causes:
            name = str((obj.get("metadata") or {}).get("name", ""))
            raise invalid(rt.kind, rt.group, name, res.causes)
        fields = res.fields
    if not fields or mode == "Ignore":
        return out, []
    named = [u[:300] for u in fields[:MAX_REPORTED]]
    if mode == "Strict":
        more = f", and {len(fields) - len(named)} more" if len(fields) > len(named) else ""
        raise _cannot_handle(rt, f"strict decoding error: {', '.join(named)}{more}")
    return out, named


def _annotations(rt: ResourceType, obj: dict[str, Any]) -> None:
    notes = (obj.get("metadata") or {}).get("annotations")
    if not isinstance(notes, dict):
        return
    total = sum(len(str(k).encode()) + len(str(v).encode()) for k, v in notes.items())
    if total > MAX_ANNOTATIONS_BYTES:
        raise invalid(
            rt.kind,
            rt.group,
            str(obj["metadata"].get("name", "")),
            [("metadata.annotations", f"Too long: must have at most {MAX_ANNOTATIONS_BYTES} bytes")],
        )


def _selectable(crd: dict[str, Any] | None, version: str) -> frozenset[str]:
    for ver in ((crd or {}).get("spec") or {}).get("versions") or []:
        if isinstance(ver, dict) and ver.get("name") == version:
            paths = [f.get("jsonPath") for f in ver.get("selectableFields") or [] if isinstance(f, dict)]
            return frozenset(p.lstrip(".") for p in paths if isinstance(p, str))
    return frozenset()


def check_uid(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
    """A write naming another uid than the stored object's is refused, as a failed precondition."""
    want = (new.get("metadata") or {}).get("uid")
    have = old["metadata"].get("uid")
    if want not in (None, "") and want != have:
        raise conflict(
            rt.plural,
            rt.group,
            str(old["metadata"].get("name", "")),
            f"Precondition failed: UID in precondition: {want}, UID in object meta: {have}",
        )


def check_field_selector(
    rt: ResourceType,
    text: str | None,
    builtin: bool,
    crd_of: Callable[[ResourceType], dict[str, Any] | None],
) -> None:
    """Refuse selectors on fields the kind does not index (400 ``field label not supported``):
    a built-in kind's own, or the ``selectableFields`` of a CRD version."""
    if not text:
        return
    if builtin:
        allowed = _COMMON_FIELDS | _KIND_FIELDS.get(rt.storage_key, frozenset())
    else:
        allowed = _COMMON_FIELDS | _selectable(crd_of(rt), rt.version)
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        label = part.split("!=", 1)[0].split("=", 1)[0].strip()
        if label and label not in allowed:
            raise bad_request(f"field label not supported: {label}")
