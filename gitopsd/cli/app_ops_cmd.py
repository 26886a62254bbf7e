"""`gitopsd app diff|history|events|set|unset|manifests` (sync, rollback, wait, terminate-op: app_sync_cmd.py)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.cli.client import Client, CLIError
from gitopsd.cli.output import add_output_flag, dump, print_table
from gitopsd.protojson import to_document

COMPLETED = ("Succeeded", "Failed", "Error")
MAX_LOCAL_BYTES = 10 * 1024 * 1024


def add_parsers(
    appsub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
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
    add_validate_flag(st)
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
    add_validate_flag(un)
    un.set_defaults(func=cmd_unset)

    man = appsub.add_parser("manifests", parents=[common], help="print the rendered manifests")
    man.add_argument("name")
    man.add_argument(
        "--revision", default="", help="revision to use instead of the target: branch, tag or commit"
    )
    man.set_defaults(func=cmd_manifests)



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
        (
            e.id,
            _local_time(e.deployed_at),
            # A multi-source deployment: every source's revision, in spec order.
            ",".join(r[:7] for r in e.revisions) if e.revisions else e.revision[:7],
            (e.commit.message.splitlines() or [""])[0],
        )
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


def add_validate_flag(parser: argparse.ArgumentParser) -> None:
    """--validate/--no-validate of `app create`, `app set` and `app unset` (the requests' `validate`)."""
    # Off by default, as the API's `validate`: an application may name a repository or cluster that
    # is not reachable or registered yet, and says so in its conditions until it is.
    parser.add_argument(
        "--validate",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="before storing, check that the destination cluster is registered and every source "
        "resolves and renders (default: off; argocd's default is on)",
    )


def _update(client: Client, name: str, change: Any, validate: bool = False) -> None:
    app = client.apps.Get(apppb.GetApplicationRequest(name=name), timeout=client.timeout)
    change(app)
    client.apps.Update(
        apppb.UpdateApplicationRequest(application=app, validate=validate), timeout=client.timeout
    )


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

    _update(client, args.name, change, args.validate)
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

    _update(client, args.name, change, args.validate)
    return 0
