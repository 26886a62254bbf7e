"""The dashboard's static routes on the HTTP listener (mounted by gitopsd/server/http_app.py).

The assets are package data under gitopsd/web/ (plain ES modules and CSS, no build step, nothing
fetched from elsewhere at run time). Every page path of the single-page app (`/`, `/login`,
`/applications`, `/applications/NAME`) answers index.html; the script routes in the browser.
All it shows comes from the JSON API, which enforces RBAC on every call: nothing here decides
who may see what, and no page carries a credential (the session is an HttpOnly cookie).

Every answer carries a Content-Security-Policy that allows only this origin's scripts, styles and
connections (no inline script, no inline style attributes, no framing), nosniff and no referrer.
"""

from __future__ import annotations

from importlib import resources
from pathlib import PurePosixPath

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # The assets change with the package: always revalidated, never a stale script beside new API.
    "Cache-Control": "no-cache",
}
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}


def _read(relative: str) -> bytes | None:
    """An asset's bytes, or None: only known file types, no path outside gitopsd/web."""
    path = PurePosixPath(relative)
    if path.is_absolute() or any(part in ("", ".", "..") or part.startswith(".") for part in path.parts):
        return None
    if path.suffix not in _TYPES:
        return None
    node = resources.files("gitopsd.web")
    for part in path.parts:
        node = node.joinpath(part)
    try:
        return node.read_bytes() if node.is_file() else None
    except OSError:
        return None


def _answer(body: bytes, suffix: str, request: Request) -> Response:
    return Response(
        b"" if request.method == "HEAD" else body,
        200,
        headers={**SECURITY_HEADERS, "Content-Length": str(len(body))},
        media_type=_TYPES[suffix],
    )


async def page(request: Request) -> Response:
    body = _read("index.html")
    if body is None:  # a broken install: say so rather than a blank page
        return PlainTextResponse("dashboard assets missing from the package\n", 500, headers=SECURITY_HEADERS)
    return _answer(body, ".html", request)


async def asset(request: Request) -> Response:
    relative = request.path_params["path"]
    body = _read(relative)
    if body is None:
        return PlainTextResponse(f"no such asset: {relative[:200]}\n", 404, headers=SECURITY_HEADERS)
    return _answer(body, PurePosixPath(relative).suffix, request)


def routes() -> list[BaseRoute]:
    methods = ["GET", "HEAD"]
    return [
        Route("/", page, methods=methods),
        Route("/login", page, methods=methods),
        Route("/applications", page, methods=methods),
        Route("/applications/{name}", page, methods=methods),
        Route("/assets/{path:path}", asset, methods=methods),
    ]
