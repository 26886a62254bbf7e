"""`gitopsd apply -f FILE|DIR [-f ...] [-R]`: Argo CD documents of any mix of kinds, like `kubectl apply`.

Every AppProject, Application and ApplicationSet document of the files (a directory: its .yaml, .yml
and .json files; -R: and its subdirectories') is created or updated (upsert), projects first, then
applications, then application sets, so one file may hold a project and the applications that use it.
Each document goes through the daemon's own Create (the daemon checks RBAC per document as for a create;
one that exists is read, then replaced with upsert, which needs `update` on it too), and one line of output:
`application.argoproj.io/NAME created|configured|unchanged`. A document that fails is reported on stderr
with its file and index, the others go on, and the exit code is 2.

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
from gitopsd.cli.client import Client, CLIError, error_line

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
        bodies = list(yaml.safe_load_all(text))
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
    known = [d for d in docs if d.body.get("kind") in KINDS]
    for doc in docs:
        if doc not in known:
            kind = doc.body.get("kind")
            sys.stderr.write(
                f"{doc.where()}: kind {kind!r} is not one gitopsd applies ({', '.join(KINDS)})\n"
                if kind
                else f"{doc.where()}: kind: required\n"
            )
            failures += 1
    # Projects first, then applications, then sets: a file may define a project and use it (stable sort).
    for doc in sorted(known, key=lambda d: KINDS[d.body["kind"]][0]):
        _, word, applier = KINDS[doc.body["kind"]]
        try:
            verb = applier(client, doc)
        except (grpc.RpcError, CLIError) as exc:
            sys.stderr.write(f"{doc.where()}: {error_line(exc, client.address)}\n")
            failures += 1
            continue
        print(f"{word}.argoproj.io/{doc.name} {verb}", flush=True)
    return 2 if failures else 0
