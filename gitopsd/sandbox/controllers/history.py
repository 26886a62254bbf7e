"""ControllerRevisions: the template history StatefulSets and DaemonSets keep, as the real
controllers' ``history`` package does.

Each revision is a ControllerRevision ``<owner>-<hash>`` owned (``controller: true``) by the set,
with the template's labels plus a hash label, the owner's annotations, a ``revision`` number and
``data`` holding the strategic-merge patch ``{"spec": {"template": {..., "$patch": "replace"}}}``
that ``kubectl rollout undo`` sends back. A template equal to the newest revision reuses it; one
equal to an older revision renumbers that revision to max+1 (a rollback); otherwise a new revision
max+1 is created, bumping ``collisionCount`` while its name is taken by a revision with other data.
Revisions no pod and neither status revision refer to are pruned, oldest first, down to
``revisionHistoryLimit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .common import deep, int_of, owner_ref, template_hash

if TYPE_CHECKING:
    from .manager import Controller

SKEY = "apps/controllerrevisions"
# The StatefulSet history's hash label; the DaemonSet controller labels its revisions with
# controller-revision-hash instead (its DefaultDaemonSetUniqueLabelKey).
STS_HASH_LABEL = "controller.kubernetes.io/hash"
DS_HASH_LABEL = "controller-revision-hash"
_NAME_PREFIX_MAX = 223  # ControllerRevisionName keeps the name a valid DNS subdomain


@dataclass(frozen=True)
class Revisions:
    update: dict[str, Any]
    current: dict[str, Any]
    collision_count: int
    hash: str


def patch_of(owner: dict[str, Any]) -> dict[str, Any]:
    template = deep((owner.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of(revision: dict[str, Any]) -> dict[str, Any]:
    """The pod template a revision records (its patch without the directive)."""
    template = deep((((revision.get("data") or {}).get("spec") or {}).get("template")) or {})
    template.pop("$patch", None)
    return template


def listed(ctl: Controller, owner: dict[str, Any]) -> list[dict[str, Any]]:
    """The owner's revisions, oldest first (SortControllerRevisions: revision, then creation, name)."""
    revs = ctl.owned(owner, SKEY)
    return sorted(
        revs,
        key=lambda r: (
            int_of(r.get("revision"), 0),
            str(r["metadata"].get("creationTimestamp", "")),
            r["metadata"]["name"],
        ),
    )


def _hash_of(revision: dict[str, Any], label: str) -> str:
    return str((revision["metadata"].get("labels") or {}).get(label, ""))


def sync(ctl: Controller, owner: dict[str, Any], kind: str, hash_label: str) -> Revisions | None:
    """Find or make the revision of the owner's current template; None if it could not be stored."""
    meta = owner["metadata"]
    ns = meta.get("namespace", "")
    status = owner.get("status") or {}
    collisions = int_of(status.get("collisionCount"), 0)
    revs = listed(ctl, owner)
    data = patch_of(owner)
    nxt = (int_of(revs[-1].get("revision"), 0) + 1) if revs else 1
    equal = [r for r in revs if r.get("data") == data]
    update: dict[str, Any] | None
    if equal and equal[-1] is revs[-1]:
        update = revs[-1]
    elif equal:
        name = equal[-1]["metadata"]["name"]

        def renumber(o: dict[str, Any]) -> None:
            o["revision"] = nxt

        update = ctl.mutate(SKEY, ns, name, renumber)
    else:
        update = None
        labels = dict(
            ((owner.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
        )
        for _ in range(64):  # each collision changes the hash; bounded all the same
            digest = template_hash(data, collisions)
            name = f"{meta['name'][:_NAME_PREFIX_MAX]}-{digest}"
            taken = ctl.get(SKEY, ns, name)
            if taken is not None:
                if (
                    taken.get("data") == data
                    and (taken["metadata"].get("ownerReferences") or [{}])[0].get("uid") == meta["uid"]
                ):
                    update = taken
                    break
                collisions += 1
                continue
            rev: dict[str, Any] = {
                "apiVersion": "apps/v1",
                "kind": "ControllerRevision",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "labels": {**labels, hash_label: digest},
                    "ownerReferences": [owner_ref("apps/v1", kind, meta)],
                },
                "data": data,
                "revision": nxt,
            }
            if meta.get("annotations"):
                rev["metadata"]["annotations"] = dict(meta["annotations"])
            update = ctl.create(SKEY, ns, rev)
            break
    if update is None:
        return None
    current = update
    wanted = status.get("currentRevision")
    for r in revs:
        if r["metadata"]["name"] == wanted:
            current = r
            break
    return Revisions(update, current, collisions, _hash_of(update, hash_label))


def truncate(ctl: Controller, owner: dict[str, Any], live: set[str]) -> None:
    """Delete the oldest revisions that nothing refers to beyond ``revisionHistoryLimit``."""
    limit = int_of((owner.get("spec") or {}).get("revisionHistoryLimit"), 10)
    history = [r for r in listed(ctl, owner) if r["metadata"]["name"] not in live]
    if limit < 0 or len(history) <= limit:
        return
    ns = owner["metadata"].get("namespace", "")
    for r in history[: len(history) - limit]:
        ctl.delete(SKEY, ns, r["metadata"]["name"])
