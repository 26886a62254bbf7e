"""`gitopsd app sync|rollback|wait|terminate-op`: start operations and follow them as argocd does.

While an operation runs, each resource result prints as a line (a hook shows Running until it ends);
at the end the application's summary header and a table with each resource's health. `app wait`
says which resources it is still waiting for. sync and wait act on named applications or on every
one a label selector (-l) or project (--project) selects."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from datetime import datetime
from typing import Any

import grpc

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.cli.app_view import operation_rows, print_app
from gitopsd.cli.client import Client, CLIError
from gitopsd.cli.output import add_output_flag, dump
from gitopsd.protojson import to_document

COMPLETED = ("Succeeded", "Failed", "Error")
HEALTHY = ("Healthy", "")  # a resource without a health check counts as healthy, as in Argo CD
_PROGRESS = "{:<25} {:<12} {:<20} {:<16} {:<28} {:<11} {:<11} {:<9} {}"


def add_selection(parser: argparse.ArgumentParser, what: str) -> None:
    """NAME... or -l SELECTOR or --project PROJECT (argocd's way to act on several applications)."""
    parser.add_argument("names", nargs="*", metavar="NAME")
    parser.add_argument(
        "-l", "--selector", default="", help=f"{what} every application matching this label selector"
    )
    parser.add_argument(
        "-p",
        "--project",
        action="append",
        default=[],
        help=f"{what} every application of this project (repeatable)",
    )


def selected_names(args: argparse.Namespace, client: Client) -> list[str]:
    names = list(args.names)
    if not (names or args.selector or args.project):
        raise CLIError("name an application, or select applications with -l SELECTOR or --project PROJECT")
    if args.selector or args.project:
        reply = client.apps.List(
            apppb.ListApplicationsRequest(projects=args.project, selector=args.selector),
            timeout=client.timeout,
        )
        found = [a.metadata.name for a in reply.items]
        if not found:
            what = " and ".join(
                part
                for part in (
                    f"selector {args.selector!r}" if args.selector else "",
                    f"project {', '.join(args.project)}" if args.project else "",
                )
                if part
            )
            raise CLIError(f"no applications match {what}", code=1)
        names += [n for n in found if n not in names]
    return names


def add_parsers(
    appsub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    sync = appsub.add_parser(
        "sync", parents=[common], help="sync applications to their target (or a given) revision"
    )
    add_selection(sync, "sync")
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

    wait = appsub.add_parser("wait", parents=[common], help="wait until synced and/or healthy")
    add_selection(wait, "wait for")
    wait.add_argument("--sync", action="store_true", help="until Synced")
    wait.add_argument("--health", action="store_true", help="until Healthy")
    wait.add_argument("--operation", action="store_true", help="until no operation is running")
    wait.add_argument("--timeout", type=float, default=300.0, help="seconds to wait")
    wait.set_defaults(func=cmd_wait)

    term = appsub.add_parser("terminate-op", parents=[common], help="stop the running operation")
    term.add_argument("name")
    term.set_defaults(func=cmd_terminate)


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
        self._header = False
        self._done = threading.Event()
        self._stream = client.apps.Watch(apppb.WatchApplicationsRequest(name=name), timeout=None)
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Ends the stream (the follower thread then stops)."""
        self._stream.cancel()

    def interrupt(self) -> None:
        """Makes wait() return now (from a signal handler: sets an event, nothing more)."""
        self._done.set()

    def _line(self, r: apppb.ResourceResult) -> None:
        if not self._header:
            print(
                _PROGRESS.format(
                    "TIMESTAMP", "GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "HOOK", "MESSAGE"
                )
            )
            self._header = True
        stamp = datetime.now().astimezone().isoformat(timespec="seconds")
        status = r.hook_phase if r.hook_type else r.status  # a hook is Running until it ends
        line = _PROGRESS.format(
            stamp, r.group, r.kind, r.namespace, r.name, status, "", r.hook_type, r.message
        )
        print(line.rstrip(), flush=True)

    def _follow(self) -> None:
        try:
            for event in self._stream:
                if event.type == "RESOURCE" and not self.quiet:
                    self._line(event.resource)
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
        try:
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
        finally:
            self._stream.cancel()
        return self.final


def _run_and_wait(client: Client, args: argparse.Namespace, name: str, start: Any) -> int:
    text = args.output not in ("json", "yaml")
    progress = None if args.async_ else _Progress(client, name, quiet=not text)
    try:
        started = start()
    except KeyboardInterrupt:
        # The call may have reached the daemon before the interrupt (its operation then runs). The
        # progress stream is ended first: an open stream holds up the process's exit.
        if progress is not None:
            progress.cancel()
        sys.stderr.write(
            f"\ninterrupted: the operation on '{name}' continues on the server if it had started; follow "
            f"it with `gitopsd app wait {name}`, stop it with `gitopsd app terminate-op {name}`\n"
        )
        return 130
    op = started.status.operation_state
    if args.async_:
        print(f"operation started on '{name}' (phase {op.phase})")
        return 0
    assert progress is not None
    # Ctrl-C sets a flag instead of raising: a KeyboardInterrupt raised inside a gRPC call (the wait
    # polls with Get) can leave the channel's locks held, and the process then hangs on its way out.
    interrupted = threading.Event()

    def on_interrupt(signum: int, frame: object) -> None:
        interrupted.set()
        progress.interrupt()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        final = progress.wait(started, args.timeout)
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted.is_set():
        progress.cancel()
        sys.stderr.write(
            f"\ninterrupted: the operation on '{name}' continues on the server; follow it with "
            f"`gitopsd app wait {name}`, stop it with `gitopsd app terminate-op {name}`\n"
        )
        return 130
    if final is None:
        raise CLIError(
            f"timed out after {args.timeout:.0f}s waiting for the operation on {name!r} "
            f"(it goes on: `gitopsd app wait {name}` follows it, `gitopsd app terminate-op {name}` stops it)",
            code=1,
        )
    if not text:
        dump(to_document(final.status.operation_state), args.output)
    else:
        final = _compared_after(client, final)
        print()
        print_app(final, client, rows=operation_rows(final))
        print()
    return 0 if final.status.operation_state.phase == "Succeeded" else 1


def _compared_after(client: Client, app: apppb.Application, patience: float = 10.0) -> apppb.Application:
    """The app once the daemon has compared it after the operation (it does so as the operation ends),
    so the final table shows the health and sync status the operation led to, as argocd's does."""
    finished = app.status.operation_state.finished_at
    deadline = time.monotonic() + patience
    while app.status.reconciled_at < finished and time.monotonic() < deadline:
        time.sleep(0.3)
        app = client.apps.Get(apppb.GetApplicationRequest(name=app.metadata.name), timeout=client.timeout)
    return app


def cmd_sync(args: argparse.Namespace, client: Client) -> int:
    code = 0
    resources = [_parse_resource(r) for r in args.resource]
    for name in selected_names(args, client):
        request = apppb.SyncApplicationRequest(
            name=name,
            revision=args.revision,
            prune=args.prune,
            dry_run=args.dry_run,
            force=args.force,
            resources=resources,
            sync_options=args.sync_option,
        )
        started = _run_and_wait(
            client, args, name, lambda r=request: client.apps.Sync(r, timeout=client.timeout)
        )
        if started == 130:
            return 130
        code = max(code, started)
    return code


def cmd_rollback(args: argparse.Namespace, client: Client) -> int:
    request = apppb.RollbackApplicationRequest(
        name=args.name, id=args.id, dry_run=args.dry_run, prune=args.prune
    )
    return _run_and_wait(
        client, args, args.name, lambda: client.apps.Rollback(request, timeout=client.timeout)
    )


def cmd_terminate(args: argparse.Namespace, client: Client) -> int:
    client.apps.TerminateOperation(apppb.TerminateOperationRequest(name=args.name), timeout=client.timeout)
    print(f"Application '{args.name}' operation terminating")
    return 0


# -- wait -----------------------------------------------------------------------------------


def _pending(app: apppb.Application, want_sync: bool, want_health: bool, want_op: bool) -> list[str]:
    """What the wait still waits for, in words: the app's own state, then each resource not there yet."""
    status = app.status
    if not status.sync.status:
        return ["the first comparison"]
    waiting = []
    if status.operation_state.phase in ("Running", "Terminating") and (want_op or want_sync or want_health):
        waiting.append(f"the operation ({status.operation_state.message or status.operation_state.phase})")
    if want_sync and status.sync.status != "Synced":
        waiting.append(f"sync ({status.sync.status})")
    if want_health and status.health.status != "Healthy":
        waiting.append(f"health ({status.health.status or 'Unknown'})")
    if waiting and (want_sync or want_health):
        for r in status.resources:
            states = []
            if want_sync and r.status != "Synced" and not r.hook:
                states.append(r.status)
            if want_health and r.health.status not in HEALTHY:
                states.append(r.health.status)
            if states:
                where = f"{r.namespace}/{r.name}" if r.namespace else r.name
                waiting.append(f"{r.kind} {where} ({', '.join(states)})")
    return waiting


class _Reporter:
    """Prints what a wait waits for: in place on a terminal, a line per change otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.last = ""

    def show(self, name: str, pending: list[str]) -> None:
        text = f"waiting for '{name}': {'; '.join(pending)}"
        if text == self.last:
            return
        self.last = text
        if self.tty:
            sys.stdout.write("\r\x1b[K" + text[:200])
        else:
            sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def end(self) -> None:
        if self.tty and self.last:
            sys.stdout.write("\r\x1b[K")
            sys.stdout.flush()
        self.last = ""


def cmd_wait(args: argparse.Namespace, client: Client) -> int:
    want_sync, want_health = args.sync, args.health
    if not (args.sync or args.health or args.operation):
        want_sync = want_health = True
    deadline = time.monotonic() + args.timeout
    reporter = _Reporter()
    for name in selected_names(args, client):
        while True:
            app = client.apps.Get(apppb.GetApplicationRequest(name=name), timeout=client.timeout)
            pending = _pending(app, want_sync, want_health, args.operation)
            if not pending:
                reporter.end()
                print_app(app, client)
                print()
                break
            if time.monotonic() > deadline:
                reporter.end()
                raise CLIError(
                    f"timed out after {args.timeout:.0f}s waiting for '{name}': {'; '.join(pending)}", code=1
                )
            reporter.show(name, pending)
            time.sleep(0.5)
    return 0
