"""The ApplicationService's live-resource RPCs (resource tree, events, pod logs, get/patch/delete of a
resource, resource actions, application Patch): a mixin of ApplicationServicer, messages in and out of
gitopsd.app.resources.

The two streams (WatchResourceTree, PodLogs) are async generators on the grpc.aio loop: they wait for
a live change or a log line without a thread, and run their blocking steps (building a tree from the
cache) in the server's pool one step at a time. Their number per user is capped by the interceptor
(grpc.max_streams_per_user), as Watch's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import logging
import queue
from collections.abc import AsyncIterator
from typing import Any

import grpc

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import resource_pb2 as respb
from gitopsd.app.errors import AppError
from gitopsd.app.events import OVERFLOW, EventBus
from gitopsd.app.resources.changes import LiveChanges
from gitopsd.app.resources.service import AppResources, kube_failure
from gitopsd.auth.context import current_username
from gitopsd.kube.errors import KubeError
from gitopsd.kube.podlogs import LogLine, LogQuery, pod_log
from gitopsd.kube.transport import KubeTransport
from gitopsd.logs import fields
from gitopsd.server.servicers.base import rpc, status_for
from gitopsd.server.sync_calls import end

log = logging.getLogger("gitopsd.api")

AioContext = grpc.aio.ServicerContext[Any, Any]

# A burst of changes (a rollout replacing pods) gives one new tree, this long after the first.
TREE_DEBOUNCE = 0.3
# Lines of each pod's log a call without tailLines reads at most (the newest).
DEFAULT_TAIL_LINES = 10_000
# Bytes of each pod's log a call without follow reads at most.
MAX_LOG_BYTES = 8 * 1024 * 1024
# Lines waiting to be sent across a followed stream's pods; a slow reader holds back the pods.
FOLLOW_BUFFER = 1000


def _entry(line: LogLine) -> respb.LogEntry:
    return respb.LogEntry(content=line.content, time_stamp=line.timestamp, pod_name=line.pod)


async def _collect(transport: KubeTransport, q: LogQuery) -> list[LogLine]:
    return [line async for line in pod_log(transport, q)]


class ResourceRpcs:
    """Mixed into ApplicationServicer, which sets these."""

    _resources: AppResources
    _events: EventBus
    _changes: LiveChanges

    @rpc
    def ResourceTree(self, request: respb.ResourcesQuery, context: grpc.ServicerContext) -> respb.ApplicationTree:
        return self._resources.tree(request.application_name)

    @rpc
    def ListResourceEvents(
        self, request: respb.ResourceEventsQuery, context: grpc.ServicerContext
    ) -> respb.KubeEventList:
        return self._resources.events(request)

    @rpc
    def GetResource(
        self, request: respb.ApplicationResourceRequest, context: grpc.ServicerContext
    ) -> respb.ApplicationResourceResponse:
        return self._resources.get(request)

    @rpc
    def PatchResource(
        self, request: respb.ApplicationResourcePatchRequest, context: grpc.ServicerContext
    ) -> respb.ApplicationResourceResponse:
        return self._resources.patch(request)

    @rpc
    def DeleteResource(
        self, request: respb.ApplicationResourceDeleteRequest, context: grpc.ServicerContext
    ) -> respb.ApplicationResponse:
        self._resources.delete(request)
        return respb.ApplicationResponse()

    @rpc
    def ListResourceActions(
        self, request: respb.ApplicationResourceRequest, context: grpc.ServicerContext
    ) -> respb.ResourceActionsListResponse:
        return self._resources.list_actions(request)

    @rpc
    def RunResourceAction(
        self, request: respb.ResourceActionRunRequest, context: grpc.ServicerContext
    ) -> respb.ApplicationResponse:
        self._resources.run_action(request)
        return respb.ApplicationResponse()

    @rpc
    def Patch(self, request: respb.ApplicationPatchRequest, context: grpc.ServicerContext) -> apppb.Application:
        return self._resources.patch_app(request, actor=current_username())

    # -- streams ---------------------------------------------------------------------------

    async def WatchResourceTree(  # type: ignore[override]  # served by the asyncio server
        self, request: respb.ResourcesQuery, context: AioContext
    ) -> AsyncIterator[respb.ApplicationTree]:
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()

        # Namespaces of the last tree: a live change elsewhere cannot change it ("" : cluster-scoped).
        namespaces: set[str] = set()

        def wake(namespace: str | None = None) -> None:  # from watch and publishing threads
            if namespace is not None and namespace and namespace not in namespaces:
                return
            with contextlib.suppress(RuntimeError):  # the loop has closed: the daemon is stopping
                loop.call_soon_threadsafe(ready.set)

        name = request.application_name
        token = self._changes.subscribe(wake)
        sub = self._events.subscribe(name, wakeup=wake)
        last: respb.ApplicationTree | None = None
        try:
            while True:
                ready.clear()
                try:
                    tree = await loop.run_in_executor(None, self._resources.tree, name)
                    where = await loop.run_in_executor(None, self._resources.namespaces, name)
                except AppError as exc:  # the application was deleted, its cluster unregistered...
                    end(context, status_for(exc), str(exc))
                    return
                # Replaced whole (read by watch threads without a lock): never seen half-updated.
                namespaces = {n.namespace for n in tree.nodes} | where
                if tree != last:
                    last = tree
                    yield tree
                await ready.wait()
                await asyncio.sleep(TREE_DEBOUNCE)
                while True:  # the application's own events only wake this stream up
                    try:
                        event = sub.queue.get_nowait()
                    except queue.Empty:
                        break
                    if event is None:
                        return  # the daemon is stopping
                    if event.type == OVERFLOW:  # dropped for not draining fast enough: subscribe again
                        sub = self._events.subscribe(name, wakeup=wake)
                        break
                if sub.closed:
                    return
        finally:
            self._changes.unsubscribe(token)
            self._events.unsubscribe(sub)

    async def PodLogs(  # type: ignore[override]  # served by the asyncio server
        self, request: respb.ApplicationPodLogsQuery, context: AioContext
    ) -> AsyncIterator[respb.LogEntry]:
        loop = asyncio.get_running_loop()
        try:
            client, targets = await loop.run_in_executor(None, self._resources.log_targets, request)
        except AppError as exc:
            end(context, status_for(exc), str(exc))
            return
        # Bounded: a log read whole (not followed) is held until merged, at most this much per pod.
        targets = [
            dataclasses.replace(
                t,
                tail_lines=DEFAULT_TAIL_LINES if t.tail_lines is None else t.tail_lines,
                limit_bytes=None if request.follow else MAX_LOG_BYTES,
            )
            for t in targets
        ]
        try:
            if not request.follow:
                logs = await asyncio.gather(*(_collect(client, t) for t in targets))
                # One log per pod, each in time order: merged as Argo CD shows them.
                for line in heapq.merge(*logs, key=lambda line: line.timestamp):
                    yield _entry(line)
            else:
                async for line in self._follow(client, targets):
                    yield _entry(line)
        except KubeError as exc:
            failure = kube_failure(exc)
            end(context, status_for(failure), str(failure))
            return
        except Exception:  # its text may name internals: logged, not sent
            log.exception("pod logs failed", extra=fields(app=request.name))
            end(context, grpc.StatusCode.INTERNAL, "internal error in PodLogs; see the daemon's log")
            return
        yield respb.LogEntry(last=True)

    @staticmethod
    async def _follow(transport: KubeTransport, targets: list[LogQuery]) -> AsyncIterator[LogLine]:
        """Lines of every target as they come; ends when every log has ended."""
        lines: asyncio.Queue[LogLine | BaseException | None] = asyncio.Queue(FOLLOW_BUFFER)

        async def pump(q: LogQuery) -> None:
            try:
                async for line in pod_log(transport, q):
                    await lines.put(line)
                await lines.put(None)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # given to the stream, which ends with it
                await lines.put(exc)

        tasks = [asyncio.create_task(pump(t)) for t in targets]
        try:
            running = len(tasks)
            while running:
                item = await lines.get()
                if item is None:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
