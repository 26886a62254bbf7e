"""Repository URL normalization: one cache entry per repository, whatever the spelling.

Used by the repo cache (clone directory names, ls-remote cache keys) and by the daemon to
look credentials up. Credentials embedded in a URL are split off here and never kept.
"""

from __future__ import annotations

import functools
import os
import re
import urllib.parse

_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[^/:]+):(?P<path>(?!//).*)$")
_HOST = re.compile(r"^[A-Za-z0-9_\[][A-Za-z0-9_.:\[\]-]*$")
_DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22, "git": 9418}
_SCHEMES = {"https", "http", "ssh", "git", "file", "git+ssh", "ssh+git"}


def _is_local_path(url: str) -> bool:
    return url.startswith(("/", "./", "../", "~")) or url in (".", "..")


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """Returns (url without user:password, username, password) for URLs with a scheme."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme or parts.scheme == "file" or "@" not in parts.netloc:
        return url, None, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, sep, password = userinfo.partition(":")
    if parts.scheme in ("ssh", "git+ssh", "ssh+git") and not sep:
        # ssh://git@host/...: the user is part of the address, not a secret.
        return url, None, None
    clean = urllib.parse.urlunsplit(parts._replace(netloc=hostport))
    return (
        clean,
        urllib.parse.unquote(user) or None,
        urllib.parse.unquote(password) if sep else None,
    )


def normalize_repo_url(url: str) -> str:
    """Canonical form of a repository URL.

    https://Host/org/repo.git/, https://host/org/repo and https://user:pw@host/org/repo are
    one repository; git@host:org/repo is ssh://git@host/org/repo; local paths become
    file:// URLs of the absolute path. Path case is kept (many servers are case-sensitive).
    """
    raw = url.strip()
    lower = raw.lower()
    if (
        raw.startswith(("./", "../", "~"))
        or raw in (".", "..")
        or (lower.startswith("file:") and not lower.startswith("file:///"))
    ):
        return _normalize(raw)  # relative to the working or home directory: worked out afresh
    return _normalize_remembered(raw)


def _normalize(raw: str) -> str:
    if not raw:
        raise ValueError("empty repository URL")
    # Hostile URLs must not become git options ("--upload-pack=...") or odd transports.
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in raw):
        raise ValueError("repository URL contains whitespace or control characters")
    if raw.startswith("-"):
        raise ValueError("repository URL starts with '-'")
    if _is_local_path(raw):
        return "file://" + _clean_path(os.path.abspath(os.path.expanduser(raw)))
    if "://" not in raw:
        m = _SCP_LIKE.match(raw)
        if not m:
            raise ValueError(f"not a repository URL: {raw!r}")
        user = m.group("user")
        if (
            not _HOST.match(m.group("host"))
            or m.group("path").startswith(":")
            or (user or "").startswith("-")
        ):
            raise ValueError(f"not a repository URL: {raw!r}")
        path = m.group("path").lstrip("/")
        netloc = (f"{user}@" if user else "") + m.group("host").lower()
        return f"ssh://{netloc}/{_clean_path(path).lstrip('/')}"
    clean, _, _ = split_credentials(raw)
    parts = urllib.parse.urlsplit(clean)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(f"unsupported repository URL scheme {scheme!r}")
    if scheme in ("git+ssh", "ssh+git"):
        scheme = "ssh"
    if scheme == "file":
        return "file://" + _clean_path(os.path.abspath(urllib.parse.unquote(parts.path)))
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"repository URL without a host: {clean!r}")
    if not _HOST.match(host):
        raise ValueError(f"repository URL with an invalid host: {clean!r}")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    if scheme == "ssh" and parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urllib.parse.urlunsplit((scheme, netloc, _clean_path(parts.path), "", ""))


# Every render and credentials lookup normalizes its application's URL (a no-change pass: three times
# an application), always the same few strings: their answers are kept. Only URLs whose answer cannot
# change are (not relative paths); a refused URL raises each time (exceptions are not kept).
_normalize_remembered = functools.lru_cache(maxsize=4096)(_normalize)


def _clean_path(path: str) -> str:
    path = re.sub(r"/{2,}", "/", path)
    while True:
        stripped = path.rstrip("/")
        if stripped.endswith(".git"):
            stripped = stripped[: -len(".git")]
        if stripped == path:
            break
        path = stripped
    return path


def redact_url(url: str) -> str:
    """The URL with any embedded user:password removed, safe for messages."""
    try:
        return split_credentials(url)[0]
    except ValueError:
        return "<invalid URL>"
