"""Settings: defaults, then ``monitor.toml``, then ``MONITOR_*`` variables, then flags.

This is the only module that reads environment variables. Every setting is declared once in
``SETTINGS`` with its default and help; ``docs/settings.md`` and ``monitor.toml.example`` are
checked against it by the tests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError

__all__ = [
    "EARTH_SEARCH",
    "Setting",
    "SETTINGS",
    "Settings",
    "load_settings",
    "ALERT_SMTP_USER_ENV",
    "ALERT_SMTP_PASSWORD_ENV",
    "smtp_credentials",
]

EARTH_SEARCH = "https://earth-search.aws.element84.com/v1"


@dataclass(frozen=True)
class Setting:
    """One documented setting: its name in ``monitor.toml``, default, parser and help."""

    name: str
    default: Any
    parse: Callable[[Any], Any]
    help: str

    @property
    def env_var(self) -> str:
        return "MONITOR_" + self.name.upper()


def _path(value: Any) -> Path:
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise ValueError("expected a path")
    return Path(value).expanduser()


def _str(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected a non-empty string")
    return value


def _opt_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return _str(value)


def _positive_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    number = float(value)
    if not number > 0:
        raise ValueError("expected a number above 0")
    return number


def _bool(value: Any) -> bool:
    """A TOML boolean, or in the environment true/false (also 1/0, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "1", "yes", "on"):
            return True
        if word in ("false", "0", "no", "off"):
            return False
    raise ValueError("expected true or false")


def _fraction(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError("expected a number from 0 to 1")
    return number


def _percent(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    number = float(value)
    if not 0.0 <= number <= 100.0:
        raise ValueError("expected a number from 0 to 100")
    return number


def _count(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("expected a whole number")
    number = int(value)
    if number < 0:
        raise ValueError("expected a whole number of 0 or more")
    return number


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError("expected a date YYYY-MM-DD") from None


def _sign(value: Any) -> str | None:
    name = _opt_str(value)
    if name not in (None, "planetary-computer"):
        raise ValueError("expected 'planetary-computer' or nothing")
    return name


def _detector(value: Any) -> tuple[tuple[str, Any], ...]:
    """Overrides of the detector's parameters (fields of ``DetectorParams``), as sorted
    (name, value) pairs: a TOML table, or in the environment its inside,
    ``"n_confirm = 3, weak_fraction = 0.7"``. Each value must have its default's type
    (a list for a tuple); the whole set is checked as ``DetectorParams`` checks it."""
    from monitor.detect.params import DetectorParams  # light: no numpy work at import

    if isinstance(value, str):
        try:
            value = tomllib.loads(f"detector = {{{value}}}")["detector"] if value.strip() else {}
        except tomllib.TOMLDecodeError:
            raise ValueError("expected `name = value` pairs separated by commas") from None
    if not isinstance(value, dict):
        raise ValueError("expected a table of detector parameters")
    defaults = DetectorParams()
    overrides: dict[str, Any] = {}
    for key, given in value.items():
        if key not in DetectorParams.__dataclass_fields__:
            raise ValueError(f"unknown detector parameter {key!r}")
        default = getattr(defaults, key)
        if isinstance(default, tuple):
            if not isinstance(given, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in given
            ):
                raise ValueError(f"{key}: expected a list of numbers")
            overrides[key] = tuple(type(default[0])(v) for v in given)
        elif isinstance(default, bool):
            if not isinstance(given, bool):
                raise ValueError(f"{key}: expected true or false")
            overrides[key] = given
        elif isinstance(default, int):
            if isinstance(given, bool) or not isinstance(given, int):
                raise ValueError(f"{key}: expected a whole number")
            overrides[key] = given
        else:
            if isinstance(given, bool) or not isinstance(given, (int, float)):
                raise ValueError(f"{key}: expected a number")
            overrides[key] = float(given)
    DetectorParams(**overrides)  # its own checks (ValueError) name the problem
    return tuple(sorted(overrides.items()))


def _port(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("expected a port number")
    number = int(value)
    if not 1 <= number <= 65535:
        raise ValueError("expected a port number from 1 to 65535")
    return number


def _addresses(value: Any) -> tuple[str, ...]:
    """E-mail addresses, comma-separated in a string or as a list; none when empty."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise ValueError("expected addresses separated by commas")
    addresses = tuple(i.strip() for i in items if i.strip())
    for address in addresses:
        # One plain address each: whitespace or line breaks would let a value add headers.
        local, at, domain = address.rpartition("@")
        if not (at and local and "." in domain) or any(c.isspace() or c in "<>,;" for c in address):
            raise ValueError(f"{address!r} is not an e-mail address")
    return addresses


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "state_dir",
        Path("imagery"),
        _path,
        "Database, detector state, chip cache and demo archive.",
    ),
    Setting("reports_dir", Path("reports"), _path, "HTML reports and the job's own exports."),
    Setting("aoi_dir", Path("aoi"), _path, "Folder of AOI GeoJSON files (one AOI per file)."),
    Setting(
        "stac",
        EARTH_SEARCH,
        _str,
        "STAC API URL, or a static catalog/collection file, URL or folder.",
    ),
    Setting(
        "collection",
        None,
        _opt_str,
        "Collection to search. Default: sentinel-2-c1-l2a on a STAC API; every item "
        "of a static catalog.",
    ),
    Setting(
        "fallback_collection",
        "sentinel-2-l2a",
        _opt_str,
        "On a STAC API, searched for the months in which `collection` has no item "
        "(sentinel-2-c1-l2a has gaps, 2022 among them). Empty to disable.",
    ),
    Setting(
        "sign",
        None,
        _sign,
        "Sign asset links before reading: 'planetary-computer' (needs the `pc` extra).",
    ),
    Setting(
        "start_date",
        dt.date(2022, 1, 1),
        _date,
        "First day searched when --since is not given: the history the detector learns "
        "from (2022 on spans processing baseline 04.00's +1000 offset).",
    ),
    Setting(
        "max_aoi_area_km2",
        100.0,
        _positive_float,
        "AOIs larger than this are refused (a typo in a coordinate makes huge AOIs).",
    ),
    Setting(
        "max_cloud_cover",
        95.0,
        _percent,
        "Prefilter on the item's eo:cloud_cover (whole tile); the AOI's own clear "
        "fraction decides whether a scene is used.",
    ),
    Setting(
        "min_clear_fraction",
        0.1,
        _fraction,
        "A scene whose AOI window is clear for less than this share is skipped "
        "after reading SCL alone.",
    ),
    Setting(
        "red_edge",
        False,
        _bool,
        "`monitor run` also reads and caches the red-edge bands B05 B06 B07 B8A (20 m) of "
        "items that have them. The time series does not use them yet; they add about "
        "two thirds to the bytes read per chip (reads are whole tiles, and a 20 m tile "
        "holds as many pixels as a 10 m one). `monitor compare` reads them always.",
    ),
    Setting(
        "http_timeout_s",
        30.0,
        _positive_float,
        "Timeout of one HTTP request (catalog and imagery).",
    ),
    Setting(
        "http_retries",
        4,
        _count,
        "Retries with backoff on HTTP 5xx, timeouts and connection resets.",
    ),
    Setting("page_size", 100, _count, "Items per page of a STAC API search."),
    Setting(
        "alert_webhook_url",
        None,
        _opt_str,
        "Webhook that receives each run's alerts as JSON (a Slack-compatible `text` and the "
        "GeoJSON). A secret: prefer the environment variable to the settings file.",
    ),
    Setting(
        "alert_smtp_host",
        None,
        _opt_str,
        "SMTP server that sends alert e-mail (STARTTLS when it offers it). User and "
        "password come only from MONITOR_ALERT_SMTP_USER and MONITOR_ALERT_SMTP_PASSWORD.",
    ),
    Setting(
        "alert_smtp_port", 587, _port, "Port of `alert_smtp_host`; 465 means TLS from the start."
    ),
    Setting("alert_email_from", None, _opt_str, "Sender address of alert e-mail."),
    Setting("alert_email_to", (), _addresses, "Recipients of alert e-mail, separated by commas."),
    Setting(
        "alert_timeout_s",
        10.0,
        _positive_float,
        "Timeout of one attempt to deliver alerts (webhook request, SMTP session).",
    ),
    Setting(
        "alert_retries",
        2,
        _count,
        "Retries with backoff when delivering alerts fails for a passing reason.",
    ),
    Setting(
        "alert_max_seconds",
        30.0,
        _positive_float,
        "Most time alert delivery may add to a run; what is not delivered by then is "
        "reported as failed.",
    ),
    Setting(
        "reviewer",
        None,
        _opt_str,
        "Who `monitor review` records as the reviewer; default: the login name.",
    ),
    Setting(
        "detector",
        (),
        _detector,
        "Overrides of the detector's parameters, a table such as `[detector]` "
        "`n_confirm = 3` (docs/detector.md); a change replays every AOI's history on "
        "the next run. The defaults are the measured ones: change them knowingly.",
    ),
)

_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
#: The settings that are paths (in ``SETTINGS`` order), made absolute against the cwd.
_PATH_SETTINGS: tuple[str, ...] = tuple(s.name for s in SETTINGS if s.parse is _path)


def _default(name: str) -> Any:
    """The default ``SETTINGS`` declares for ``name``; ``Settings`` takes each from here."""
    return _BY_NAME[name].default


@dataclass(frozen=True)
class Settings:
    """Resolved settings; see ``SETTINGS`` for what each means and its default."""

    state_dir: Path = _default("state_dir")
    reports_dir: Path = _default("reports_dir")
    aoi_dir: Path = _default("aoi_dir")
    stac: str = _default("stac")
    collection: str | None = _default("collection")
    fallback_collection: str | None = _default("fallback_collection")
    sign: str | None = _default("sign")
    start_date: dt.date = _default("start_date")
    max_aoi_area_km2: float = _default("max_aoi_area_km2")
    max_cloud_cover: float = _default("max_cloud_cover")
    min_clear_fraction: float = _default("min_clear_fraction")
    red_edge: bool = _default("red_edge")
    http_timeout_s: float = _default("http_timeout_s")
    http_retries: int = _default("http_retries")
    page_size: int = _default("page_size")
    #: A secret (the token is in the URL): kept out of ``repr`` so printing settings cannot leak it.
    alert_webhook_url: str | None = dataclasses.field(
        default=_default("alert_webhook_url"), repr=False
    )
    alert_smtp_host: str | None = _default("alert_smtp_host")
    alert_smtp_port: int = _default("alert_smtp_port")
    alert_email_from: str | None = _default("alert_email_from")
    alert_email_to: tuple[str, ...] = _default("alert_email_to")
    alert_timeout_s: float = _default("alert_timeout_s")
    alert_retries: int = _default("alert_retries")
    alert_max_seconds: float = _default("alert_max_seconds")
    reviewer: str | None = _default("reviewer")
    detector: tuple[tuple[str, Any], ...] = _default("detector")
    #: Where the settings came from, for ``monitor status`` and error messages.
    config_file: Path | None = None

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _parse(setting: Setting, value: Any, where: str) -> Any:
    try:
        return setting.parse(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {setting.name} = {value!r}: {exc}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read settings file: {exc.strerror}") from None
    # Settings may sit at the top level or under [monitor].
    table = data.get("monitor", data) if isinstance(data.get("monitor"), dict) else data
    return dict(table)


def load_settings(
    flags: Mapping[str, Any] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Settings:
    """Resolve settings: defaults, then the settings file, then ``MONITOR_*``, then ``flags``.

    ``flags`` holds only the options the user gave (None values are ignored). The settings
    file is ``config_file``, else ``MONITOR_CONFIG``, else ``./monitor.toml`` when present;
    one given explicitly must exist. Unknown keys are errors: a typo must not be ignored.
    """
    environ = os.environ if environ is None else environ
    base = Path(cwd) if cwd is not None else Path.cwd()
    values: dict[str, Any] = {s.name: s.default for s in SETTINGS}

    explicit = config_file if config_file is not None else environ.get("MONITOR_CONFIG")
    path: Path | None
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_absolute():
            path = base / path
        if not path.is_file():
            raise ConfigError(f"{path}: settings file not found")
    else:
        path = base / "monitor.toml"
        if not path.is_file():
            path = None

    if path is not None:
        for key, value in _read_toml(path).items():
            setting = _BY_NAME.get(key)
            if setting is None:
                known = ", ".join(sorted(_BY_NAME))
                raise ConfigError(f"{path}: unknown setting {key!r} (known: {known})")
            values[key] = _parse(setting, value, str(path))

    for setting in SETTINGS:
        raw = environ.get(setting.env_var)
        if raw is not None:
            values[setting.name] = _parse(setting, raw, setting.env_var)

    for key, value in (flags or {}).items():
        if value is None:
            continue
        setting = _BY_NAME.get(key)
        if setting is None:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = _parse(setting, value, "--" + key.replace("_", "-"))

    # Relative paths are relative to where the command runs.
    for key in _PATH_SETTINGS:
        p = values[key]
        if not p.is_absolute():
            values[key] = base / p
    return Settings(**values, config_file=path)


#: SMTP credentials are read from these variables only, never from ``monitor.toml`` (a settings
#: file is often shared or committed, and ``load_settings`` refuses unknown keys there).
ALERT_SMTP_USER_ENV = "MONITOR_ALERT_SMTP_USER"
ALERT_SMTP_PASSWORD_ENV = "MONITOR_ALERT_SMTP_PASSWORD"


def smtp_credentials(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(user, password) for alert e-mail from the environment, or None when no user is set.

    A user without a password logs in with an empty password.
    """
    environ = os.environ if environ is None else environ
    user = environ.get(ALERT_SMTP_USER_ENV, "")
    if not user:
        return None
    return user, environ.get(ALERT_SMTP_PASSWORD_ENV, "")
