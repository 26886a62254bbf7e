"""The ``pods/log`` subresource: simulated container logs, as the kubelet would serve them.

A container's log is derived from its status (nothing is stored): a start line at ``startedAt``,
the lines of the pod's ``sandbox.gitopsd.io/logs`` annotation (one per line, for tests and demos),
a ready line while it runs and an exit line once it terminated. The container instance is chosen
as the kubelet does (``previous`` → the last terminated one; else running, terminated, last
terminated, or the "waiting to start" error), with its real error messages. ``follow`` streams
new lines until the container stops, the pod goes, or the client leaves; ``tailLines``,
``limitBytes``, ``sinceSeconds`` and ``timestamps`` behave as on a real cluster.
"""

from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING, Any

from ..errors import ApiError, bad_request, not_found
from .common import LOG_LINES, annotations_of

if TYPE_CHECKING:
    from ..server import Handler

FOLLOW_LIMIT = 1800.0  # seconds a follow stream stays open at most (as a watch's default timeout)


def _parse_time(text: Any) -> datetime.datetime:
    try:
        return datetime.datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return datetime.datetime.now(datetime.UTC)


def _stamp(t: datetime.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def _instance(pod: dict[str, Any], cname: str, previous: bool) -> tuple[dict[str, Any], str]:
    """The (state, state kind) whose log is wanted; raises the kubelet's errors."""
    pname = pod["metadata"]["name"]
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    statuses += (pod.get("status") or {}).get("initContainerStatuses") or []
    cs = next((s for s in statuses if isinstance(s, dict) and s.get("name") == cname), None)
    if cs is None:
        raise bad_request(f'container "{cname}" in pod "{pname}" is waiting to start: ContainerCreating')
    state, last = cs.get("state") or {}, cs.get("lastState") or {}
    if previous:
        if not (last.get("terminated") or {}).get("containerID"):
            raise bad_request(f'previous terminated container "{cname}" in pod "{pname}" not found')
        return last["terminated"], "terminated"
    if state.get("running"):
        return state["running"], "running"
    if state.get("terminated"):
        return state["terminated"], "terminated"
    if last.get("terminated"):
        return last["terminated"], "terminated"
    reason = (state.get("waiting") or {}).get("reason") or "ContainerCreating"
    raise bad_request(f'container "{cname}" in pod "{pname}" is waiting to start: {reason}')


def lines(pod: dict[str, Any], cname: str, previous: bool) -> tuple[list[tuple[str, str]], bool]:
    """(timestamped lines, whether the instance still runs)."""
    state, kind = _instance(pod, cname, previous)
    spec = pod.get("spec") or {}
    container: dict[str, Any] = next(
        (
            c
            for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
            if c.get("name") == cname
        ),
        {},
    )
    start = _parse_time(state.get("startedAt"))
    texts = [f"sandbox: starting container {cname} ({container.get('image', '')})"]
    texts += [t for t in str(annotations_of(pod).get(LOG_LINES, "")).splitlines() if t]
    if kind == "running":
        texts.append(f"sandbox: container {cname} is running")
    else:
        code = state.get("exitCode", 0)
        texts.append(
            f"sandbox: container {cname} completed"
            if code == 0
            else f"sandbox: container {cname} exited with code {code}"
        )
    out = [(_stamp(start + datetime.timedelta(microseconds=i)), t) for i, t in enumerate(texts)]
    if kind == "terminated" and "finishedAt" in state:
        out[-1] = (_stamp(_parse_time(state["finishedAt"])), out[-1][1])
    return out, kind == "running"


def _int(query: dict[str, str], key: str) -> int | None:
    text = query.get(key)
    if text in (None, ""):
        return None
    try:
        value = int(str(text))
    except ValueError:
        raise bad_request(f"{key} must be an integer, not {text!r}") from None
    if value < 0:
        raise ApiError(422, f"{key}: Invalid value: {value}: must be greater than or equal to 0", "Invalid")
    return value


def _container_name(pod: dict[str, Any], wanted: str) -> str:
    spec = pod.get("spec") or {}
    names = [str(c.get("name", "")) for c in spec.get("containers") or [] if isinstance(c, dict)]
    inits = [str(c.get("name", "")) for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    pname = pod["metadata"]["name"]
    if wanted:
        if wanted not in names + inits:
            raise bad_request(f"container {wanted} is not valid for pod {pname}")
        return wanted
    if len(names) == 1:
        return names[0]
    msg = f"a container name must be specified for pod {pname}, choose one of: [{' '.join(names)}]"
    if inits:
        msg += f" or one of the init containers: [{' '.join(inits)}]"
    raise bad_request(msg)


def _render(items: list[tuple[str, str]], timestamps: bool) -> bytes:
    return b"".join(((f"{ts} " if timestamps else "") + text + "\n").encode() for ts, text in items)


def respond(handler: Handler, namespace: str, name: str, query: dict[str, str]) -> None:
    """Answer GET .../pods/NAME/log on ``handler``."""
    app = handler.server.app
    store = app.api.store
    if handler.command != "GET":
        raise ApiError(
            405, "the server does not allow this method on the requested resource", "MethodNotAllowed"
        )
    entry = store.get("/pods", namespace, name)
    if entry is None:
        raise not_found("pods", "", name)
    pod = entry.obj
    if not (pod.get("spec") or {}).get("nodeName"):
        raise bad_request(f"pod {name} does not have a host assigned")
    cname = _container_name(pod, query.get("container", ""))
    tail, limit, since = _int(query, "tailLines"), _int(query, "limitBytes"), _int(query, "sinceSeconds")
    previous = query.get("previous") in ("true", "1")
    timestamps = query.get("timestamps") in ("true", "1")
    follow = query.get("follow") in ("true", "1")
    items, running = lines(pod, cname, previous)
    if since is not None:
        floor = _stamp(datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=since))
        items = [i for i in items if i[0] >= floor]
    if tail is not None:
        items = items[len(items) - tail :] if tail else []
    body = _render(items, timestamps)
    if limit is not None:
        body = body[:limit]
    if not (follow and running and not previous):
        handler._send(200, body, "text/plain")
        return
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.send_header("Cache-Control", "no-cache, private")
    handler.end_headers()
    sent = {i[0] for i in lines(pod, cname, False)[0]}
    written = len(body)
    uid = pod["metadata"]["uid"]
    deadline = time.monotonic() + FOLLOW_LIMIT
    try:
        if body:
            handler._write_chunk(body)
        while not app.stopping.is_set() and time.monotonic() < deadline:
            app.stopping.wait(0.1)
            current = store.get("/pods", namespace, name)
            if current is None or current.obj["metadata"].get("uid") != uid:
                break
            try:
                now_items, running = lines(current.obj, cname, False)
            except ApiError:
                break
            fresh = [i for i in now_items if i[0] not in sent]
            sent.update(i[0] for i in fresh)
            chunk = _render(fresh, timestamps)
            if limit is not None:
                chunk = chunk[: max(limit - written, 0)]
            if chunk:
                written += len(chunk)
                handler._write_chunk(chunk)
            if not running or current.obj["metadata"].get("deletionTimestamp"):
                break
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()
    except OSError:
        pass
    finally:
        handler.close_connection = True
