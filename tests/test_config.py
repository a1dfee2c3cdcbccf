"""Settings precedence: defaults < monitor.toml < MONITOR_* < flags, and bad files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from monitor.config import SETTINGS, EARTH_SEARCH, load_settings
from monitor.errors import ConfigError


def test_defaults(tmp_path: Path) -> None:
    s = load_settings(environ={}, cwd=tmp_path)
    assert s.stac == EARTH_SEARCH
    assert s.state_dir == tmp_path / "imagery"
    assert s.collection is None
    assert s.config_file is None
    assert s.start_date == dt.date(2022, 1, 1)


def test_precedence_file_env_flag(tmp_path: Path) -> None:
    (tmp_path / "monitor.toml").write_text('state_dir = "from-file"\nhttp_retries = 2\n'
                                           'min_clear_fraction = 0.3\n')
    s = load_settings(environ={}, cwd=tmp_path)
    assert s.state_dir == tmp_path / "from-file"
    assert s.http_retries == 2
    assert s.config_file == tmp_path / "monitor.toml"

    env = {"MONITOR_STATE_DIR": "/tmp/from-env", "MONITOR_HTTP_RETRIES": "7"}
    s = load_settings(environ=env, cwd=tmp_path)
    assert s.state_dir == Path("/tmp/from-env")
    assert s.http_retries == 7
    assert s.min_clear_fraction == 0.3  # file value survives where env is silent

    s = load_settings(flags={"state_dir": "flag-dir", "stac": None}, environ=env, cwd=tmp_path)
    assert s.state_dir == tmp_path / "flag-dir"
    assert s.stac == EARTH_SEARCH  # a None flag means "not given"


def test_monitor_table_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "monitor.toml").write_text('[monitor]\ncollection = "sentinel-2-l2a"\n')
    assert load_settings(environ={}, cwd=tmp_path).collection == "sentinel-2-l2a"


@pytest.mark.parametrize("text, message", [
    ("state_dir = ", "not valid TOML"),
    ("stat_dir = 'x'", "unknown setting 'stat_dir'"),
    ("http_retries = 'many'", "http_retries"),
    ("min_clear_fraction = 2", "from 0 to 1"),
    ("sign = 'gcs'", "planetary-computer"),
    ("start_date = 'yesterday'", "start_date"),
])
def test_malformed_file_names_file_and_setting(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "monitor.toml").write_text(text + "\n")
    with pytest.raises(ConfigError) as info:
        load_settings(environ={}, cwd=tmp_path)
    assert message in str(info.value)
    assert "monitor.toml" in str(info.value)
    assert "\n" not in str(info.value)


def test_explicit_config_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="settings file not found"):
        load_settings(config_file=tmp_path / "nope.toml", environ={}, cwd=tmp_path)


def test_bad_env_value_names_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MONITOR_HTTP_TIMEOUT_S"):
        load_settings(environ={"MONITOR_HTTP_TIMEOUT_S": "-1"}, cwd=tmp_path)


def test_every_setting_has_help_and_env_var() -> None:
    for setting in SETTINGS:
        assert setting.help.strip(), setting.name
        assert setting.env_var == "MONITOR_" + setting.name.upper()
