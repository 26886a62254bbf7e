"""Connection-level defences of the HTTP listener, below the ASGI app (gitopsd/server/http_app.py);
gitopsd/server/http.py hands `protocol_class(guard)` to uvicorn.

uvicorn bounds neither the time a client may take to send a request head nor how many
connections one client holds, and its `limit_concurrency` counts half-open connections: a few
hundred slow-loris clients would take every slot. This subclass of uvicorn's h11 protocol adds:

- a head deadline: once the server waits for a request (connection made, or the first byte
  after a keep-alive pause), the whole head must arrive within `header_timeout` seconds and no
  read may wait more than `read_timeout`; otherwise the connection is closed without an answer
  (there is no request to answer yet);
- a cap on open connections per client address, beyond which a connection gets 429 and is closed;
- a total cap that never lets slow clients keep a fresh one out: at the cap, the connection that
  has waited longest for a request head (or idled longest between requests) is closed to make room,
  failing that the one that has been sending a body longest. Only when every connection is being
  answered is a new one refused, with 503.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from http import HTTPStatus
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.utils import get_remote_addr

from gitopsd.logs import fields

log = logging.getLogger("gitopsd.http")


def _refusal(status: int, reason: str, message: str) -> bytes:
    body = json.dumps({"message": message}).encode() + b"\n"
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


TOO_MANY_FROM_CLIENT = _refusal(429, "Too Many Requests", "too many open connections from your address")
SERVER_FULL = _refusal(503, "Service Unavailable", "too many open connections; try again")


def _describe(exc: h11.RemoteProtocolError) -> str:
    # h11 quotes the offending bytes in some messages ("Illegal header value b'...'"): a header may
    # carry a credential, so only the words before the quote are kept.
    text = str(exc)
    for cut in (": b", " b'", ' b"', ": bytearray"):
        text = text.split(cut, 1)[0]
    return text[:200] or "invalid HTTP request"


class ConnectionGuard:
    """Counts of one listener's connections, shared by its protocol instances (all on one event loop)."""

    def __init__(
        self, header_timeout: float, read_timeout: float, max_connections: int, max_per_client: int
    ) -> None:
        self.header_timeout = header_timeout
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self.max_per_client = max_per_client
        self.per_client: Counter[str] = Counter()
        self.open = 0
        # Connections waiting for a request head, longest waiting first (dicts keep insertion order),
        # and those whose client still owes the body of a request, longest first.
        self.waiting: dict[GuardedH11Protocol, None] = {}
        self.in_body: dict[GuardedH11Protocol, None] = {}
        self.evicted = 0
        self.refused = 0

    def admit(self, conn: GuardedH11Protocol) -> bytes | None:
        """Counts a new connection in, or returns the answer that refuses it."""
        if self.per_client[conn.peer] >= self.max_per_client:
            self.refused += 1
            return TOO_MANY_FROM_CLIENT
        if self.open >= self.max_connections:
            # Whoever has kept the server waiting longest: an unfinished head or an idle connection
            # first, then an unfinished body (each bounded by its deadline, but not to be hoarded).
            oldest = next(iter(self.waiting), None) or next(iter(self.in_body), None)
            if oldest is None:
                self.refused += 1
                return SERVER_FULL
            self.evicted += 1
            oldest.drop("evicted: connection limit reached")
        self.per_client[conn.peer] += 1
        self.open += 1
        return None

    def release(self, conn: GuardedH11Protocol) -> None:
        self.waiting.pop(conn, None)
        self.in_body.pop(conn, None)
        self.per_client[conn.peer] -= 1
        if self.per_client[conn.peer] <= 0:
            del self.per_client[conn.peer]
        self.open -= 1


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a head deadline and the guard's connection caps."""

    guard: ConnectionGuard  # set on the subclass made by protocol_class()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.peer = ""
        self._counted = False
        self._timer: asyncio.TimerHandle | None = None
        self._head_started = 0.0
        # What h11 refused last, kept for the answer (uvicorn only says "Invalid HTTP request").
        self._refused_as: tuple[int, str] = (400, "invalid HTTP request")
        next_event = self.conn.next_event

        def recording_next_event() -> Any:
            try:
                return next_event()
            except h11.RemoteProtocolError as exc:
                self._refused_as = (exc.error_status_hint, _describe(exc))
                raise

        self.conn.next_event = recording_next_event  # type: ignore[method-assign]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        addr = get_remote_addr(transport)
        self.peer = addr[0] if addr else ""
        refusal = self.guard.admit(self)
        if refusal is not None:
            # Answered before any request: the client sees why; nothing of ours is set up.
            log.debug("http connection refused", extra=fields(client=self.peer, answer=refusal[9:12].decode()))
            transport.write(refusal)
            transport.close()
            return
        self._counted = True
        super().connection_made(transport)
        self._start_waiting()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._counted:
            return  # refused in connection_made
        self._counted = False
        self._cancel_timer()
        self.guard.release(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        waiting = self.conn.their_state is h11.IDLE
        if waiting:
            if self._timer is None:  # the first byte after a keep-alive pause: a new head starts
                self._start_waiting()
            self._arm()
        super().data_received(data)
        if waiting and self.conn.their_state is not h11.IDLE:
            # The head is complete (or h11 refused it): the request's own deadlines take over.
            self._cancel_timer()
            self.guard.waiting.pop(self, None)
        self._track_body()

    def eof_received(self) -> bool | None:  # type: ignore[override]  # asyncio's contract allows True
        if self.conn.their_state is h11.SEND_BODY and self.conn.our_state is h11.SEND_RESPONSE:
            # Half-closed inside a body it announced: answer why instead of vanishing (uvicorn
            # would just close). The app's pending read then sees the client as gone.
            self._refused_as = (400, "request body ended before its announced length")
            self.send_400_response("")
            return True
        if self.cycle is not None and not self.cycle.response_complete and not self.cycle.response_started:
            # Half-closed after a whole request (as `nc -N` does): still answer it, then close.
            self.cycle.keep_alive = False
            return True
        # EOF while an answer streams (an event stream, whose client closed): the client is gone.
        # Kept half-open, the stream would only notice at its next write to a closed socket.
        return None

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to what h11 refuses (a malformed head or chunk): h11's status (400, 431
        or 501) and reason, in our JSON shape."""
        status, message = self._refused_as
        log.debug("http request refused", extra=fields(client=self.peer, status=status, error=message))
        body = json.dumps({"message": message}).encode() + b"\n"
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        try:
            for event in (
                h11.Response(status_code=status, headers=headers, reason=HTTPStatus(status).phrase.encode()),
                h11.Data(data=body),
                h11.EndOfMessage(),
            ):
                self.transport.write(self.conn.send(event) or b"")
        except h11.LocalProtocolError:
            pass  # an answer had already begun: closing is all that is left
        self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start a pipelined request already received
        if not self._counted or self.transport.is_closing():
            return
        self._track_body()
        if self.conn.their_state is h11.SEND_BODY:
            # Answered before the client finished a body nobody reads: uvicorn would go on reading
            # and dropping it with no time limit, so a slow body could hold the connection forever.
            self.transport.close()
            return
        if self.conn.their_state is h11.IDLE:
            # Idle between requests (uvicorn's keep-alive timer runs): first in line to make room.
            self.guard.waiting[self] = None
            if self.conn.trailing_data[0]:  # part of the next head is here already
                self._start_waiting()
                self._arm()

    def shutdown(self) -> None:
        """Called by uvicorn when the listener stops."""
        if self._counted and self.conn.their_state is h11.SEND_BODY:
            # The client still owes a body: stopping does not wait for it (uvicorn would, then cancel
            # the request's task); the app's pending read sees the client gone.
            self.transport.close()
            return
        super().shutdown()

    def drop(self, why: str) -> None:
        """Closes the connection without an answer and frees its place at once (an app still
        waiting for the body sees the client gone)."""
        log.debug("http connection closed", extra=fields(client=self.peer, reason=why))
        if self._counted:
            self._counted = False
            self._cancel_timer()
            self.guard.release(self)
            self.transport.close()
            # uvicorn's bookkeeping now: our connection_lost skips it when the transport reports.
            H11Protocol.connection_lost(self, None)

    def _track_body(self) -> None:
        if self._counted and self.conn.their_state is h11.SEND_BODY:
            self.guard.in_body.setdefault(self, None)
        else:
            self.guard.in_body.pop(self, None)

    # -- the head deadline ----------------------------------------------------------------

    def _start_waiting(self) -> None:
        self._head_started = self.loop.time()
        self.guard.waiting.pop(self, None)
        self.guard.waiting[self] = None
        self._arm()

    def _arm(self) -> None:
        # The earlier of the whole-head deadline and the per-read idle timeout.
        now = self.loop.time()
        when = min(self._head_started + self.guard.header_timeout, now + self.guard.read_timeout)
        self._cancel_timer()
        self._timer = self.loop.call_at(when, self._expired)

    def _expired(self) -> None:
        self._timer = None
        if self.conn.their_state is h11.IDLE:
            self.drop("request head not received in time")

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def protocol_class(guard: ConnectionGuard) -> type[GuardedH11Protocol]:
    """A protocol class bound to one listener's guard (uvicorn builds one instance per connection)."""
    return type("ListenerProtocol", (GuardedH11Protocol,), {"guard": guard})
