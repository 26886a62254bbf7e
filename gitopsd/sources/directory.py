"""Directory sources, rendered in the daemon: plain YAML/JSON manifests from a repo path.

As Argo CD: *.yaml, *.yml, *.json and *.jsonnet files of the app directory (recursively with
`directory.recurse`), filtered by `include`/`exclude` globs (exclude wins), each YAML file
possibly multi-document; empty documents are skipped and List kinds are expanded. The selected
*.jsonnet files are not read here: they are returned for the Jsonnet sidecar to evaluate
(gitopsd.sources.jsonnet_source); jsonnet-bundler's jsonnetfile.json and jsonnetfile.lock.json are
not manifests.

This reads a tree on disk (a checkout, uploaded files); gitopsd.sources.directory_objects reads a
commit's git objects with the same selection, reader and limits.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gitopsd.api.gitopsd.v1 import application_pb2
from gitopsd.sources.errors import LimitExceededError, ManifestError
from gitopsd.sources.globs import glob_match
from gitopsd.sources.safety import DEFAULT_LIMITS, Limits, check_inside, human_size

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
JSONNET_SUFFIX = ".jsonnet"
# jsonnet-bundler's own files sit beside the Jsonnet they serve and are never Kubernetes objects.
JSONNET_BUNDLER_FILES = ("jsonnetfile.json", "jsonnetfile.lock.json")


# libyaml's parser when PyYAML has it (the wheels do): the pure-Python one was a tenth of the daemon's
# time while thousands of applications were first rendered.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]  # a SafeLoader, in C or in Python
    """SafeLoader that keeps timestamps as strings (Kubernetes objects are JSON)."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}


@dataclass(frozen=True)
class DirectoryRender:
    manifests: list[dict[str, Any]]
    # Repository-relative paths of every file read (symlink targets included), for
    # deciding whether a later commit can reuse this render.
    inputs: tuple[str, ...]
    # Repository-relative paths of the selected .jsonnet files, in order (evaluated by the sidecar).
    jsonnet_files: tuple[str, ...] = ()


def render_directory(
    repo_root: Path,
    app_dir: Path,
    directory: application_pb2.ApplicationSourceDirectory | None,
    limits: Limits = DEFAULT_LIMITS,
) -> DirectoryRender:
    """Reads the manifests of a Directory source. Raises ManifestError naming file and line."""
    recurse, include, exclude = directory_options(directory)
    root_real = Path(os.path.realpath(repo_root))
    reader = ManifestReader(limits)
    jsonnet_files: list[str] = []
    for rel in _manifest_files(app_dir, recurse):
        if not wanted(rel, include, exclude):
            continue
        full = app_dir / rel
        shown = os.path.relpath(full, repo_root)
        real = check_inside(repo_root, full, shown_as=f"file {shown!r}")
        if not real.is_file():
            continue
        if rel.endswith(JSONNET_SUFFIX):
            jsonnet_files.append(shown.replace(os.sep, "/"))
            continue
        reader.inputs.append(shown)
        if real != Path(os.path.realpath(full.parent)) / full.name:
            reader.inputs.append(str(real.relative_to(root_real)))
        reader.add(shown, real.stat().st_size, real.read_bytes)
    return DirectoryRender(reader.manifests, tuple(reader.inputs), tuple(jsonnet_files))


def directory_options(
    directory: application_pb2.ApplicationSourceDirectory | None,
) -> tuple[bool, str, str]:
    """(recurse, include, exclude) of a Directory source's block (none: top level, every file)."""
    if directory is None:
        return False, "", ""
    return bool(directory.recurse), directory.include, directory.exclude


def is_candidate(name: str) -> bool:
    """Whether a file name is one a Directory source may read (before include/exclude)."""
    return name.endswith((*MANIFEST_SUFFIXES, JSONNET_SUFFIX)) and name not in JSONNET_BUNDLER_FILES


def wanted(rel: str, include: str, exclude: str) -> bool:
    """Whether an app-relative candidate passes include/exclude (exclude wins)."""
    if exclude and glob_match(exclude, rel):
        return False
    return not include or glob_match(include, rel)


class ManifestReader:
    """The manifests of the files read so far, in order, under the read and output size limits.

    Shared by the checkout walk above and the render from git objects
    (gitopsd.sources.directory_objects), so both give the same objects and the same errors."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.manifests: list[dict[str, Any]] = []
        # Repository-relative paths of every file read (see DirectoryRender.inputs).
        self.inputs: list[str] = []
        self._budget = _Budget(limits.max_output_bytes)
        self._read_total = 0

    def add(self, shown: str, size: int, read: Callable[[], bytes]) -> None:
        """Counts a file of `size` bytes against the read limit, then reads and parses it."""
        self._read_total += size
        if self._read_total > self.limits.max_repo_bytes:
            raise LimitExceededError(
                f"manifest files exceed the size limit of {human_size(self.limits.max_repo_bytes)} (reached at {shown!r})"
            )
        for obj in _parse_file(shown, read()):
            self._budget.spend(obj, shown)
            self.manifests.append(obj)


def _manifest_files(app_dir: Path, recurse: bool) -> Iterator[str]:
    """App-relative, "/"-separated paths of candidate files, in a stable order."""
    # followlinks=False: symlinked directories inside the app are not walked into
    # (Argo CD does the same); symlinked files are read after the inside check.
    for dirpath, dirnames, filenames in os.walk(app_dir):
        dirnames[:] = sorted(d for d in dirnames if d != ".git") if recurse else []
        for name in sorted(filenames):
            if is_candidate(name):
                yield os.path.relpath(os.path.join(dirpath, name), app_dir).replace(os.sep, "/")


def _parse_file(shown: str, data: bytes) -> Iterator[dict[str, Any]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ManifestError(f"{shown}: not UTF-8 text") from None
    if shown.endswith(".json"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{shown}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
        except RecursionError:
            raise ManifestError(f"{shown}: invalid JSON: nested too deeply") from None
        docs: list[tuple[int, Any]] = [(1, item) for item in (doc if isinstance(doc, list) else [doc])]
    else:
        docs = list(_yaml_documents(shown, text))
    for line, doc in docs:
        if doc is None:
            continue
        yield from _objects(shown, line, doc)


def _yaml_documents(shown: str, text: str) -> Iterator[tuple[int, Any]]:
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            yield line, loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark else "unknown line"
        # The problem text only: no snippet of the file in the message.
        raise ManifestError(f"{shown}: {where}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{shown}: invalid YAML: {type(exc).__name__}") from None
    except RecursionError:
        raise ManifestError(f"{shown}: invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()


def _objects(shown: str, line: int, doc: Any) -> Iterator[dict[str, Any]]:
    where = f"{shown}: document at line {line}"
    if not isinstance(doc, dict):
        raise ManifestError(f"{where}: not a Kubernetes object (a {type(doc).__name__}, not a mapping)")
    kind = doc.get("kind")
    items = doc.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        for index, item in enumerate(items):
            if (
                isinstance(item, dict)
                and str(item.get("kind", "")).endswith("List")
                and isinstance(item.get("items"), list)
            ):
                yield from _objects(shown, line, item)
            else:
                yield check_object(f"{where}: items[{index}]", item)
        return
    yield check_object(where, doc)


def check_object(where: str, obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ManifestError(f"{where}: not a Kubernetes object")
    missing = [k for k in ("apiVersion", "kind") if not isinstance(obj.get(k), str) or not obj.get(k)]
    meta = obj.get("metadata")
    named = isinstance(meta, dict) and any(
        isinstance(meta.get(k), str) and meta.get(k) for k in ("name", "generateName")
    )
    if not named:
        missing.append("metadata.name")
    if missing:
        raise ManifestError(f"{where}: object without {', '.join(missing)}")
    return obj


class _Budget:
    """Caps rendered output; sizes are counted by walking (aliases can make JSON explode)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def spend(self, obj: Any, shown: str) -> None:
        stack = [obj]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                self.used += 2 + 4 * len(item)
                for k, v in item.items():
                    self.used += len(str(k))
                    stack.append(v)
            elif isinstance(item, list):
                self.used += 2 + len(item)
                stack.extend(item)
            else:
                self.used += len(str(item)) + 2
            if self.used > self.limit:
                raise LimitExceededError(
                    f"rendered output exceeds the size limit of {human_size(self.limit)} (reached in {shown!r})"
                )
