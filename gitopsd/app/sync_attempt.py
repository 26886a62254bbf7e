"""One attempt of a sync operation: render the target, compare it with the cluster, plan, check the
project as it is now, apply wave by wave, and report each resource's result as it comes (saved,
published on the Watch stream).

Built on gitopsd.app.refreshing; gitopsd.app.sync_operations starts operations and runs their
attempts (worker slots, retries, history) on top of SyncAttempt.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app import operations as ops
from gitopsd.app.controller_core import Running, commit_info
from gitopsd.app.errors import InvalidArgument, NotFound
from gitopsd.app.generators.appofapps import child_denial, is_child_kind, rendered_projects
from gitopsd.app.project_rules import application_denial, resource_denial
from gitopsd.app.refreshing import Refreshing
from gitopsd.app.status import SYNC_ERROR, conditions
from gitopsd.app.sync_targets import as_checked, record_targets
from gitopsd.app.syncop import HOOK_COMPLETED, SyncRun
from gitopsd.engine.deletion import DELETING
from gitopsd.engine.resources import ResourceKey
from gitopsd.engine.sync import APPLY, HOOK, ResourceResult, SyncOptions, SyncTask, plan_sync
from gitopsd.kube.errors import KubeError
from gitopsd.sources.errors import SourceError
from gitopsd.store import utcnow


class SyncAttempt(Refreshing):
    """One attempt of a running operation (SyncOperations retries it), and how it is reported."""

    def _sync_once(self, handle: Running) -> tuple[str, str]:
        name, state = handle.name, handle.state
        sync = state.operation.sync
        with self._lock(name, self._locks):
            try:
                app = self.apps.get(name)
            except NotFound:
                return ops.FAILED, "the application was deleted"
            if not state.operation.initiated_by.automated:
                # A user's sync deploys what the branch points to now, as a user's refresh does: a push a
                # second ago must not wait out the ls-remote cache's interval. Automated syncs follow a
                # refresh that has just resolved it.
                self._resolve_now(app, None if sync.sources else sync.source)
            try:
                render = self.render(
                    app,
                    revision=sync.revision or None,
                    source=None if sync.sources else sync.source,
                    sources=sync.sources,
                    revisions=sync.revisions,
                )
                state.sync_result.revision = render.revision
                record_targets(state.sync_result, sync, render)
                state.sync_result.commit.CopyFrom(commit_info(render))
                client, comparison = self.compare(app, render)
            except SourceError as exc:
                return ops.FAILED, f"rendering failed: {exc}"
            except KubeError as exc:  # the cluster could not be read: fail now, naming it
                return ops.FAILED, f"{self.connections.describe(app.spec.destination)}: {exc}"
            except InvalidArgument as exc:
                return ops.FAILED, str(exc)
            if comparison.result.errors and not comparison.prepared.objects:
                return ops.FAILED, "; ".join(comparison.result.errors)
            option_list = [*app.spec.sync_policy.sync_options, *sync.sync_options]
            options = SyncOptions.from_list(
                option_list,
                prune=sync.prune,
                dry_run=sync.dry_run,
                force=sync.sync_strategy.force,
                namespace=app.spec.destination.namespace,
                deletion_timeout=self.settings.wave_timeout,
                namespace_labels=tuple(sorted(app.spec.sync_policy.managed_namespace_metadata.labels.items())),
                namespace_annotations=tuple(
                    sorted(app.spec.sync_policy.managed_namespace_metadata.annotations.items())
                ),
            )
            if any(o.startswith("Prune=false") for o in option_list):
                options = SyncOptions(**{**options.__dict__, "prune": False})
            selected = {
                ResourceKey(r.group, r.kind, r.namespace or "", r.name) for r in sync.resources
            } or None
            if selected is not None:
                # --resource NAMESPACE may be omitted for the destination namespace.
                ns = app.spec.destination.namespace
                selected |= {ResourceKey(k.group, k.kind, ns, k.name) for k in selected if not k.namespace}
            plan = plan_sync(comparison.result, options, resources=selected)
            denied = self._project_denials(app, sync, plan.tasks)
            if denied:
                for key, message in denied:
                    self._report(
                        handle, ResourceResult(key=key, status="SyncFailed", action="failed", message=message)
                    )
                first = denied[0][1]
                more = f" (and {len(denied) - 1} more)" if len(denied) > 1 else ""
                return ops.FAILED, f"not permitted by the project, nothing was applied: {first}{more}"
            state.message = f"syncing {len(plan.tasks)} tasks to {render.revision[:12]}"
            self.operations.save(state)
            self._publish_operation(name, state)
            run = SyncRun(
                client,
                options,
                report=lambda r: self._report(handle, r),
                stopped=handle.stop.is_set,
                wave_timeout=self.settings.wave_timeout,
                health_checks=self.settings.health_checks,
            )
            outcome = run.run(plan)
            return outcome.phase, outcome.message

    def _project_denials(
        self, app: apppb.Application, sync: apppb.SyncOperation, tasks: Sequence[SyncTask]
    ) -> list[tuple[ResourceKey, str]]:
        """Checks the project as it is now (it may have changed since the app was created)."""
        key_app = ResourceKey("argoproj.io", "Application", "", app.metadata.name)
        try:
            project = self.projects.get(app.spec.project)
        except NotFound:
            return [(key_app, f"project {app.spec.project!r} does not exist")]
        denial = application_denial(project, as_checked(app, sync))
        if denial:
            return [(key_app, denial)]
        out = []
        pending = rendered_projects(t.obj for t in tasks if t.obj is not None)
        for task in tasks:
            if task.action not in (APPLY, HOOK):
                continue  # prunes, skips and the CreateNamespace of a permitted destination
            if self.children is not None and is_child_kind(task.key.api_version, task.key.kind):
                # A child application: the parent's project rules of gitopsd.app.generators.ownership.
                denial = child_denial(self.children, app, task.obj, pending)
            else:
                denial = resource_denial(project, task.key.group, task.key.kind, bool(task.key.namespace))
            if denial:
                out.append((task.key, denial))
        return out

    def _report(self, handle: Running, result: ResourceResult) -> None:
        state = handle.state
        rr = apppb.ResourceResult(
            group=result.key.group,
            version=result.key.version,
            kind=result.key.kind,
            namespace=result.key.namespace,
            name=result.key.name,
            status=result.status,
            message=result.message,
            hook_type=result.hook_type,
            sync_phase=result.phase,
            sync_wave=result.wave,
            action=result.action,
        )
        if result.hook_type:
            rr.hook_phase = (
                "Failed" if result.failed else ("Succeeded" if result.action == HOOK_COMPLETED else "Running")
            )
        # A later result for the same hook replaces the earlier "created" one, and any result replaces
        # an interim "deleting" one (an object the cluster had not removed yet).
        for i, existing in enumerate(state.sync_result.resources):
            same = (existing.kind, existing.namespace, existing.name, existing.hook_type) == (
                rr.kind,
                rr.namespace,
                rr.name,
                rr.hook_type,
            )
            if same and (rr.hook_type or existing.action == DELETING):
                state.sync_result.resources[i].CopyFrom(rr)
                break
        else:
            state.sync_result.resources.append(rr)
        state.message = f"{result.key.display()}: {result.message}"
        self.operations.save(state)
        if result.action == DELETING:
            # The operation may wait long here (finalizers): `app get` shows what it waits for.
            self._publish_operation(handle.name, state)
        self.events.publish(
            apppb.ApplicationEvent(
                type="RESOURCE",
                resource=rr,
                message=state.message,
                timestamp=utcnow(),
                application=self._app_for_event(handle.name),
            )
        )

    def _app_for_event(self, name: str) -> apppb.Application:
        try:
            return self.apps.get(name)
        except NotFound:
            return apppb.Application()

    def _publish_operation(self, name: str, state: apppb.OperationState) -> None:
        def change(status: apppb.ApplicationStatus) -> None:
            status.operation_state.CopyFrom(state)
            keep = [(c.type, c.message) for c in status.conditions if c.type != SYNC_ERROR]
            if state.phase in (ops.FAILED, ops.ERROR):
                keep.append((SYNC_ERROR, state.message))
            new = conditions(status.conditions, keep)
            del status.conditions[:]
            status.conditions.extend(new)

        try:
            self._update_status(name, change)
        except NotFound:
            pass  # deleted while syncing
