"""Sealed Secrets (``bitnami.com`` SealedSecret): the controller writes a ``Synced`` condition once it has
tried to unseal (True: the Secret exists; False: it could not decrypt or write it, with the reason) and an
``observedGeneration``. Without any status the controller has not handled the object yet (Progressing).
"""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health.conditions import generation_lag, ready
from gitopsd.engine.health.status import HealthResult


def assess(obj: dict[str, Any]) -> HealthResult:
    return generation_lag(obj) or ready(obj, "Waiting for the controller to unseal", type_="Synced")


CHECKS = {("bitnami.com", "SealedSecret"): assess}
