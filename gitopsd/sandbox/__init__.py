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
and their provisioner, endpoints, leases, storage classes, webhooks, flow control), ``deletion`` and
``gc`` (finalizers, grace periods, propagation, the garbage collector),
``defaults``, ``admission`` (what Pod admission adds), ``validation``, ``selectors``, ``controllers``
(the simulated controllers, kubelet, events and pod logs), ``eventsv1`` and ``eventtable`` (Events),
``protobuf`` (kubectl's imperative create bodies), ``faults`` (test-only fault injection),
``errors`` (Status objects), ``cli`` (``gitopsd sandbox``).

Sandbox-only behaviour, driven by annotations on a Pod or on the workload / Job owning it
(``controllers.kubelet`` walks the owner chain):
- ``sandbox.gitopsd.io/ready-delay: "5"``: seconds from scheduling to Running/Ready (default: the cluster's
  ready delay); also on PVCs and LoadBalancer Services (bind / ingress delay);
- ``sandbox.gitopsd.io/rollout-result: fail``: containers crash-loop (CrashLoopBackOff), so the workload
  never gets ready; a Deployment gets ProgressDeadlineExceeded once the ready delay has passed;
- ``sandbox.gitopsd.io/job-duration: "2.5"``: how long a Job's pods run once started;
- ``sandbox.gitopsd.io/job-result: fail``: a Job's pods fail; replacements fail too until more than
  ``backoffLimit`` have failed (no back-off wait), then the Job is Failed;
- ``sandbox.gitopsd.io/logs``: extra container log lines (one per line) for ``kubectl logs``.
"""

from .cluster import SandboxCluster
from .faults import Faults

__all__ = ["Faults", "SandboxCluster"]
