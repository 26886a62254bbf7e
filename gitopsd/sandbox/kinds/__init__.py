"""Kinds a real cluster serves beyond the workload basics, and the objects it starts with.

``types`` lists their resource types (added to ``resources.BUILTINS``); ``seed`` creates what a
fresh cluster already has (a Ready node, the default ``standard`` StorageClass, the API priority and
fairness defaults); ``provisioner`` binds PersistentVolumeClaims; ``endpoints`` keeps Endpoints and
EndpointSlices of Services in step with ready Pods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .loop import Loop

if TYPE_CHECKING:
    from ..api import Api


def start_kinds(api: Api, delay: float) -> Loop:
    """Start the provisioner and endpoints controllers on one worker; stop it with ``stop()``."""
    from .endpoints import EndpointsController
    from .provisioner import Provisioner

    loop = Loop("sandbox-kinds")
    Provisioner(api, loop, delay)
    EndpointsController(api, loop)
    api.on_event(loop.offer)
    loop.start()
    return loop


__all__ = ["Loop", "start_kinds"]
