"""Masking of credentials in text (error messages, logs), shared by the daemon and the sidecars.

A credential is masked where it stands: the user:password part of a URL, and each occurrence of
the secret's text. A short secret (a password like `p`) is masked only where it stands alone, not
inside a longer word, or every `p` of `https://github.com/argoproj` would become `***`.
"""

from __future__ import annotations

import re

# user:password@ in any URL; in http(s) URLs any user@ as well (a token is often sent as the user
# name); `ssh://git@host` keeps its (public) user name.
URL_USERINFO = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*:[^/@\s]*@|(?P<web>[hH][tT][tT][pP][sS]?://)[^/@\s]+@"
)
# Secrets this long do not occur in other text by chance: masked wherever they appear.
_ANYWHERE = 8
_WORD = r"[A-Za-z0-9]"


def mask_url_credentials(text: str) -> str:
    """`https://user:pass@host/...` -> `https://***@host/...`."""
    return URL_USERINFO.sub(lambda m: f"{m.group('scheme') or m.group('web')}***@", text)


def mask_secret(text: str, secret: str) -> str:
    """Every occurrence of secret in text as `***` (a short one only where it is not part of a word)."""
    if not secret:
        return text
    if len(secret) >= _ANYWHERE:
        return text.replace(secret, "***")
    return re.sub(rf"(?<!{_WORD}){re.escape(secret)}(?!{_WORD})", "***", text)


def mask_all(text: str, secrets: list[str]) -> str:
    """Long secrets wherever they appear, then URL credentials, then short secrets standing alone.

    Long ones go first: a password holding `@` or `:` would otherwise split the URL pattern and
    leave part of itself behind."""
    ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
    for secret in ordered:
        if len(secret) >= _ANYWHERE:
            text = text.replace(secret, "***")
    text = mask_url_credentials(text)
    for secret in ordered:
        if len(secret) < _ANYWHERE:
            text = mask_secret(text, secret)
    return text
