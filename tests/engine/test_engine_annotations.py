"""Annotations: hooks (ours, Argo CD's, Helm's), waves, sync options, misspelled keys; tracking ids; ordering."""

from __future__ import annotations

import pytest

from gitopsd.engine.annotations import (
    hook_info,
    misspelled_keys,
    misspelling_warnings,
    sync_options,
    sync_wave,
)
from gitopsd.engine.resources import ManifestError, ResourceKey, key_of, kind_rank
from gitopsd.engine.tracking import build_tracking_id, owner_app, parse_tracking_id


def obj(annotations: dict[str, str], kind: str = "Job") -> dict:
    return {"apiVersion": "batch/v1", "kind": kind, "metadata": {"name": "x", "annotations": annotations}}


def test_hook_under_both_prefixes() -> None:
    argo = hook_info(
        obj({"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "HookSucceeded"})
    )
    assert argo.types == ("PreSync",) and argo.delete_policies == ("HookSucceeded",) and argo.is_hook
    ours = hook_info(obj({"gitopsd.io/hook": "PostSync,SyncFail", "gitopsd.io/sync-wave": "-2"}))
    assert ours.types == ("PostSync", "SyncFail")
    assert ours.delete_policies == ("BeforeHookCreation",)  # the default, as in Argo CD
    assert ours.wave == -2
    plain = hook_info(obj({}))
    assert not plain.is_hook and plain.wave == 0


def test_helm_hooks_are_mapped_like_argo_cd() -> None:
    pre = hook_info(
        obj(
            {
                "helm.sh/hook": "pre-install,pre-upgrade",
                "helm.sh/hook-weight": "-5",
                "helm.sh/hook-delete-policy": "hook-succeeded,before-hook-creation",
            }
        )
    )
    assert pre.types == ("PreSync",) and pre.wave == -5
    assert pre.delete_policies == ("HookSucceeded", "BeforeHookCreation")
    post = hook_info(obj({"helm.sh/hook": "post-install", "helm.sh/hook-delete-policy": "hook-failed"}))
    assert post.types == ("PostSync",) and post.delete_policies == ("HookFailed",)
    test = hook_info(obj({"helm.sh/hook": "test"}, kind="Pod"))
    assert test.skip and not test.is_hook and test.helm_test
    # Our own annotation wins over Helm's.
    both = hook_info(obj({"helm.sh/hook": "post-install", "argocd.argoproj.io/hook": "Sync"}))
    assert both.types == ("Sync",)


def test_wave_and_options() -> None:
    assert sync_wave(obj({"argocd.argoproj.io/sync-wave": "5"})) == 5
    assert sync_wave(obj({"argocd.argoproj.io/sync-wave": "five"})) == 0
    # As Argo CD: helm.sh/hook-weight is the wave of any object without a usable sync-wave, hook or not.
    assert sync_wave(obj({"helm.sh/hook-weight": "3"})) == 3
    assert sync_wave(obj({"helm.sh/hook-weight": "3", "argocd.argoproj.io/sync-wave": "-2"})) == -2
    assert sync_wave(obj({"helm.sh/hook-weight": "-4", "argocd.argoproj.io/sync-wave": "five"})) == -4
    assert sync_wave(obj({"helm.sh/hook-weight": " 7"})) == 0  # strconv.Atoi takes no blanks
    opts = sync_options(obj({"argocd.argoproj.io/sync-options": "Prune=false, Replace=true"}))
    assert opts == {"Prune": "false", "Replace": "true"}
    assert sync_options(
        obj({"gitopsd.io/sync-options": "PruneLast=true", "argocd.argoproj.io/sync-options": "Prune=false"})
    ) == {"PruneLast": "true"}


def test_misspelled_hook_key_from_the_seed_article_is_detected() -> None:
    o = obj(
        {
            "argocp.argoproj.io/hook": "PreSync",
            "app.kubernetes.io/name": "x",
            "argocd.argoproj.io/hook": "Sync",
        }
    )
    assert misspelled_keys(o) == [("argocp.argoproj.io/hook", "argocd.argoproj.io/hook")]
    warnings = misspelling_warnings(o, "Job default/x")
    assert warnings == [
        'Job default/x: annotation "argocp.argoproj.io/hook" looks like a misspelling of "argocd.argoproj.io/hook"; it is ignored'
    ]
    for key in (
        "gitopsd.io/sync-wav",
        "argocd.argoproj.io/Sync-Options",
        "gitopsd.io/hooks",
        "argocd.argoprj.io/sync-wave",
    ):
        assert misspelled_keys(obj({key: "1"})), key
    for key in (
        "argocd.argoproj.io/instance",
        "helm.sh/hook",
        "gitopsd.io/tracking-id",
        "kubernetes.io/description",
    ):
        assert misspelled_keys(obj({key: "1"})) == [], key


def test_tracking_id_roundtrip_and_copied_ids_do_not_count() -> None:
    key = ResourceKey("apps", "Deployment", "prod", "web", "v1")
    value = build_tracking_id("shop", key)
    assert value == "shop:apps/Deployment:prod/web"
    tid = parse_tracking_id(value)
    assert tid is not None and tid.app == "shop" and tid.matches(key)
    core = build_tracking_id("shop", ResourceKey("", "Namespace", "", "prod", "v1"))
    assert core == "shop:/Namespace:/prod"
    assert parse_tracking_id(core) is not None
    for bad in ("", "shop", "shop:apps/Deployment", "shop:Deployment:prod/web", ":apps/Deployment:prod/web"):
        assert parse_tracking_id(bad) is None, bad
    live = {"metadata": {"annotations": {"gitopsd.io/tracking-id": value}}}
    assert owner_app(live, key) == "shop"
    # Same annotation copied onto another object does not make it ours.
    assert owner_app(live, ResourceKey("apps", "Deployment", "prod", "other", "v1")) is None


def test_key_of_names_what_is_missing() -> None:
    with pytest.raises(ManifestError, match="has no apiVersion"):
        key_of({"kind": "ConfigMap", "metadata": {"name": "c"}})
    with pytest.raises(ManifestError, match=r"\(kind ConfigMap\) has no metadata.name"):
        key_of({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})
    with pytest.raises(ManifestError, match="not a mapping"):
        key_of(["not", "an", "object"])  # type: ignore[arg-type]
    key = key_of({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w", "namespace": "p"}})
    assert (key.group, key.version, key.kind, key.namespace, key.name) == (
        "apps",
        "v1",
        "Deployment",
        "p",
        "w",
    )


def test_kind_order_follows_argo_cd() -> None:
    kinds = [
        "Deployment",
        "Widget",
        "Service",
        "ConfigMap",
        "CustomResourceDefinition",
        "Namespace",
        "Secret",
        "Ingress",
    ]
    ordered = sorted(kinds, key=kind_rank)
    assert ordered == [
        "Namespace",
        "Secret",
        "ConfigMap",
        "CustomResourceDefinition",
        "Service",
        "Deployment",
        "Ingress",
        "Widget",
    ]
