"""Small helpers shared by the tests of gitopsd.sources."""

from __future__ import annotations

from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2 as apb


def src(repo_url: str, path: str = ".", revision: str = "main", **blocks: Any) -> apb.ApplicationSource:
    return apb.ApplicationSource(repo_url=repo_url, path=path, target_revision=revision, **blocks)


def cm(name: str, extra: str = "") -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{extra}"


def names(result: Any) -> list[str]:
    return [m["metadata"]["name"] for m in result.manifests]
