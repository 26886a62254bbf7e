"""Table output (meta.k8s.io/v1 Table), which `kubectl get` asks for, so it prints real columns.

Only a handful of kinds have columns beyond NAME and AGE; the values follow what the real
server prints (READY 2/2, STATUS Running...), computed from the object and its status.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

from .kinds.columns import KIND_COLUMNS
from .resources import ResourceType

Cells = Callable[[dict[str, Any]], list[Any]]


def wants_table(accept: str) -> bool:
    first = accept.split(",", 1)[0]
    params = {p.strip() for p in first.split(";")[1:]}
    return "as=Table" in params and "g=meta.k8s.io" in params


def age(timestamp: Any, now: datetime.datetime | None = None) -> str:
    if not isinstance(timestamp, str):
        return "<unknown>"
    try:
        then = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return "<invalid>"
    secs = int(((now or datetime.datetime.now(datetime.UTC)) - then).total_seconds())
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    mins = secs // 60
    if mins < 10:
        return f"{mins}m{secs % 60}s" if secs % 60 else f"{mins}m"
    if mins < 180:
        return f"{mins}m"
    hours = mins // 60
    if hours < 8:
        return f"{hours}h{mins % 60}m" if mins % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    return f"{days}d{hours % 24}h" if days < 8 and hours % 24 else f"{days}d"


def _status(o: dict[str, Any]) -> dict[str, Any]:
    s = o.get("status")
    return s if isinstance(s, dict) else {}


def _spec(o: dict[str, Any]) -> dict[str, Any]:
    s = o.get("spec")
    return s if isinstance(s, dict) else {}


def _pod_cells(o: dict[str, Any]) -> list[Any]:
    statuses = _status(o).get("containerStatuses") or []
    containers = _spec(o).get("containers") or []
    ready = sum(1 for c in statuses if isinstance(c, dict) and c.get("ready"))
    restarts = sum(int(c.get("restartCount", 0)) for c in statuses if isinstance(c, dict))
    phase = _status(o).get("phase", "Pending")
    if phase in ("Succeeded", "Failed") and statuses:
        term = ((statuses[0].get("state") or {}).get("terminated") or {}).get("reason")
        phase = term or phase
    return [f"{ready}/{len(containers)}", phase, restarts]


def _job_cells(o: dict[str, Any]) -> list[Any]:
    s = _status(o)
    conds = {c.get("type"): c.get("status") for c in s.get("conditions") or [] if isinstance(c, dict)}
    state = (
        "Complete"
        if conds.get("Complete") == "True"
        else "Failed"
        if conds.get("Failed") == "True"
        else "Running"
    )
    return [state, f"{s.get('succeeded', 0)}/{_spec(o).get('completions', 1)}"]


def _service_cells(o: dict[str, Any]) -> list[Any]:
    spec = _spec(o)
    ingress = ((_status(o).get("loadBalancer") or {}).get("ingress")) or []
    external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress if isinstance(i, dict))
    if not external:
        external = "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"
    ports = ",".join(
        f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}/{p.get('protocol', 'TCP')}"
        for p in spec.get("ports") or []
        if isinstance(p, dict)
    )
    return [spec.get("type", "ClusterIP"), spec.get("clusterIP", "<none>"), external, ports or "<none>"]


def _data_count(o: dict[str, Any]) -> int:
    return len(o.get("data") or {}) + len(o.get("binaryData") or {})


COLUMNS: dict[str, tuple[list[tuple[str, str]], Cells]] = {
    "/namespaces": ([("Status", "string")], lambda o: [_status(o).get("phase", "Active")]),
    "apps/deployments": (
        [("Ready", "string"), ("Up-to-date", "integer"), ("Available", "integer")],
        lambda o: [
            f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 1)}",
            _status(o).get("updatedReplicas", 0),
            _status(o).get("availableReplicas", 0),
        ],
    ),
    "apps/replicasets": (
        [("Desired", "integer"), ("Current", "integer"), ("Ready", "integer")],
        lambda o: [
            _spec(o).get("replicas", 1),
            _status(o).get("replicas", 0),
            _status(o).get("readyReplicas", 0),
        ],
    ),
    "apps/statefulsets": (
        [("Ready", "string")],
        lambda o: [f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 1)}"],
    ),
    "apps/daemonsets": (
        [
            ("Desired", "integer"),
            ("Current", "integer"),
            ("Ready", "integer"),
            ("Up-to-date", "integer"),
            ("Available", "integer"),
        ],
        lambda o: [
            _status(o).get(k, 0)
            for k in (
                "desiredNumberScheduled",
                "currentNumberScheduled",
                "numberReady",
                "updatedNumberScheduled",
                "numberAvailable",
            )
        ],
    ),
    "/pods": ([("Ready", "string"), ("Status", "string"), ("Restarts", "integer")], _pod_cells),
    "batch/jobs": ([("Status", "string"), ("Completions", "string")], _job_cells),
    "/services": (
        [("Type", "string"), ("Cluster-IP", "string"), ("External-IP", "string"), ("Port(s)", "string")],
        _service_cells,
    ),
    "/configmaps": ([("Data", "integer")], lambda o: [_data_count(o)]),
    "/secrets": (
        [("Type", "string"), ("Data", "integer")],
        lambda o: [o.get("type", "Opaque"), _data_count(o)],
    ),
    "/persistentvolumeclaims": (
        [("Status", "string"), ("Volume", "string"), ("Capacity", "string")],
        lambda o: [
            _status(o).get("phase", "Pending"),
            _spec(o).get("volumeName", ""),
            (_status(o).get("capacity") or {}).get("storage", ""),
        ],
    ),
}


def _json_path(obj: Any, path: str) -> Any:
    """The simple ``.a.b`` JSONPaths CRD printer columns use; anything fancier prints empty."""
    cur = obj
    for part in path.strip().lstrip(".").split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None or isinstance(cur, dict | list):
        return "" if cur is None else json.dumps(cur)
    return cur


COLUMNS.update(KIND_COLUMNS)  # nodes, volumes, storage classes... (kinds.columns)


def _printer_columns(rt: ResourceType) -> tuple[list[tuple[str, str]], Cells]:
    cols = rt.printer_columns

    def cells(o: dict[str, Any]) -> list[Any]:
        out = []
        for _, ctype, path in cols:
            value = _json_path(o, path)
            out.append(age(value) if ctype == "date" and value else value)
        return out

    return [(name, "string" if ctype == "date" else ctype) for name, ctype, _ in cols], cells


def table(
    rt: ResourceType, objects: list[dict[str, Any]], list_meta: dict[str, Any], include: str = "Metadata"
) -> dict[str, Any]:
    if rt.storage_key == "/events" and not rt.printer_columns:
        from .eventtable import event_table  # sandbox point 2: the real Event columns

        return event_table(objects, list_meta, include)
    extra, cells = (
        _printer_columns(rt) if rt.printer_columns else COLUMNS.get(rt.storage_key, ([], lambda o: []))
    )
    columns = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    columns += [{"name": n, "type": t, "format": "", "description": n, "priority": 0} for n, t in extra]
    columns.append({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0})
    now = datetime.datetime.now(datetime.UTC)

    def row_cells(o: dict[str, Any]) -> list[Any]:
        meta = o.get("metadata") or {}
        return [meta.get("name", ""), *cells(o), age(meta.get("creationTimestamp"), now)]

    return table_of(columns, objects, row_cells, list_meta, include)


def table_of(
    columns: list[dict[str, Any]],
    objects: list[dict[str, Any]],
    cells: Callable[[dict[str, Any]], list[Any]],
    list_meta: dict[str, Any],
    include: str,
) -> dict[str, Any]:
    """The meta.k8s.io/v1 Table of `objects`, one row of `cells(o)` each; a row carries its object
    (includeObject=Object), only its metadata (Metadata, the default) or nothing (None)."""
    rows = []
    for o in objects:
        row: dict[str, Any] = {"cells": cells(o)}
        if include == "Object":
            row["object"] = o
        elif include != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": o.get("metadata") or {},
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": columns,
        "rows": rows,
    }
