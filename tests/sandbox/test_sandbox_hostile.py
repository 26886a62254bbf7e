"""Hostile or mistaken request bodies get clear 4xx Status errors, never a 500 or a stored mess."""

from __future__ import annotations

import json

import pytest

C = "/api/v1/namespaces/default/configmaps"
D = "/apis/apps/v1/namespaces/default/deployments"
S = "/api/v1/namespaces/default/services"


def _j(value: object) -> bytes:
    return json.dumps(value).encode()


CASES = [
    ("POST", C, b"[" * 50000 + b"]" * 50000, "application/json", 400),
    ("POST", C, _j({"metadata": {"name": "a", "labels": ["x"]}}), "application/json", 422),
    # Values of the wrong JSON type fail decoding into the kind's Go type: 400, as a real server.
    ("POST", C, _j({"metadata": {"name": "a"}, "data": "str"}), "application/json", 400),
    ("POST", C, _j({"kind": "Secret", "metadata": {"name": "a"}}), "application/json", 400),
    ("POST", D, _j({"metadata": {"name": "d"}, "spec": "x"}), "application/json", 400),
    (
        "POST",
        D,
        _j(
            {
                "metadata": {"name": "d"},
                "spec": {"selector": {"matchLabels": "x"}, "template": {"spec": {"containers": ["x"]}}},
            }
        ),
        "application/json",
        400,
    ),
    ("POST", S, _j({"metadata": {"name": "s"}, "spec": {"ports": [{"port": [1]}]}}), "application/json", 400),
    (
        "PATCH",
        C + "/ok",
        _j([{"op": "move", "from": "/nope", "path": "/data/x"}]),
        "application/json-patch+json",
        422,
    ),
    ("PATCH", C + "/ok", _j([{"op": "replace", "path": "", "value": 5}]), "application/json-patch+json", 400),
    ("PATCH", C + "/ok", _j({"metadata": {"name": "other"}}), "application/merge-patch+json", 400),
    ("PATCH", C + "/ok?fieldManager=x", b"- a\n- b\n", "application/apply-patch+yaml", 400),
    (
        "PATCH",
        C + "/ok?fieldManager=x",
        b"!!python/object/apply:os.system ['true']",
        "application/apply-patch+yaml",
        400,
    ),
    ("PATCH", C + "/ok", b"{}", "application/apply-patch+yaml", 400),  # no fieldManager
    ("GET", C + "?limit=-1", b"", "", 400),
    ("GET", C + "?continue=garbage", b"", "", 400),
    ("GET", C + "?labelSelector=a%20in%20", b"", "", 400),
    ("DELETE", C + "/ok", _j({"propagationPolicy": "Sideways"}), "application/json", 400),
    ("POST", C, b"k8s\x00\xff\xff\xff", "application/vnd.kubernetes.protobuf", 415),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "ctype", "code"), CASES, ids=[f"{c[0]}-{n}" for n, c in enumerate(CASES)]
)
def test_bad_requests_get_status_errors(
    raw, method: str, path: str, body: bytes, ctype: str, code: int
) -> None:
    raw(
        "POST",
        C,
        body=_j({"metadata": {"name": "ok"}, "data": {"a": "1"}}),
        headers={"Content-Type": "application/json"},
    )
    got, headers, out = raw(method, path, body=body or None, headers={"Content-Type": ctype} if ctype else {})
    assert got == code, out[:300]
    status = json.loads(out)
    assert status["kind"] == "Status" and status["code"] == code and status["message"]
    # The object the bad request aimed at is untouched.
    _, _, after = raw("GET", C + "/ok")
    assert json.loads(after)["data"] == {"a": "1"}
