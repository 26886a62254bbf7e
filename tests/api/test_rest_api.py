"""The JSON API on Argo CD's REST paths, with a plain HTTP client against a real daemon: login and
the session cookie, list/get with Argo CD's query parameters, the same refusals as gRPC (401, 403),
CSRF for cookie-authenticated calls, bad JSON and oversized bodies, logout, and the SSE stream."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import grpc
import httpx
from apihelpers import VIEWER_PASSWORD, app_doc, client, login, set_viewer_password, start_daemon
from fixtures.daemon import wait_for

from gitopsd.api.gitopsd.v1 import application_pb2, application_pb2_grpc


def _names(reply: httpx.Response) -> list[str]:
    assert reply.status_code == 200, reply.text
    return sorted(a["metadata"]["name"] for a in reply.json()["items"])


def test_login_then_list_and_get_with_argocd_query_parameters(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path)
    try:
        logged = login(daemon, "admin", daemon.initial_password())
        assert logged.status_code == 200
        token = logged.json()["token"]
        cookie = logged.headers.get_list("set-cookie")
        session_cookie = next(c for c in cookie if c.startswith("gitopsd.token="))
        assert "HttpOnly" in session_cookie and "SameSite=strict" in session_cookie
        assert (
            "Secure" not in session_cookie
        )  # plaintext loopback listener: a Secure cookie would never return

        with client(daemon, token=token) as http:
            for name, labels in (("web", {"team": "a"}), ("db", {"team": "b"}), ("cache", {"team": "a"})):
                created = http.post("/api/v1/applications", json=app_doc(name, labels))
                assert created.status_code == 200, created.text
                assert created.json()["metadata"]["name"] == name
            assert _names(http.get("/api/v1/applications")) == ["cache", "db", "web"]
            assert _names(http.get("/api/v1/applications", params={"selector": "team=a"})) == ["cache", "web"]
            assert _names(http.get("/api/v1/applications", params={"projects": "default", "name": "db"})) == [
                "db"
            ]
            assert _names(http.get("/api/v1/applications", params={"projects": "other"})) == []
            got = http.get("/api/v1/applications/web")
            assert got.status_code == 200
            assert got.json()["spec"]["source"]["repoURL"] == "https://git.example.invalid/apps.git"
            missing = http.get("/api/v1/applications/nope")
            assert missing.status_code == 404
            assert missing.json() == {
                "error": "application 'nope' not found",
                "code": 5,
                "message": "application 'nope' not found",
            }
            again = http.post("/api/v1/applications", json=app_doc("web", {"team": "z"}))
            assert again.status_code == 409 and again.json()["code"] == 6
            upserted = http.post(
                "/api/v1/applications", params={"upsert": "true"}, json=app_doc("web", {"team": "z"})
            )
            assert upserted.status_code == 200 and upserted.json()["metadata"]["labels"] == {"team": "z"}
            unknown = http.get("/api/v1/applications", params={"colour": "blue"})
            assert (
                unknown.status_code == 400 and "query colour: unknown parameter" in unknown.json()["message"]
            )
            version = http.get("/api/version")
            assert version.status_code == 200 and version.json()["apiVersion"] == "gitopsd.v1"
    finally:
        daemon.stop()


def test_no_token_or_a_bad_one_is_401_and_nothing_is_read(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path)
    try:
        with client(daemon, token="") as http:
            bare = http.get("/api/v1/applications")
            assert bare.status_code == 401 and bare.json()["code"] == 16
            assert bare.headers["www-authenticate"] == "Bearer"
            # Refused from the headers: a big body is not read first.
            big = http.post("/api/v1/applications", content=b"x" * (3 * 1024 * 1024))
            assert big.status_code == 401
        with client(daemon, token="not-a-jwt") as http:
            bad = http.get("/api/v1/applications/web")
            assert bad.status_code == 401 and bad.json()["code"] == 16
            assert "not-a-jwt" not in bad.text
        with httpx.Client(
            base_url=f"http://{daemon.http_address}", headers={"Authorization": "Basic x"}
        ) as http:
            assert http.get("/api/v1/projects").status_code == 401
    finally:
        daemon.stop()


def test_a_read_only_user_is_refused_as_on_grpc(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path)
    try:
        set_viewer_password(daemon)
        with client(daemon) as admin:
            assert admin.post("/api/v1/applications", json=app_doc("web")).status_code == 200
        viewer_token = login(daemon, "viewer", VIEWER_PASSWORD).json()["token"]
        with client(daemon, token=viewer_token) as http:
            assert _names(http.get("/api/v1/applications")) == ["web"]  # get is allowed
            refused = http.post("/api/v1/applications/web/sync", json={"prune": True})
            assert refused.status_code == 403
            deleted = http.delete("/api/v1/applications/web")
            assert deleted.status_code == 403
        with daemon.channel(token=viewer_token) as channel:
            try:
                application_pb2_grpc.ApplicationServiceStub(channel).Sync(
                    application_pb2.SyncApplicationRequest(name="web", prune=True), timeout=30
                )
                raise AssertionError("gRPC sync was allowed")
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
                grpc_message = exc.details()
        # One rule, one message: the HTTP answer is the gRPC answer.
        assert refused.json() == {"error": grpc_message, "code": 7, "message": grpc_message}
        assert grpc_message == "permission denied: viewer may not sync applications 'default/web'"
        with client(daemon) as admin:
            assert admin.get("/api/v1/applications/web").status_code == 200  # still there
    finally:
        daemon.stop()


def test_cookie_authenticated_changes_need_the_csrf_header(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path)
    try:
        with client(daemon) as admin:
            for name in ("web", "db"):
                assert admin.post("/api/v1/applications", json=app_doc(name)).status_code == 200
        base = f"http://{daemon.http_address}"
        with httpx.Client(base_url=base, timeout=30) as browser:
            logged = browser.post(
                "/api/v1/session", json={"username": "admin", "password": daemon.initial_password()}
            )
            assert logged.status_code == 200
            csrf = browser.cookies["gitopsd.csrf"]
            # Reading needs no CSRF token.
            assert _names(browser.get("/api/v1/applications")) == ["db", "web"]
            # A forged cross-site request carries the cookie but cannot know the CSRF value.
            forged = browser.delete("/api/v1/applications/web", params={"cascade": "false"})
            assert forged.status_code == 403 and "CSRF" in forged.json()["message"]
            wrong = browser.delete(
                "/api/v1/applications/web", params={"cascade": "false"}, headers={"X-CSRF-Token": "guess"}
            )
            assert wrong.status_code == 403
            assert browser.get("/api/v1/applications/web").status_code == 200  # not deleted
            ok = browser.delete(
                "/api/v1/applications/web", params={"cascade": "false"}, headers={"X-CSRF-Token": csrf}
            )
            assert ok.status_code == 200, ok.text
            assert browser.get("/api/v1/applications/web").status_code == 404
        # A bearer token needs no CSRF header (another site's page cannot set Authorization).
        with client(daemon) as admin:
            assert admin.delete("/api/v1/applications/db", params={"cascade": "false"}).status_code == 200
    finally:
        daemon.stop()


def test_bad_json_and_bad_fields_are_400_naming_the_problem(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path)
    try:
        with client(daemon) as http:
            broken = http.post("/api/v1/applications", content=b'{"metadata": {"name": "web"')
            assert broken.status_code == 400
            assert broken.json()["message"].startswith("request body is not valid JSON: ")
            assert "line 1 column" in broken.json()["message"]
            typo = app_doc("web")
            typo["spec"]["sourc"] = typo["spec"].pop("source")
            field = http.post("/api/v1/applications", json=typo)
            assert field.status_code == 400 and field.json()["code"] == 3
            assert field.json()["message"].startswith("spec.sourc: unknown field")
            wrong_type = http.post("/api/v1/applications/web/sync", json={"prune": "yes"})
            assert wrong_type.status_code == 400 and wrong_type.json()["message"] == (
                "prune: expected true or false, got a string"
            )
            bad_bool = http.delete("/api/v1/applications/web", params={"cascade": "maybe"})
            assert bad_bool.status_code == 400 and "query cascade: expected true or false" in bad_bool.text
            not_allowed = http.patch("/api/v1/projects")
            assert not_allowed.status_code == 405 and not_allowed.headers["allow"] == "GET, POST"
            assert http.get("/api/v1/nothing-here").status_code == 404
    finally:
        daemon.stop()


def test_oversized_bodies_get_413(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path, env={"GITOPSD_HTTP_MAX_BODY_BYTES": "4096"})
    try:
        with client(daemon) as http:
            doc = app_doc("web")
            doc["metadata"]["annotations"] = {"note": "x" * 5000}
            big = http.post("/api/v1/applications", json=doc)
            assert big.status_code == 413
            assert big.json() == {
                "error": "payload larger than 4096 bytes",
                "code": 8,
                "message": "payload larger than 4096 bytes",
            }
            assert http.get("/api/v1/applications/web").status_code == 404
            # Chunked, without a length: counted while it streams.
            chunks = http.post("/api/v1/applications", content=iter([b"{" + b" " * 3000, b" " * 3000 + b"}"]))
            assert chunks.status_code == 413
        # Without a token only a login is read, and at most 64 KiB of it.
        with client(daemon, token="") as http:
            login_bomb = http.post("/api/v1/session", json={"username": "admin", "password": "p" * 70000})
            assert login_bomb.status_code == 413
    finally:
        daemon.stop()


def test_logout_revokes_the_session_and_clears_the_cookies(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path)
    try:
        token = login(daemon, "admin", daemon.initial_password()).json()["token"]
        with client(daemon, token=token) as http:
            assert http.get("/api/v1/session/userinfo").json()["username"] == "admin"
            out = http.delete("/api/v1/session")
            assert out.status_code == 200
            cleared = out.headers.get_list("set-cookie")
            assert any(
                c.startswith('gitopsd.token=""') or c.startswith("gitopsd.token=;") for c in cleared
            ), cleared
            after = http.get("/api/v1/applications")
            assert after.status_code == 401 and "revoked" in after.json()["message"]
    finally:
        daemon.stop()


def _read_events(response: httpx.Response, out: list[dict[str, Any]], done: threading.Event) -> None:
    try:
        for line in response.iter_lines():
            if line.startswith("data: "):
                out.append(json.loads(line[len("data: ") :]))
    except httpx.HTTPError:
        pass
    finally:
        done.set()


def test_the_event_stream_sends_an_event_when_an_application_changes(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path)
    try:
        with client(daemon) as http:
            assert http.post("/api/v1/applications", json=app_doc("web", {"team": "a"})).status_code == 200
            assert http.post("/api/v1/applications", json=app_doc("db")).status_code == 200
        with (
            client(daemon) as watcher,
            watcher.stream("GET", "/api/v1/stream/applications", params={"name": "web"}) as stream,
        ):
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            events: list[dict[str, Any]] = []
            done = threading.Event()
            threading.Thread(target=_read_events, args=(stream, events, done), daemon=True).start()
            # Argo CD's stream starts with the current state of each application it follows.
            wait_for(lambda: events, what="the initial event")
            assert events[0]["result"]["type"] == "ADDED"
            assert events[0]["result"]["application"]["metadata"]["name"] == "web"
            with client(daemon) as http:
                changed = app_doc("web", {"team": "b"})
                assert http.put("/api/v1/applications/web", json=changed).status_code == 200
                assert (
                    http.put("/api/v1/applications/db", json=app_doc("db", {"team": "c"})).status_code == 200
                )

            def labelled() -> bool:
                return any(
                    e.get("result", {}).get("application", {}).get("metadata", {}).get("labels")
                    == {"team": "b"}
                    for e in events
                )

            wait_for(labelled, what="an event with the new label")
            assert all(e["result"]["application"]["metadata"]["name"] == "web" for e in events)
    finally:
        daemon.stop()


def test_a_stream_refused_before_it_opens_gets_an_http_status(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path)
    try:
        with client(daemon, token="") as http:
            refused = http.get("/api/v1/stream/applications")
            assert refused.status_code == 401 and refused.json()["code"] == 16
        with client(daemon) as http:
            missing = http.get("/api/v1/stream/applications", params={"name": "nope"})
            assert missing.status_code == 200  # opened; then ends with the servicer's error
            lines = [line for line in missing.text.splitlines() if line.startswith("data: ")]
            assert json.loads(lines[-1][len("data: ") :])["error"]["code"] == 5
    finally:
        daemon.stop()


def test_patch_can_i_and_settings_on_argocd_paths(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path)
    try:
        set_viewer_password(daemon)
        with client(daemon) as http:
            assert http.post("/api/v1/applications", json=app_doc("web", {"team": "a"})).status_code == 200
            patched = http.patch(
                "/api/v1/applications/web",
                json={"patch": json.dumps({"metadata": {"labels": {"team": "b"}}}), "patchType": "merge"},
            )
            assert patched.status_code == 200, patched.text
            assert patched.json()["metadata"]["labels"] == {"team": "b"}
            assert http.get("/api/v1/applications/web").json()["metadata"]["labels"] == {"team": "b"}
            settings = http.get("/api/v1/settings")
            assert settings.status_code == 200 and settings.json()["url"] == f"http://{daemon.http_address}"
        viewer = login(daemon, "viewer", VIEWER_PASSWORD).json()["token"]
        with client(daemon, token=viewer) as http:
            # The object holds a slash (PROJECT/APP), as Argo CD's UI sends it.
            assert http.get("/api/v1/account/can-i/applications/get/default/web").json() == {"value": "yes"}
            assert http.get("/api/v1/account/can-i/applications/sync/default/web").json() == {"value": "no"}
            refused = http.patch("/api/v1/applications/web", json={"patch": '{"metadata":{"labels":{}}}'})
            assert refused.status_code == 403
    finally:
        daemon.stop()


def test_event_streams_share_the_per_user_limit_with_grpc_and_free_it_when_closed(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path, env={"GITOPSD_GRPC_MAX_STREAMS_PER_USER": "2"})
    try:
        with client(daemon) as first, client(daemon) as second, client(daemon) as third:
            assert first.post("/api/v1/applications", json=app_doc("web")).status_code == 200
            with first.stream("GET", "/api/v1/stream/applications") as one:
                assert one.status_code == 200
                with daemon.channel() as channel:
                    watch = application_pb2_grpc.ApplicationServiceStub(channel).Watch(
                        application_pb2.WatchApplicationsRequest(send_initial=True), timeout=60
                    )
                    assert next(watch).application.metadata.name == "web"  # served: it holds the second place
                    over = third.get("/api/v1/stream/applications")
                    assert over.status_code == 429 and "grpc.max_streams_per_user" in over.json()["message"]
                    watch.cancel()
                # The gRPC stream closed: its place is free again for an event stream.
                with second.stream("GET", "/api/v1/stream/applications") as two:
                    assert two.status_code == 200
            # Both closed by the client: the daemon notices and frees their places.

            def two_fit() -> bool:
                with (
                    third.stream("GET", "/api/v1/stream/applications") as a,
                    third.stream("GET", "/api/v1/stream/applications") as b,
                ):
                    return a.status_code == 200 and b.status_code == 200

            wait_for(two_fit, what="both places freed")
    finally:
        daemon.stop()


def test_hostile_bodies_get_400_and_the_daemon_keeps_serving(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path)
    try:
        with client(daemon) as http:
            deep = b'{"metadata": {"annotations": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001 + b"}"
            nested = http.post("/api/v1/applications", content=deep)
            assert nested.status_code == 400 and "nested too deeply" in nested.json()["message"]
            struct = app_doc("web")
            values: dict[str, Any] = {}
            for _ in range(900):  # within json's limits, beyond protobuf's
                values = {"a": values}
            struct["spec"]["source"]["helm"] = {"valuesObject": values}
            deep_values = http.post("/api/v1/applications", content=json.dumps(struct).encode())
            assert deep_values.status_code == 400, deep_values.text
            not_utf8 = http.post("/api/v1/applications", content=b'{"metadata": "\xff"}')
            assert not_utf8.status_code == 400
            body_on_get = http.request("GET", "/api/v1/applications", content=b"{}")
            assert body_on_get.status_code == 400 and "takes no body" in body_on_get.json()["message"]
            assert http.get("/api/v1/applications").status_code == 200
    finally:
        daemon.stop()
