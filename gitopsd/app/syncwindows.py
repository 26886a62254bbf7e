"""AppProject sync windows (``spec.syncWindows``): validation, which windows are active at a given time,
and whether an application may sync, with Argo CD's rules.

Pure functions of (project, application, now): the controller passes its clock, so tests and the API
agree on one instant. Used by gitopsd.app.sync_operations (a manual sync refused, an automated one not
started), gitopsd.app.refreshing (the condition saying why an automated sync waits), the project
store (refusing invalid windows) and the servicers (the state `app get` and `proj windows list` show).

Argo CD's rules (AppProject SyncWindows.CanSync): only the windows that match the application count
(its name in ``applications``, its destination namespace in ``namespaces``, or its destination server
or name in ``clusters``, as globs); any active deny blocks (a manual sync passes when every active deny
has ``manualSync``); otherwise an active allow permits; otherwise, when allow windows exist, syncing
waits for one (a manual sync passes when one of them has ``manualSync``). Schedules are cron
expressions (croniter) evaluated in the window's ``timeZone`` (default UTC).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.app.errors import FailedPrecondition, InvalidArgument
from gitopsd.sources.globs import glob_match

ALLOW = "allow"
DENY = "deny"

# Go's time.ParseDuration units, which Argo CD parses `duration` with.
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h)")
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
# robfig/cron's descriptors that croniter also knows (Argo CD's parser takes these and 5 fields).
_DESCRIPTORS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})


def parse_duration(text: str) -> timedelta:
    """A Go duration ("1h30m", "90m", "1.5h"); ValueError when it is not one."""
    rest = text.strip()
    if not rest:
        raise ValueError("empty")
    total = 0.0
    while rest:
        if not _DURATION.match(rest):
            raise ValueError(f"{text!r} is not a duration such as 1h, 30m or 1h30m")
        part = _PART.match(rest)
        assert part is not None
        total += float(part.group(1)) * _UNITS[part.group(2)]
        rest = rest[part.end() :]
    return timedelta(seconds=total)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Europe/Paris)") from None


def _check_schedule(schedule: str) -> None:
    text = schedule.strip()
    if text in _DESCRIPTORS:
        return
    if len(text.split()) != 5 or not croniter.is_valid(text):
        raise ValueError(
            f"{schedule!r} is not a cron schedule (5 fields: minute hour day-of-month month day-of-week, "
            "e.g. '0 22 * * *', or @daily, @hourly, ...)"
        )


def validate_windows(windows: Iterable[projpb.SyncWindow], path: str = "spec.syncWindows") -> None:
    """Raises InvalidArgument naming the first invalid window field."""
    for i, w in enumerate(windows):
        if w.kind not in (ALLOW, DENY):
            raise InvalidArgument(f"{path}[{i}].kind: {w.kind!r} must be allow or deny")
        try:
            _check_schedule(w.schedule)
        except ValueError as exc:
            raise InvalidArgument(f"{path}[{i}].schedule: {exc}") from None
        try:
            length = parse_duration(w.duration)
        except ValueError as exc:
            raise InvalidArgument(f"{path}[{i}].duration: {exc}") from None
        if length <= timedelta(0):
            raise InvalidArgument(f"{path}[{i}].duration: {w.duration!r} must be longer than zero")
        try:
            _zone(w.time_zone)
        except ValueError as exc:
            raise InvalidArgument(f"{path}[{i}].timeZone: {exc}") from None


@dataclass(frozen=True)
class WindowState:
    """One window at one instant: active (and until when), or when it opens next."""

    index: int
    window: projpb.SyncWindow
    active: bool
    active_until: datetime | None
    next_start: datetime | None

    def describe(self) -> str:
        w = self.window
        zone = f" {w.time_zone}" if w.time_zone else " UTC"
        manual = ", manualSync" if w.manual_sync else ""
        return f"{w.kind} window {self.index} ({w.schedule!r}{zone}, {w.duration}{manual})"


def window_state(index: int, window: projpb.SyncWindow, now: datetime) -> WindowState:
    """Whether the window is open at `now` (aware): some start in (now - duration, now] opens it."""
    zone = _zone(window.time_zone)
    length = parse_duration(window.duration)
    local = now.astimezone(zone)
    schedule = window.schedule.strip()
    # croniter's get_prev skips a start exactly at `now`: match() covers that minute.
    minute = local.replace(second=0, microsecond=0)
    if croniter.match(schedule, minute):
        last_start = minute
    else:
        last_start = croniter(schedule, local).get_prev(datetime)
    until = last_start + length
    if until > local:
        return WindowState(index, window, True, until.astimezone(now.tzinfo), None)
    upcoming = croniter(schedule, local).get_next(datetime)
    return WindowState(index, window, False, None, upcoming.astimezone(now.tzinfo))


def matches(window: projpb.SyncWindow, app: apppb.Application) -> bool:
    dest = app.spec.destination
    if any(glob_match(p, app.metadata.name) for p in window.applications):
        return True
    if any(glob_match(p, dest.namespace) for p in window.namespaces):
        return True
    return any(
        (dest.name and glob_match(p, dest.name)) or (dest.server and glob_match(p, dest.server))
        for p in window.clusters
    )


def assigned(project: projpb.AppProject, app: apppb.Application, now: datetime) -> list[WindowState]:
    """The project's windows that apply to the application, with their state at `now`."""
    return [
        window_state(i, w, now) for i, w in enumerate(project.spec.sync_windows) if matches(w, app)
    ]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # Why not (or, when allowed through a window, which one): the window named with its schedule.
    reason: str = ""


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else "?"


def decide(states: list[WindowState], manual: bool) -> Decision:
    """Argo CD's CanSync over the windows assigned to one application."""
    if not states:
        return Decision(True)
    denies = [s for s in states if s.active and s.window.kind == DENY]
    if denies:
        if manual and all(s.window.manual_sync for s in denies):
            return Decision(True, f"manual sync allowed by {denies[0].describe()}")
        blocking = next((s for s in denies if not (manual and s.window.manual_sync)), denies[0])
        return Decision(
            False, f"{blocking.describe()} is active until {_when(blocking.active_until)}"
        )
    if any(s.active and s.window.kind == ALLOW for s in states):
        return Decision(True)
    allows = [s for s in states if s.window.kind == ALLOW]
    if not allows:
        return Decision(True)
    if manual and any(s.window.manual_sync for s in allows):
        return Decision(True, "manual sync allowed by an allow window with manualSync")
    soonest = min(allows, key=lambda s: s.next_start.timestamp() if s.next_start else float("inf"))
    return Decision(
        False,
        f"no allow window is active; the next, {soonest.describe()}, opens at {_when(soonest.next_start)}",
    )


def refuse_if_blocked(app: apppb.Application, decision: Decision) -> None:
    """A sync the windows do not allow now: FAILED_PRECONDITION naming the window."""
    if not decision.allowed:
        raise FailedPrecondition(
            f"cannot sync {app.metadata.name!r}: blocked by a sync window of project "
            f"{app.spec.project or 'default'!r}: {decision.reason}"
        )


def can_sync(
    project: projpb.AppProject, app: apppb.Application, now: datetime, manual: bool
) -> Decision:
    return decide(assigned(project, app, now), manual)


def state_pb(state: WindowState) -> projpb.SyncWindowState:
    out = projpb.SyncWindowState(index=state.index, active=state.active)
    out.window.CopyFrom(state.window)
    if state.active_until is not None:
        out.active_until = _when(state.active_until)
    if state.next_start is not None:
        out.next_start = _when(state.next_start)
    return out


def project_states(project: projpb.AppProject, now: datetime) -> list[projpb.SyncWindowState]:
    return [state_pb(window_state(i, w, now)) for i, w in enumerate(project.spec.sync_windows)]


def application_windows(
    project: projpb.AppProject, app: apppb.Application, now: datetime
) -> apppb.ApplicationSyncWindows:
    """What `app get` shows: the windows that apply, and whether automated and manual syncs may run."""
    states = assigned(project, app, now)
    auto = decide(states, manual=False)
    manual = decide(states, manual=True)
    out = apppb.ApplicationSyncWindows(
        can_sync=auto.allowed,
        can_sync_manually=manual.allowed,
        message=auto.reason if not auto.allowed else manual.reason,
    )
    out.assigned.extend(state_pb(s) for s in states)
    return out
