"""Server-side apply of the ``/scale`` subresource (an ``autoscaling/v1`` Scale object).

As on a real API server, the applied Scale's ``spec.replicas`` is applied to the parent object's
replicas field under the manager's ``Apply`` entry with ``subresource: scale``: a manager that
owned the replicas through the main resource conflicts (unless forced, which moves ownership).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import ssa
from .apitypes import Reply, Request, now_iso, set_dig
from .bodies import decode_object
from .errors import bad_request, invalid, not_found
from .store import encode

if TYPE_CHECKING:
    from .api_writes import ApiWrites  # which imports this module


def apply_scale(api: ApiWrites, req: Request) -> Reply:
    rt = req.rt
    assert req.name is not None
    applied = decode_object(req.body, yaml_ok=True)
    if applied.get("kind") != "Scale" or applied.get("apiVersion") not in ("autoscaling/v1", None):
        raise bad_request(
            f"the kind in the data ({applied.get('kind')}) does not match the expected kind (Scale)"
        )
    replicas = (applied.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise invalid("Scale", "autoscaling", req.name, [("spec.replicas", "must be a non-negative integer")])
    with api.store.lock:
        old = api.store.get(rt.storage_key, api._ns_key(rt, req.namespace), req.name)
        if old is None:
            raise not_found(rt.plural, rt.group, req.name)
        api._check_rv(req, old, applied)
        parent: dict[str, Any] = {"apiVersion": rt.group_version, "kind": rt.kind, "metadata": {}}
        set_dig(parent, rt.scale_paths[0], replicas)
        new = ssa.server_side_apply(
            json.loads(old.raw),
            parent,
            req.manager,
            req.query.get("force") == "true",
            rt.group_version,
            now_iso(),
            "scale",
        )
        result, _ = api._finish(req, old, new, "scale")
    obj = result.obj if not isinstance(result, dict) else result
    return Reply(200, encode(api._scale_of(rt, obj)))
