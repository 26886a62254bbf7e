"""Packaging checks: generated code is fresh, systemd units verify, console scripts exist."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "systemd").glob("*.service"))


def test_generated_code_matches_proto() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "genproto.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_units_are_present() -> None:
    assert [u.name for u in UNITS] == ["gitopsd-helm.service", "gitopsd-kustomize.service", "gitopsd.service"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_units_verify(unit: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: install Debian's systemd package (the test script does)"
    # verify checks that ExecStart's binary exists: point it at this installation's scripts.
    bindir = Path(sys.executable).parent
    text = unit.read_text().replace("/usr/local/bin/", f"{bindir}/")
    copy = tmp_path / unit.name
    copy.write_text(text)
    for other in UNITS:  # units refer to each other (After=, PartOf=)
        if other != unit:
            (tmp_path / other.name).write_text(other.read_text().replace("/usr/local/bin/", f"{bindir}/"))
    result = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, cwd=tmp_path)
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if unit.name in line or "error" in line.lower()
    ]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


def test_main_unit_is_hardened() -> None:
    text = (ROOT / "systemd" / "gitopsd.service").read_text()
    for setting in (
        "Type=notify",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=",
        "StateDirectory=gitopsd",
        "User=gitopsd",
    ):
        assert setting in text


def test_kustomize_unit_has_no_network_and_no_data_dir() -> None:
    """A kustomize render can neither fetch nor read another repository, even if a check in the sidecar failed."""
    settings = (ROOT / "systemd" / "gitopsd-kustomize.service").read_text().splitlines()
    assert "PrivateNetwork=yes" in settings
    assert "IPAddressDeny=any" in settings
    assert "RestrictAddressFamilies=AF_UNIX" in settings
    [hidden] = [line for line in settings if line.startswith("InaccessiblePaths=")]
    assert "-/var/lib/gitopsd" in hidden.split("=", 1)[1].split()
    daemon = (ROOT / "systemd" / "gitopsd.service").read_text()
    assert "--data-dir /var/lib/gitopsd" in daemon  # the path hidden above is the daemon's data dir
