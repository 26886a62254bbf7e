"""Daemon settings: defaults, file, GITOPSD_* environment, flags, and errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitopsd.server.config import Config, ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gitopsd.yaml"


def test_every_key_has_a_default() -> None:
    config = load_config(None, environ={})
    assert config == Config()
    assert config.reconcile.interval == 180
    assert config.render.timeout == 90


def test_documented_example_config_loads() -> None:
    config = load_config(str(EXAMPLE), environ={})
    assert config.listen == Config().listen


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "listen: 127.0.0.1:9000\nlog_level: warning\nreconcile:\n  interval: 60\nplugins:\n  cmp: unix:///run/cmp.sock\n"
    )
    config = load_config(
        str(path),
        environ={"GITOPSD_RECONCILE_INTERVAL": "30", "GITOPSD_LOG_LEVEL": "error"},
        overrides={"log_level": "debug", "listen": None},
    )
    assert config.listen == "127.0.0.1:9000"  # a flag left unset does not override
    assert config.reconcile.interval == 30  # environment over file
    assert config.log_level == "debug"  # flag over environment
    assert config.plugins == {"cmp": "unix:///run/cmp.sock"}


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("lisen: x\n", {}, "lisen: unknown config key"),
        ("reconcile:\n  intervall: 5\n", {}, "reconcile.intervall: unknown config key"),
        ("reconcile:\n  interval: soon\n", {}, "reconcile.interval: expected an integer"),
        ("render: 5\n", {}, "render: expected a mapping"),
        ("", {"GITOPSD_RENDER_TIMEOUT": "x"}, "GITOPSD_RENDER_TIMEOUT: expected an integer"),
        ("log_level: loud\n", {}, "log_level: 'loud' is not one of"),
        ("- a\n- b\n", {}, "expected a mapping at the top level"),
        ("a: [\n", {}, "is not valid YAML"),
        (
            "resource_customizations:\n  example.com/Widget:\n    knownTypeFields: '- {field: spec.t, type: core/v1/Nope}'\n",
            {},
            "resource_customizations['example.com/Widget'].knownTypeFields[0].type: 'core/v1/Nope' is not a known",
        ),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, env: dict[str, str], expected: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(str(path), environ=env)
    assert expected in str(err.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(str(tmp_path / "nope.yaml"), environ={})
    assert "cannot read config file" in str(err.value)
