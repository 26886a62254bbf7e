"""Chart dependencies built before rendering, as `helm dependency build` does (worker side).

A chart's `dependencies:` (Chart.yaml, or requirements.yaml for apiVersion v1) that Helm's
`dependency_list` does not find in charts/ are put there before the chart is loaded: a chart
loaded without them renders without them, silently (an umbrella chart renders nothing at all).

- `file://` dependencies are packaged from the checkout (their own dependencies built first); the
  path must stay inside the repository (or, for a pulled chart, inside the chart).
- HTTP chart repositories are fetched by gitopsd_helm.fetch (capped downloads, the request's
  credentials for that URL only); OCI registries through Helm's registry client. A failure while some
  repositories went without credentials names them (WorkerFailure.needs_credentials): the daemon,
  which cannot read a pulled chart's Chart.yaml beforehand, tries again with those it holds.
- With a Chart.lock (requirements.lock) its versions are used, as `dependency_build` does, and a lock
  that no longer matches Chart.yaml is an error; without one, versions are resolved as
  `dependency_update` does (the newest version satisfying the range).
- Fetched sets are cached (gitopsd_helm.depcache), so a second render fetches nothing.

Helm's own dependency_build/update are not used: they download archives whole into memory with no
cap, take no credentials and have no timeouts. Every failure names the dependency (name, version,
repository) and is an error: never a render without it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitopsd_helm import depcache
from gitopsd_helm.archive import check_archive, check_chart_dir
from gitopsd_helm.fetch import chart_entry, download_entry, pick_version
from gitopsd_helm.outcome import FAILED_PRECONDITION, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, WorkerFailure

# Statuses of helm dependency_list that mean "present in charts/".
_PRESENT = {"ok", "unpacked"}
# More than any real chart declares; bounds the work one chart can ask for.
MAX_DEPENDENCIES = 100
# file:// dependencies that have file:// dependencies of their own, and so on.
MAX_DEPTH = 8
_EXACT = re.compile(r"^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?$")


@dataclass(frozen=True)
class Dependency:
    name: str
    version: str
    repository: str

    def __str__(self) -> str:
        return (
            f"dependency {self.name!r} (version {self.version!r}, repository {self.repository or '(none)'})"
        )

    def fail(self, code: str, reason: str, needs_credentials: Sequence[str] = ()) -> WorkerFailure:
        return WorkerFailure(code, f"{self}: {reason}"[:2000], needs_credentials)


def _normal(url: str) -> str:
    return url.strip().rstrip("/")


def _credentials(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Repository URL -> credentials: those the daemon sent for dependencies, and the chart's own."""
    found: dict[str, dict[str, Any]] = {}
    if job.get("repo_url") and (job.get("username") or job.get("password")):
        found[_normal(job["repo_url"])] = {
            "username": job["username"],
            "password": job["password"],
            "insecure_skip_tls_verify": job["insecure_skip_tls_verify"],
            "plain_http": job["plain_http"],
        }
    for entry in job.get("dependency_credentials", []):
        found[_normal(entry["repo_url"])] = entry
    return found


def _read_lock(chart_dir: Path) -> tuple[str, dict[tuple[str, str], str]] | None:
    """Chart.lock (or requirements.lock): its digest and (name, repository) -> locked version."""
    import yaml

    path = next(
        (chart_dir / n for n in ("Chart.lock", "requirements.lock") if (chart_dir / n).is_file()), None
    )
    if path is None:
        return None
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise WorkerFailure(INVALID_ARGUMENT, f"{path.name} is not valid YAML: {str(exc)[:300]}") from None
    if not isinstance(document, dict) or not isinstance(document.get("dependencies") or [], list):
        raise WorkerFailure(INVALID_ARGUMENT, f"{path.name} has no list of dependencies")
    locked: dict[tuple[str, str], str] = {}
    for entry in document.get("dependencies") or []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            key = (entry["name"], _normal(str(entry.get("repository") or "")))
            locked[key] = str(entry.get("version") or "")
    return str(document.get("digest") or ""), locked


def _locked_version(
    dep: Dependency, locked: dict[tuple[str, str], str], scratch: Path, lock_name: str
) -> str:
    version = locked.get((dep.name, _normal(dep.repository)))
    if not version:
        raise dep.fail(
            FAILED_PRECONDITION,
            f"{lock_name} is out of sync with Chart.yaml (it does not list this dependency); "
            "run `helm dependency update` and commit the lock file",
        )
    if version != dep.version and pick_version([version], dep.version or "*", scratch) != version:
        raise dep.fail(
            FAILED_PRECONDITION,
            f"{lock_name} is out of sync with Chart.yaml (it locks version {version!r}); "
            "run `helm dependency update` and commit the lock file",
        )
    return version


def _remove_stale(charts_dir: Path, name: str) -> None:
    """What charts/ holds of a dependency in another version (Helm's build replaces it too)."""
    if not charts_dir.is_dir():
        return
    pattern = re.compile(rf"^{re.escape(name)}-v?\d.*\.tgz$")
    for path in charts_dir.iterdir():
        if path.is_file() and pattern.match(path.name):
            path.unlink()
        elif path.is_dir() and path.name == name:
            shutil.rmtree(path)


def build(chart_dir: Path, root: Path, job: dict[str, Any], depth: int = 0) -> bool:
    """Put every dependency of the chart at `chart_dir` that charts/ lacks there (see the module docstring).

    Returns whether charts/ changed.

    `root`: what file:// dependencies may point into (the repository checkout, or a pulled chart).
    """
    import helm_python as helm

    try:
        statuses = helm.dependency_list(chart_dir)
    except helm.HelmError as exc:
        raise WorkerFailure(INVALID_ARGUMENT, f"chart dependencies: {str(exc)[:500]}") from None
    if len(statuses) > MAX_DEPENDENCIES:
        raise WorkerFailure(
            INVALID_ARGUMENT, f"the chart declares {len(statuses)} dependencies, more than {MAX_DEPENDENCIES}"
        )
    declared = [
        Dependency(str(s["name"]), str(s["version"] or ""), str(s["repository"] or "")) for s in statuses
    ]
    missing = [dep for dep, s in zip(declared, statuses, strict=True) if s["status"] not in _PRESENT]
    if not missing:
        return False
    if depth >= MAX_DEPTH:
        raise missing[0].fail(INVALID_ARGUMENT, f"file:// dependencies nest deeper than {MAX_DEPTH} levels")
    scratch = Path(job["scratch"])
    lock = _read_lock(chart_dir)
    lock_name = next(
        (n for n in ("Chart.lock", "requirements.lock") if (chart_dir / n).is_file()), "Chart.lock"
    )
    charts_dir = chart_dir / "charts"
    remote: list[tuple[Dependency, str]] = []
    for dep in missing:
        scheme = urllib.parse.urlsplit(dep.repository).scheme.lower() if "://" in dep.repository else ""
        if scheme == "file":
            _build_local(dep, chart_dir, root, job, depth)
        elif scheme in ("http", "https", "oci"):
            if urllib.parse.urlsplit(dep.repository).username is not None:
                raise dep.fail(
                    INVALID_ARGUMENT,
                    "credentials in a dependency's repository URL are refused; "
                    "add them with `gitopsd repo add` or `gitopsd repocreds add`",
                )
            version = _locked_version(dep, lock[1], scratch, lock_name) if lock else dep.version
            remote.append((dep, version))
        elif not dep.repository:
            raise dep.fail(
                FAILED_PRECONDITION, "not in the chart's charts/ directory and no repository to fetch it from"
            )
        elif dep.repository.startswith(("@", "alias:")):
            raise dep.fail(
                INVALID_ARGUMENT,
                "the repository is named by alias; gitopsd needs the repository's URL in Chart.yaml",
            )
        else:
            raise dep.fail(INVALID_ARGUMENT, "the repository must be file://, http(s):// or oci://")
    if remote:
        _fetch_remote(remote, charts_dir, job, lock[0] if lock else "")
    try:
        after = helm.dependency_list(chart_dir)
    except helm.HelmError as exc:
        raise WorkerFailure(INVALID_ARGUMENT, f"chart dependencies: {str(exc)[:500]}") from None
    for dep, status in zip(declared, after, strict=False):
        if status["status"] not in _PRESENT:
            raise dep.fail(FAILED_PRECONDITION, f"still {status['status']} in charts/ after the build")
    return True


def _build_local(dep: Dependency, chart_dir: Path, root: Path, job: dict[str, Any], depth: int) -> None:
    import helm_python as helm

    relative = dep.repository[len("file://") :]
    if relative.startswith("/") or "\x00" in relative:
        raise dep.fail(INVALID_ARGUMENT, "a file:// dependency must be a path relative to the chart")
    target = Path(os.path.normpath(chart_dir / relative))
    real_root, real = os.path.realpath(root), os.path.realpath(target)
    if real != real_root and not real.startswith(real_root + os.sep):
        raise dep.fail(INVALID_ARGUMENT, "the file:// path points outside the repository; refused")
    if real == os.path.realpath(chart_dir):
        raise dep.fail(INVALID_ARGUMENT, "the file:// path is the chart itself")
    if not (target / "Chart.yaml").is_file():
        raise dep.fail(FAILED_PRECONDITION, f"no Chart.yaml in {target.relative_to(root).as_posix() or '.'}")
    check_chart_dir(target, job["max_chart_bytes"])
    build(target, root, job, depth + 1)
    _remove_stale(chart_dir / "charts", dep.name)
    (chart_dir / "charts").mkdir(exist_ok=True)
    try:
        helm.package(target, destination=chart_dir / "charts")
    except helm.HelmError as exc:
        raise dep.fail(INVALID_ARGUMENT, f"cannot package it: {str(exc)[:500]}") from None


def _subjob(
    job: dict[str, Any], dep: Dependency, version: str, creds: dict[str, Any] | None
) -> dict[str, Any]:
    creds = creds or {}
    return {
        "repo_url": dep.repository,
        "chart": dep.name,
        "version": version,
        "username": creds.get("username", ""),
        "password": creds.get("password", ""),
        "insecure_skip_tls_verify": bool(creds.get("insecure_skip_tls_verify")),
        "plain_http": bool(creds.get("plain_http")),
        "max_index_bytes": job["max_index_bytes"],
        "max_chart_bytes": job["max_chart_bytes"],
    }


def _fetch_remote(
    remote: list[tuple[Dependency, str]], charts_dir: Path, job: dict[str, Any], lock_digest: str
) -> None:
    """Resolve exact versions, then take the set from the cache or fetch it (and cache it)."""
    credentials = _credentials(job)
    scratch = Path(job["scratch"])
    work = scratch / "dependencies"
    work.mkdir(exist_ok=True)
    resolved: list[tuple[Dependency, dict[str, Any], dict[str, Any] | None]] = []
    # Should a fetch without credentials fail, the daemon may hold some for these (deps.py docstring).
    anonymous = [d.repository for d, _ in remote if _normal(d.repository) not in credentials]
    for dep, version in remote:
        sub = _subjob(job, dep, version, credentials.get(_normal(dep.repository)))
        entry: dict[str, Any] | None = None
        with _naming(dep, anonymous):
            if not _EXACT.match(version):
                if dep.repository.lower().startswith("oci://"):
                    sub["version"] = _oci_version(sub, dep, scratch)
                else:
                    entry = chart_entry(sub, work)
                    sub["version"] = str(entry["version"])
        # One chart declared twice (under two aliases) is one archive in charts/.
        if not any(
            d.name == dep.name
            and _normal(d.repository) == _normal(dep.repository)
            and s["version"] == sub["version"]
            for d, s, _ in resolved
        ):
            resolved.append((dep, sub, entry))
    cache_dir, salt, cache_bytes = depcache.describe(job)
    key = depcache.cache_key(
        salt,
        lock_digest,
        [
            (d.name, _normal(d.repository), s["version"], s["username"], s["password"], str(s["plain_http"]))
            for d, s, _ in resolved
        ],
    )
    for dep, _, _ in resolved:
        _remove_stale(charts_dir, dep.name)
    if depcache.lookup(cache_dir, key, charts_dir):
        return
    archives: list[Path] = []
    total = 0
    for dep, sub, entry in resolved:
        destination = Path(tempfile.mkdtemp(dir=work))
        with _naming(dep, anonymous):
            archive = _fetch_one(sub, entry, destination, scratch)
            check_archive(archive, job["max_chart_bytes"], archive.name)
        total += archive.stat().st_size
        if total > job["max_chart_bytes"]:
            raise dep.fail(
                RESOURCE_EXHAUSTED,
                f"the chart's dependency archives together exceed the limit of {job['max_chart_bytes']} bytes",
            )
        archives.append(archive)
    charts_dir.mkdir(exist_ok=True)
    for archive in archives:
        shutil.copyfile(archive, charts_dir / archive.name)
    depcache.store(cache_dir, key, archives, cache_bytes)


def _fetch_one(sub: dict[str, Any], entry: dict[str, Any] | None, destination: Path, scratch: Path) -> Path:
    if not sub["repo_url"].lower().startswith("oci://"):
        return download_entry(sub, entry or chart_entry(sub, destination), destination)
    with _registry(sub, scratch) as client:
        client.pull(
            f"{_normal(sub['repo_url'])}/{sub['chart']}", version=sub["version"], destination=destination
        )
    archives = sorted(destination.glob("*.tgz"))
    if len(archives) != 1:
        raise WorkerFailure(FAILED_PRECONDITION, "the registry returned no chart archive")
    return archives[0]


def _oci_version(sub: dict[str, Any], dep: Dependency, scratch: Path) -> str:
    """A range against an OCI registry: the newest tag satisfying it (tags spell '+' as '_')."""
    with _registry(sub, scratch) as client:
        tags = client.tags(f"{_normal(sub['repo_url'])}/{sub['chart']}")
    versions = [tag.replace("_", "+") for tag in tags]
    picked = pick_version(versions, sub["version"] or "*", scratch)
    if picked is None:
        raise WorkerFailure(FAILED_PRECONDITION, "no version in the registry satisfies the range")
    return picked


@contextlib.contextmanager
def _registry(sub: dict[str, Any], scratch: Path) -> Iterator[Any]:
    """A registry client with its own credentials file (never the user's, never another job's)."""
    import helm_python as helm

    credentials_file = scratch / f"registry-{os.urandom(6).hex()}.json"
    with helm.RegistryClient(plain_http=sub["plain_http"], credentials_file=credentials_file) as client:
        if sub["username"] or sub["password"]:
            client.login(
                urllib.parse.urlsplit(sub["repo_url"]).netloc,
                sub["username"],
                sub["password"],
                insecure=sub["insecure_skip_tls_verify"],
                plain_http=sub["plain_http"],
            )
        yield client


@contextlib.contextmanager
def _naming(dep: Dependency, anonymous: Sequence[str]) -> Iterator[None]:
    """Name the dependency (name, version, repository) in a failure while fetching it, and the
    repositories that were fetched without credentials (the daemon may hold some)."""
    import helm_python as helm

    try:
        yield
    except WorkerFailure as failure:
        raise dep.fail(failure.code, failure.message, anonymous) from None
    except helm.HelmError as exc:
        raise dep.fail(FAILED_PRECONDITION, str(exc)[:1000], anonymous) from None
