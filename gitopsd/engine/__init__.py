"""The GitOps engine: compare, diff, health, sync planning. Knows nothing of apps, SQLite, gRPC or Git.

It takes desired objects, live objects and options, and returns results; it reaches a cluster only
through the ClusterClient protocol (gitopsd.engine.cluster), which gitopsd.kube.client.KubeClient satisfies.
"""

from gitopsd.engine.annotations import HookInfo, hook_info, misspelled_keys, misspelling_warnings, sync_wave
from gitopsd.engine.cluster import ClusterClient, LiveLookup
from gitopsd.engine.compare import CompareOptions, ComparisonResult, ResourceComparison, compare
from gitopsd.engine.desired import DesiredObject, ObjectError, PreparedSet, prepare
from gitopsd.engine.health import HealthResult, HealthStatus, LuaHealthChecks, assess_health, worst
from gitopsd.engine.live import LiveState, read_live_state
from gitopsd.engine.normalize import IgnoreRule, IgnoreSet
from gitopsd.engine.reconcile import Comparison, compare_app, sync_app
from gitopsd.engine.resources import ManifestError, ResourceKey, key_of, kind_rank
from gitopsd.engine.sync import ResourceResult, SyncOptions, SyncPlan, SyncTask, execute, plan_sync
from gitopsd.engine.tracking import TRACKING_ANNOTATION, build_tracking_id, parse_tracking_id

__all__ = [
    "TRACKING_ANNOTATION",
    "ClusterClient",
    "CompareOptions",
    "Comparison",
    "ComparisonResult",
    "DesiredObject",
    "HealthResult",
    "HealthStatus",
    "HookInfo",
    "IgnoreRule",
    "IgnoreSet",
    "LiveLookup",
    "LiveState",
    "LuaHealthChecks",
    "ManifestError",
    "ObjectError",
    "PreparedSet",
    "ResourceComparison",
    "ResourceKey",
    "ResourceResult",
    "SyncOptions",
    "SyncPlan",
    "SyncTask",
    "assess_health",
    "build_tracking_id",
    "compare",
    "compare_app",
    "execute",
    "hook_info",
    "key_of",
    "kind_rank",
    "misspelled_keys",
    "misspelling_warnings",
    "parse_tracking_id",
    "plan_sync",
    "prepare",
    "read_live_state",
    "sync_app",
    "sync_wave",
    "worst",
]
