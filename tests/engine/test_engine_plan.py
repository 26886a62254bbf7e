"""Sync planning (pure): phases, waves, kind order, unchanged objects, prune rules, shared objects."""

from __future__ import annotations

from typing import Any

from gitopsd.engine.compare import CompareOptions, compare
from gitopsd.engine.desired import prepare
from gitopsd.engine.live import LiveState
from gitopsd.engine.resources import key_of
from gitopsd.engine.sync import SyncOptions, plan_sync
from gitopsd.engine.tracking import with_tracking


def scope(api_version: str, kind: str) -> bool:
    return kind not in {"Namespace", "CustomResourceDefinition", "ClusterRole"}


def cm(
    name: str, annotations: dict[str, str] | None = None, data: dict[str, str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {"k": "v"}}


def tracked_live(obj: dict[str, Any], app: str = "shop") -> dict[str, Any]:
    o = dict(obj, metadata=dict(obj["metadata"], namespace="prod", resourceVersion="1"))
    return with_tracking(o, app, key_of(o))


def plan(desired: list[dict[str, Any]], live: list[dict[str, Any]], **opts: Any):
    prepared = prepare(desired, app="shop", default_namespace="prod", resolve_scope=scope)
    result = compare(
        prepared, LiveState(objects={key_of(o): o for o in live}), app="shop", options=CompareOptions()
    )
    return plan_sync(result, SyncOptions(**opts))


def test_order_phase_wave_kind() -> None:
    desired = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {}},
        cm("late", {"argocd.argoproj.io/sync-wave": "2"}),
        cm("early", {"gitopsd.io/sync-wave": "-1"}),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {}},
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "names": {"kind": "Widget"}, "scope": "Namespaced"},
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "migrate", "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "smoke", "annotations": {"argocd.argoproj.io/hook": "PostSync"}},
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "t", "annotations": {"helm.sh/hook": "test"}},
        },
    ]
    p = plan(desired, [], create_namespace=True, namespace="prod")
    order = [(t.phase, t.wave, t.key.kind, t.key.name, t.action) for t in p.tasks]
    assert order == [
        ("PreSync", -(2**31), "Namespace", "prod", "create-namespace"),
        ("PreSync", 0, "Job", "migrate", "hook"),
        ("Sync", -1, "ConfigMap", "early", "apply"),
        ("Sync", 0, "Namespace", "prod", "apply"),
        ("Sync", 0, "CustomResourceDefinition", "widgets.example.com", "apply"),
        ("Sync", 0, "Service", "web", "apply"),
        ("Sync", 0, "Deployment", "web", "apply"),
        ("Sync", 0, "Widget", "w", "apply"),
        ("Sync", 2, "ConfigMap", "late", "apply"),
        ("PostSync", 0, "Job", "smoke", "hook"),
    ]
    assert [g for g, _ in p.groups()] == [
        ("PreSync", -(2**31)),
        ("PreSync", 0),
        ("Sync", -1),
        ("Sync", 0),
        ("Sync", 2),
        ("PostSync", 0),
    ]


def test_in_sync_objects_are_unchanged_without_request_and_prune_rules() -> None:
    same = cm("same")
    changed = cm("changed", data={"k": "new"})
    live = [
        tracked_live(same),
        tracked_live(cm("changed", data={"k": "old"})),
        tracked_live(cm("gone")),
        tracked_live(cm("keep", {"argocd.argoproj.io/sync-options": "Prune=false"})),
        tracked_live(cm("last", {"gitopsd.io/sync-options": "PruneLast=true"})),
        tracked_live(cm("theirs"), app="other"),
    ]
    without_prune = {t.key.name: (t.action, t.reason) for t in plan([same, changed], live).tasks}
    assert without_prune["same"] == ("unchanged", "unchanged")
    assert without_prune["changed"][0] == "apply"
    assert without_prune["gone"] == ("skip", "ignored (requires pruning)")
    assert without_prune["keep"] == ("skip", "ignored (Prune=false)")
    assert "theirs" not in without_prune
    with_prune = plan([same, changed], live, prune=True).tasks
    names = [(t.key.name, t.action) for t in with_prune]
    assert names[-1] == ("last", "prune")  # PruneLast after everything else
    assert ("gone", "prune") in names and ("keep", "skip") in names
    assert names.index(("gone", "prune")) > names.index(("changed", "apply"))


def test_shared_object_is_refused_and_replace_option() -> None:
    theirs = cm("theirs")
    repl = cm("repl", {"argocd.argoproj.io/sync-options": "Replace=true"})
    tasks = {t.key.name: t for t in plan([theirs, repl], [tracked_live(theirs, app="other")]).tasks}
    assert tasks["theirs"].action == "skip" and tasks["theirs"].skip_status == "SyncFailed"
    assert "part of application other" in tasks["theirs"].reason
    assert tasks["repl"].action == "apply" and tasks["repl"].replace


def test_sync_options_parsing() -> None:
    o = SyncOptions.from_list(
        [
            "CreateNamespace=true",
            "PruneLast=true",
            "Replace=true",
            "ApplyOutOfSyncOnly=false",
            "Validate=false",
            "Bogus=1",
        ],
        prune=True,
    )
    assert (
        o.create_namespace
        and o.prune_last
        and o.replace
        and not o.apply_out_of_sync_only
        and not o.validate
        and o.prune
    )
    assert SyncOptions().server_side_apply and SyncOptions().apply_out_of_sync_only


def test_hook_with_generate_name_gets_a_stable_name() -> None:
    hook = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "migrate-", "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
        "spec": {"template": {"spec": {"restartPolicy": "Never"}}},
    }
    first = [t for t in plan([hook], []).tasks if t.action == "hook"]
    again = [t for t in plan([hook], []).tasks if t.action == "hook"]
    assert (
        len(first) == 1
        and first[0].key.name.startswith("migrate-")
        and len(first[0].key.name) == len("migrate-") + 5
    )
    assert first[0].key == again[0].key
    plain = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "x-"}}
    prepared = prepare([plain], app="shop", default_namespace="prod", resolve_scope=scope)
    assert prepared.errors and "has no metadata.name" in prepared.errors[0].message
