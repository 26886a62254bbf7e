"""One live resource of an application: found among the application's tree (a managed object or
something one owns), read with Secret values masked, patched, deleted. Nothing outside the tree is
reachable through these calls: an application's rights never reach another's objects."""

from __future__ import annotations

import json
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app.cachedclient import CachedKubeClient
from gitopsd.app.errors import InvalidArgument, NotFound
from gitopsd.app.resources.tree import LiveObject, descendants, managed_live
from gitopsd.engine.normalize import mask_secrets

PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}
MAX_PATCH_BYTES = 1024 * 1024
# The field manager of patches made through the API (not "gitopsd", the syncs' own).
PATCH_MANAGER = "gitopsd-patch"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def find(
    client: CachedKubeClient, app: apppb.Application, group: str, kind: str, namespace: str, name: str
) -> LiveObject:
    """The live object (group, kind, namespace, name) of the application's tree; NotFound otherwise."""
    if not kind or not name:
        raise InvalidArgument("kind and resourceName are required")
    for item in descendants(client, managed_live(client, app)):
        k = item.key
        if (k.group, k.kind, k.name) == (group, kind, name) and (not namespace or k.namespace == namespace):
            return item
    where = f"{namespace}/{name}" if namespace else name
    raise NotFound(
        f"{kind} {where}{f' ({group})' if group else ''} is not a live resource of application "
        f"{app.metadata.name!r} (see gitopsd app resources {app.metadata.name})"
    )


def manifest_of(obj: dict[str, Any]) -> str:
    """The object as JSON for an API answer: a Secret's values masked, its last-applied copy dropped."""
    if obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1":
        masked, _ = mask_secrets(obj, None)
        out = dict(masked or {})
        meta = dict(out.get("metadata") or {})
        annotations = dict(meta.get("annotations") or {})
        if LAST_APPLIED in annotations:
            annotations[LAST_APPLIED] = "<masked>"  # it holds the Secret's data in clear
            meta["annotations"] = annotations
            out["metadata"] = meta
        obj = out
    return json.dumps(obj, sort_keys=True)


def patch_content_type(patch_type: str) -> str:
    wanted = patch_type or "merge"
    if wanted in PATCH_TYPES:
        return PATCH_TYPES[wanted]
    if wanted in PATCH_TYPES.values():
        return wanted
    raise InvalidArgument(
        f"patchType: {patch_type!r} is not one of merge, json, strategic (or their media types)"
    )


def check_patch(patch: str, content_type: str) -> bytes:
    """The patch as bytes, after checking its size and JSON shape (the server checks the rest)."""
    raw = patch.encode()
    if len(raw) > MAX_PATCH_BYTES:
        raise InvalidArgument(f"patch: {len(raw)} bytes is over the {MAX_PATCH_BYTES}-byte limit")
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise InvalidArgument(f"patch: not JSON ({exc})") from None
    if content_type == PATCH_TYPES["json"]:
        if not isinstance(doc, list):
            raise InvalidArgument("patch: a JSON patch is a list of operations")
    elif not isinstance(doc, dict):
        raise InvalidArgument("patch: a merge patch is a JSON object")
    return raw


def patch(client: CachedKubeClient, item: LiveObject, patch_text: str, patch_type: str) -> dict[str, Any]:
    content_type = patch_content_type(patch_type)
    body = check_patch(patch_text, content_type)
    k = item.key
    return client.patch(
        k.api_version, k.kind, k.name, k.namespace or None, body, content_type, field_manager=PATCH_MANAGER
    )


def delete(client: CachedKubeClient, item: LiveObject, force: bool, orphan: bool) -> None:
    k = item.key
    client.delete(
        k.api_version,
        k.kind,
        k.name,
        k.namespace or None,
        propagation="Orphan" if orphan else "Foreground",
        grace_period=0 if force else None,
    )
