"""The one ownership mechanism of applications that make applications (app of apps, ApplicationSets).

The owner of a child application (or project) is recorded on the child's row (`owner_kind`,
`owner_name`, migration `_v8_ownership`) and shown as `metadata.ownerReferences`. A parent creates,
updates and prunes only its own children: an application of the same name that nobody owns, or that
another parent owns, is a conflict reported to the parent, never overwritten or deleted.

Rules a child obeys (the parent's project and RBAC apply to what it creates):
- the child goes through the validation and project checks of a user's create (its own project must
  exist and permit its sources and destination);
- when the parent has a project (an app of apps), the child's project is the parent's project or one
  the same parent creates, and the parent's project must also permit the child's sources and
  destination: a parent cannot reach, through a child, what its own project forbids;
- the actor in the child's event log is the parent (`application "root"`), not the user who synced it:
  a user who may sync the parent may make it create what its Git says, within those rules.

Deleting a pruned child cascades to its cluster resources when it carries Argo CD's
`resources-finalizer.argocd.argoproj.io` (or `/foreground`, `/background`) and the policy does not say
preserve_resources_on_delete; otherwise the child goes and its resources stay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.app.applications import Applications
from gitopsd.app.errors import (
    AlreadyExists,
    AppError,
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from gitopsd.app.project_rules import application_denial
from gitopsd.app.projects import Projects
from gitopsd.logs import fields
from gitopsd.protojson import to_document
from gitopsd.store import Store

log = logging.getLogger("gitopsd.generators")

APPLICATION = "Application"
APPLICATION_SET = "ApplicationSet"
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"

CREATED, CONFIGURED, UNCHANGED = "created", "configured", "unchanged"


@dataclass(frozen=True)
class Owner:
    """Who owns a child: kind is APPLICATION (an app of apps' parent) or APPLICATION_SET."""

    kind: str
    name: str

    @property
    def actor(self) -> str:
        """How the child's event log names who changed it."""
        return f"{'application' if self.kind == APPLICATION else 'applicationset'} {self.name!r}"

    def __str__(self) -> str:
        return f"{self.kind} {self.name!r}"


@dataclass(frozen=True)
class ChildPolicy:
    """What a reconcile may do (ApplicationSet's applicationsSync: create-only, create-update, ...)."""

    create: bool = True
    update: bool = True
    delete: bool = True
    preserve_resources_on_delete: bool = False


@dataclass
class ChildOutcome:
    """What one reconcile of an owner's children did, child by child."""

    created: list[str] = field(default_factory=list)
    configured: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    # (child name, why): an application of that name another parent or nobody owns.
    conflicts: list[tuple[str, str]] = field(default_factory=list)
    # (child name, why): refused by validation, project rules, or a failed delete.
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.conflicts and not self.errors

    def problems(self) -> list[str]:
        """One message per conflict or error, for the owner's conditions."""
        return [f"{name}: {why}" for name, why in [*self.conflicts, *self.errors]]


class ChildConflict(Conflict):
    """The child's name is taken by an application (or project) this owner does not own."""


class Deleter(Protocol):
    """What deleting an application needs from the controller (bound after construction)."""

    def delete_resources(self, app: apppb.Application, propagation: str = "Foreground") -> None: ...

    def on_deleted(self, name: str) -> None: ...


def owner_of_row(kind: str, name: str) -> Owner | None:
    return Owner(kind, name) if kind else None


def cascade_propagation(app: apppb.Application) -> str | None:
    """The propagation Argo CD's resources finalizer asks for, or None when the child has none."""
    for finalizer in app.metadata.finalizers:
        if finalizer == RESOURCES_FINALIZER or finalizer == f"{RESOURCES_FINALIZER}/foreground":
            return "Foreground"
        if finalizer == f"{RESOURCES_FINALIZER}/background":
            return "Background"
    return None


class Children:
    """Children of owners: reading who owns what, and creating, updating and deleting owned children."""

    def __init__(self, store: Store, apps: Applications, projects: Projects) -> None:
        self._store = store
        self.apps = apps
        self.projects = projects
        self.deleter: Deleter | None = None  # the controller, bound by the daemon
        # Owned projects asked to go while applications still used them (see delete_project).
        self.deleting_projects: set[str] = set()
        # Called with a child's name after it was created or changed (the scheduler refreshes it now).
        self.on_changed: list[Callable[[str], None]] = []
        # Whether a child's destination cluster is still registered (bound by the daemon). A child whose
        # cluster is gone is deleted without its resources, which nothing can reach any more (Argo CD
        # drops the resources finalizer then), instead of never going.
        self.destination_known: Callable[[apppb.Application], bool] | None = None

    # -- reading ---------------------------------------------------------------------

    def owner_of(self, name: str) -> Owner | None:
        row = self._store.query_one("SELECT owner_kind, owner_name FROM applications WHERE name = ?", (name,))
        return owner_of_row(row[0], row[1]) if row is not None else None

    def project_owner_of(self, name: str) -> Owner | None:
        row = self._store.query_one("SELECT owner_kind, owner_name FROM projects WHERE name = ?", (name,))
        return owner_of_row(row[0], row[1]) if row is not None else None

    def children_of(self, owner: Owner) -> list[str]:
        """Names of the applications this owner owns, sorted."""
        rows = self._store.query(
            "SELECT name FROM applications WHERE owner_kind = ? AND owner_name = ? ORDER BY name",
            (owner.kind, owner.name),
        )
        return [r[0] for r in rows]

    def projects_of(self, owner: Owner) -> list[str]:
        rows = self._store.query(
            "SELECT name FROM projects WHERE owner_kind = ? AND owner_name = ? ORDER BY name",
            (owner.kind, owner.name),
        )
        return [r[0] for r in rows]

    # -- rules -----------------------------------------------------------------------

    def denial(
        self,
        owner: Owner,
        child: apppb.Application,
        parent_project: str | None,
        pending_projects: Iterable[str] = (),
    ) -> str | None:
        """Why the parent may not have this child (None: it may). pending_projects: projects the same
        parent creates in this very sync (not stored yet)."""
        if parent_project is None:
            return None
        project_name = child.spec.project or "default"
        if project_name != parent_project and project_name not in set(pending_projects):
            if self.project_owner_of(project_name) != owner:
                return (
                    f"project {project_name!r} is neither the project of {owner} ({parent_project!r}) "
                    "nor one it creates"
                )
        try:
            project = self.projects.get(parent_project)
        except NotFound:
            return f"project {parent_project!r} of {owner} does not exist"
        denial = application_denial(project, child)
        return f"{owner} may not create it: {denial}" if denial else None

    def claim(self, owner: Owner, name: str, current: Owner | None, what: str) -> None:
        """Raises ChildConflict unless `owner` owns it (current: its recorded owner)."""
        if current != owner:
            held = f"owned by {current}" if current else "not owned by any parent (created by a user)"
            raise ChildConflict(f"{what} {name!r} already exists and is {held}: {owner} leaves it alone")

    # -- writing ---------------------------------------------------------------------

    def apply_app(
        self,
        owner: Owner,
        child: apppb.Application,
        parent_project: str | None,
        pending_projects: Iterable[str] = (),
    ) -> tuple[str, apppb.Application]:
        """Creates or updates one child application; (created|configured|unchanged, stored app).
        Raises ChildConflict, or InvalidArgument naming what validation or the project refuses."""
        name = child.metadata.name
        denial = self.denial(owner, child, parent_project, pending_projects)
        if denial:
            raise InvalidArgument(denial)
        if self.apps.exists(name):
            self.claim(owner, name, self.owner_of(name), "application")
            before = self.apps.get(name)
            update = apppb.Application()
            update.CopyFrom(child)
            update.metadata.resource_version = before.metadata.resource_version
            after = self.apps.update(update, actor=owner.actor)
            if after.metadata.resource_version == before.metadata.resource_version:
                return UNCHANGED, after
            self._changed(name)
            return CONFIGURED, after
        try:
            created = self.apps.create(child, actor=owner.actor, owner=(owner.kind, owner.name))
        except AlreadyExists:  # created by someone else since exists() said no
            self.claim(owner, name, self.owner_of(name), "application")
            raise
        log.info("child application created", extra=fields(app=name, owner=str(owner)))
        self._changed(name)
        return CREATED, created

    def apply_project(self, owner: Owner, project: projpb.AppProject) -> tuple[str, projpb.AppProject]:
        name = project.metadata.name
        if self.projects.exists(name):
            if name == "default":
                raise ChildConflict(f"project 'default' is built in: {owner} cannot own it")
            self.claim(owner, name, self.project_owner_of(name), "project")
            before = self.projects.get(name)
            after = self.projects.create(project, upsert=True)
            same = to_document(_without_server_fields(before)) == to_document(_without_server_fields(after))
            return (UNCHANGED if same else CONFIGURED), after
        return CREATED, self.projects.create(project, owner=(owner.kind, owner.name))

    def delete_app(self, owner: Owner, name: str, preserve_resources: bool = False) -> str:
        """Deletes an owned child; its cluster resources too when its finalizer asks for it (and
        preserve_resources is off). Returns what happened to them, for the event log."""
        app = self.apps.get(name)
        self.claim(owner, name, self.owner_of(name), "application")
        propagation = None if preserve_resources else cascade_propagation(app)
        unreachable = (
            propagation is not None and self.destination_known is not None and not self.destination_known(app)
        )
        if unreachable:
            propagation = None
        if propagation is not None and self.deleter is not None:
            self.deleter.delete_resources(app, propagation=propagation)
        if self.deleter is not None:
            self.deleter.on_deleted(name)
        detail = (
            "its resources deleted"
            if propagation
            else "its destination cluster is no longer registered: its resources were not deleted"
            if unreachable
            else "its resources left in the cluster"
        )
        self.apps.delete(name, actor=owner.actor, detail=detail)
        log.info("child application deleted", extra=fields(app=name, owner=str(owner), resources=detail))
        return detail

    def delete_project(self, owner: Owner, name: str) -> bool:
        """Deletes an owned project; False while applications still use it: it is then marked for
        deletion (deleting_projects) and goes at a later try, as a Kubernetes finalizer waits (a parent
        prunes its projects and the applications in them in the same step)."""
        self.claim(owner, name, self.project_owner_of(name), "project")
        try:
            self.projects.delete(name)
        except FailedPrecondition:
            if not self._store.query_one("SELECT 1 FROM applications WHERE project = ? LIMIT 1", (name,)):
                raise
            self.deleting_projects.add(name)
            return False
        self.deleting_projects.discard(name)
        return True

    def release(self, owner: Owner) -> list[str]:
        """The owner is gone but its children stay (a non-cascading delete): nobody owns them now."""
        names = self.children_of(owner)
        with self._store.transaction() as conn:
            for table in ("applications", "projects"):
                conn.execute(
                    f"UPDATE {table} SET owner_kind = '', owner_name = '' WHERE owner_kind = ? AND owner_name = ?",  # noqa: S608 - fixed names
                    (owner.kind, owner.name),
                )
        return names

    def on_owner_deleted(self, owner: Owner, cascade: bool, preserve_resources: bool = False) -> ChildOutcome:
        """A parent deleted with cascade takes its children (and their projects) with it, each child's
        resources per its finalizer; without cascade its children stay, owned by nobody."""
        outcome = ChildOutcome()
        if not cascade:
            self.release(owner)
            return outcome
        for name in self.children_of(owner):
            try:
                self.delete_app(owner, name, preserve_resources)
                outcome.deleted.append(name)
            except AppError as exc:
                outcome.errors.append((name, str(exc)))
        for name in self.projects_of(owner):
            try:
                if not self.delete_project(owner, name):
                    outcome.errors.append((name, "still used by applications another owner keeps"))
            except AppError as exc:
                outcome.errors.append((name, str(exc)))
        if outcome.errors:
            raise FailedPrecondition(f"{owner}: could not delete every child: {'; '.join(outcome.problems())}")
        return outcome

    def reconcile_children(
        self,
        owner: Owner,
        desired: Sequence[apppb.Application],
        policy: ChildPolicy = ChildPolicy(),
        parent_project: str | None = None,
    ) -> ChildOutcome:
        """Makes the owner's children what `desired` says: creates, updates and prunes as the policy
        allows. Never raises for one child: each problem is in the outcome."""
        outcome = ChildOutcome()
        wanted: set[str] = set()
        for child in desired:
            name = child.metadata.name
            wanted.add(name)
            exists = self.apps.exists(name)
            if (exists and not policy.update and self.owner_of(name) == owner) or (
                not exists and not policy.create
            ):
                outcome.unchanged.append(name)
                continue
            try:
                action, _ = self.apply_app(owner, child, parent_project)
            except ChildConflict as exc:
                outcome.conflicts.append((name, str(exc)))
                continue
            except AppError as exc:
                outcome.errors.append((name, str(exc)))
                continue
            {CREATED: outcome.created, CONFIGURED: outcome.configured}.get(action, outcome.unchanged).append(name)
        if policy.delete:
            for name in self.children_of(owner):
                if name in wanted:
                    continue
                try:
                    self.delete_app(owner, name, policy.preserve_resources_on_delete)
                    outcome.deleted.append(name)
                except AppError as exc:
                    outcome.errors.append((name, str(exc)))
        return outcome

    def _changed(self, name: str) -> None:
        for hook in self.on_changed:
            try:
                hook(name)
            except Exception:  # a scheduler hiccup must not fail the parent's sync
                log.exception("could not schedule a refresh of a child", extra=fields(app=name))


def _without_server_fields(project: projpb.AppProject) -> projpb.AppProject:
    clean = projpb.AppProject()
    clean.CopyFrom(project)
    clean.metadata.ClearField("resource_version")
    return clean
