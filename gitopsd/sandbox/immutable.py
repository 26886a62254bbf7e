"""What a real API server refuses to change on update, and the Job selector it generates on create.

Each kind's update validation is modelled on its registry strategy in Kubernetes 1.37, with the
messages a real server answers (they are what tools match on to decide a replace is needed):
StatefulSet specs may change only in the fields the apps/v1 strategy allows, Deployment,
ReplicaSet and DaemonSet selectors are frozen, a Job's selector, template and completions are
frozen, a Service's cluster IPs may not change once set, a PVC spec is frozen except
``resources.requests`` and ``volumeAttributesClassName``, and a ConfigMap or Secret marked
``immutable: true`` keeps its data.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import invalid
from .resources import ResourceType

Causes = list[tuple[str, str]]
_SELECTOR_FROZEN = frozenset({"apps/deployments", "apps/replicasets", "apps/daemonsets"})
# The StatefulSet spec fields an update may change, in the order the real message names them.
STATEFULSET_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)
STATEFULSET_FORBIDDEN = (
    "Forbidden: updates to statefulset spec for fields other than "
    + ", ".join(f"'{f}'" for f in STATEFULSET_MUTABLE[:-1])
    + f" and '{STATEFULSET_MUTABLE[-1]}' are forbidden"
)
PVC_FORBIDDEN = (
    "Forbidden: spec is immutable after creation except resources.requests and "
    "volumeAttributesClassName for bound claims"
)
_WHEN_IMMUTABLE = "Forbidden: field is immutable when `immutable` is set"
_JOB_UID_LABELS = ("batch.kubernetes.io/controller-uid", "controller-uid")
_JOB_NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _go_map(labels: Any) -> str:
    items = ", ".join(f'"{k}":"{v}"' for k, v in sorted(_dict(labels).items()))
    return f"map[string]string{{{items}}}"


def label_selector_text(sel: Any) -> str:
    """A LabelSelector as the real message prints it (Go's %#v of v1.LabelSelector)."""
    sel = _dict(sel)
    parts = []
    if sel.get("matchLabels"):
        parts.append(f"MatchLabels:{_go_map(sel['matchLabels'])}")
    if sel.get("matchExpressions"):
        parts.append(f"MatchExpressions:{json.dumps(sel['matchExpressions'], separators=(',', ':'))}")
    return "v1.LabelSelector{" + ", ".join(parts) + "}"


def _shown(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)[:500]


def _without(spec: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k not in fields}


def _pvc_frozen_part(spec: dict[str, Any]) -> dict[str, Any]:
    rest = _without(spec, ("volumeAttributesClassName",))
    resources = {k: v for k, v in _dict(rest.get("resources")).items() if k != "requests"}
    rest["resources"] = resources
    return rest


def check_update(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Raise the real 422 when ``new`` changes what the kind's update strategy forbids."""
    causes: Causes = []
    key = rt.storage_key
    old_spec, new_spec = _dict(old.get("spec")), _dict(new.get("spec"))
    if key == "apps/statefulsets":
        if _without(old_spec, STATEFULSET_MUTABLE) != _without(new_spec, STATEFULSET_MUTABLE):
            causes.append(("spec", STATEFULSET_FORBIDDEN))
    elif key in _SELECTOR_FROZEN and rt.group == "apps":
        if old_spec.get("selector") != new_spec.get("selector"):
            shown = label_selector_text(new_spec.get("selector"))
            causes.append(("spec.selector", f"Invalid value: {shown}: field is immutable"))
    elif key == "batch/jobs":
        if old_spec.get("selector") != new_spec.get("selector"):
            shown = label_selector_text(new_spec.get("selector"))
            causes.append(("spec.selector", f"Invalid value: {shown}: field is immutable"))
        # A suspended Job that never started may change its template (KEP-2926); others may not.
        never_started = old_spec.get("suspend") is True and not _dict(old.get("status")).get("startTime")
        if old_spec.get("template") != new_spec.get("template") and not never_started:
            causes.append(
                ("spec.template", f"Invalid value: {_shown(new_spec.get('template'))}: field is immutable")
            )
        if old_spec.get("completions") != new_spec.get("completions") and not (
            new_spec.get("completionMode") == "Indexed"
            and new_spec.get("completions") == new_spec.get("parallelism")
        ):
            causes.append(
                (
                    "spec.completions",
                    f"Invalid value: {_shown(new_spec.get('completions'))}: field is immutable",
                )
            )
    elif key == "/services":
        old_ips = old_spec.get("clusterIPs") or ([old_spec["clusterIP"]] if old_spec.get("clusterIP") else [])
        new_ip = new_spec.get("clusterIP")
        if old_ips and old_ips[0] not in ("", "None") and new_ip not in (None, "") and new_ip != old_ips[0]:
            # As the real strategy does, a changed clusterIP carries into an unchanged clusterIPs.
            ips = list(new_spec.get("clusterIPs") or [new_ip])
            if ips[0] == old_ips[0]:
                ips[0] = new_ip
            shown = _shown(ips)
            causes.append(("spec.clusterIPs[0]", f"Invalid value: {shown}: may not change once set"))
    elif key in ("/configmaps", "/secrets"):
        if old.get("immutable") is True:
            for field in ("data", "binaryData"):
                if old.get(field) != new.get(field):
                    causes.append((field, _WHEN_IMMUTABLE))
            if new.get("immutable") is not True:
                causes.append(("immutable", _WHEN_IMMUTABLE))
    elif key == "/persistentvolumeclaims":
        if _pvc_frozen_part(old_spec) != _pvc_frozen_part(new_spec):
            causes.append(("spec", PVC_FORBIDDEN))
    if causes:
        raise invalid(rt.kind, rt.group, str(_dict(new.get("metadata")).get("name", "")), causes)


def on_create(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Server-side work of create that needs the new uid: a Job's generated selector and labels."""
    if rt.storage_key != "batch/jobs":
        return
    meta = obj["metadata"]
    spec = obj.setdefault("spec", {})
    template = spec.setdefault("template", {})
    tmeta = template.setdefault("metadata", {})
    if not isinstance(spec, dict) or not isinstance(template, dict) or not isinstance(tmeta, dict):
        return
    if spec.get("manualSelector") is True:
        _check_manual(rt, obj)
        return
    if spec.get("selector") is not None:
        raise invalid(
            rt.kind,
            rt.group,
            str(meta.get("name", "")),
            [
                (
                    "spec.selector",
                    f"Invalid value: {label_selector_text(spec['selector'])}: `selector` not auto-generated",
                )
            ],
        )
    uid, name = meta["uid"], meta["name"]
    labels = dict(_dict(tmeta.get("labels")))
    for label in _JOB_UID_LABELS:
        labels[label] = uid
    for label in _JOB_NAME_LABELS:
        labels[label] = name
    tmeta["labels"] = labels
    spec["selector"] = {"matchLabels": {_JOB_UID_LABELS[0]: uid}}
    if not meta.get("labels"):
        meta["labels"] = dict(labels)  # a Job without labels takes its template's, as defaulting does


def _check_manual(rt: ResourceType, obj: dict[str, Any]) -> None:
    spec = obj["spec"]
    selector = _dict(spec.get("selector"))
    name = str(obj["metadata"].get("name", ""))
    if not selector:
        raise invalid(rt.kind, rt.group, name, [("spec.selector", "Required value")])
    labels = _dict(_dict(spec["template"].get("metadata")).get("labels"))
    wanted = _dict(selector.get("matchLabels"))
    if any(labels.get(k) != v for k, v in wanted.items()):
        raise invalid(
            rt.kind,
            rt.group,
            name,
            [
                (
                    "spec.template.metadata.labels",
                    f"Invalid value: {_go_map(labels)}: `selector` does not match template `labels`",
                )
            ],
        )
