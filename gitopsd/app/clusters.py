"""Clusters: the Kubernetes API servers applications deploy to.

A cluster is identified by its `server` URL (what applications name in
spec.destination.server) and a unique `name`. Its credentials include the URL to
connect to, which may differ from `server`: the daemon's own cluster is always
`in-cluster` at https://kubernetes.default.svc, whatever address its kubeconfig holds.
Credentials are written once and never returned.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gitopsd.api.gitopsd.v1 import cluster_pb2 as clpb
from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.app.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from gitopsd.app.secrets import encode_secret, secret_bytes, secret_str
from gitopsd.app.validation import validate_name
from gitopsd.kube.credentials import ClusterCredentials
from gitopsd.protojson import parse_document, to_document
from gitopsd.store import Store, dumps, loads, utcnow

log = logging.getLogger("gitopsd.clusters")

IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
IN_CLUSTER_NAME = "in-cluster"

# Asks a cluster for its version; raises with a user-facing message when it cannot.
VersionProbe = Callable[[ClusterCredentials], str]


@dataclass(frozen=True)
class ClusterRecord:
    cluster: clpb.Cluster  # without credentials
    credentials: ClusterCredentials


def _validate(cluster: clpb.Cluster) -> None:
    if not re.match(r"^https?://[^\s/]+", cluster.server):
        raise InvalidArgument(f"server: {cluster.server!r} is not an http(s) URL")
    validate_name(cluster.name, "name")
    for i, ns in enumerate(cluster.namespaces):
        if not re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", ns):
            raise InvalidArgument(f"namespaces[{i}]: {ns!r} is not a valid namespace name")


def _secret(creds: ClusterCredentials) -> dict[str, Any]:
    """The stored form of credentials; `connect` is where to connect, which may differ from the
    cluster's identity (in-cluster is https://kubernetes.default.svc wherever it really is)."""
    return encode_secret(
        {
            "connect": creds.server,
            "bearerToken": creds.bearer_token,
            "username": creds.username,
            "password": creds.password,
            "caData": creds.ca_data,
            "certData": creds.cert_data,
            "keyData": creds.key_data,
            "insecure": creds.insecure,
            "serverName": creds.server_name,
        }
    )


class Clusters:
    def __init__(self, store: Store, probe: VersionProbe, check_timeout: float = 5.0) -> None:
        self._store = store
        self._probe = probe
        self._check_timeout = check_timeout
        # Called after a cluster is added, changed or removed (cached connections must be dropped).
        self.on_change: list[Callable[[], None]] = []

    def _changed(self) -> None:
        for listener in self.on_change:
            listener()

    # -- writing ---------------------------------------------------------------

    def add(self, cluster: clpb.Cluster, upsert: bool = False) -> clpb.Cluster:
        cluster.server = cluster.server.rstrip("/")
        _validate(cluster)
        cfg = cluster.config
        tls = cfg.tls_client_config
        if bool(tls.cert_data) != bool(tls.key_data):
            raise InvalidArgument("config.tlsClientConfig: certData and keyData go together")
        secret = _secret(
            ClusterCredentials(
                server=cluster.server,  # where to connect: the same as server unless registered otherwise
                bearer_token=cfg.bearer_token,
                username=cfg.username,
                password=cfg.password,
                ca_data=tls.ca_data,
                cert_data=tls.cert_data,
                key_data=tls.key_data,
                insecure=tls.insecure,
                server_name=tls.server_name,
            )
        )
        return self._write(cluster, secret, upsert)

    def register_in_cluster(self, creds: ClusterCredentials) -> None:
        """Records the daemon's own cluster from its kubeconfig (at every start: it may have changed)."""
        cluster = clpb.Cluster(server=IN_CLUSTER_SERVER, name=IN_CLUSTER_NAME)
        secret = _secret(creds)
        self._write(cluster, secret, upsert=True)

    def _write(self, cluster: clpb.Cluster, secret: dict[str, Any], upsert: bool) -> clpb.Cluster:
        public = clpb.Cluster()
        public.CopyFrom(cluster)
        public.ClearField("config")
        public.ClearField("info")
        now = utcnow()
        with self._store.transaction() as conn:
            by_server = conn.execute(
                "SELECT name FROM clusters WHERE server = ?", (cluster.server,)
            ).fetchone()
            by_name = conn.execute("SELECT server FROM clusters WHERE name = ?", (cluster.name,)).fetchone()
            if by_name is not None and by_name[0] != cluster.server:
                raise AlreadyExists(f"cluster name {cluster.name!r} is already used by {by_name[0]}")
            if by_server is not None and not upsert:
                raise AlreadyExists(
                    f"cluster {cluster.server} already exists as {by_server[0]!r} (use --upsert to replace it)"
                )
            if by_server is None:
                conn.execute(
                    "INSERT INTO clusters (server, name, manifest, secret, info, created_at, updated_at) VALUES (?, ?, ?, ?, '{}', ?, ?)",
                    (cluster.server, cluster.name, dumps(to_document(public)), self._store.seal("clusters", secret), now, now),
                )
            else:
                conn.execute(
                    "UPDATE clusters SET name = ?, manifest = ?, secret = ?, updated_at = ? WHERE server = ?",
                    (cluster.name, dumps(to_document(public)), self._store.seal("clusters", secret), now, cluster.server),
                )
        self._changed()
        return self.get(server=cluster.server)

    def delete(self, name: str = "", server: str = "", force: bool = False) -> None:
        record = self._row(name, server)
        srv, nm = record["server"], record["name"]
        users = [
            r[0]
            for r in self._store.query(
                "SELECT name FROM applications WHERE json_extract(manifest, '$.spec.destination.server') = ? "
                "OR json_extract(manifest, '$.spec.destination.name') = ? ORDER BY name",
                (srv, nm),
            )
        ]
        if users and not force:
            shown = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
            raise FailedPrecondition(
                f"cluster {nm!r} is the destination of applications: {shown} (use --force to remove it anyway)"
            )
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM clusters WHERE server = ?", (srv,))
        self._changed()

    # -- reading ---------------------------------------------------------------

    def _row(self, name: str = "", server: str = "") -> dict[str, str]:
        if server:
            row = self._store.query_one("SELECT * FROM clusters WHERE server = ?", (server.rstrip("/"),))
        elif name:
            row = self._store.query_one("SELECT * FROM clusters WHERE name = ?", (name,))
        else:
            raise InvalidArgument("name or server: required")
        if row is None:
            raise NotFound(f"cluster {server or name!r} not found")
        return dict(row)

    def _public(self, row: dict[str, str], count: bool = True) -> clpb.Cluster:
        """The cluster as the API shows it; count: with info.applicationsCount (a scan of every
        application's destination: for `cluster get/list`, never for the reconcile path)."""
        cluster = parse_document(loads(row["manifest"]), clpb.Cluster())
        secret = self._store.unseal("clusters", row["secret"])
        cluster.config.has_bearer_token = bool(secret_str(secret, "bearerToken"))
        cluster.config.has_client_certificate = bool(secret_bytes(secret, "certData"))
        cluster.config.has_ca = bool(secret_bytes(secret, "caData"))
        cluster.config.tls_client_config.insecure = bool(secret.get("insecure"))
        cluster.config.tls_client_config.server_name = secret_str(secret, "serverName")
        info = loads(row["info"])
        if info:
            parse_document(info, cluster.info)
        if count:
            cluster.info.applications_count = self._app_count(cluster)
        return cluster

    def _app_count(self, cluster: clpb.Cluster) -> int:
        row = self._store.query_one(
            "SELECT COUNT(*) FROM applications WHERE json_extract(manifest, '$.spec.destination.server') = ? "
            "OR json_extract(manifest, '$.spec.destination.name') = ?",
            (cluster.server, cluster.name),
        )
        return int(row[0]) if row else 0

    def get(self, name: str = "", server: str = "") -> clpb.Cluster:
        return self._public(self._row(name, server))

    def list(self, check: bool = True) -> list[clpb.Cluster]:
        rows = [dict(r) for r in self._store.query("SELECT * FROM clusters ORDER BY name")]
        if check and rows:
            # Check every cluster at once: one slow cluster must not add up with the others.
            with ThreadPoolExecutor(max_workers=min(8, len(rows))) as pool:
                list(pool.map(lambda r: self.check(r["server"]), rows))
            rows = [dict(r) for r in self._store.query("SELECT * FROM clusters ORDER BY name")]
        return [self._public(r) for r in rows]

    def credentials(self, name: str = "", server: str = "") -> ClusterCredentials:
        row = self._row(name, server)
        secret = self._store.unseal("clusters", row["secret"])
        return ClusterCredentials(
            server=secret_str(secret, "connect") or row["server"],
            bearer_token=secret_str(secret, "bearerToken"),
            ca_data=secret_bytes(secret, "caData"),
            cert_data=secret_bytes(secret, "certData"),
            key_data=secret_bytes(secret, "keyData"),
            insecure=bool(secret.get("insecure")),
            server_name=secret_str(secret, "serverName"),
            username=secret_str(secret, "username"),
            password=secret_str(secret, "password"),
        )

    def resolve_destination(self, server: str, name: str) -> ClusterRecord:
        """The cluster an application's destination names (server wins, as in Argo CD)."""
        row = self._row(name=name, server=server)
        # Every refresh of every application resolves its destination: no count of applications here.
        return ClusterRecord(self._public(row, count=False), self.credentials(server=row["server"]))

    def check(self, server: str) -> common_pb2.ConnectionState:
        """Asks the cluster for its version and records the outcome."""
        creds = self.credentials(server=server)
        state = common_pb2.ConnectionState(attempted_at=utcnow())
        version = ""
        try:
            version = self._probe(creds)
            state.status, state.message = "Successful", ""
        except Exception as exc:  # the probe's messages are ours (kube errors, no credentials)
            state.status, state.message = "Failed", str(exc)
        info = clpb.ClusterInfo(server_version=version, connection_state=state)
        with self._store.transaction() as conn:
            conn.execute("UPDATE clusters SET info = ? WHERE server = ?", (dumps(to_document(info)), server))
        return state
