"""Connection checks for `repo add` and `repo list`: does the repository answer with these credentials?

Git repositories are asked with ls-remote through the repo cache (so credentials
and scrubbing work as for every other git call); Helm chart repositories by
fetching index.yaml; OCI registries by the registry API's /v2/ endpoint.
"""

from __future__ import annotations

import base64
import ssl
import urllib.error
import urllib.request

from gitopsd.sources.errors import RepoError, RepoErrorKind
from gitopsd.sources.gitauth import RepoCredentials
from gitopsd.sources.gitcache import RepoCache
from gitopsd.sources.giturl import redact_url

TIMEOUT = 10.0


def _http_get(url: str, creds: RepoCredentials | None) -> int:
    request = urllib.request.Request(url, method="GET")
    if creds and creds.username:
        token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    context = ssl.create_default_context()
    if creds and creds.insecure_skip_server_verification:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as reply:  # noqa: S310 - http(s) only
            reply.read(1024)
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RepoError(RepoErrorKind.UNREACHABLE, redact_url(url), str(reason)) from None


def check_repository(cache: RepoCache, url: str, kind: str, creds: RepoCredentials | None) -> None:
    if kind == "git":
        # As the entry's project reaches it: the clone and credentials of that scope.
        cache.ls_remote(url, force=True, project=creds.scope if creds else "")
        return
    if kind == "helm":
        status = _http_get(url.rstrip("/") + "/index.yaml", creds)
        if status in (401, 403):
            raise RepoError(RepoErrorKind.AUTH_FAILED, redact_url(url), f"HTTP {status}")
        if status != 200:
            raise RepoError(
                RepoErrorKind.NOT_FOUND,
                redact_url(url),
                f"no chart repository index (HTTP {status} for index.yaml)",
            )
        return
    if kind == "oci":
        host = url.removeprefix("oci://").split("/", 1)[0]
        scheme = "http" if creds and creds.insecure_oci_force_http else "https"
        status = _http_get(f"{scheme}://{host}/v2/", creds)
        if status in (401, 403):
            raise RepoError(RepoErrorKind.AUTH_FAILED, f"oci://{host}", f"HTTP {status}")
        if status != 200:
            raise RepoError(
                RepoErrorKind.NOT_FOUND, f"oci://{host}", f"not an OCI registry (HTTP {status} for /v2/)"
            )
        return
    raise RepoError(RepoErrorKind.FAILED, redact_url(url), f"unknown repository type {kind!r}")
