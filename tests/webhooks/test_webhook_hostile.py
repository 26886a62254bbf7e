"""Hostile webhook requests: bodies over the limit (announced, lying, chunked, unannounced),
payloads of every malformed shape, unknown providers and slow clients. Each gets a clear status,
and the daemon goes on serving the next request."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from webhooks.hookenv import HookEnv
from webhooks.payloads import Repo, auth_headers, event_headers, get, post, push_body, raw_exchange

LIMIT = 1024 * 1024  # the default webhook.max_body_bytes


def _signed(env: HookEnv, provider: str, body: bytes, event: str = "push") -> dict[str, str]:
    return {**event_headers(provider, event), **auth_headers(provider, env.secrets[provider], body)}


def _head(env: HookEnv, headers: dict[str, str]) -> bytes:
    lines = ["POST /api/webhook HTTP/1.1", f"Host: {env.http}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _still_serving(env: HookEnv) -> None:
    assert get(env.http, "/healthz") == (200, "ok\n")
    body = json.dumps({"zen": "still here"}).encode()
    reply = post(env.http, _signed(env, "github", body, "ping"), body)
    assert reply.status == 200 and reply.body["message"] == "pong"
    env.assert_no_secret_logged()


def _no_crash_logged(env: HookEnv) -> None:
    log = env.daemon.log()
    assert "http request failed" not in log and "Traceback" not in log
    env.assert_no_secret_logged()


def test_announced_body_over_the_limit_is_refused_before_it_is_sent(hook_env: HookEnv) -> None:
    # Only the headers are sent: the answer cannot have waited for the body.
    head = _head(hook_env, {**event_headers("github"), "Content-Length": str(LIMIT + 1)})
    assert raw_exchange(hook_env.http, head) == 413
    # The same through an ordinary client that sends the whole body.
    big = b'{"pad": "' + b"x" * LIMIT + b'"}'
    assert post(hook_env.http, _signed(hook_env, "github", big), big).status == 413
    _still_serving(hook_env)


def test_lying_content_length_larger_than_the_body_is_refused(hook_env: HookEnv) -> None:
    # 10 bytes announced as 10 GiB: refused at once, nothing waited for.
    head = _head(hook_env, {**event_headers("gitlab"), "Content-Length": str(10 * 1024**3)})
    assert raw_exchange(hook_env.http, head, [b"{}" * 5]) == 413
    # Under the limit but longer than what arrives before the client stops sending: 400.
    head = _head(hook_env, {**event_headers("gitlab"), "Content-Length": "100"})
    assert raw_exchange(hook_env.http, head, [b'{"a": 1}'], half_close=True) == 400
    _still_serving(hook_env)


def test_lying_content_length_smaller_than_the_body_reads_no_further(hook_env: HookEnv) -> None:
    # Only the announced 10 bytes are read (not JSON on their own); the rest is not taken for
    # another request, and the daemon is not stuck reading it.
    body = json.dumps(push_body("github", Repo("x"), "refs/heads/main")).encode() + b" " * (2 * LIMIT)
    # Signed as what is read, so the answer is about the payload, not the signature.
    head = _head(hook_env, {**_signed(hook_env, "github", body[:10]), "Content-Length": "10"})
    assert raw_exchange(hook_env.http, head, [body]) == 400
    _still_serving(hook_env)


def test_chunked_body_over_the_limit_is_refused_while_reading(hook_env: HookEnv) -> None:
    chunk = b"x" * 65536
    parts = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * (LIMIT // len(chunk) + 1) + [b"0\r\n\r\n"]
    head = _head(hook_env, {**event_headers("github"), "Transfer-Encoding": "chunked"})
    assert raw_exchange(hook_env.http, head, parts) == 413
    _still_serving(hook_env)


def test_chunked_body_under_the_limit_is_accepted(hook_env: HookEnv) -> None:
    body = json.dumps({"zen": "chunked"}).encode()
    parts = [
        b"%x\r\n%s\r\n" % (len(body[:5]), body[:5]),
        b"%x\r\n%s\r\n" % (len(body[5:]), body[5:]),
        b"0\r\n\r\n",
    ]
    head = _head(hook_env, {**_signed(hook_env, "github", body, "ping"), "Transfer-Encoding": "chunked"})
    assert raw_exchange(hook_env.http, head, parts) == 200


def test_body_without_length_is_refused_whatever_follows(hook_env: HookEnv) -> None:
    # HTTP/1.1 gives a request with neither Content-Length nor chunked encoding no body: what the
    # client sends after the head (here more than the limit) is never taken as the payload.
    head = _head(hook_env, {**event_headers("bitbucketserver"), "Connection": "close"})
    assert raw_exchange(hook_env.http, head, [b" " * (LIMIT + 1)]) == 411
    _still_serving(hook_env)


def test_body_at_the_limit_is_accepted(hook_env: HookEnv) -> None:
    body = json.dumps({"zen": "x"}).encode()
    body = body[:-1] + b" " * (LIMIT - len(body)) + b"}"
    assert len(body) == LIMIT
    reply = post(hook_env.http, _signed(hook_env, "github", body, "ping"), body)
    assert reply.status == 200, reply.body


def _push(provider: str, **override: Any) -> dict[str, Any]:
    body = push_body(provider, Repo("shape"), "refs/heads/main")
    body.update(override)
    return body


MALFORMED: list[tuple[str, str, bytes]] = [
    ("github", "not JSON", b"this is not json"),
    ("github", "empty body", b""),
    ("github", "form encoded", b"payload=%7B%22ref%22%3A1%7D"),
    ("github", "invalid UTF-8", b'{"ref": "\xff\xfe"}'),
    ("github", "deeply nested", b"[" * 100000 + b"]" * 100000),
    ("github", "array", b"[]"),
    ("github", "null", b"null"),
    ("github", "string", b'"push"'),
    ("github", "number", b"42"),
    ("github", "ref null", json.dumps(_push("github", ref=None)).encode()),
    ("github", "ref number", json.dumps(_push("github", ref=7)).encode()),
    ("github", "ref not a ref", json.dumps(_push("github", ref="main")).encode()),
    ("github", "ref empty branch", json.dumps(_push("github", ref="refs/heads/")).encode()),
    ("github", "repository missing", json.dumps({"ref": "refs/heads/main"}).encode()),
    ("github", "repository null", json.dumps(_push("github", repository=None)).encode()),
    ("github", "repository array", json.dumps(_push("github", repository=[])).encode()),
    (
        "github",
        "URLs of wrong types",
        json.dumps(_push("github", repository={"html_url": None, "clone_url": 7})).encode(),
    ),
    ("gitea", "repository a string", json.dumps(_push("gitea", repository="org/repo")).encode()),
    ("gogs", "URLs empty", json.dumps(_push("gogs", repository={"html_url": "", "ssh_url": " "})).encode()),
    ("gitlab", "project null", json.dumps(_push("gitlab", project=None)).encode()),
    ("gitlab", "project URLs arrays", json.dumps(_push("gitlab", project={"web_url": ["x"]})).encode()),
    ("gitlab", "ref object", json.dumps(_push("gitlab", ref={"name": "main"})).encode()),
    ("bitbucket", "changes empty", json.dumps(_push("bitbucket", push={"changes": []})).encode()),
    ("bitbucket", "changes null", json.dumps(_push("bitbucket", push={"changes": None})).encode()),
    ("bitbucket", "push missing", json.dumps({"repository": _push("bitbucket")["repository"]}).encode()),
    ("bitbucket", "change null", json.dumps(_push("bitbucket", push={"changes": [None]})).encode()),
    (
        "bitbucket",
        "new and old null",
        json.dumps(_push("bitbucket", push={"changes": [{"new": None, "old": None}]})).encode(),
    ),
    (
        "bitbucket",
        "name missing",
        json.dumps(_push("bitbucket", push={"changes": [{"new": {"type": "branch"}}]})).encode(),
    ),
    (
        "bitbucket",
        "odd type",
        json.dumps(_push("bitbucket", push={"changes": [{"new": {"type": 3, "name": "x"}}]})).encode(),
    ),
    (
        "bitbucket",
        "too many changes",
        json.dumps(
            _push("bitbucket", push={"changes": [{"new": {"type": "branch", "name": "b"}}] * 1001})
        ).encode(),
    ),
    ("bitbucket", "links missing", json.dumps(_push("bitbucket", repository={"full_name": "a/b"})).encode()),
    (
        "bitbucket",
        "href null",
        json.dumps(_push("bitbucket", repository={"links": {"html": {"href": None}}})).encode(),
    ),
    ("bitbucketserver", "changes empty", json.dumps(_push("bitbucketserver", changes=[])).encode()),
    (
        "bitbucketserver",
        "ref id number",
        json.dumps(_push("bitbucketserver", changes=[{"ref": {"id": 5}}])).encode(),
    ),
    (
        "bitbucketserver",
        "clone links empty",
        json.dumps(_push("bitbucketserver", repository={"links": {"clone": []}})).encode(),
    ),
    (
        "bitbucketserver",
        "clone href null",
        json.dumps(_push("bitbucketserver", repository={"links": {"clone": [{"href": None}]}})).encode(),
    ),
    ("azuredevops", "resource null", json.dumps({"eventType": "git.push", "resource": None}).encode()),
    (
        "azuredevops",
        "refUpdates empty",
        json.dumps(
            {
                "eventType": "git.push",
                "resource": {"refUpdates": [], "repository": {"remoteUrl": "https://h/r"}},
            }
        ).encode(),
    ),
    (
        "azuredevops",
        "refUpdate name null",
        json.dumps(
            {
                "eventType": "git.push",
                "resource": {"refUpdates": [{"name": None}], "repository": {"remoteUrl": "https://h/r"}},
            }
        ).encode(),
    ),
    (
        "azuredevops",
        "repository without URLs",
        json.dumps(
            {
                "eventType": "git.push",
                "resource": {"refUpdates": [{"name": "refs/heads/main"}], "repository": {}},
            }
        ).encode(),
    ),
]


@pytest.mark.parametrize(("provider", "shape", "body"), MALFORMED, ids=[f"{p}-{s}" for p, s, _ in MALFORMED])
def test_malformed_payload_gets_400_and_the_daemon_serves_on(
    hook_env: HookEnv, provider: str, shape: str, body: bytes
) -> None:
    reply = post(hook_env.http, _signed(hook_env, provider, body), body)
    assert reply.status == 400, (shape, reply.body)
    assert reply.body["message"]  # says what is wrong
    _still_serving(hook_env)
    _no_crash_logged(hook_env)


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Random-Event": "push"}, {"User-Agent": "GitHub-Hookshot/abc"}],
    ids=["no headers", "unknown header", "user agent only"],
)
def test_unknown_provider_gets_400(hook_env: HookEnv, headers: dict[str, str]) -> None:
    body = json.dumps(push_body("github", Repo("x"), "refs/heads/main")).encode()
    reply = post(hook_env.http, headers, body)
    assert reply.status == 400
    assert "unknown webhook provider" in reply.body["message"]
    _still_serving(hook_env)


def test_slow_clients_do_not_hold_up_others(hook_env: HookEnv) -> None:
    host, _, port = hook_env.http.rpartition(":")
    idle = []
    try:
        for i in range(8):
            sock = socket.create_connection((host, int(port)), timeout=10)
            # Half a request: headers never finished, or a body that never comes.
            if i % 2:
                sock.sendall(b"POST /api/webhook HTTP/1.1\r\nX-GitHub-Event: push\r\n")
            else:
                sock.sendall(_head(hook_env, {**event_headers("github"), "Content-Length": "1000"}) + b"{")
            idle.append(sock)
        _still_serving(hook_env)
    finally:
        for sock in idle:
            sock.close()
    _no_crash_logged(hook_env)


def test_unknown_endpoint_is_404(hook_env: HookEnv) -> None:
    assert post(hook_env.http, event_headers("github"), b"{}", path="/api/other").status == 404
    assert get(hook_env.http, "/nothing")[0] == 404
    _still_serving(hook_env)
