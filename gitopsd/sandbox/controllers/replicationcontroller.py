"""The ReplicationController controller: the ReplicaSet controller run on the v1 kind.

As in kube-controller-manager (whose ReplicationManager wraps the ReplicaSet controller), an RC
keeps ``spec.replicas`` pods ``<rc>-<5 random>`` made from its template, owned by it with
``controller: true``, and reports replicas, fullyLabeledReplicas, readyReplicas,
availableReplicas and observedGeneration; ``kubectl scale rc`` goes through its scale
subresource. Its events come from ``replication-controller``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .replicaset import reconcile

if TYPE_CHECKING:
    from .manager import Controller

SKEY = "/replicationcontrollers"
COMPONENT = "replication-controller"


def sync(ctl: Controller, ns: str, name: str) -> None:
    reconcile(ctl, SKEY, "v1", "ReplicationController", ns, name, COMPONENT)
