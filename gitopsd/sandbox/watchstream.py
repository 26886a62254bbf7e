"""Streaming one watch over HTTP/1.1 chunked encoding: events as JSON lines (or Table rows, or
re-labelled for another version of the kind), the initial-events-end and periodic BOOKMARKs, and
the end at the deadline or when the server stops.

The sandbox's request Handler (gitopsd.sandbox.server) inherits this; gitopsd.sandbox.api opens
the WatchStream it streams.
"""

from __future__ import annotations

import json
import ssl
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING

from . import table, watchcache
from .api import WatchStream, entry_bytes

if TYPE_CHECKING:
    from .server import SandboxHTTPServer

JSON = "application/json"


class WatchStreamHandler(BaseHTTPRequestHandler):
    """The watch half of the sandbox's request handler."""

    server: SandboxHTTPServer

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _stream(self, stream: WatchStream) -> None:
        app = self.server.app
        store = app.api.store
        self.send_response(200)
        self.send_header("Content-Type", JSON)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        deadline = time.monotonic() + stream.timeout
        w = stream.watcher
        bookmark_sent = stream.bookmark_rv is None
        next_bookmark = time.monotonic() + (stream.bookmark_interval or 0)
        try:
            if stream.error is not None:
                self._write_chunk(stream.error)
                deadline = 0.0
            while not app.stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if not bookmark_sent and w._queue.empty():
                    bookmark_sent = True
                    self._write_chunk(watchcache.bookmark_line(stream.rt, stream.bookmark_rv or 0, True))
                    continue
                if stream.bookmark_interval is not None and time.monotonic() >= next_bookmark:
                    next_bookmark = time.monotonic() + stream.bookmark_interval
                    with store.lock:  # no event can slip in between the check and the version
                        rv = store.resource_version if w._queue.empty() else None
                    if rv is not None:
                        self._write_chunk(watchcache.bookmark_line(stream.rt, rv, False))
                        continue
                try:
                    ev = w.next(min(remaining, 0.5, stream.bookmark_interval or 0.5))
                except EOFError:
                    break
                if ev is None:
                    continue
                if stream.as_table:
                    rows = table.table(
                        stream.rt, [ev.entry.obj], {"resourceVersion": str(ev.entry.rv)}, stream.include
                    )
                    line = (
                        json.dumps({"type": ev.type, "object": rows}, separators=(",", ":")).encode() + b"\n"
                    )
                elif ev.entry.obj.get("apiVersion") != stream.rt.group_version:
                    line = (
                        b'{"type":"'
                        + ev.type.encode()
                        + b'","object":'
                        + entry_bytes(ev.entry, stream.rt)
                        + b"}\n"
                    )
                else:
                    line = ev.line()
                self._write_chunk(line)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        finally:
            store.unwatch(w)
            self.close_connection = True
