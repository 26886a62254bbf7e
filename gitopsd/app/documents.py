"""Helpers shared by the Argo CD-style documents gitopsd stores (Application, AppProject)."""

from __future__ import annotations

import json
from typing import TypeVar

import yaml
from google.protobuf.message import Message

from gitopsd.app.errors import InvalidArgument
from gitopsd.protojson import parse_document

M = TypeVar("M", bound=Message)

MAX_MANIFEST_BYTES = 1024 * 1024


def parse_manifest(text: str, message: M, kind: str) -> M:
    """Parses one JSON or YAML document of the given kind into message.

    apiVersion and kind are checked here, so that a Deployment sent by mistake is
    named as such rather than reported as a pile of unknown fields.
    """
    if len(text) > MAX_MANIFEST_BYTES:
        raise InvalidArgument(f"manifest: larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        doc = json.loads(text)
    except ValueError:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidArgument(f"manifest: not valid YAML or JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidArgument(f"manifest: expected a {kind} document (a mapping), got {type(doc).__name__}")
    got_kind = doc.get("kind")
    if got_kind != kind:
        raise InvalidArgument(
            f"kind: expected {kind}, got {got_kind!r}" if got_kind else f"kind: required ({kind})"
        )
    if "apiVersion" not in doc:
        raise InvalidArgument("apiVersion: required (argoproj.io/v1alpha1)")
    return parse_document(doc, message)
