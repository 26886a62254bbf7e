"""gitopsd's own Kubernetes errors: every API or transport failure is mapped to one of these in gitopsd.kube.

Pure module (imports nothing of ``kubernetes``), so the engine can catch these without depending on the client.
Messages carry the API server's Status message, never credentials.
"""

from __future__ import annotations


class KubeError(Exception):
    """Base class. ``status`` is the HTTP code (0 when no answer), ``reason`` the Status reason."""

    status: int = 0
    default_reason: str = "Error"

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.reason = reason or self.default_reason

    def __str__(self) -> str:
        return self.message

    @property
    def cluster_unavailable(self) -> bool:
        """The cluster unreachable, or answering 5xx: it cannot be read right now. That is a fact about the
        cluster, not about one object, so a comparison must not turn it into per-resource results (a
        resource the cluster could not be asked about is not ``Missing``)."""
        return self.status >= 500


class Unauthorized(KubeError):
    status = 401
    default_reason = "Unauthorized"


class Forbidden(KubeError):
    status = 403
    default_reason = "Forbidden"


class NotFound(KubeError):
    status = 404
    default_reason = "NotFound"


class Conflict(KubeError):
    status = 409
    default_reason = "Conflict"


# How kube-apiserver words a refused change of a field that cannot change after creation.
_IMMUTABLE_MARKERS = (
    "immutable",  # "field is immutable", "spec is immutable after creation", PV sources
    "may not change once set",  # Service spec.clusterIP(s)
    "updates to statefulset spec for fields other than",  # StatefulSet
    "pod updates may not change fields other than",  # Pod spec
    "cannot change roleref",  # RoleBinding / ClusterRoleBinding
    ": forbidden: updates to",  # StorageClass parameters, provisioner...
)


class Invalid(KubeError):
    """422 (and 400 bad requests): the object was refused; ``immutable`` tells whether a field is immutable."""

    status = 422
    default_reason = "Invalid"

    @property
    def immutable(self) -> bool:
        """Whether the refusal is of a change the API server never allows in place (only a delete and
        re-create can make it): what `--force` / Replace needs to know."""
        text = self.message.lower()
        return any(marker in text for marker in _IMMUTABLE_MARKERS)


class Expired(KubeError):
    """410 Gone: a watch or list continuation is too old; list again."""

    status = 410
    default_reason = "Expired"


class UnknownKind(KubeError):
    """The cluster does not serve this apiVersion/kind (no CRD, wrong version)."""

    status = 404
    default_reason = "UnknownKind"


class Unreachable(KubeError):
    """No answer: connection refused, DNS, TLS failure."""

    status = 0
    default_reason = "Unreachable"

    @property
    def cluster_unavailable(self) -> bool:
        return True


class Timeout(KubeError):
    """No answer in time (or 408/504). One slow request says little about the cluster as a whole, so it
    stays the error of the kind it was about."""

    status = 0
    default_reason = "Timeout"

    @property
    def cluster_unavailable(self) -> bool:
        return False


class ServerError(KubeError):
    """5xx or any other unexpected answer."""

    status = 500
    default_reason = "InternalError"
