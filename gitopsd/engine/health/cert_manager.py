"""cert-manager (``cert-manager.io``): Certificate, CertificateRequest, Issuer and ClusterIssuer health.

A Certificate is being issued while its ``Issuing`` condition is True (a first issuance also shows Ready False
with reason DoesNotExist, which is not a failure); a failed issuance (Issuing False, reason Failed) is Degraded with its reason; otherwise ``Ready`` tells. A CertificateRequest
is Ready True when issued, Ready False with reason Pending while waiting, and failed when Ready says Failed or
``Denied``/``InvalidRequest`` are True. Issuers are usable when Ready. ACME ``Order`` and ``Challenge``
(``acme.cert-manager.io``) carry the ACME state: valid is done, invalid/errored/expired failed, the rest pending.
"""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import condition, dig, text
from gitopsd.engine.health.conditions import condition_lag, message_of, ready
from gitopsd.engine.health.status import HealthResult, HealthStatus


def certificate(obj: dict[str, Any]) -> HealthResult:
    lag = condition_lag(obj, "Ready")
    issuing = condition(obj, "Issuing")
    if issuing is not None and issuing.get("status") == "True":
        return HealthResult(HealthStatus.PROGRESSING, message_of(issuing) or "Issuing certificate")
    if lag is not None:
        return lag
    if issuing is not None and issuing.get("status") == "False" and text(issuing.get("reason")) == "Failed":
        # The failed issuance says why; Ready only repeats that the secret is missing or stale.
        return HealthResult(HealthStatus.DEGRADED, message_of(issuing))
    return ready(obj, "Waiting for the certificate to be issued")


def certificate_request(obj: dict[str, Any]) -> HealthResult:
    for type_ in ("Denied", "InvalidRequest"):
        c = condition(obj, type_)
        if c is not None and c.get("status") == "True":
            return HealthResult(HealthStatus.DEGRADED, message_of(c))
    c = condition(obj, "Ready")
    if c is not None and c.get("status") == "False" and text(c.get("reason")) != "Failed":
        # Reason Pending: waiting for approval or for the issuer.
        return HealthResult(HealthStatus.PROGRESSING, message_of(c))
    return ready(obj, "Waiting for the request to be approved and signed")


def issuer(obj: dict[str, Any]) -> HealthResult:
    return condition_lag(obj, "Ready") or ready(obj, "Waiting for the issuer to be initialized")


_ACME_STATES = {
    "valid": HealthStatus.HEALTHY,
    "invalid": HealthStatus.DEGRADED,
    "errored": HealthStatus.DEGRADED,
    "expired": HealthStatus.DEGRADED,
}


def acme(obj: dict[str, Any]) -> HealthResult:
    state = text(dig(obj, "status", "state"))
    reason = text(dig(obj, "status", "reason"))
    status = _ACME_STATES.get(state, HealthStatus.PROGRESSING)
    if status is HealthStatus.PROGRESSING:
        return HealthResult(
            status, reason or (f"ACME state {state}" if state else "Waiting for the ACME server")
        )
    return HealthResult(status, reason)


CHECKS = {
    ("acme.cert-manager.io", "Order"): acme,
    ("acme.cert-manager.io", "Challenge"): acme,
    ("cert-manager.io", "Certificate"): certificate,
    ("cert-manager.io", "CertificateRequest"): certificate_request,
    ("cert-manager.io", "Issuer"): issuer,
    ("cert-manager.io", "ClusterIssuer"): issuer,
}
