"""Resource customizations as Argo CD users keep them: a resource_customizations/GROUP/KIND/health.lua tree, an
argocd-cm data block (per-kind keys and the nested resource.customizations block), gitopsd's own key; their
precedence, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gitopsd.engine.health import HealthResult, HealthStatus, LuaHealthChecks, assess_health
from gitopsd.server.config import ConfigError, customizations_of, load_config


def _script(status: str, message: str) -> str:
    return f'hs = {{}}\nhs.status = "{status}"\nhs.message = "{message}"\nreturn hs\n'


CERTIFICATE = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "Certificate",
    "metadata": {"name": "web-tls"},
    "status": {"conditions": [{"type": "Ready", "status": "False", "message": "expired"}]},
}


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _config(tmp_path: Path, data: dict[str, object], environ: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    path = tmp_path / "gitopsd.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config(str(path), environ=environ or {})


def test_argo_cd_customizations_tree_is_loaded_and_actions_are_named_as_ignored(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "resource_customizations",
        {
            "cert-manager.io/Certificate/health.lua": _script("Healthy", "from the tree"),
            "cert-manager.io/Certificate/health_test.yaml": "tests: []\n",
            "example.com/Widget/health.lua": _script("Suspended", "widget"),
            "argoproj.io/Rollout/actions/restart/action.lua": "return obj\n",
            "argoproj.io/Rollout/actions/action_test.yaml": "discoveryTests: []\n",
        },
    )
    config = _config(tmp_path, {"resource_customizations_dir": str(root)})
    merged = customizations_of(config)
    assert sorted(merged.health_scripts()) == ["cert-manager.io/Certificate", "example.com/Widget"]
    assert merged.notes == [
        "resource_customizations_dir: actions of argoproj.io/Rollout ignored (gitopsd runs no resource actions)"
    ]
    # The user's script wins over the built-in cert-manager check (which says Degraded here).
    assert assess_health(CERTIFICATE).status is HealthStatus.DEGRADED  # type: ignore[union-attr]
    checks = LuaHealthChecks(merged.health_scripts())
    assert assess_health(CERTIFICATE, checks) == HealthResult(HealthStatus.HEALTHY, "from the tree")


def test_argocd_cm_block_per_kind_keys_nested_block_and_wildcards(tmp_path: Path) -> None:
    argocd_cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-cm", "namespace": "argocd"},
        "data": {
            "url": "https://argocd.example.com",
            "resource.customizations.health.cert-manager.io_Certificate": _script("Healthy", "per-kind key"),
            "resource.customizations.knownTypeFields.example.com_Widget": (
                "- field: spec.podTemplate\n  type: core/v1/PodTemplateSpec\n"
            ),
            "resource.customizations.actions.argoproj.io_Rollout": "discovery.lua: return {}\n",
            "resource.customizations": yaml.safe_dump(
                {
                    "*.crossplane.io/*": {"health.lua": _script("Healthy", "any crossplane")},
                    "cert-manager.io/Certificate": {"health.lua": _script("Degraded", "nested, overridden")},
                    "example.com/Widget": {"ignoreDifferences": "jsonPointers: [/spec/x]"},
                }
            ),
        },
    }
    merged = customizations_of(_config(tmp_path, {"argocd_cm": argocd_cm}))
    scripts = merged.health_scripts()
    assert sorted(scripts) == ["*.crossplane.io/*", "cert-manager.io/Certificate"]
    checks = LuaHealthChecks(scripts)
    # The per-kind key overrides the nested block, as in Argo CD.
    assert assess_health(CERTIFICATE, checks) == HealthResult(HealthStatus.HEALTHY, "per-kind key")
    bucket = {"apiVersion": "s3.aws.crossplane.io/v1beta1", "kind": "Bucket", "metadata": {"name": "b"}}
    assert assess_health(bucket, checks) == HealthResult(HealthStatus.HEALTHY, "any crossplane")
    assert "knownTypeFields" in merged.by_kind["example.com/Widget"]
    assert merged.notes == [
        "argocd_cm: 'resource.customizations'['example.com/Widget'].ignoreDifferences ignored (not used by gitopsd)",
        "argocd_cm: 'resource.customizations.actions.argoproj.io_Rollout' ignored (not used by gitopsd's health checks)",
        "argocd_cm: keys ignored (not resource customizations): url",
    ]


def test_precedence_tree_then_argocd_cm_then_own_key(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "rc",
        {
            "example.com/A/health.lua": _script("Healthy", "tree"),
            "example.com/B/health.lua": _script("Healthy", "tree"),
            "example.com/C/health.lua": _script("Healthy", "tree"),
        },
    )
    config = _config(
        tmp_path,
        {
            "resource_customizations_dir": str(root),
            "argocd_cm": {
                "resource.customizations.health.example.com_B": _script("Healthy", "argocd-cm"),
                "resource.customizations.health.example.com_C": _script("Healthy", "argocd-cm"),
            },
            "resource_customizations": {"example.com/C": {"health.lua": _script("Healthy", "own")}},
        },
    )
    checks = LuaHealthChecks(customizations_of(config).health_scripts())
    for kind, expected in (("A", "tree"), ("B", "argocd-cm"), ("C", "own")):
        obj = {"apiVersion": "example.com/v1", "kind": kind, "metadata": {"name": "x"}}
        assert assess_health(obj, checks) == HealthResult(HealthStatus.HEALTHY, expected)


def test_argocd_cm_core_kind_key_is_the_kind_alone(tmp_path: Path) -> None:
    config = _config(
        tmp_path, {"argocd_cm": {"resource.customizations.health.Service": _script("Suspended", "core")}}
    )
    checks = LuaHealthChecks(customizations_of(config).health_scripts())
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"type": "ClusterIP"},
    }
    assert assess_health(service, checks) == HealthResult(HealthStatus.SUSPENDED, "core")


def test_argocd_cm_from_the_environment_as_yaml(tmp_path: Path) -> None:
    env = {
        "GITOPSD_ARGOCD_CM": "resource.customizations.health.example.com_Widget: 'return {status=\"Healthy\"}'"
    }
    config = load_config(None, environ=env)
    assert list(customizations_of(config).health_scripts()) == ["example.com/Widget"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"resource_customizations_dir": "/nonexistent/rc"},
            "resource_customizations_dir: '/nonexistent/rc' is not a directory",
        ),
        (
            {"argocd_cm": {"resource.customizations.health.a_b_Certificate": "return {}"}},
            "argocd_cm: 'resource.customizations.health.a_b_Certificate': expected ...GROUP_KIND or ...KIND",
        ),
        (
            {"argocd_cm": {"resource.customizations": "a: [unclosed"}},
            "argocd_cm: 'resource.customizations' is not valid YAML",
        ),
        (
            {"argocd_cm": {"resource.customizations.health.example.com_W": {"not": "a string"}}},
            "argocd_cm: 'resource.customizations.health.example.com_W': expected a string",
        ),
        (
            {
                "argocd_cm": {
                    "resource.customizations.knownTypeFields.example.com_W": "- {field: spec.t, type: core/v1/Nope}"
                }
            },
            "resource_customizations['example.com/W'].knownTypeFields[0].type",
        ),
        ({"argocd_cm": "- a list"}, "argocd_cm: expected a mapping"),
        (
            {
                "resource_customizations": {
                    "*.crossplane.io/*": {"knownTypeFields": "- {field: spec.t, type: core/v1/PodSpec}"}
                }
            },
            "resource_customizations['*.crossplane.io/*'].knownTypeFields: wildcards work for health.lua only",
        ),
    ],
)
def test_bad_customizations_name_the_key(tmp_path: Path, data: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        _config(tmp_path, data)
    assert expected in str(err.value)


def test_oversized_script_in_the_tree_is_refused(tmp_path: Path) -> None:
    root = _tree(tmp_path / "rc", {"example.com/W/health.lua": "-- " + "x" * (1024 * 1024)})
    with pytest.raises(ConfigError) as err:
        _config(tmp_path, {"resource_customizations_dir": str(root)})
    assert "health.lua is 1048579 bytes (at most 1048576)" in str(err.value)
