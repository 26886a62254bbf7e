"""What every namespace gets: the ``default`` ServiceAccount (serviceaccount-controller) and the
``kube-root-ca.crt`` ConfigMap (root-ca-cert-publisher), recreated when deleted and the CA
restored when changed, as the real controllers do."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .manager import Controller

DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters."
)


def sync(ctl: Controller, _ns: str, name: str) -> None:
    ns = ctl.get("/namespaces", "", name)
    if ns is None or (ns.get("metadata") or {}).get("deletionTimestamp"):
        return
    if (ns.get("status") or {}).get("phase") == "Terminating":
        return
    if ctl.get("/serviceaccounts", name, "default") is None:
        ctl.api.create_internal(
            ctl.rt("/serviceaccounts"),
            name,
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": name},
            },
            "kube-controller-manager",
        )
    ca = ctl.ca_pem.decode()
    current = ctl.get("/configmaps", name, "kube-root-ca.crt")
    if current is None:
        ctl.api.create_internal(
            ctl.rt("/configmaps"),
            name,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "kube-root-ca.crt",
                    "namespace": name,
                    "annotations": {"kubernetes.io/description": DESCRIPTION},
                },
                "data": {"ca.crt": ca},
            },
            "kube-controller-manager",
        )
    elif (current.get("data") or {}).get("ca.crt") != ca:

        def restore(o: dict[str, Any]) -> None:
            o["data"] = {"ca.crt": ca}

        ctl.mutate("/configmaps", name, "kube-root-ca.crt", restore)
