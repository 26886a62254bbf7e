"""Charts from HTTP chart repositories, downloaded with a size cap while they stream (worker side).

Helm's own pull reads `index.yaml` and the chart archive whole into memory with no limit (a 100 MiB
index drove a worker to 5 GB), so the worker downloads both itself: streamed to a file and cut off
at the cap (`--max-index-bytes` for the index, the chart limit for the archive), with the request's
credentials and TLS setting, and Helm then loads the archive from that file. Which version a range
selects is still decided by Helm's library: sprig's `semverCompare` and `semver` run the same
Masterminds semver code that Helm's index lookup uses, so "^1.2" means here what it means to Helm.
"""

from __future__ import annotations

import re
import ssl
import tempfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitopsd_helm.outcome import FAILED_PRECONDITION, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, WorkerFailure

_CHUNK = 64 * 1024
# Connect and per-read timeouts; the sidecar's render deadline bounds the whole job anyway.
_TIMEOUT = (15.0, 60.0)

# The versions Masterminds semver parses (the loose form Helm accepts: "v1", "1.2", leading zeros in
# X.Y.Z, no leading zero in a numeric prerelease part); others are skipped, as Helm's lookup skips them.
_SEGMENT = r"[0-9]{1,19}"
_PRE_PART = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_VERSION = re.compile(
    rf"v?{_SEGMENT}(?:\.{_SEGMENT})?(?:\.{_SEGMENT})?"
    rf"(?:-{_PRE_PART}(?:\.{_PRE_PART})*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)

# The newest version that satisfies the constraint, computed by Helm's template engine.
_PICK_TEMPLATE = """\
{{- $best := "" -}}
{{- range .Values.versions -}}
{{- if semverCompare $.Values.constraint . -}}
{{- if or (eq $best "") (gt ((semver .).Compare (semver $best)) 0) -}}{{- $best = . -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- $best -}}
"""


def _verify(job: dict[str, Any]) -> bool | str:
    """Helm trusts the system's CA store (SSL_CERT_FILE/SSL_CERT_DIR honoured), not a bundled one."""
    if job["insecure_skip_tls_verify"]:
        return False
    paths = ssl.get_default_verify_paths()
    return paths.cafile or paths.capath or True


def _resolve(base: str, reference: str) -> str:
    """A URL relative to the repository URL, as Helm resolves it (base as a directory, its query kept)."""
    if urllib.parse.urlsplit(reference).scheme:
        return reference
    parts = urllib.parse.urlsplit(base)
    directory = parts._replace(path=parts.path.rstrip("/") + "/", query="", fragment="")
    resolved = urllib.parse.urlsplit(urllib.parse.urljoin(directory.geturl(), reference))
    return resolved._replace(query=parts.query).geturl()


def download(url: str, destination: Path, cap: int, what: str, job: dict[str, Any], auth: bool) -> None:
    """Stream `url` into `destination`, failing as soon as more than `cap` bytes arrive.

    The bytes counted are those after Content-Encoding is undone, so a compressed bomb is cut off too.
    """
    import requests

    credentials = (job["username"] or "", job["password"] or "") if auth else None
    written = 0
    try:
        with requests.get(
            url,
            stream=True,
            auth=credentials if credentials and any(credentials) else None,
            verify=_verify(job),
            timeout=_TIMEOUT,
            headers={"User-Agent": "gitopsd-helm"},
        ) as response:
            if response.status_code != 200:
                raise WorkerFailure(
                    FAILED_PRECONDITION,
                    f"fetching {what} from {url}: the server answered {response.status_code} {response.reason}",
                )
            with destination.open("wb") as out:
                for chunk in response.iter_content(_CHUNK):
                    written += len(chunk)
                    if written > cap:
                        raise WorkerFailure(
                            RESOURCE_EXHAUSTED,
                            f"{what} from {url} is larger than the limit of {cap} bytes; download stopped",
                        )
                    out.write(chunk)
    except requests.RequestException as exc:
        raise WorkerFailure(FAILED_PRECONDITION, f"fetching {what} from {url}: {exc}") from None


def _node(events: Iterator[Any], first: Any) -> Any:
    """Build the node that starts with `first`: scalars stay text, aliases become None (never followed)."""
    import yaml

    if isinstance(first, yaml.ScalarEvent):
        return first.value
    if isinstance(first, yaml.SequenceStartEvent):
        items: list[Any] = []
        for event in events:
            if isinstance(event, yaml.SequenceEndEvent):
                return items
            items.append(_node(events, event))
    if isinstance(first, yaml.MappingStartEvent):
        mapping: dict[str, Any] = {}
        for event in events:
            if isinstance(event, yaml.MappingEndEvent):
                return mapping
            key = _node(events, event)
            value = _node(events, next(events))
            if isinstance(key, str):
                mapping[key] = value
    return None


def _skip(events: Iterator[Any], first: Any) -> None:
    """Consume the node that starts with `first` without building it."""
    import yaml

    depth = 1 if isinstance(first, yaml.CollectionStartEvent) else 0
    while depth:
        event = next(events)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _value_of(events: Iterator[Any], key: str, build: bool) -> Any:
    """In the mapping whose start was just consumed, the value under `key` (built or left unread)."""
    import yaml

    for event in events:
        if isinstance(event, yaml.MappingEndEvent):
            return None
        if isinstance(event, yaml.ScalarEvent) and event.value == key:
            value_start = next(events)
            if build:
                return _node(events, value_start)
            return value_start
        _skip(events, event)
        _skip(events, next(events))
    return None


def _chart_versions(index_file: Path, chart: str) -> Any:
    """`entries[chart]` of an index.yaml, read from its parse events.

    Only that one chart's versions become Python objects: parsing a whole index costs ~30 times
    its size in memory (as much in Helm), the events alone next to nothing, and an alias bomb
    elsewhere in the file is never expanded.
    """
    import yaml

    with index_file.open("rb") as handle:
        events = iter(yaml.parse(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                break
        top = next(events)
        if not isinstance(top, yaml.MappingStartEvent):
            return None
        entries = _value_of(events, "entries", build=False)
        if not isinstance(entries, yaml.MappingStartEvent):
            return None
        return _value_of(events, chart, build=True)


def _entries(index_file: Path, chart: str, repo_url: str) -> list[dict[str, Any]]:
    import yaml

    try:
        versions = _chart_versions(index_file, chart)
    except (yaml.YAMLError, StopIteration, RecursionError) as exc:
        raise WorkerFailure(
            FAILED_PRECONDITION, f"the index.yaml of {repo_url} is not valid YAML: {str(exc)[:300]}"
        ) from None
    if not isinstance(versions, list) or not versions:
        raise WorkerFailure(FAILED_PRECONDITION, f"chart {chart!r} not found in {repo_url}")
    return [
        entry
        for entry in versions
        if isinstance(entry, dict)
        and isinstance(entry.get("version"), str)
        and isinstance(entry.get("urls"), list)
        and entry["urls"]
        and isinstance(entry["urls"][0], str)
    ]


def _pick(entries: list[dict[str, Any]], version: str, scratch: Path) -> dict[str, Any] | None:
    """Helm's choice: an exact match of the version text first, else the newest satisfying the range."""
    if version:
        for entry in entries:
            if entry["version"] == version:
                return entry
    import helm_python as helm

    candidates = [entry["version"] for entry in entries if _VERSION.fullmatch(entry["version"])]
    if not candidates:
        return None
    # A directory per call: one job may pick versions for several charts (its dependencies).
    chart_dir = Path(tempfile.mkdtemp(prefix="version-pick-", dir=scratch))
    (chart_dir / "templates").mkdir()
    (chart_dir / "Chart.yaml").write_text("apiVersion: v2\nname: version-pick\nversion: 0.1.0\n")
    (chart_dir / "templates" / "pick.txt").write_text(_PICK_TEMPLATE)
    try:
        with helm.Chart.load(chart_dir) as picker:
            rendered = picker.render(
                {"versions": candidates, "constraint": version or "*"}, name="pick", namespace="pick"
            )
    except helm.HelmError as exc:
        reason = str(exc).rpartition("error calling semverCompare: ")[2]
        raise WorkerFailure(
            INVALID_ARGUMENT, f"chart version {version!r} is not a version or a range: {reason[:300]}"
        ) from None
    best = next(iter(rendered.values()), "").strip()
    return next((entry for entry in entries if entry["version"] == best), None) if best else None


def pick_version(versions: list[str], constraint: str, scratch: Path) -> str | None:
    """The version Helm would choose among `versions` for `constraint` (exact text first, else the newest)."""
    entry = _pick([{"version": version} for version in versions], constraint, scratch)
    return str(entry["version"]) if entry is not None else None


def chart_entry(job: dict[str, Any], destination: Path) -> dict[str, Any]:
    """The index entry of the chart version the job names, from its HTTP repository's index.yaml."""
    repo_url: str = job["repo_url"]
    chart: str = job["chart"]
    version: str = job["version"] or ""
    index_file = destination / "index.yaml"
    download(_resolve(repo_url, "index.yaml"), index_file, job["max_index_bytes"], "index.yaml", job, True)
    entries = _entries(index_file, chart, repo_url)
    index_file.unlink()
    entry = _pick(entries, version, destination.parent)
    if entry is None:
        wanted = f"version {version!r}" if version else "a stable version"
        raise WorkerFailure(FAILED_PRECONDITION, f"chart {chart!r} {wanted} not found in {repo_url}")
    return entry


def download_entry(job: dict[str, Any], entry: dict[str, Any], destination: Path) -> Path:
    """Download the archive of an index entry (capped at the chart limit); returns the local .tgz."""
    repo_url: str = job["repo_url"]
    chart: str = job["chart"]
    archive_url = _resolve(repo_url, entry["urls"][0])
    parsed = urllib.parse.urlsplit(archive_url)
    if parsed.scheme not in ("http", "https"):
        raise WorkerFailure(
            FAILED_PRECONDITION, f"the index of {repo_url} points chart {chart!r} at a non-HTTP URL"
        )
    # As Helm: the repository's credentials go only to the repository's own host.
    same_host = parsed.netloc == urllib.parse.urlsplit(repo_url).netloc
    name = re.sub(r"[^0-9A-Za-z._+-]", "_", f"{chart}-{entry['version']}")[:200]
    archive = destination / f"{name}.tgz"
    download(archive_url, archive, job["max_chart_bytes"], f"chart archive {chart!r}", job, same_host)
    return archive


def fetch_chart(job: dict[str, Any], destination: Path) -> Path:
    """Download the chart archive the job names from its HTTP repository; returns the local .tgz."""
    return download_entry(job, chart_entry(job, destination), destination)
