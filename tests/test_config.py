"""Settings precedence: defaults < monitor.toml < MONITOR_* < flags, and bad files."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from monitor.config import EARTH_SEARCH, SETTINGS, Settings, load_settings
from monitor.detect.params import DetectorParams
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults(tmp_path: Path) -> None:
    s = load_settings(environ={}, cwd=tmp_path)
    assert s.stac == EARTH_SEARCH
    assert s.state_dir == tmp_path / "imagery"
    assert s.collection is None
    assert s.config_file is None
    assert s.start_date == dt.date(2022, 1, 1)


def test_precedence_file_env_flag(tmp_path: Path) -> None:
    (tmp_path / "monitor.toml").write_text(
        'state_dir = "from-file"\nhttp_retries = 2\nmin_clear_fraction = 0.3\n'
    )
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


@pytest.mark.parametrize(
    "text, message",
    [
        ("state_dir = ", "not valid TOML"),
        ("stat_dir = 'x'", "unknown setting 'stat_dir'"),
        ("http_retries = 'many'", "http_retries"),
        ("min_clear_fraction = 2", "from 0 to 1"),
        ("sign = 'gcs'", "planetary-computer"),
        ("start_date = 'yesterday'", "start_date"),
    ],
)
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


def test_settings_fields_are_the_declared_settings_with_their_defaults() -> None:
    # ``Settings`` takes its defaults from ``SETTINGS``: the same names, in the same order.
    names = [f.name for f in dataclasses.fields(Settings) if f.name != "config_file"]
    assert names == [s.name for s in SETTINGS]
    defaults = Settings()
    for setting in SETTINGS:
        assert getattr(defaults, setting.name) == setting.default, setting.name
    assert defaults.config_file is None


def _shown(default: Any) -> str:
    """A default as docs/settings.md writes it."""
    if isinstance(default, bool):
        return "true" if default else "false"
    if default is None or default == ():
        return "(none)"
    if isinstance(default, dt.date):
        return default.isoformat()
    return str(default)


def test_documented_defaults_agree_with_the_declared_ones() -> None:
    # docs/settings.md writes each default again for readers; it must say what SETTINGS says.
    doc = (ROOT / "docs" / "settings.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z_0-9]+)` \| `[A-Z_0-9]+` \| `([^`]*)` \|", doc, re.M))
    assert set(rows) == {s.name for s in SETTINGS}
    for setting in SETTINGS:
        assert rows[setting.name] == _shown(setting.default), setting.name


def test_example_file_values_are_the_defaults() -> None:
    # monitor.toml.example shows each setting at its default (the detector table: some of
    # DetectorParams' own defaults).
    example = (ROOT / "monitor.toml.example").read_text()
    lines = dict(re.findall(r"^# ([a-z_0-9]+) = (.*)$", example, re.M))
    assert set(lines) == {s.name for s in SETTINGS}
    for setting in SETTINGS:
        value = setting.parse(tomllib.loads(f"v = {lines[setting.name]}")["v"])
        if setting.name == "detector":
            params = DetectorParams()
            assert value and all(getattr(params, k) == v for k, v in value), value
        else:
            assert value == setting.default, setting.name


def test_detector_overrides_from_file_and_environment_change_the_detector_version(
    tmp_path: Path,
) -> None:
    from monitor.runner import detector_params, detector_version

    default = load_settings(cwd=tmp_path, environ={})
    assert default.detector == () and detector_params(default).n_confirm == 4
    (tmp_path / "monitor.toml").write_text(
        "[detector]\nn_confirm = 3\nweak_fraction = 0.7\nweak_months = [11, 12, 1]\n"
    )
    settings = load_settings(cwd=tmp_path, environ={})
    params = detector_params(settings)
    assert (params.n_confirm, params.weak_fraction, params.weak_months) == (3, 0.7, (11, 12, 1))
    assert detector_version(params) != detector_version(detector_params(default))
    # The environment replaces the file's table as a whole.
    env = load_settings(cwd=tmp_path, environ={"MONITOR_DETECTOR": "n_confirm = 5"})
    assert detector_params(env).n_confirm == 5 and detector_params(env).weak_fraction == 1.0


@pytest.mark.parametrize(
    "raw, message",
    [
        ("nconfirm = 3", "unknown detector parameter 'nconfirm'"),
        ("n_confirm = 3.5", "n_confirm: expected a whole number"),
        ("n_confirm = 9", "n_confirm must be at most half of buffer_size"),
        ("weak_months = [13]", "weak_months must be calendar months"),
        ("weak_months = 4", "weak_months: expected a list of numbers"),
        ("normalise = 1", "normalise: expected true or false"),
        ("n_confirm =", "expected `name = value` pairs"),
    ],
)
def test_bad_detector_override_is_a_one_line_error(tmp_path: Path, raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match="MONITOR_DETECTOR") as info:
        load_settings(cwd=tmp_path, environ={"MONITOR_DETECTOR": raw})
    assert message in str(info.value) and "\n" not in str(info.value)


def test_red_edge_setting_from_file_and_environment(tmp_path: Path) -> None:
    assert load_settings(environ={}, cwd=tmp_path).red_edge is False
    (tmp_path / "monitor.toml").write_text("red_edge = true\n")
    assert load_settings(environ={}, cwd=tmp_path).red_edge is True
    assert load_settings(environ={"MONITOR_RED_EDGE": "false"}, cwd=tmp_path).red_edge is False
    with pytest.raises(ConfigError, match="MONITOR_RED_EDGE.*expected true or false"):
        load_settings(environ={"MONITOR_RED_EDGE": "maybe"}, cwd=tmp_path)
    (tmp_path / "monitor.toml").write_text("red_edge = 1\n")
    with pytest.raises(ConfigError, match="red_edge = 1: expected true or false"):
        load_settings(environ={}, cwd=tmp_path)
