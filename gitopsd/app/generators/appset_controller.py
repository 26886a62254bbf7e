"""The ApplicationSet controller: generates a set's applications and makes its owned children match
(through ownership.Children, the one mechanism app of apps uses too), and records the outcome in
the set's status (conditions ErrorOccurred, ParametersGenerated, ResourcesUpToDate; the generated
applications with their sync and health).

When: at create/update (synchronously, so the reply shows the outcome), after a push to a repository
a git generator reads (webhook), when clusters are added, removed or relabelled, and once per
reconcile interval, where a set is regenerated only if a repository it reads moved to a new commit.
Those background regenerations run on one worker thread, one set at a time, deduplicated.
"""

from __future__ import annotations

import logging
import queue
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Iterable

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import applicationset_pb2 as aspb
from gitopsd.api.gitopsd.v1 import cluster_pb2 as clpb
from gitopsd.app.errors import AppError, NotFound
from gitopsd.app.generators.appset_build import Generated, GenerationError, build
from gitopsd.app.generators.appset_git import GeneratorError, RepoTree, read_tree
from gitopsd.app.generators.appset_gotemplate import GoTemplateLimits
from gitopsd.app.generators.appset_store import ApplicationSets, project_of
from gitopsd.app.generators.ownership import APPLICATION_SET, ChildOutcome, ChildPolicy, Children, Owner
from gitopsd.logs import fields
from gitopsd.sources.errors import SourceError
from gitopsd.sources.gitcache import RepoCache
from gitopsd.sources.giturl import normalize_repo_url
from gitopsd.store import utcnow

log = logging.getLogger("gitopsd.appset")

POLICIES = {
    "create-only": ChildPolicy(create=True, update=False, delete=False),
    "create-update": ChildPolicy(create=True, update=True, delete=False),
    "create-delete": ChildPolicy(create=True, update=False, delete=True),
    "sync": ChildPolicy(),
    "": ChildPolicy(),
}
MAX_TREES = 64


def policy_of(appset: aspb.ApplicationSet) -> ChildPolicy:
    base = POLICIES[appset.spec.sync_policy.applications_sync]
    return ChildPolicy(
        base.create, base.update, base.delete, appset.spec.sync_policy.preserve_resources_on_deletion
    )


def _repo_key(url: str) -> str:
    try:
        parts = urllib.parse.urlsplit(normalize_repo_url(url))
    except ValueError:
        return url
    return f"{(parts.hostname or '').lower()}{parts.path.rstrip('/')}".lower().removesuffix(".git")


def _uses_clusters(gens: Iterable[aspb.ApplicationSetGenerator]) -> bool:
    return any(
        g.HasField("clusters") or _uses_clusters(g.matrix.generators) or _uses_clusters(g.merge.generators)
        for g in gens
    )


def _git_repos(gens: Iterable[aspb.ApplicationSetGenerator]) -> list[str]:
    out: list[str] = []
    for g in gens:
        if g.HasField("git"):
            out.append(g.git.repo_url)
        out += _git_repos(g.matrix.generators) + _git_repos(g.merge.generators)
    return out


class AppSetController:
    def __init__(
        self,
        appsets: ApplicationSets,
        children: Children,
        clusters: Callable[[], list[clpb.Cluster]],
        repo_cache: RepoCache,
        limits: GoTemplateLimits | None = None,
    ) -> None:
        self.appsets = appsets
        self.children = children
        self._clusters = clusters
        self._repo_cache = repo_cache
        self._limits = limits or GoTemplateLimits()
        self._lock = threading.Lock()  # one generation at a time: children of two sets never race
        self._trees: OrderedDict[tuple[str, str, tuple[str, ...]], RepoTree] = OrderedDict()
        # name -> the (repo URL, revision) -> SHA the last generation read
        self._read: dict[str, dict[tuple[str, str], str]] = {}
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._pending: set[str] = set()
        self._pending_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- generating ----------------------------------------------------------------------

    def _reader(
        self, project: str, shas: dict[tuple[str, str], str]
    ) -> Callable[[str, str, list[str]], RepoTree]:
        def read(url: str, revision: str, globs: list[str]) -> RepoTree:
            try:
                sha = self._repo_cache.resolve_sha(url, revision, project=project)
                shas[(url, revision)] = sha
                key = (url, sha, tuple(globs))
                tree = self._trees.get(key)
                if tree is None:
                    with self._repo_cache.checkout(url, sha, project=project) as root:
                        tree = read_tree(root, sha, globs)
                    self._trees[key] = tree
                    while len(self._trees) > MAX_TREES:
                        self._trees.popitem(last=False)
                return tree
            except SourceError as exc:
                raise GeneratorError(f"git generator {url} at {revision}: {exc}") from None

        return read

    def generate(self, appset: aspb.ApplicationSet, remember: bool = True) -> Generated:
        """The applications the set makes now (nothing stored); GenerationError if it cannot.
        remember: note the commits read, so a push or a new commit regenerates the set."""
        shas: dict[tuple[str, str], str] = {}
        generated = build(
            appset, lambda: self._clusters(), self._reader(project_of(appset), shas), self._limits
        )
        if remember:
            self._read[appset.metadata.name] = shas
        return generated

    def reconcile(self, name: str) -> aspb.ApplicationSet:
        """Generates the set's applications and makes its children match; returns it with its status."""
        with self._lock:
            appset = self.appsets.get(name)
            owner = Owner(APPLICATION_SET, name)
            error: GenerationError | None = None
            outcome: ChildOutcome | None = None
            generated: Generated | None = None
            try:
                generated = self.generate(appset)
            except GenerationError as exc:
                error = exc  # the children stay as they are: a broken generator prunes nothing
            if generated is not None:
                outcome = self.children.reconcile_children(
                    owner, generated.applications, policy_of(appset), parent_project=project_of(appset)
                )
            status = self._status(appset, owner, generated, error, outcome)
            self.appsets.set_status(name, status)
            if error is not None or (outcome is not None and not outcome.ok):
                log.warning(
                    "applicationset generation failed",
                    extra=fields(
                        applicationset=name,
                        reason=str(error) if error else "; ".join(outcome.problems() if outcome else []),
                    ),
                )
            return self.appsets.get(name)

    def _status(
        self,
        appset: aspb.ApplicationSet,
        owner: Owner,
        generated: Generated | None,
        error: GenerationError | None,
        outcome: ChildOutcome | None,
    ) -> aspb.ApplicationSetStatus:
        status = aspb.ApplicationSetStatus(reconciled_at=utcnow())
        previous = {c.type: c for c in appset.status.conditions}
        problems = outcome.problems() if outcome is not None else []

        def condition(kind: str, ok: bool, reason: str, message: str) -> None:
            value = "True" if ok else "False"
            old = previous.get(kind)
            since = old.last_transition_time if old is not None and old.status == value else utcnow()
            status.conditions.append(
                aspb.ApplicationSetCondition(
                    type=kind, status=value, reason=reason, message=message, last_transition_time=since
                )
            )

        if error is not None:
            condition("ErrorOccurred", True, error.reason, str(error))
            condition(
                "ParametersGenerated",
                error.reason != "ApplicationParamsGenerationError",
                error.reason,
                str(error),
            )
            condition("ResourcesUpToDate", False, error.reason, str(error))
        elif problems:
            message = "; ".join(problems)
            condition("ErrorOccurred", True, "ApplicationValidationError", message)
            condition(
                "ParametersGenerated",
                True,
                "ParametersGenerated",
                "Successfully generated parameters for all Applications",
            )
            condition("ResourcesUpToDate", False, "ApplicationValidationError", message)
        else:
            assert generated is not None
            n = len(generated.applications)
            condition(
                "ErrorOccurred",
                False,
                "ApplicationSetUpToDate",
                "Successfully generated parameters for all Applications",
            )
            condition(
                "ParametersGenerated",
                True,
                "ParametersGenerated",
                "Successfully generated parameters for all Applications",
            )
            condition(
                "ResourcesUpToDate",
                True,
                "ApplicationSetUpToDate",
                f"All applications have been generated successfully ({n})",
            )
        status.resources.extend(self._resources(owner))
        return status

    def _resources(self, owner: Owner) -> list[aspb.ApplicationSetResource]:
        out = []
        for child in self.children.children_of(owner):
            try:
                out.append(_resource(self.children.apps.get(child)))
            except NotFound:
                continue
        return out

    def with_resources(self, appset: aspb.ApplicationSet) -> aspb.ApplicationSet:
        """The set with its generated applications' current sync and health (they change after generation)."""
        del appset.status.resources[:]
        appset.status.resources.extend(self._resources(Owner(APPLICATION_SET, appset.metadata.name)))
        return appset

    def delete(self, name: str) -> None:
        """Deletes the set and its applications (their resources too unless preserveResourcesOnDeletion)."""
        with self._lock:
            appset = self.appsets.get(name)
            self.children.on_owner_deleted(
                Owner(APPLICATION_SET, name),
                cascade=True,
                preserve_resources=appset.spec.sync_policy.preserve_resources_on_deletion,
            )
            self.appsets.delete(name)
            self._read.pop(name, None)

    # -- triggers ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="appset", daemon=True)
        self._thread.start()
        for name in self.appsets.names():
            self.regenerate_soon(name)

    def stop(self) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=30)

    def regenerate_soon(self, name: str) -> None:
        with self._pending_lock:
            if name in self._pending:
                return
            self._pending.add(name)
        self._queue.put(name)

    def _run(self) -> None:
        while True:
            name = self._queue.get()
            if name is None:
                return
            with self._pending_lock:
                self._pending.discard(name)
            try:
                self.reconcile(name)
            except NotFound:
                self._read.pop(name, None)
            except Exception:  # one set's failure never stops the others
                log.exception("applicationset reconcile failed", extra=fields(applicationset=name))

    def on_clusters_changed(self) -> None:
        """A cluster was added, removed or changed (labels): sets with a clusters generator regenerate."""
        for appset in self.appsets.list():
            if _uses_clusters(appset.spec.generators):
                self.regenerate_soon(appset.metadata.name)

    def on_push(self, repo_urls: Iterable[str]) -> list[str]:
        """A webhook said these repositories changed: sets whose git generators read one regenerate."""
        keys = {_repo_key(u) for u in repo_urls}
        names = []
        for appset in self.appsets.list():
            name = appset.metadata.name
            urls = {url for url, _ in self._read.get(name, {})} | set(_git_repos(appset.spec.generators))
            if any(_repo_key(u) in keys for u in urls):
                for url in urls:
                    self._invalidate(url)
                names.append(name)
                self.regenerate_soon(name)
        return names

    def _invalidate(self, url: str) -> None:
        try:
            self._repo_cache.invalidate(url)
        except SourceError:
            pass

    def poll(self) -> None:
        """Once per reconcile interval: sets whose repositories moved to a new commit regenerate."""
        for name in self.appsets.names():
            shas = self._read.get(name)
            if not shas:  # never generated here, or its repositories could not be read: try again
                self.regenerate_soon(name)
                continue
            try:
                project = self.appsets.project(name)
                moved = any(
                    self._repo_cache.resolve_sha(url, rev, project=project) != sha
                    for (url, rev), sha in shas.items()
                )
            except (SourceError, AppError):
                moved = True  # let the generation say what is wrong
            if moved:
                self.regenerate_soon(name)


def _resource(app: apppb.Application) -> aspb.ApplicationSetResource:
    item = aspb.ApplicationSetResource(
        name=app.metadata.name, status=app.status.sync.status or "Unknown", project=app.spec.project
    )
    item.health.CopyFrom(app.status.health)
    if not item.health.status:
        item.health.status = "Unknown"
    return item
