"""Argo CD's `source.kustomize` overrides, applied to a kustomization like `kustomize edit` would.

Argo CD runs `kustomize edit set image/nameprefix/namesuffix/namespace/replicas`, `edit add
label/annotation/component` and appends patches before `kustomize build`; this module performs the
same edits on the parsed kustomization of the materialized copy (no extra process per edit).
Pure functions over dicts: no I/O except `apply_overrides`, which rewrites the file.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import json_format

from gitopsd.api.gitopsd.v1 import application_pb2
from gitopsd.sidecar.errors import InvalidSource

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

# kustomize's image syntax: "[old=]name[:tag][@digest]"; name may hold a registry port (host:5000/app).
_TAG = re.compile(
    r"^(?P<name>.+?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>[A-Za-z0-9]+:[A-Fa-f0-9]+))?$"
)
_ENV_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def find_kustomization(directory: Path) -> Path | None:
    """The kustomization file of a directory, as kustomize looks for it."""
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def parse_image(spec: str) -> tuple[str, dict[str, str]]:
    """Split an Argo CD/kustomize image override into the image name and the fields to set."""
    if not spec or any(ch.isspace() for ch in spec):
        raise InvalidSource(
            f"kustomize image {spec!r} is not of the form [old=]name:tag or [old=]name@digest"
        )
    old, sep, new = spec.partition("=")
    if not sep:
        old, new = "", spec
    match = _TAG.match(new)
    if not match or (sep and not old):
        raise InvalidSource(
            f"kustomize image {spec!r} is not of the form [old=]name:tag or [old=]name@digest"
        )
    fields: dict[str, str] = {}
    new_name = match.group("name")
    if match.group("tag"):
        fields["newTag"] = match.group("tag")
    if match.group("digest"):
        fields["digest"] = match.group("digest")
    if old:
        fields["newName"] = new_name
        return old, fields
    return new_name, fields


def _set_image(kustomization: dict[str, Any], spec: str) -> None:
    name, fields = parse_image(spec)
    images = kustomization.setdefault("images", [])
    if not isinstance(images, list):
        raise InvalidSource("kustomization 'images' is not a list")
    for entry in images:
        if isinstance(entry, dict) and entry.get("name") == name:
            # As `kustomize edit set image`: a new tag replaces a digest and vice versa.
            if "newTag" in fields:
                entry.pop("digest", None)
            if "digest" in fields:
                entry.pop("newTag", None)
            entry.update(fields)
            return
    images.append({"name": name, **fields})


def _merge_map(
    kustomization: dict[str, Any], key: str, values: Mapping[str, str], force: bool, what: str
) -> None:
    current = kustomization.setdefault(key, {})
    if not isinstance(current, dict):
        raise InvalidSource(f"kustomization {key!r} is not a map")
    for name, value in values.items():
        if name in current and not force:
            raise InvalidSource(
                f"{what} {name!r} is already set in the kustomization; set force{what[0].upper()}{what[1:]}s to override"
            )
        current[name] = value


def _replica_count(replica: application_pb2.KustomizeReplica) -> int:
    kind = replica.count.WhichOneof("kind")
    if kind == "number_value" and float(replica.count.number_value).is_integer():
        return int(replica.count.number_value)
    if kind == "string_value" and replica.count.string_value.strip().lstrip("-").isdigit():
        return int(replica.count.string_value.strip())
    raise InvalidSource(f"kustomize replicas for {replica.name!r}: count must be an integer")


def _plain(value: Any) -> Any:
    """Protobuf Struct numbers are doubles: give whole numbers back their int type."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def envsubst(text: str, variables: Mapping[str, str]) -> str:
    """Argo CD's commonAnnotationsEnvsubst: $VAR / ${VAR} from the app's build environment only."""
    return _ENV_VAR.sub(lambda m: variables.get(m.group(1), ""), text)


def edit_kustomization(
    kustomization: dict[str, Any],
    overrides: application_pb2.ApplicationSourceKustomize,
    build_env: Mapping[str, str],
) -> dict[str, Any]:
    """Apply the overrides to a parsed kustomization (in place) and return it."""
    for spec in overrides.images:
        _set_image(kustomization, spec)
    if overrides.name_prefix:
        kustomization["namePrefix"] = overrides.name_prefix
    if overrides.name_suffix:
        kustomization["nameSuffix"] = overrides.name_suffix
    if overrides.namespace:
        kustomization["namespace"] = overrides.namespace
    if overrides.common_labels:
        labels = dict(overrides.common_labels)
        if overrides.label_without_selector:
            # `kustomize edit add label --without-selector` writes a labels entry without selectors.
            entries = kustomization.setdefault("labels", [])
            if not isinstance(entries, list):
                raise InvalidSource("kustomization 'labels' is not a list")
            entries.append({"pairs": labels, "includeSelectors": False})
        else:
            _merge_map(kustomization, "commonLabels", labels, overrides.force_common_labels, "commonLabel")
    if overrides.common_annotations:
        annotations = dict(overrides.common_annotations)
        if overrides.common_annotations_envsubst:
            annotations = {key: envsubst(value, build_env) for key, value in annotations.items()}
        _merge_map(
            kustomization,
            "commonAnnotations",
            annotations,
            overrides.force_common_annotations,
            "commonAnnotation",
        )
    if overrides.replicas:
        replicas = kustomization.setdefault("replicas", [])
        if not isinstance(replicas, list):
            raise InvalidSource("kustomization 'replicas' is not a list")
        for replica in overrides.replicas:
            if not replica.name:
                raise InvalidSource("kustomize replicas: an entry has no name")
            count = _replica_count(replica)
            for entry in replicas:
                if isinstance(entry, dict) and entry.get("name") == replica.name:
                    entry["count"] = count
                    break
            else:
                replicas.append({"name": replica.name, "count": count})
    if overrides.components:
        components = kustomization.setdefault("components", [])
        if not isinstance(components, list):
            raise InvalidSource("kustomization 'components' is not a list")
        for component in overrides.components:
            if component not in components:
                components.append(component)
    if overrides.patches:
        patches = kustomization.setdefault("patches", [])
        if not isinstance(patches, list):
            raise InvalidSource("kustomization 'patches' is not a list")
        for patch in overrides.patches:
            patches.append(_plain(json_format.MessageToDict(patch)))
    return kustomization


# libyaml's safe loader when present (the pure-Python one was a third of the sidecar's own time).
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_kustomization(path: Path, shown: str) -> dict[str, Any]:
    """Parse a kustomization file; INVALID_ARGUMENT when it is not a YAML map."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - a safe loader
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidSource(f"{shown}: invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidSource(f"{shown}: a kustomization must be a YAML map")
    return data


def has_overrides(overrides: application_pb2.ApplicationSourceKustomize) -> bool:
    return bool(
        overrides.images
        or overrides.name_prefix
        or overrides.name_suffix
        or overrides.namespace
        or overrides.common_labels
        or overrides.common_annotations
        or overrides.replicas
        or overrides.components
        or overrides.patches
    )


def apply_overrides(
    kustomization_file: Path,
    shown: str,
    overrides: application_pb2.ApplicationSourceKustomize,
    build_env: Mapping[str, str],
) -> None:
    """Rewrite the kustomization file of a private copy (the repository itself is never touched).

    The file is replaced, not written in place: in a hard-linked copy of a shared tree, writing
    through the link would change the shared tree too.
    """
    if not has_overrides(overrides):
        return
    data = edit_kustomization(load_kustomization(kustomization_file, shown), overrides, build_env)
    # mkstemp creates a new file (O_EXCL), so it can never be a link into the shared tree.
    fd, edited = tempfile.mkstemp(dir=kustomization_file.parent, prefix=".edited-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(yaml.safe_dump(data, sort_keys=False))
    os.chmod(edited, 0o644)
    os.replace(edited, kustomization_file)
