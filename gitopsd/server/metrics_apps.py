"""The per-application families of /metrics, written straight to text (used by gitopsd/server/metrics.py).

With one series per application and state, these are nearly all of a scrape: 90,000 lines at 10,000
applications. prometheus_client would first build a sample object with a label dict for each (about
40 MB at 10,000, for every scrape, and the allocator keeps what a peak took), and a Counter child with
its own lock per labelled application for good (about 600 bytes each). Here the states are read one
application at a time and written as lines, and the per-application counters are plain numbers.
The text is the same Prometheus text format (0.0.4) that prometheus_client writes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from prometheus_client.utils import floatToGoString

from gitopsd.app.app_states import AppState

# Every state is exported (0 or 1) so a query for one state needs no absent() tricks.
SYNC_STATUSES = ("Synced", "OutOfSync", "Unknown")
HEALTH_STATUSES = ("Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown")


def label_value(value: str) -> str:
    """A label value as the text format quotes it: backslash, double quote and newline escaped."""
    return value.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")


def header(name: str, kind: str, help_text: str) -> str:
    escaped = help_text.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {escaped}\n# TYPE {name} {kind}\n"


def state_families(states: Iterable[AppState]) -> str:
    """gitopsd_app_sync_status and gitopsd_app_health_status: one series per application and state."""
    sync: list[str] = [
        header(
            "gitopsd_app_sync_status",
            "gauge",
            "Sync status of each application (1 for its current status, 0 for the others).",
        )
    ]
    health: list[str] = [
        header(
            "gitopsd_app_health_status",
            "gauge",
            "Health status of each application (1 for its current status, 0 for the others).",
        )
    ]
    for state in states:
        labels = f'name="{label_value(state.name)}",project="{label_value(state.project or "default")}"'
        current = state.sync or "Unknown"
        for status in (*SYNC_STATUSES, *([current] if current not in SYNC_STATUSES else [])):
            value = "1.0" if status == current else "0.0"
            sync.append(f'gitopsd_app_sync_status{{{labels},status="{label_value(status)}"}} {value}\n')
        current = state.health or "Unknown"
        for status in (*HEALTH_STATUSES, *([current] if current not in HEALTH_STATUSES else [])):
            value = "1.0" if status == current else "0.0"
            health.append(f'gitopsd_app_health_status{{{labels},status="{label_value(status)}"}} {value}\n')
    return "".join(sync) + "".join(health)


class LabelledCounter:
    """A counter family by label values, kept as numbers (thread-safe); written as prometheus_client
    writes a Counter: NAME_total and NAME_created per label set."""

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...]) -> None:
        self.name = name
        self.help_text = help_text
        self.labels = labels
        self._values: dict[tuple[str, ...], list[float]] = {}  # label values -> [count, created]
        # First label value (the application) -> its label sets: a deletion finds its series without
        # a scan of every application's (a scan took ~10 ms at 30,000 series here).
        self._by_first: dict[str, list[tuple[str, ...]]] = {}
        self._lock = threading.Lock()

    def inc(self, *values: str) -> bool:
        """Counts one; True when that started the series (it was not there)."""
        if len(values) != len(self.labels):
            raise ValueError(f"{self.name}: {len(self.labels)} label values expected, got {len(values)}")
        with self._lock:
            entry = self._values.get(values)
            if entry is None:
                self._values[values] = [1.0, time.time()]
                self._by_first.setdefault(values[0], []).append(values)
                return True
            entry[0] += 1.0
            return False

    def forget(self, first: str) -> None:
        """Drops every series whose first label value is `first` (an application deleted): the next
        inc() of one starts it again from zero, with a new _created, as a counter does after a reset."""
        with self._lock:
            for values in self._by_first.pop(first, ()):
                del self._values[values]

    def text(self) -> str:
        """The family as prometheus_client writes a Counter: the series in the order they first came."""
        with self._lock:
            items = [(values, entry[0], entry[1]) for values, entry in self._values.items()]
        totals = [header(f"{self.name}_total", "counter", self.help_text)]
        created = [header(f"{self.name}_created", "gauge", self.help_text)]
        for values, count, at in items:
            labels = ",".join(f'{n}="{label_value(v)}"' for n, v in zip(self.labels, values, strict=True))
            totals.append(f"{self.name}_total{{{labels}}} {floatToGoString(count)}\n")
            created.append(f"{self.name}_created{{{labels}}} {floatToGoString(at)}\n")
        return "".join(totals) + "".join(created)
