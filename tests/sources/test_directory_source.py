"""Directory sources rendered in the daemon (plain YAML/JSON), as Argo CD does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitopsd.api.gitopsd.v1 import application_pb2 as apb
from gitopsd.sources.directory import render_directory
from gitopsd.sources.errors import LimitExceededError, ManifestError
from gitopsd.sources.safety import Limits


def cm(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def names(root: Path, directory: apb.ApplicationSourceDirectory | None = None, app: str = "") -> list[str]:
    out = render_directory(root, root / app, directory)
    return [m["metadata"]["name"] for m in out.manifests]


def test_yaml_yml_json_multidoc_and_empty_docs(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.yaml": "---\n" + cm("a1") + "---\n\n---\n# only a comment\n---\n" + cm("a2"),
            "b.yml": cm("b"),
            "c.json": json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}}),
            "notes.txt": "not a manifest",
            "sub/d.yaml": cm("d"),
        },
    )
    assert names(tmp_path) == ["a1", "a2", "b", "c"]
    assert names(tmp_path, apb.ApplicationSourceDirectory(recurse=True)) == ["a1", "a2", "b", "c", "d"]


def test_timestamps_stay_strings(tmp_path: Path) -> None:
    write(tmp_path, {"a.yaml": cm("a") + "data:\n  when: 2026-03-01T10:00:00Z\n"})
    out = render_directory(tmp_path, tmp_path, None)
    assert out.manifests[0]["data"]["when"] == "2026-03-01T10:00:00Z"


def test_include_exclude_with_braces_exclude_wins(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/a.yaml": cm("a"),
            "app/b.yaml": cm("b"),
            "app/c.json": '{"apiVersion":"v1","kind":"X","metadata":{"name":"c"}}',
            "app/x/d.yaml": cm("d"),
        },
    )
    d = apb.ApplicationSourceDirectory
    assert names(tmp_path, d(recurse=True, include="{a.yaml,c.json}"), "app") == ["a", "c"]
    assert names(tmp_path, d(recurse=True, exclude="*.json"), "app") == ["a", "b", "d"]
    assert names(tmp_path, d(recurse=True, include="*.yaml", exclude="{b.yaml,x/*}"), "app") == ["a"]
    # `*` crosses directories, as in Argo CD.
    assert names(tmp_path, d(recurse=True, include="*d.yaml"), "app") == ["d"]
    assert names(tmp_path, d(recurse=True, include="*.yaml", exclude="*.yaml"), "app") == []


def test_list_kinds_are_expanded(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "l.yaml": "apiVersion: v1\nkind: List\nitems:\n"
            "- {apiVersion: v1, kind: ConfigMap, metadata: {name: one}}\n"
            "- {apiVersion: v1, kind: ConfigMap, metadata: {name: two}}\n",
            "m.yaml": "apiVersion: v1\nkind: ConfigMapList\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: three}}\n",
        },
    )
    assert names(tmp_path) == ["one", "two", "three"]


def test_yaml_error_names_file_and_line_without_content(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "ok.yaml": cm("ok"),
            "bad.yaml": cm("x") + "---\n" + cm("y") + "  labels: [unclosed\n  secretish: value\n",
        },
    )
    with pytest.raises(ManifestError) as err:
        render_directory(tmp_path, tmp_path, None)
    msg = str(err.value)
    assert msg.startswith("bad.yaml: line ")
    assert "line 10" in msg or "line 11" in msg or "line 9" in msg
    assert "secretish" not in msg


@pytest.mark.parametrize(
    ("doc", "missing"),
    [
        ("kind: ConfigMap\nmetadata: {name: a}\n", "apiVersion"),
        ("apiVersion: v1\nmetadata: {name: a}\n", "kind"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "metadata.name"),
        ("apiVersion: v1\nkind: ConfigMap\n", "metadata.name"),
    ],
)
def test_object_without_identity_is_an_error(tmp_path: Path, doc: str, missing: str) -> None:
    write(tmp_path, {"sub/o.yaml": cm("fine") + "---\n" + doc})
    with pytest.raises(ManifestError) as err:
        render_directory(tmp_path, tmp_path / "sub", None)
    assert str(err.value) == f"sub/o.yaml: document at line 6: object without {missing}"


def test_generate_name_is_accepted_and_scalars_are_refused(tmp_path: Path) -> None:
    write(tmp_path, {"j.yaml": "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: migrate-}\n"})
    assert render_directory(tmp_path, tmp_path, None).manifests[0]["kind"] == "Job"
    write(tmp_path, {"s.yaml": "just a string\n"})
    with pytest.raises(ManifestError, match="s.yaml: document at line 1: not a Kubernetes object"):
        render_directory(tmp_path, tmp_path, None)


def test_alias_bomb_hits_the_output_limit(tmp_path: Path) -> None:
    bomb = 'a: &a ["xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx"]\n'
    for i, prev in zip("bcdefghijklmn", "abcdefghijklm", strict=True):
        bomb += f"{i}: &{i} [*{prev},*{prev},*{prev},*{prev}]\n"
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n" + "".join(
        "  " + line + "\n" for line in bomb.splitlines()
    )
    write(tmp_path, {"bomb.yaml": doc})
    with pytest.raises(LimitExceededError, match="rendered output exceeds the size limit of 1 MiB"):
        render_directory(tmp_path, tmp_path, None, Limits(max_output_bytes=1024 * 1024))


@pytest.mark.parametrize(
    ("name", "text"), [("deep.yaml", "[" * 50_000), ("deep.json", "[" * 50_000 + "]" * 50_000)]
)
def test_deeply_nested_documents_are_refused_not_a_crash(tmp_path: Path, name: str, text: str) -> None:
    write(tmp_path, {name: text})
    with pytest.raises(ManifestError) as err:
        render_directory(tmp_path, tmp_path, None)
    assert str(err.value).startswith(f"{name}: ")
