"""Container logs (``pods/log``) read on the asyncio loop with aiohttp: a followed log waits for
its next line without holding a thread (the gRPC PodLogs stream runs on the server's loop).

Same cluster access as the synchronous client (gitopsd.kube.transport's URL, credentials and TLS
settings); failures leave as gitopsd.kube.errors with the API server's message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp

from gitopsd.kube.errors import KubeError, Timeout, Unreachable
from gitopsd.kube.httperrors import status_error
from gitopsd.kube.transport import KubeTransport

# A line longer than this is cut (the rest of it is dropped): bounded memory per stream.
MAX_LINE_BYTES = 64 * 1024


@dataclass(frozen=True)
class LogQuery:
    namespace: str
    pod: str
    container: str = ""
    follow: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    previous: bool = False
    # The most bytes of the log the server sends (None: no limit).
    limit_bytes: int | None = None


@dataclass(frozen=True)
class LogLine:
    pod: str
    timestamp: str
    content: str


def _failure(exc: BaseException, what: str) -> KubeError:
    if isinstance(exc, TimeoutError):
        return Timeout(f"{what}: the API server did not answer in time")
    # The class name only: aiohttp's messages carry the connection's details.
    return Unreachable(f"{what}: cannot reach the API server ({type(exc).__name__})")


def _params(q: LogQuery) -> list[tuple[str, str]]:
    params = [("timestamps", "true")]
    if q.container:
        params.append(("container", q.container))
    if q.follow:
        params.append(("follow", "true"))
    if q.tail_lines is not None:
        params.append(("tailLines", str(q.tail_lines)))
    if q.since_seconds is not None:
        params.append(("sinceSeconds", str(q.since_seconds)))
    if q.previous:
        params.append(("previous", "true"))
    if q.limit_bytes is not None:
        params.append(("limitBytes", str(q.limit_bytes)))
    return params


def _line(pod: str, raw: bytes) -> LogLine:
    text = raw.decode("utf-8", "replace").rstrip("\r\n")
    stamp, sep, content = text.partition(" ")
    if not sep or not stamp[:4].isdigit():
        return LogLine(pod, "", text)
    return LogLine(pod, stamp, content)


async def pod_log(transport: KubeTransport, q: LogQuery) -> AsyncIterator[LogLine]:
    """The lines of one container's log; with ``follow``, until the container stops (or the caller
    stops iterating)."""
    settings = transport.async_settings()
    path = f"/api/v1/namespaces/{quote(q.namespace, safe='')}/pods/{quote(q.pod, safe='')}/log"
    what = f"logs of pod {q.namespace}/{q.pod}"
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=transport.timeout, sock_read=None if q.follow else transport.timeout * 3
    )
    connector = aiohttp.TCPConnector(ssl=settings.ssl_context, limit=1)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        try:
            response = await session.get(
                settings.base_url + path,
                params=_params(q),
                headers={**settings.headers, "Accept": "*/*"},
                proxy=settings.proxy,
                server_hostname=settings.server_hostname,
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _failure(exc, what) from None
        async with response:
            if response.status >= 300:
                raise status_error(response.status, await response.content.read(64 * 1024), what)
            buffer = b""
            try:
                async for chunk in response.content.iter_any():
                    buffer += chunk
                    while b"\n" in buffer:
                        raw, buffer = buffer.split(b"\n", 1)
                        yield _line(q.pod, raw[:MAX_LINE_BYTES])
                    if len(buffer) > MAX_LINE_BYTES:
                        yield _line(q.pod, buffer[:MAX_LINE_BYTES])
                        buffer = b""
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                raise _failure(exc, what) from None
            if buffer.strip():
                yield _line(q.pod, buffer)
