"""What a sync operation deploys: one source, or every source of a multi-source application with the
revisions pinned (a rollback's, an automated sync's), and the application the project rules check for it.

Pure helpers of gitopsd.app.sync_operations and gitopsd.app.sync_attempt; the rendering itself is gitopsd.sources.multisource's.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app.controller_core import multi_sources
from gitopsd.app.errors import InvalidArgument
from gitopsd.sources.render import RenderResult


def set_targets(
    sync: apppb.SyncOperation,
    app: apppb.Application,
    request: apppb.SyncApplicationRequest,
    initiator: apppb.OperationInitiator,
    *,
    single: apppb.ApplicationSource | None,
    sources: Sequence[apppb.ApplicationSource],
    revisions: Sequence[str],
) -> None:
    """Fills sync.sources/revisions for a multi-source application (sync.source and revision are then
    cleared); leaves a single-source operation as it is. Refuses a pinned --revision for several sources."""
    multi = list(sources) or (multi_sources(app) if single is None else [])
    if not multi:
        return
    pinned = list(revisions)
    if not pinned:
        if request.revision and not initiator.automated:
            name = app.metadata.name
            raise InvalidArgument(
                f"revision: {name!r} has several sources, each synced to its targetRevision "
                f"(gitopsd app rollback {name} ID deploys an earlier set of revisions)"
            )
        compared = list(app.status.sync.revisions)
        if initiator.automated and len(compared) == len(multi):
            pinned = compared  # what the refresh that started it compared with
    sync.ClearField("source")
    sync.sources.extend(multi)
    sync.revisions.extend(pinned)
    sync.revision = ""


def record_targets(result: apppb.SyncOperationResult, sync: apppb.SyncOperation, render: RenderResult) -> None:
    """The sources and resolved revisions an operation deployed."""
    if sync.sources:
        del result.sources[:]
        result.sources.extend(sync.sources)
        del result.revisions[:]
        result.revisions.extend(render.revisions)
    else:
        result.source.CopyFrom(sync.source)


def as_checked(app: apppb.Application, sync: apppb.SyncOperation) -> apppb.Application:
    """The application as the operation deploys it, for the project's source rules."""
    checked = apppb.Application()
    checked.CopyFrom(app)
    if sync.sources:  # every source of a multi-source application
        checked.spec.ClearField("source")
        del checked.spec.sources[:]
        checked.spec.sources.extend(sync.sources)
    else:
        checked.spec.source.CopyFrom(sync.source)
    return checked
