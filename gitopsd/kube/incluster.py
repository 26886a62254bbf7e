"""Credentials of the service account a pod runs with (the `kubeconfig: in-cluster` setting)."""

from __future__ import annotations

import os
from pathlib import Path

from gitopsd.kube.credentials import ClusterCredentials, KubeconfigError

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def in_cluster_credentials(account_dir: Path = SERVICE_ACCOUNT_DIR) -> ClusterCredentials:
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise KubeconfigError("in-cluster config: KUBERNETES_SERVICE_HOST is not set (not running in a pod)")
    try:
        token = (account_dir / "token").read_text().strip()
        ca = (account_dir / "ca.crt").read_bytes()
    except OSError as exc:
        raise KubeconfigError(
            f"in-cluster config: cannot read the service account in {account_dir}: {exc.strerror}"
        ) from None
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return ClusterCredentials(server=f"https://{host}:{port}", bearer_token=token, ca_data=ca)
