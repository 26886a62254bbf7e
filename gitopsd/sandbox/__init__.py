"""The sandbox cluster: an emulated Kubernetes API server for tests and the demo.

It speaks the real Kubernetes HTTP API over HTTPS closely enough for the unmodified official
client and kubectl, and imports nothing from the rest of gitopsd (it stands in for a cluster).

Modules: ``cluster`` (SandboxCluster: wiring, kubeconfig), ``server`` (HTTP/1.1 + TLS, routing,
watch streaming), ``tls`` (CA, serving cert, token check), ``api`` (request semantics),
``store`` (objects, resourceVersions, watches), ``resources`` (served kinds, CRDs),
``discovery``, ``openapi``, ``table`` (kubectl get columns), ``patch`` (merge / JSON /
strategic merge), ``ssa`` (server-side apply, managedFields), ``listschema`` (list/map semantics from the published
schemas), ``listkeys`` (name-based guesses for kinds without one), ``scaleapply`` (apply of /scale),
``watchcache`` (event window, snapshots, bookmarks, resourceVersionMatch), ``kinds`` (nodes, volumes
and their provisioner, endpoints, leases, storage classes, webhooks, flow control),
``defaults``, ``validation``, ``selectors``, ``controller`` (simulated controllers),
``protobuf`` (kubectl's imperative create bodies), ``faults`` (test-only fault injection),
``errors`` (Status objects), ``cli`` (``gitopsd sandbox``).

Sandbox-only behaviour, driven by annotations:
- on a Job: ``sandbox.gitopsd.io/job-result: fail`` makes it fail; ``sandbox.gitopsd.io/job-duration: "2.5"``
  sets how many seconds it runs (default: the cluster's ready delay);
- on a Deployment, StatefulSet, DaemonSet, ReplicaSet or bare Pod: ``sandbox.gitopsd.io/rollout-result: fail``
  keeps it from ever getting ready (Deployment: ProgressDeadlineExceeded; Pod: CrashLoopBackOff);
- on those, PVCs (provisioning) and LoadBalancer Services: ``sandbox.gitopsd.io/ready-delay: "5"``
  overrides the delay.
"""

from .cluster import SandboxCluster
from .faults import Faults

__all__ = ["Faults", "SandboxCluster"]
