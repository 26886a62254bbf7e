"""How one project reaches one repository: credential scopes, and the repo cache's clone names.

The repo cache keeps one clone (and one ls-remote answer) per (URL, credential scope), and the
render cache keys its entries the same way, so what was fetched with one project's scoped
credentials is never served to an application of another project. This module names the
scopes and the clones; gitcache.py does the git work.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from gitopsd.sources.gitauth import RepoCredentials

log = logging.getLogger("gitopsd.sources.gitcache")

ANONYMOUS = "anonymous"
GLOBAL = "global"

EMBEDDED_PASSWORD_HINT = (
    "the URL embeds a password; remove it from the URL and add the credentials with "
    "`gitopsd repo add URL --username USER --password ...`"
)


@dataclass(frozen=True)
class RepoAccess:
    """A repository as one project reaches it: which clone, fetched with which credentials.

    scope is `anonymous` (no credentials), `global` (credentials every project may use) or
    `project:NAME` (credentials scoped to that project). Everything fetched is kept per
    (URL, scope), so sharing a clone never shares more than the credentials allow. Built once
    per operation (`RepoCache.access`) so the clone and the credentials always agree.
    """

    url: str
    key: str
    scope: str
    creds: RepoCredentials | None = field(default=None, repr=False, compare=False)


def scope_of(creds: RepoCredentials | None) -> str:
    """The scope of what is fetched with these credentials (what it may be shared with)."""
    if creds is None:
        return ANONYMOUS
    return f"project:{creds.scope}" if creds.scope else GLOBAL


def clone_name(acc: RepoAccess) -> str:
    """The clone's directory name: the scope is part of it, so one clone per (URL, scope)."""
    digest = hashlib.sha256(f"{acc.key}\0{acc.scope}".encode()).hexdigest()[:_DIGEST]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", acc.key.rsplit("/", 1)[-1])[:40]
    return f"{slug}-{digest}.git"


# Hex digits of sha256(url, scope) in a clone's name. Clones of gitopsd before credential scopes
# had 20 (one per URL, whatever credentials fetched them): they are removed at start.
_DIGEST = 24
_CLONE_NAME = re.compile(r"-([0-9a-f]+)\.git(\.init)?$")


def remove_unscoped_clones(repos: Path) -> None:
    """Drops clones named by URL alone: their content may have been fetched with credentials of
    another project, and nothing says which (they are fetched again into scoped clones)."""
    for entry in repos.iterdir() if repos.is_dir() else ():
        match = _CLONE_NAME.search(entry.name)
        if match and len(match.group(1)) != _DIGEST and entry.is_dir() and not entry.is_symlink():
            log.info("removing %s: a clone of the layout without credential scopes", entry.name)
            shutil.rmtree(entry, ignore_errors=True)
