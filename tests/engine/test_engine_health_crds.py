"""Built-in health of the custom resources Argo CD users run (fixtures in fixtures/health, one per kind and
state), their registration by (group, kind) and group suffix, and Lua customizations winning over them."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import yaml

from gitopsd.engine.health import HealthResult, HealthStatus, LuaHealthChecks, assess_health
from gitopsd.engine.health.registry import BUILTIN, GROUP_SUFFIXES

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "health").glob("*.yaml"))

# Kinds whose project has a way to switch them off (suspend, pause): they need a Suspended fixture too.
SUSPENDABLE = {
    ("argoproj.io", "Rollout"),
    ("argoproj.io", "CronWorkflow"),
    ("keda.sh", "ScaledObject"),
    ("keda.sh", "ScaledJob"),
    ("kafka.strimzi.io", "Kafka"),
    ("monitoring.coreos.com", "Prometheus"),
    ("monitoring.coreos.com", "Alertmanager"),
    *{("kustomize.toolkit.fluxcd.io", "Kustomization"), ("helm.toolkit.fluxcd.io", "HelmRelease")},
    *{
        ("source.toolkit.fluxcd.io", k)
        for k in ("GitRepository", "HelmRepository", "OCIRepository", "Bucket")
    },
    ("source.toolkit.fluxcd.io", "HelmChart"),
}


# A schedule is never "in progress": CronWorkflows are Healthy, Suspended or Degraded.
NOT_PROGRESSING = {("argoproj.io", "CronWorkflow")}

# Kinds judged by a group-suffix rule that the issue names: each needs its states too.
SUFFIX_KINDS = {
    ("kustomize.toolkit.fluxcd.io", "Kustomization"),
    ("helm.toolkit.fluxcd.io", "HelmRelease"),
    *{("source.toolkit.fluxcd.io", k) for k in ("GitRepository", "HelmRepository", "OCIRepository")},
    *{("source.toolkit.fluxcd.io", k) for k in ("Bucket", "HelmChart")},
    ("serving.knative.dev", "Service"),
    ("s3.aws.crossplane.io", "Bucket"),
    ("rds.aws.upbound.io", "Instance"),
    ("pkg.crossplane.io", "Provider"),
}


def _states() -> dict[tuple[str, str], set[str]]:
    states: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in FIXTURES:
        doc = yaml.safe_load(path.read_text())
        api_version = doc["object"]["apiVersion"]
        group = api_version.partition("/")[0] if "/" in api_version else ""
        states[(group, doc["object"]["kind"])].add(doc["expected"]["status"])
    return states


def test_every_custom_resource_kind_has_fixtures_for_each_state() -> None:
    states = _states()
    custom = [gk for gk in BUILTIN if "." in gk[0] and not gk[0].endswith("k8s.io")] + sorted(SUFFIX_KINDS)
    assert len(custom) >= 40
    missing = []
    for gk in custom:
        got = states.get(gk, set())
        needed = {"Healthy", "Degraded"} | (set() if gk in NOT_PROGRESSING else {"Progressing"})
        if needed - got:
            missing.append((gk, sorted(needed - got)))
        if gk in SUSPENDABLE and "Suspended" not in got:
            missing.append((gk, "no Suspended fixture"))
    assert missing == []


def test_every_group_suffix_rule_is_exercised_by_fixtures() -> None:
    groups = {group for group, _ in _states()}
    for suffix in GROUP_SUFFIXES:
        assert any(g == suffix or g.endswith("." + suffix) for g in groups), suffix


def test_issue_kinds_are_all_built_in() -> None:
    expected = {
        ("argoproj.io", k) for k in ("Rollout", "AnalysisRun", "Experiment", "Workflow", "CronWorkflow")
    } | {("argoproj.io", "Application"), ("argoproj.io", "ApplicationSet")}
    expected |= {
        ("cert-manager.io", k) for k in ("Certificate", "CertificateRequest", "Issuer", "ClusterIssuer")
    }
    expected |= {
        ("external-secrets.io", k)
        for k in ("ExternalSecret", "SecretStore", "ClusterSecretStore", "PushSecret")
    }
    expected |= {("bitnami.com", "SealedSecret"), ("keda.sh", "ScaledObject"), ("keda.sh", "ScaledJob")}
    expected |= {("kafka.strimzi.io", k) for k in ("Kafka", "KafkaTopic", "KafkaUser")}
    expected |= {("monitoring.coreos.com", k) for k in ("Prometheus", "Alertmanager", "ThanosRuler")}
    assert expected <= set(BUILTIN)
    # Flux, Crossplane and Knative are judged by group suffix: any kind of theirs, listed nowhere.
    for api_version, kind in [
        ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
        ("helm.toolkit.fluxcd.io/v2", "HelmRelease"),
        ("source.toolkit.fluxcd.io/v1", "Bucket"),
        ("ec2.aws.crossplane.io/v1alpha1", "VPCEndpoint"),
        ("pkg.crossplane.io/v1", "Function"),
        ("serving.knative.dev/v1", "Service"),
    ]:
        result = assess_health({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}})
        assert result is not None and result.status is HealthStatus.PROGRESSING, (kind, result)


def test_lookalike_groups_are_not_matched_by_suffix() -> None:
    # "notcrossplane.io" ends in "crossplane.io" but is another project's group.
    obj = {"apiVersion": "notcrossplane.io/v1", "kind": "Bucket", "metadata": {"name": "b"}}
    assert assess_health(obj) is None
    # A kind of a known group that gitopsd has no rule for has no health (does not count).
    assert assess_health({"apiVersion": "cert-manager.io/v1", "kind": "Unknownish", "metadata": {}}) is None


def _fixture(name: str) -> dict:  # type: ignore[type-arg]
    doc = yaml.safe_load((Path(__file__).parent / "fixtures" / "health" / f"{name}.yaml").read_text())
    return doc["object"]  # type: ignore[no-any-return]


def test_user_lua_wins_over_builtin_crd_checks_exact_and_wildcard() -> None:
    certificate = _fixture("certificate-degraded")
    assert assess_health(certificate).status is HealthStatus.DEGRADED  # type: ignore[union-attr]
    checks = LuaHealthChecks({"cert-manager.io/Certificate": 'return {status = "Healthy", message = "mine"}'})
    assert assess_health(certificate, checks) == HealthResult(HealthStatus.HEALTHY, "mine")

    bucket = _fixture("crossplane-managed-degraded")
    wildcard = LuaHealthChecks({"*.crossplane.io/*": 'return {status = "Suspended", message = obj.kind}'})
    assert assess_health(bucket, wildcard) == HealthResult(HealthStatus.SUSPENDED, "Bucket")
    # The wildcard covers Crossplane only: other built-ins still judge their kinds.
    assert assess_health(certificate, wildcard).status is HealthStatus.DEGRADED  # type: ignore[union-attr]
