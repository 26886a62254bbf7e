"""Compare normalizes like Argo CD's typed normalization, one YAML fixture per case (fixtures/compare/):
quantities, null vs empty, int-or-string, server-filled list keys and defaults, knownTypeFields,
jqPathExpressions, mutation webhooks and the three-way diff from kubectl's last-applied configuration.

Each fixture holds ``desired`` and ``live`` objects (live gets the app's tracking annotation and namespace),
optional ``options`` and ``expect``: ``KIND/NAME: STATUS`` per resource and an optional ``message``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitopsd.engine.compare import CompareOptions, compare
from gitopsd.engine.desired import prepare
from gitopsd.engine.ignore import IgnoreSet
from gitopsd.engine.live import LiveState
from gitopsd.engine.resources import key_of
from gitopsd.engine.schema import KnownTypeFields
from gitopsd.engine.tracking import with_tracking

FIXTURES = Path(__file__).parent / "fixtures" / "compare"
APP, NS = "shop", "production"
CLUSTER_SCOPED = {"ClusterRole", "Namespace"}


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((FIXTURES / name).read_text())


def run_fixture(case: dict[str, Any], **extra: Any) -> Any:
    opts = case.get("options") or {}
    options = CompareOptions(
        ignore=IgnoreSet.build(opts.get("ignore") or []),
        known_types=KnownTypeFields.parse(opts.get("resource_customizations") or {}),
        **extra,
    )
    prepared = prepare(
        copy.deepcopy(case["desired"]),
        app=APP,
        default_namespace=NS,
        resolve_scope=lambda _v, kind: kind not in CLUSTER_SCOPED,
    )
    objects = {}
    for raw in copy.deepcopy(case["live"]):
        if raw["kind"] not in CLUSTER_SCOPED:
            raw["metadata"]["namespace"] = NS
        key = key_of(raw)
        objects[key] = with_tracking(raw, APP, key)
    return compare(prepared, LiveState(objects=objects), app=APP, client=None, options=options)


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.yaml")))
def test_fixture(name: str) -> None:
    case = load(name)
    result = run_fixture(case)
    expect = dict(case["expect"])
    message = expect.pop("message", None)
    got = {f"{r.key.kind}/{r.key.name}": r for r in result.resources}
    assert {k: got[k].status for k in expect} == expect, result.reason
    if message is not None:
        (differing,) = [r for r in got.values() if r.status != "Synced"]
        assert differing.message == message


def test_strict_comparison_asked_by_the_application_counts_webhook_fields() -> None:
    (r,) = run_fixture(load("mutation-webhook.yaml"), include_mutation_webhook=True).resources
    assert r.status == "OutOfSync"


def test_bad_jq_expression_is_named() -> None:
    rules = IgnoreSet.build(
        [{"kind": "Deployment", "group": "apps", "jqPathExpressions": [".spec.replicas", ".spec.[[["]}]
    )
    (error,) = rules.errors
    assert error.startswith("spec.ignoreDifferences[0].jqPathExpressions[1]: jq path expression '.spec.[[['")
    assert "is not valid" in error
    # An expression cannot close the del( ) it runs in and replace the object with something else.
    (error,) = IgnoreSet.build([{"kind": "ConfigMap", "jqPathExpressions": [".data) | (.metadata"]}]).errors
    assert "is not valid" in error


@pytest.mark.parametrize("expression", ["[range(1e9)]", "def f: f; f", '"x" * 100000000', "$ENV.HOME", "input"])
def test_jq_expressions_that_could_loop_or_read_outside_are_refused(expression: str) -> None:
    (error,) = IgnoreSet.build([{"kind": "ConfigMap", "jqPathExpressions": [expression]}]).errors
    assert "is not allowed here" in error


def test_known_type_fields_config_errors_name_the_key() -> None:
    with pytest.raises(ValueError, match=r"example.com/Widget.*knownTypeFields\[0\].type.*core/v1/NoSuchType"):
        KnownTypeFields.parse(
            {"example.com/Widget": {"knownTypeFields": "- {field: spec.x, type: core/v1/NoSuchType}"}}
        )
