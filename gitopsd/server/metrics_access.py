"""Who may read GET /metrics (config `metrics.auth`).

The metrics name every application with its sync and health status and every repository, so a
client that is not on loopback must present a token (a session or API token, as the gRPC API
takes) of an account allowed to `get` every application; project-role tokens, which see one
project, are refused. `always` asks loopback clients too; `never` leaves fencing to the network.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gitopsd.auth.accounts import Accounts, Principal
from gitopsd.auth.authorizer import Authorizer
from gitopsd.auth.errors import Unauthenticated

# An object no project-scoped grant matches: only grants on every project's applications do.
ALL_APPLICATIONS = "*/*"


def is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 from a dual-stack listener
    return (mapped or address).is_loopback


def needs_token(mode: str, client_host: str) -> bool:
    if mode == "never":
        return False
    return mode == "always" or not is_loopback(client_host)


@dataclass(frozen=True)
class Denial:
    status: int  # 401 or 403
    message: str


@dataclass(frozen=True)
class MetricsAccess:
    mode: str
    authenticate: Callable[[str], Principal]
    allowed: Callable[[Principal, str, str, str], bool]
    # PROJECT/NAME of every application, as RBAC names them.
    app_objects: Callable[[], Iterable[str]]

    @classmethod
    def of(
        cls, mode: str, accounts: Accounts, authorizer: Authorizer, app_objects: Callable[[], Iterable[str]]
    ) -> MetricsAccess:
        return cls(mode, accounts.authenticate, authorizer.allowed, app_objects)

    def check(self, authorization: str | None, client_host: str) -> Denial | None:
        """None when the request may read the metrics."""
        if not needs_token(self.mode, client_host):
            return None
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return Denial(
                401, "a token is required: Authorization: Bearer TOKEN (a gitopsd session or API token)"
            )
        try:
            principal = self.authenticate(token.strip())
        except Unauthenticated as exc:
            return Denial(401, str(exc))
        # A grant on every project, and no deny rule hiding one of the applications the metrics name.
        if not self.allowed(principal, "applications", "get", ALL_APPLICATIONS) or not all(
            self.allowed(principal, "applications", "get", obj) for obj in self.app_objects()
        ):
            return Denial(403, f"permission denied: {principal.subject} may not get every application")
        return None
