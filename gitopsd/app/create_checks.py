"""The checks a caller asks for with `validate` on CreateApplicationRequest / UpdateApplicationRequest
(Argo CD's `app create --validate`): before the application is stored, its destination cluster is
registered, and every source resolves and renders.

Sources are rendered by the controller's own path (ControllerCore.render: the repo cache, the render
cache, the renderer sidecars, their limits, and their error messages, which the git and renderer
layers have already scrubbed of credentials), so a check answers what the first refresh would: a
render it makes is cached and serves that refresh. Nothing here writes an application.

Called by the ApplicationService servicer (gitopsd.server.servicers.application) before
Applications.create / update; those run the document's own checks again and store it.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app.controller_core import ControllerCore, multi_sources, source_of
from gitopsd.app.errors import InvalidArgument, NotFound, Unavailable
from gitopsd.app.project_rules import application_denial
from gitopsd.app.validation import validate_application
from gitopsd.sources.errors import RendererUnavailableError, SourceError

# The longest the checks of one call take: below the CLI's 60 s call timeout, so the caller hears why.
# The git and render timeouts still bound each step; this bounds their sum over several sources.
CHECK_TIMEOUT = 55.0
# Seconds kept from the caller's own deadline, for the answer to reach it before it gives up.
DEADLINE_MARGIN = 2.0
# Checks running at once, across all callers: a burst of validated creates cannot start a render each.
MAX_CONCURRENT = 4

_slots = threading.BoundedSemaphore(MAX_CONCURRENT)


def check_before_storing(
    controller: ControllerCore, app: apppb.Application, time_left: float | None = None
) -> None:
    """Raises InvalidArgument naming the field and the reason (`spec.destination: ...`,
    `spec.source: cannot render: ...`), Unavailable when a renderer is down or the checks did not end
    within CHECK_TIMEOUT or the caller's deadline (time_left, seconds; None: no deadline)."""
    # The document's own rules and its project's permission come first: nothing is fetched for a
    # document that would be refused anyway, nor from a repository its project does not permit.
    validate_application(app)
    if not _permitted(controller, app):
        return  # Applications.create/update refuses it, naming the project's rule
    bound = CHECK_TIMEOUT if time_left is None else min(CHECK_TIMEOUT, time_left - DEADLINE_MARGIN)
    _run_bounded(lambda: _check(controller, app), max(bound, 0.0))


def _permitted(controller: ControllerCore, app: apppb.Application) -> bool:
    try:
        project = controller.projects.get(app.spec.project or "default")
    except NotFound:
        return False
    return application_denial(project, app) is None


def _check(controller: ControllerCore, app: apppb.Application) -> None:
    dest = app.spec.destination
    try:
        controller.connections.for_destination(dest)
    except InvalidArgument:  # its only refusal: no cluster of that server URL or name
        which = dest.server or dest.name
        raise InvalidArgument(
            f"spec.destination: cluster {which!r} is not registered "
            "(gitopsd cluster add, or the daemon's kubeconfig for in-cluster)"
        ) from None
    sources = multi_sources(app) or [source_of(app)]
    _resolve_fresh(controller, app, sources)
    where = "spec.sources" if multi_sources(app) else "spec.source"
    try:
        controller.render(app)
    except RendererUnavailableError as exc:  # ours to fix, not the document's
        raise Unavailable(f"{where}: cannot render now: {exc}") from None
    except SourceError as exc:  # a spec.sources[i] error names its source (gitopsd.sources.multisource)
        raise InvalidArgument(f"{where}: cannot render: {exc}") from None


def _resolve_fresh(
    controller: ControllerCore, app: apppb.Application, sources: list[apppb.ApplicationSource]
) -> None:
    """Asks each git repository for its branches now, as a user's refresh does: a branch pushed a
    moment ago is found (the render would otherwise use this poll interval's answer)."""
    cache = controller.renderer.repo_cache
    if cache is None:
        return
    for source in sources:
        if source.chart:
            continue
        try:
            cache.ls_remote(source.repo_url, force=True, project=app.spec.project or "default")
        except SourceError:
            pass  # the render reports the same error, naming the source


def _run_bounded(check: Callable[[], None], bound: float) -> None:
    """check() in a thread of its own, waited for `bound` seconds at most. One left running past
    that ends by the git and render timeouts; a daemon thread, so it never holds up a shutdown."""
    if bound <= 0:
        raise Unavailable(
            "spec: the caller's deadline leaves no time for the checks of validate; nothing was stored"
        )
    deadline = time.monotonic() + bound
    if not _slots.acquire(timeout=bound):
        raise Unavailable(
            f"spec: the checks of validate could not start within {bound:.0f}s: {MAX_CONCURRENT} other "
            "calls' checks are running; nothing was stored: try again"
        )
    outcome: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            check()
        except BaseException as exc:  # handed to the caller's thread
            outcome.append(exc)
        finally:
            _slots.release()
            done.set()

    # The caller's context (its principal, for what logs it) goes with the work.
    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(run,), name="create-checks", daemon=True).start()
    if not done.wait(max(deadline - time.monotonic(), 0.0)):
        raise Unavailable(
            f"spec: the checks of validate did not finish within {bound:.0f}s (a repository or renderer "
            "is slow); nothing was stored: try again, or create without validate and read the "
            "application's conditions"
        )
    if outcome:
        raise outcome[0]
