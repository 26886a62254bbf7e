"""Source type detection, Argo CD's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitopsd.api.gitopsd.v1 import application_pb2 as apb
from gitopsd.sources.detect import SourceType, detect_source_type
from gitopsd.sources.errors import SourceSpecError


def _dir(tmp_path: Path, *names: str) -> Path:
    for n in names:
        (tmp_path / n).write_text("x: 1\n")
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (("kustomization.yaml",), SourceType.KUSTOMIZE),
        (("kustomization.yml",), SourceType.KUSTOMIZE),
        (("Kustomization",), SourceType.KUSTOMIZE),
        (("Chart.yaml", "values.yaml"), SourceType.HELM),
        (("Chart.yaml", "kustomization.yaml"), SourceType.KUSTOMIZE),
        (("deploy.yaml",), SourceType.DIRECTORY),
        ((), SourceType.DIRECTORY),
    ],
)
def test_detect_from_files(tmp_path: Path, files: tuple[str, ...], expected: SourceType) -> None:
    source = apb.ApplicationSource(repo_url="https://x/y", path=".")
    assert detect_source_type(source, _dir(tmp_path, *files)) == expected


def test_explicit_block_wins(tmp_path: Path) -> None:
    app = _dir(tmp_path, "kustomization.yaml")
    assert (
        detect_source_type(apb.ApplicationSource(directory=apb.ApplicationSourceDirectory()), app)
        == SourceType.DIRECTORY
    )
    assert detect_source_type(apb.ApplicationSource(helm=apb.ApplicationSourceHelm()), app) == SourceType.HELM
    plugin = apb.ApplicationSource(plugin=apb.ApplicationSourcePlugin(name="tiny"))
    assert detect_source_type(plugin, app) == SourceType.PLUGIN
    (tmp_path / "chart").mkdir()
    chart_dir = _dir(tmp_path / "chart", "Chart.yaml")
    assert (
        detect_source_type(apb.ApplicationSource(kustomize=apb.ApplicationSourceKustomize()), chart_dir)
        == SourceType.KUSTOMIZE
    )


def test_chart_reference_is_helm_and_conflicts_are_errors(tmp_path: Path) -> None:
    assert detect_source_type(apb.ApplicationSource(chart="prometheus"), None) == SourceType.HELM
    with pytest.raises(SourceSpecError, match="multiple application sources"):
        detect_source_type(
            apb.ApplicationSource(
                helm=apb.ApplicationSourceHelm(), kustomize=apb.ApplicationSourceKustomize()
            ),
            tmp_path,
        )
    with pytest.raises(SourceSpecError, match="chart source"):
        detect_source_type(apb.ApplicationSource(chart="x", kustomize=apb.ApplicationSourceKustomize()), None)
