"""`gitopsd apply -f FILE|DIR [-f ...] [-R]`: Argo CD documents of any mix of kinds, like `kubectl apply`.

Every AppProject, Application and ApplicationSet document of the files (a directory: its .yaml, .yml
and .json files; -R: and its subdirectories') is created or updated (upsert), projects first, then
applications, then application sets, so one file may hold a project and the applications that use it.
Each document goes through the daemon's own Create (the daemon checks RBAC per document as for a create;
one that exists is read, then replaced with upsert, which needs `update` on it too), and one line of output:
`application.argoproj.io/NAME created|configured|unchanged`. A document that fails is reported on stderr
with its file and index, the others go on, and the exit code is 2.

Many Applications (BATCH_FROM or more) cost O(batches) calls, not three per document: one List of the
existing applications, then BatchCreate of BATCH documents at a time (upsert for those that exist), with
the same lines; a batch the daemon refuses (all or none) is applied again one document at a time, so
every bad document is still named and the others applied.

The kinds are a dispatch table: one entry per kind gitopsd applies.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import yaml
from google.protobuf import json_format
from google.protobuf.message import Message

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import applicationset_pb2 as aspb
from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.cli.app_cmd import BATCH
from gitopsd.cli.client import Client, CLIError, error_line
from gitopsd.cli.yamlload import load_all

_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Document:
    file: str
    index: int  # 1-based, within its file
    body: dict[str, Any]

    @property
    def name(self) -> str:
        meta = self.body.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        return name if isinstance(name, str) else ""

    def where(self) -> str:
        return f"{self.file} document {self.index}" + (f" ({self.name})" if self.name else "")


# kind → (order, resource word in the output, apply: returns created|configured|unchanged)
Applier = Callable[[Client, Document], str]


def _spec_view(message: Message) -> dict[str, Any]:
    """What an upsert may change: labels, annotations, finalizers and spec (not server-set fields)."""
    doc = json_format.MessageToDict(message)
    meta = doc.get("metadata", {})
    return {"meta": {k: meta.get(k) for k in ("labels", "annotations", "finalizers")}, "spec": doc.get("spec")}


def _upsert(create: Callable[[bool], Message], get: Callable[[], Message]) -> str:
    """Create; when it exists, read it and replace it: created, configured or unchanged. The read comes
    only after the daemon said it exists (it answers PERMISSION_DENIED for what a caller may not see)."""
    try:
        create(False)
        return "created"
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
    try:
        before: Message | None = get()
    except grpc.RpcError as exc:
        if exc.code() not in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND):
            raise
        before = None  # may replace but not read it: cannot tell unchanged from configured
    after = create(True)
    return "unchanged" if before is not None and _spec_view(before) == _spec_view(after) else "configured"


def _apply_project(client: Client, doc: Document) -> str:
    manifest = json.dumps(doc.body, default=str)
    return _upsert(
        lambda upsert: client.projects.Create(
            projpb.CreateProjectRequest(manifest=manifest, upsert=upsert), timeout=client.timeout
        ),
        lambda: client.projects.Get(common_pb2.NameRequest(name=doc.name), timeout=client.timeout),
    )


def _apply_application(client: Client, doc: Document) -> str:
    manifest = json.dumps(doc.body, default=str)
    return _upsert(
        lambda upsert: client.apps.Create(
            apppb.CreateApplicationRequest(manifest=manifest, upsert=upsert), timeout=client.timeout
        ),
        lambda: client.apps.Get(apppb.GetApplicationRequest(name=doc.name), timeout=client.timeout),
    )


def _apply_application_set(client: Client, doc: Document) -> str:
    manifest = json.dumps(doc.body, default=str)
    return _upsert(
        lambda upsert: client.appsets.Create(
            aspb.CreateApplicationSetRequest(manifest=manifest, upsert=upsert), timeout=client.timeout
        ),
        lambda: client.appsets.Get(aspb.GetApplicationSetRequest(name=doc.name), timeout=client.timeout),
    )


KINDS: dict[str, tuple[int, str, Applier]] = {
    "AppProject": (0, "appproject", _apply_project),
    "Application": (1, "application", _apply_application),
    "ApplicationSet": (2, "applicationset", _apply_application_set),
}


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    apply = sub.add_parser(
        "apply",
        parents=[common],
        help="create or update AppProjects, Applications and ApplicationSets from files (like kubectl apply)",
        description="Creates or updates every AppProject, Application and ApplicationSet document of the "
        "files (projects first), printing KIND.argoproj.io/NAME created|configured|unchanged for each. "
        "Exit code 2 when any document failed (each named on stderr with its file and index).",
    )
    apply.add_argument(
        "-f",
        "--filename",
        action="append",
        required=True,
        metavar="FILE|DIR",
        help="a YAML/JSON file (several documents allowed; - for stdin) or a directory; repeatable",
    )
    apply.add_argument(
        "-R", "--recursive", action="store_true", help="also the files in subdirectories of a directory"
    )
    apply.set_defaults(func=cmd_apply)


def _files(target: str, recursive: bool) -> list[str]:
    if target == "-":
        return ["-"]
    path = Path(target)
    if path.is_dir():
        found = path.rglob("*") if recursive else path.glob("*")
        return sorted(str(p) for p in found if p.is_file() and p.suffix in _SUFFIXES)
    if not path.exists():
        raise CLIError(f"{target}: no such file or directory")
    return [target]


def _documents(file: str) -> Iterator[Document | tuple[str, str]]:
    """The documents of one file, or (where, error) for what cannot be read as one."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        yield file, f"cannot read: {getattr(exc, 'strerror', None) or exc}"
        return
    try:
        bodies = load_all(text)
    except yaml.YAMLError as exc:
        yield file, f"not valid YAML: {exc}"
        return
    for i, body in enumerate(bodies, start=1):
        if body is None:
            continue
        if not isinstance(body, dict):
            yield f"{file} document {i}", f"expected a mapping, got {type(body).__name__}"
            continue
        yield Document(file, i, body)


def cmd_apply(args: argparse.Namespace, client: Client) -> int:
    failures = 0
    docs: list[Document] = []
    for target in args.filename:
        for file in _files(target, args.recursive):
            for item in _documents(file):
                if isinstance(item, Document):
                    docs.append(item)
                else:
                    sys.stderr.write(f"{item[0]}: {item[1]}\n")
                    failures += 1
    if not docs and not failures:
        raise CLIError(f"no documents in {', '.join(args.filename)}")
    known: list[Document] = []
    for doc in docs:
        kind = doc.body.get("kind")
        if isinstance(kind, str) and kind in KINDS:
            known.append(doc)
            continue
        sys.stderr.write(
            f"{doc.where()}: kind {kind!r} is not one gitopsd applies ({', '.join(KINDS)})\n"
            if kind
            else f"{doc.where()}: kind: required\n"
        )
        failures += 1
    # Projects first, then applications, then sets: a file may define a project and use it (stable sort).
    ordered = sorted(known, key=lambda d: KINDS[d.body["kind"]][0])
    apps = [d for d in ordered if d.body["kind"] == "Application"]
    batched = len(apps) >= BATCH_FROM
    for doc in ordered:
        if batched and doc.body["kind"] == "Application":
            if doc is apps[0]:
                failures += _apply_applications(client, apps)
            continue
        failures += not _apply_one(client, doc)
    return 2 if failures else 0


def _apply_one(client: Client, doc: Document) -> bool:
    """One document through its kind's Create (and Get, upsert): its line on stdout, or its error on
    stderr (False)."""
    _, word, applier = KINDS[doc.body["kind"]]
    try:
        verb = applier(client, doc)
    except (grpc.RpcError, CLIError) as exc:
        sys.stderr.write(f"{doc.where()}: {error_line(exc, client.address)}\n")
        return False
    print(f"{word}.argoproj.io/{doc.name} {verb}", flush=True)
    return True


# From how many Application documents `apply` reads the existing applications once and sends the
# documents in BatchCreate calls of BATCH (the daemon takes up to 1,000): below it, the one List (all
# of the daemon's applications, 0.7 s at 10,000) costs more than three calls per document.
BATCH_FROM = 20


def _apply_applications(client: Client, docs: list[Document]) -> int:
    """Applications in O(batches) calls, with the same lines as one at a time: one List says which
    exist (and what they were, for unchanged/configured), then BatchCreate per batch, upsert for
    those that exist. A List the caller may not make means one document at a time, as before.
    Returns the number of failures."""
    try:
        listed = client.apps.List(apppb.ListApplicationsRequest(), timeout=client.timeout)
    except grpc.RpcError:
        return sum(not _apply_one(client, doc) for doc in docs)
    # List shows only what the caller may `get`, as Get would: an application it cannot see is
    # created without upsert, refused as existing, and its batch goes one at a time (as before).
    existing = {app.metadata.name: app for app in listed.items}
    failures = 0
    for start in range(0, len(docs), BATCH):
        failures += _apply_batch(client, docs[start : start + BATCH], existing)
    return failures


def _apply_batch(client: Client, docs: list[Document], existing: dict[str, apppb.Application]) -> int:
    befores = [existing.get(doc.name) for doc in docs]
    requests = [
        apppb.CreateApplicationRequest(manifest=json.dumps(doc.body, default=str), upsert=before is not None)
        for doc, before in zip(docs, befores, strict=True)
    ]
    try:
        reply = client.apps.BatchCreate(
            apppb.BatchCreateApplicationsRequest(requests=requests), timeout=client.timeout
        )
    except grpc.RpcError:
        # All or none: one bad document (or one created meanwhile, or a name given twice) refuses the
        # batch. One at a time then, so that each failure is named and the others are applied.
        return sum(not _apply_one(client, doc) for doc in docs)
    for before, after in zip(befores, reply.applications, strict=True):
        if before is None:
            verb = "created"
        else:
            verb = "unchanged" if _spec_view(before) == _spec_view(after) else "configured"
        existing[after.metadata.name] = after  # the same name again in a later batch: an upsert of this
        print(f"application.argoproj.io/{after.metadata.name} {verb}")
    sys.stdout.flush()
    return 0
