"""`gitopsd app sync|diff|history|events|rollback|set|unset|wait|manifests|terminate-op`."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import grpc
import yaml

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.cli.client import Client, CLIError
from gitopsd.cli.output import add_output_flag, dump, print_fields, print_table
from gitopsd.protojson import to_document

COMPLETED = ("Succeeded", "Failed", "Error")
MAX_LOCAL_BYTES = 10 * 1024 * 1024


def add_parsers(
    appsub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    sync = appsub.add_parser(
        "sync", parents=[common], help="sync an application to its target (or a given) revision"
    )
    sync.add_argument("name")
    sync.add_argument("--revision", default="", help="sync to this revision instead of the target")
    sync.add_argument("--prune", action="store_true", help="delete resources Git no longer has")
    sync.add_argument("--dry-run", action="store_true", help="show what would change; change nothing")
    sync.add_argument(
        "--force", action="store_true", help="force field conflicts; recreate objects with immutable changes"
    )
    sync.add_argument(
        "--resource",
        action="append",
        default=[],
        metavar="GROUP:KIND:NAME",
        help="sync only this resource (NAME may be NAMESPACE/NAME; repeatable)",
    )
    sync.add_argument("--sync-option", action="append", default=[], help="e.g. Replace=true (repeatable)")
    sync.add_argument("--async", dest="async_", action="store_true", help="start the sync and return")
    sync.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait for the operation (default 600)"
    )
    add_output_flag(sync)
    sync.set_defaults(func=cmd_sync)

    diff = appsub.add_parser(
        "diff", parents=[common], help="diff live state against Git (exit 1 when they differ)"
    )
    diff.add_argument("name")
    diff.add_argument(
        "--revision", default="", help="revision to use instead of the target: branch, tag or commit"
    )
    diff.add_argument("--local", help="render this local directory instead of the repository")
    diff.add_argument(
        "--local-repo-root",
        help="the repository root the --local directory lives in "
        "(default: its git top level), so overlays can reach ../../base",
    )
    diff.set_defaults(func=cmd_diff)

    hist = appsub.add_parser("history", parents=[common], help="show the deployment history")
    hist.add_argument("name")
    add_output_flag(hist)
    hist.set_defaults(func=cmd_history)

    events = appsub.add_parser(
        "events",
        parents=[common],
        help="show the event log: who changed the app, operations, sync and health changes",
    )
    events.add_argument("name")
    events.add_argument("--limit", type=int, default=50, help="the newest N events (default 50, at most 200)")
    add_output_flag(events)
    events.set_defaults(func=cmd_events)

    rb = appsub.add_parser(
        "rollback", parents=[common], help="redeploy a history entry (default: the previous one)"
    )
    rb.add_argument("name")
    rb.add_argument("id", nargs="?", type=int, default=0)
    rb.add_argument("--dry-run", action="store_true", help="show what would change; change nothing")
    rb.add_argument("--prune", action="store_true", help="delete resources Git no longer has")
    rb.add_argument("--async", dest="async_", action="store_true", help="start the operation and return")
    rb.add_argument("--timeout", type=float, default=600.0, help="seconds to wait")
    add_output_flag(rb)
    rb.set_defaults(func=cmd_rollback)

    st = appsub.add_parser("set", parents=[common], help="change an application's parameters")
    st.add_argument("name")
    st.add_argument(
        "--kustomize-image",
        "--kustomize-images",
        action="append",
        default=[],
        dest="kustomize_image",
        metavar="[OLD=]NAME:TAG|NAME@DIGEST",
        help="replace a matching image override or add one (repeatable)",
    )
    st.add_argument(
        "--helm-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a Helm parameter, KEY=VALUE (repeatable)",
    )
    st.add_argument(
        "--helm-set-string",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Helm parameter forced to a string, KEY=VALUE (repeatable)",
    )
    st.add_argument("--values-literal", help="inline Helm values (YAML); @FILE reads a file")
    st.add_argument("--revision", help="target revision")
    st.add_argument("--path", help="path in the repository")
    st.add_argument("--repo", help="repository URL")
    st.add_argument("--dest-namespace", help="namespace to deploy into")
    st.add_argument(
        "--sync-policy", choices=["automated", "auto", "none", "manual"], help="automated or none (manual)"
    )
    st.add_argument(
        "--self-heal",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="automated sync undoes live changes (or not)",
    )
    st.add_argument(
        "--auto-prune",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="automated sync deletes resources Git no longer has (or not)",
    )
    st.set_defaults(func=cmd_set)

    un = appsub.add_parser("unset", parents=[common], help="remove parameters")
    un.add_argument("name")
    un.add_argument(
        "--kustomize-image",
        action="append",
        default=[],
        metavar="NAME",
        help="remove the image override for NAME (repeatable)",
    )
    un.add_argument(
        "--helm-set",
        action="append",
        default=[],
        metavar="KEY",
        dest="helm_param",
        help="remove the Helm parameter KEY (repeatable)",
    )
    un.add_argument("--values-literal", action="store_true", help="remove the inline Helm values")
    un.set_defaults(func=cmd_unset)

    wait = appsub.add_parser("wait", parents=[common], help="wait until synced and/or healthy")
    wait.add_argument("name")
    wait.add_argument("--sync", action="store_true", help="until Synced")
    wait.add_argument("--health", action="store_true", help="until Healthy")
    wait.add_argument("--operation", action="store_true", help="until no operation is running")
    wait.add_argument("--timeout", type=float, default=300.0, help="seconds to wait")
    wait.set_defaults(func=cmd_wait)

    man = appsub.add_parser("manifests", parents=[common], help="print the rendered manifests")
    man.add_argument("name")
    man.add_argument(
        "--revision", default="", help="revision to use instead of the target: branch, tag or commit"
    )
    man.set_defaults(func=cmd_manifests)

    term = appsub.add_parser("terminate-op", parents=[common], help="stop the running operation")
    term.add_argument("name")
    term.set_defaults(func=cmd_terminate)


# -- sync and rollback ---------------------------------------------------------------------


def _parse_resource(text: str) -> apppb.SyncOperationResource:
    parts = text.split(":")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise CLIError(
            f"--resource {text!r}: expected GROUP:KIND:NAME (GROUP may be empty, NAME may be NAMESPACE/NAME)"
        )
    group, kind, name = parts
    namespace = ""
    if "/" in name:
        namespace, name = name.split("/", 1)
    return apppb.SyncOperationResource(group=group, kind=kind, name=name, namespace=namespace)


class _Progress:
    """Follows the Watch stream of one application and prints each resource result as it lands."""

    def __init__(self, client: Client, name: str, quiet: bool) -> None:
        self.client = client
        self.name = name
        self.quiet = quiet
        self.final: apppb.Application | None = None
        self.started_at = ""
        self._done = threading.Event()
        self._ready = threading.Event()
        self._stream = client.apps.Watch(apppb.WatchApplicationsRequest(name=name), timeout=None)
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        try:
            for event in self._stream:
                if event.type == "RESOURCE" and not self.quiet:
                    r = event.resource
                    stamp = datetime.now().strftime("%Y-%m-%dT%H:%M:%S%z")
                    hook = f" {r.hook_type} hook" if r.hook_type else ""
                    print(
                        f"{stamp}  {r.group or '-':<10} {r.kind:<22} {r.namespace or '-':<14} {r.name:<30} "
                        f"{r.status}{hook}  {r.message}",
                        flush=True,
                    )
                op = event.application.status.operation_state
                if self.started_at and op.started_at == self.started_at and op.phase in COMPLETED:
                    self.final = event.application
                    self._done.set()
                    return
        except grpc.RpcError:
            self._done.set()

    def wait(self, started: apppb.Application, timeout: float) -> apppb.Application | None:
        self.started_at = started.status.operation_state.started_at
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._done.wait(1.0):
                break
            # The stream may have missed the end (reconnects): ask directly now and then.
            app = self.client.apps.Get(
                apppb.GetApplicationRequest(name=self.name), timeout=self.client.timeout
            )
            op = app.status.operation_state
            if op.started_at == self.started_at and op.phase in COMPLETED:
                self.final = app
                break
        self._stream.cancel()
        return self.final


def _run_and_wait(client: Client, args: argparse.Namespace, start: Any) -> int:
    progress = None if args.async_ else _Progress(client, args.name, quiet=args.output != "wide")
    started = start()
    op = started.status.operation_state
    if args.async_:
        print(f"operation started on '{args.name}' (phase {op.phase})")
        return 0
    assert progress is not None
    final = progress.wait(started, args.timeout)
    if final is None:
        raise CLIError(
            f"timed out after {args.timeout:.0f}s waiting for the operation on {args.name!r} "
            f"(it goes on; gitopsd app get {args.name} shows it)",
            code=1,
        )
    if args.output in ("json", "yaml"):
        dump(to_document(final.status.operation_state), args.output)
    else:
        print_operation(final)
    return 0 if final.status.operation_state.phase == "Succeeded" else 1


def print_operation(app: apppb.Application) -> None:
    op = app.status.operation_state
    print()
    print_fields(
        [
            ("Name", app.metadata.name),
            ("Project", app.spec.project),
            ("Server", app.spec.destination.server or app.spec.destination.name),
            ("Namespace", app.spec.destination.namespace),
            ("Operation", "Sync" + (" (dry run)" if op.operation.sync.dry_run else "")),
            ("Sync Revision", op.sync_result.revision),
            ("Phase", op.phase),
            ("Start", op.started_at),
            ("Finished", op.finished_at),
            ("Message", op.message),
        ]
    )
    rows = [
        (r.group, r.kind, r.namespace, r.name, r.status, r.hook_type, r.message)
        for r in op.sync_result.resources
    ]
    if rows:
        print()
        print_table(["GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HOOK", "MESSAGE"], rows)


def cmd_sync(args: argparse.Namespace, client: Client) -> int:
    request = apppb.SyncApplicationRequest(
        name=args.name,
        revision=args.revision,
        prune=args.prune,
        dry_run=args.dry_run,
        force=args.force,
        resources=[_parse_resource(r) for r in args.resource],
        sync_options=args.sync_option,
    )
    return _run_and_wait(client, args, lambda: client.apps.Sync(request, timeout=client.timeout))


def cmd_rollback(args: argparse.Namespace, client: Client) -> int:
    request = apppb.RollbackApplicationRequest(
        name=args.name, id=args.id, dry_run=args.dry_run, prune=args.prune
    )
    return _run_and_wait(client, args, lambda: client.apps.Rollback(request, timeout=client.timeout))


def cmd_terminate(args: argparse.Namespace, client: Client) -> int:
    client.apps.TerminateOperation(apppb.TerminateOperationRequest(name=args.name), timeout=client.timeout)
    print(f"Application '{args.name}' operation terminating")
    return 0


# -- diff and manifests ---------------------------------------------------------------------


def _git_toplevel(path: Path) -> Path | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def _local_files(local: Path, root: Path) -> list[apppb.LocalFile]:
    files, total = [], 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for fname in filenames:
            path = Path(dirpath) / fname
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(root.resolve()):
                    raise CLIError(f"{path}: symlink points outside {root}")
            if not path.is_file():
                continue
            data = path.read_bytes()
            total += len(data)
            if total > MAX_LOCAL_BYTES:
                raise CLIError(
                    f"{root}: more than {MAX_LOCAL_BYTES} bytes of files; use a smaller --local-repo-root"
                )
            files.append(apppb.LocalFile(path=str(path.relative_to(root)), content=data))
    return files


def cmd_diff(args: argparse.Namespace, client: Client) -> int:
    request = apppb.DiffApplicationRequest(name=args.name, revision=args.revision)
    if args.local:
        local = Path(args.local).resolve()
        if not local.is_dir():
            raise CLIError(f"--local {args.local}: not a directory")
        root = (
            Path(args.local_repo_root).resolve() if args.local_repo_root else (_git_toplevel(local) or local)
        )
        if not local.is_relative_to(root):
            raise CLIError(f"--local {args.local} is not inside --local-repo-root {root}")
        request.local_files.extend(_local_files(local, root))
        request.local_path = str(local.relative_to(root)) or "."
    reply = client.apps.Diff(request, timeout=client.timeout)
    differs = False
    for item in reply.items:
        if item.hook or not (item.diff or item.status in ("Missing", "Extraneous")):
            continue
        differs = True
        where = f"{item.namespace}/{item.name}" if item.namespace else item.name
        print(f"===== {item.group}/{item.kind} {where} ======")
        print(item.diff.rstrip("\n") if item.diff else f"({item.status})")
    return 1 if differs or reply.modified else 0


def cmd_manifests(args: argparse.Namespace, client: Client) -> int:
    reply = client.apps.Manifests(
        apppb.ManifestsRequest(name=args.name, revision=args.revision), timeout=client.timeout
    )
    docs = [json.loads(m) for m in reply.manifests]
    sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False, explicit_start=True))
    for warning in reply.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    return 0


# -- history --------------------------------------------------------------------------------


def _local_time(rfc3339: str) -> str:
    try:
        when = datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).astimezone()
    except ValueError:
        return rfc3339
    return when.strftime("%Y-%m-%d %H:%M:%S %z %Z")


def cmd_history(args: argparse.Namespace, client: Client) -> int:
    reply = client.apps.History(apppb.HistoryRequest(name=args.name), timeout=client.timeout)
    if args.output in ("json", "yaml"):
        dump([to_document(e) for e in reply.items], args.output)
        return 0
    rows = [
        (e.id, _local_time(e.deployed_at), e.revision[:7], (e.commit.message.splitlines() or [""])[0])
        for e in reply.items
    ]
    print_table(["ID", "DATE", "COMMIT", "MESSAGE"], rows)
    return 0


def cmd_events(args: argparse.Namespace, client: Client) -> int:
    reply = client.apps.ListEvents(
        apppb.ListEventsRequest(name=args.name, limit=args.limit), timeout=client.timeout
    )
    if args.output in ("json", "yaml"):
        dump([to_document(e) for e in reply.items], args.output)
        return 0
    rows = [(_local_time(e.timestamp), e.type, e.reason, e.message) for e in reply.items]
    print_table(["DATE", "TYPE", "REASON", "MESSAGE"], rows)
    return 0


# -- set / unset / wait ---------------------------------------------------------------------


def _image_key(image: str) -> str:
    """The name an image override replaces: `old=` when given, else the name without tag or digest."""
    if "=" in image:
        return image.split("=", 1)[0]
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name


def _update(client: Client, name: str, change: Any) -> None:
    app = client.apps.Get(apppb.GetApplicationRequest(name=name), timeout=client.timeout)
    change(app)
    client.apps.Update(apppb.UpdateApplicationRequest(application=app), timeout=client.timeout)


def _set_param(params: Any, text: str, force_string: bool) -> None:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise CLIError(f"--helm-set {text!r}: expected KEY=VALUE")
    for p in params:
        if p.name == key:
            p.value, p.force_string = value, force_string
            return
    params.add(name=key, value=value, force_string=force_string)


def cmd_set(args: argparse.Namespace, client: Client) -> int:
    values_literal = args.values_literal
    if values_literal and values_literal.startswith("@"):
        try:
            values_literal = Path(values_literal[1:]).read_text()
        except OSError as exc:
            raise CLIError(f"--values-literal {args.values_literal}: {exc.strerror}") from None
    if values_literal is not None:
        try:
            yaml.safe_load(values_literal)
        except yaml.YAMLError as exc:
            raise CLIError(f"--values-literal: not valid YAML: {exc}") from None

    def change(app: apppb.Application) -> None:
        src = app.spec.source
        for image in args.kustomize_image:
            key = _image_key(image)
            kept = [i for i in src.kustomize.images if _image_key(i) != key]
            del src.kustomize.images[:]
            src.kustomize.images.extend([*kept, image])
        for text in args.helm_set:
            _set_param(src.helm.parameters, text, False)
        for text in args.helm_set_string:
            _set_param(src.helm.parameters, text, True)
        if values_literal is not None:
            src.helm.values = values_literal
        if args.revision is not None:
            src.target_revision = args.revision
        if args.path is not None:
            src.path = args.path
        if args.repo is not None:
            src.repo_url = args.repo
        if args.dest_namespace is not None:
            app.spec.destination.namespace = args.dest_namespace
        policy = app.spec.sync_policy
        if args.sync_policy in ("none", "manual"):
            policy.ClearField("automated")
        elif args.sync_policy in ("automated", "auto"):
            policy.automated.SetInParent()
            policy.automated.ClearField("enabled")
        if args.self_heal is not None or args.auto_prune is not None:
            if not policy.HasField("automated"):
                raise CLIError("--self-heal/--auto-prune need automated sync (--sync-policy automated)")
            if args.self_heal is not None:
                policy.automated.self_heal = args.self_heal
            if args.auto_prune is not None:
                policy.automated.prune = args.auto_prune

    _update(client, args.name, change)
    return 0


def cmd_unset(args: argparse.Namespace, client: Client) -> int:
    def change(app: apppb.Application) -> None:
        src = app.spec.source
        if args.kustomize_image:
            drop = {_image_key(i) for i in args.kustomize_image}
            kept = [i for i in src.kustomize.images if _image_key(i) not in drop]
            del src.kustomize.images[:]
            src.kustomize.images.extend(kept)
        if args.helm_param:
            kept_params = [p for p in src.helm.parameters if p.name not in set(args.helm_param)]
            del src.helm.parameters[:]
            src.helm.parameters.extend(kept_params)
        if args.values_literal:
            src.helm.values = ""
        # An emptied block would still pin the source type: drop it.
        for block in ("kustomize", "helm"):
            if src.HasField(block) and getattr(src, block).ByteSize() == 0:
                src.ClearField(block)

    _update(client, args.name, change)
    return 0


def cmd_wait(args: argparse.Namespace, client: Client) -> int:
    want_sync, want_health = args.sync, args.health
    if not (args.sync or args.health or args.operation):
        want_sync = want_health = True

    def done(app: apppb.Application) -> bool:
        op_busy = app.status.operation_state.phase in ("Running", "Terminating")
        return (
            (not want_sync or app.status.sync.status == "Synced")
            and (not want_health or app.status.health.status == "Healthy")
            and not op_busy
        )

    deadline = time.monotonic() + args.timeout
    while True:
        app = client.apps.Get(apppb.GetApplicationRequest(name=args.name), timeout=client.timeout)
        if done(app):
            print(f"application '{args.name}': {app.status.sync.status}, {app.status.health.status}")
            return 0
        if time.monotonic() > deadline:
            raise CLIError(
                f"timed out after {args.timeout:.0f}s: '{args.name}' is {app.status.sync.status or 'Unknown'} "
                f"and {app.status.health.status or 'Unknown'}",
                code=1,
            )
        time.sleep(0.5)
