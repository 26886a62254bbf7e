"""Webhook authentication: the shared secret each provider sends (HMAC signature, token header or
basic auth), compared in constant time; a provider with a configured secret must present it.

Part of the webhook receiver (gitopsd.server.webhook, which re-exports ``authenticate``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from gitopsd.server.config import WebhookConfig
from gitopsd.server.webhook_types import (
    AZURE_DEVOPS,
    BITBUCKET,
    BITBUCKET_SERVER,
    GITEA,
    GITHUB,
    GITLAB,
    GOGS,
    PROVIDERS,
    Headers,
    WebhookError,
)


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _check_hmac(secret: str, body: bytes, header_value: str | None, header: str, prefix: str) -> None:
    if not header_value:
        raise WebhookError(401, f"missing {header} signature")
    given = header_value.strip()
    if prefix:
        if not given.lower().startswith(prefix):
            raise WebhookError(401, f"{header} is not a {prefix.rstrip('=')} signature")
        given = given[len(prefix) :]
    # compare_digest on ASCII bytes: constant time whatever the input (str needs ASCII).
    expected = _hmac_hex(secret, body).encode()
    if not hmac.compare_digest(expected, given.lower().encode("utf-8", "replace")):
        raise WebhookError(401, f"{header} signature does not match")


def _check_token(expected: str, given: str | None, header: str) -> None:
    if not given:
        raise WebhookError(401, f"missing {header}")
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise WebhookError(401, f"{header} does not match")


def _check_basic_auth(username: str, password: str, authorization: str | None) -> None:
    if not authorization or not authorization.lower().startswith("basic "):
        raise WebhookError(401, "missing basic authentication")
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookError(401, "basic authentication is not valid base64") from None
    user, sep, pw = decoded.partition(b":")
    # Both compared, always, so the time taken does not tell which one was wrong.
    user_ok = hmac.compare_digest(username.encode(), user)
    pw_ok = hmac.compare_digest(password.encode(), pw)
    if not (sep and user_ok and pw_ok):
        raise WebhookError(401, "basic authentication does not match")


def _has_secret(provider: str, config: WebhookConfig) -> bool:
    return bool(
        {
            GITHUB: config.github_secret,
            GITLAB: config.gitlab_secret,
            BITBUCKET: config.bitbucket_uuid or config.bitbucket_secret,
            BITBUCKET_SERVER: config.bitbucketserver_secret,
            GOGS: config.gogs_secret,
            GITEA: config.gogs_secret,
            AZURE_DEVOPS: config.azuredevops_username or config.azuredevops_password,
        }.get(provider)
    )


def authenticate(provider: str, headers: Headers, body: bytes, config: WebhookConfig) -> None:
    """Raises WebhookError(401) unless the request carries the provider's configured secret.

    With no secret configured at all, every provider is accepted unsigned (as Argo CD). Once
    any secret is set, a provider without one is refused: otherwise anyone could skip the
    check by sending another provider's headers."""
    if not _has_secret(provider, config):
        if any(_has_secret(p, config) for p in PROVIDERS):
            raise WebhookError(401, f"no secret is configured for {provider} webhooks")
        return
    if provider == GITHUB and config.github_secret:
        _check_hmac(
            config.github_secret, body, headers.get("X-Hub-Signature-256"), "X-Hub-Signature-256", "sha256="
        )
    elif provider == GITLAB and config.gitlab_secret:
        _check_token(config.gitlab_secret, headers.get("X-Gitlab-Token"), "X-Gitlab-Token")
    elif provider == BITBUCKET:
        if config.bitbucket_uuid:
            _check_token(config.bitbucket_uuid, headers.get("X-Hook-UUID"), "X-Hook-UUID")
        if config.bitbucket_secret:
            _check_hmac(
                config.bitbucket_secret, body, headers.get("X-Hub-Signature"), "X-Hub-Signature", "sha256="
            )
    elif provider == BITBUCKET_SERVER and config.bitbucketserver_secret:
        _check_hmac(
            config.bitbucketserver_secret, body, headers.get("X-Hub-Signature"), "X-Hub-Signature", "sha256="
        )
    elif provider in (GOGS, GITEA) and config.gogs_secret:
        header = "X-Gitea-Signature" if provider == GITEA else "X-Gogs-Signature"
        _check_hmac(config.gogs_secret, body, headers.get(header), header, "")
    elif provider == AZURE_DEVOPS and (config.azuredevops_username or config.azuredevops_password):
        _check_basic_auth(
            config.azuredevops_username, config.azuredevops_password, headers.get("Authorization")
        )
