"""The simulated controllers: what kube-controller-manager, the scheduler and the kubelet do.

``manager`` (work queue, timers, store access), one module per kind (``deployment``,
``replicaset``, ``statefulset``, ``daemonset``, ``job``, ``namespace``, ``misc`` for
LoadBalancers), ``pods`` (pods from templates), ``kubelet`` (scheduling and the pod lifecycle),
``events`` (the event recorders) and ``logs`` (the simulated ``pods/log`` subresource).
"""

from .manager import Controller

__all__ = ["Controller"]
