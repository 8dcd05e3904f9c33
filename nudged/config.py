"""Settings: the ``[core]`` section, raw ``[plugins.<name>]`` tables, and error sentences.

The TOML file is read with :mod:`tomllib`; pydantic-settings layers ``NUDGED_...``
environment variables on top (``NUDGED_CORE__MAX_PER_HOUR=2`` overrides one key).
Each plugin table is validated later by that plugin's own model, through
:func:`validate_table`, so both kinds of error read the same way::

    config.toml:14: plugins.custom.nudges[0].every: "5 minuts" is not a duration (try "5m")
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from nudged.errors import ConfigError
from nudged.humanize import Duration, HumanValueError, format_duration, parse_duration
from nudged.tomlpos import KeyPath, line_for, locate_keys

ENV_PREFIX = "NUDGED_"
M = TypeVar("M", bound=BaseModel)


def config_home(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def default_config_path(environ: Mapping[str, str] = os.environ) -> Path:
    return config_home(environ) / "nudged" / "config.toml"


#: ``[core] keep`` may not be shorter than this: "30m" is more likely a slip for 30
#: months than a wish to delete everything older than half an hour.
SHORTEST_KEEP = timedelta(days=7)


def _keep_value(value: object) -> object:
    """``[core] keep``: a duration of at least a week, or ``"forever"`` (None)."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "forever"):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise HumanValueError(f'{value!r} is not a duration (a number needs a unit: try '
                              f'"{value!r}d", or "forever")')
    if isinstance(value, timedelta):
        kept = value
    elif isinstance(value, str):
        kept = parse_duration(value)
    else:
        raise HumanValueError(f'{json.dumps(value, default=str)} is not a duration (like '
                              '"365d", or "forever")')
    if kept < SHORTEST_KEEP:
        raise HumanValueError(
            f'"{format_duration(kept)}" is shorter than a week (keep counts days or weeks, '
            'like "365d" or "52w"; "forever" keeps everything)')
    return kept


Keep = Annotated[
    timedelta | None,
    BeforeValidator(_keep_value),
    PlainSerializer(lambda v: "forever" if v is None else format_duration(v), return_type=str),
    WithJsonSchema({"type": "string", "examples": ["365d", "52w", "forever"]}),
]
"""How long nudged keeps its records: a :data:`Duration`, or ``"forever"`` (None)."""


class CoreConfig(BaseModel):
    """``[core]``: settings that belong to no single plugin."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str | None = Field(
        default=None, description="IANA time zone for all times in this file; default: the system's"
    )
    max_per_hour: int = Field(default=4, ge=1, le=60)
    snooze: Duration = timedelta(minutes=10)
    notification_timeout: Duration = timedelta(minutes=5)
    idle_after: Duration = timedelta(minutes=3)
    log_level: str = "info"
    #: Records older than this are deleted once a day (docs/report.md); None: forever.
    keep: Keep = timedelta(days=365)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f'"{value}" is not a known time zone (for example "Europe/Berlin")'
            ) from None
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        levels = ("debug", "info", "warning", "error")
        if value.lower() not in levels:
            raise ValueError(f'"{value}" is not a log level (one of {", ".join(levels)})')
        return value.lower()

    def tz(self) -> tzinfo:
        if self.timezone:
            return ZoneInfo(self.timezone)
        return system_timezone()


def system_timezone() -> tzinfo:
    try:
        import tzlocal

        return tzlocal.get_localzone()
    except Exception:  # no /etc/localtime in a minimal container
        return ZoneInfo("UTC")


class Settings(BaseSettings):
    """The whole file: ``[core]`` plus one raw table per plugin."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    core: CoreConfig = CoreConfig()
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first: it overrides single keys of the file (passed as init values).
        return (env_settings, init_settings)


@dataclass
class Source:
    """Where the settings came from, to turn a key path into ``file:line``."""

    path: Path | None
    text: str = ""
    positions: dict[KeyPath, int] = field(default_factory=dict)
    env_keys: dict[tuple[str, ...], str] = field(default_factory=dict)
    exists: bool = False

    @property
    def label(self) -> str:
        return str(self.path) if self.path else "(built-in config)"

    def where(self, key_path: Sequence[str | int]) -> str:
        lowered = tuple(str(p).lower() for p in key_path)
        for env_path, var in self.env_keys.items():
            if lowered[: len(env_path)] == env_path:
                return f"environment variable {var}"
        line = line_for(self.positions, key_path) if self.positions else None
        return f"{self.label}:{line}" if line else self.label


@dataclass
class LoadedConfig:
    settings: Settings
    source: Source


def format_key(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _show(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _field_names(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Names a misspelt key at ``loc`` could have meant: fields of the parent model."""
    current: Any = model
    skip_name = False  # inside a dict of tables, the next part is a table's own name
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if skip_name:
            skip_name = False
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        annotation = fields[part].annotation
        skip_name = _is_dict(annotation)
        current = _inner_model(annotation)
        if current is None:
            return []
    fields = getattr(current, "model_fields", None)
    return list(fields) if fields else []


def _is_dict(annotation: Any) -> bool:
    if getattr(annotation, "__origin__", None) is dict:
        return True
    return any(getattr(arg, "__origin__", None) is dict
               for arg in getattr(annotation, "__args__", ()) or ())


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


_EXPECTED = {
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected text in quotes",
    "list_type": "expected a list like [\"a\", \"b\"]",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
}


def problems_from(
    exc: ValidationError,
    model: type[BaseModel],
    source: Source,
    prefix: Sequence[str | int] = (),
) -> list[str]:
    """Turn a pydantic error into one sentence per problem, with file:line and key."""
    lines = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        key_path = (*prefix, *loc)
        where = source.where(key_path)
        key = format_key(key_path) or "(top level)"
        kind = err["type"]
        if kind == "extra_forbidden":
            name = str(loc[-1]) if loc else ""
            close = difflib.get_close_matches(name, _field_names(model, loc), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = _field_names(model, loc)
            if not close and known:
                hint = f" (known keys: {', '.join(known)})"
            message = f"unknown key{hint}"
        elif kind == "missing":
            message = "is required but missing"
        else:
            msg = err["msg"]
            msg = re.sub(r"^(Value error|Assertion failed), ", "", msg)
            if kind in _EXPECTED:
                msg = f"{_EXPECTED[kind]}, got {_show(err.get('input'))}"
            elif kind.startswith(("greater", "less")):
                msg = f"{_show(err.get('input'))}: {msg.lower()}"
            message = msg
        lines.append(f"{where}: {key}: {message}")
    return lines


def validate_table(
    model: type[M], table: Mapping[str, Any], source: Source, prefix: Sequence[str | int]
) -> M:
    try:
        return model.model_validate(dict(table))
    except ValidationError as exc:
        raise ConfigError(problems_from(exc, model, source, prefix)) from None


def _env_keys(environ: Mapping[str, str]) -> dict[tuple[str, ...], str]:
    keys = {}
    for var in environ:
        if var.startswith(ENV_PREFIX) and "__" in var:
            path = tuple(p.lower() for p in var[len(ENV_PREFIX) :].split("__") if p)
            if path and path[0] in ("core", "plugins"):
                keys[path] = var
    return keys


def load_text(
    text: str, path: Path | None, environ: Mapping[str, str] = os.environ
) -> LoadedConfig:
    """Parse and validate a config document; raises :class:`ConfigError` with sentences."""
    source = Source(path=path, text=text, env_keys=_env_keys(environ), exists=True)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        detail = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        where = f"{source.label}:{match.group(1)}" if match else source.label
        col = f" (column {match.group(2)})" if match else ""
        raise ConfigError([f"{where}: this is not valid TOML: {detail}{col}"]) from None
    source.positions = locate_keys(text)
    return LoadedConfig(_build(data, source), source)


def _build(data: dict[str, Any], source: Source) -> Settings:
    problems: list[str] = []
    plugins = data.get("plugins", {})
    if isinstance(plugins, dict):
        for name, table in plugins.items():
            if not isinstance(table, dict):
                problems.append(
                    f"{source.where(('plugins', name))}: plugins.{name}: expected a table "
                    f"[plugins.{name}], got {_show(table)}"
                )
            elif "enabled" in table and not isinstance(table["enabled"], bool):
                problems.append(
                    f"{source.where(('plugins', name, 'enabled'))}: plugins.{name}.enabled: "
                    f"expected true or false, got {_show(table['enabled'])}"
                )
    if problems:
        raise ConfigError(problems)
    try:
        # pydantic-settings layers os.environ (NUDGED_...) over the file's values.
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(problems_from(exc, Settings, source)) from None


def load(path: Path | None = None, environ: Mapping[str, str] = os.environ) -> LoadedConfig:
    """Load ``path`` (or the XDG default). A missing default file means defaults."""
    explicit = path is not None
    target = path if path is not None else default_config_path(environ)
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            raise ConfigError([f"{target}: no such file"]) from None
        source = Source(path=target, env_keys=_env_keys(environ))
        return LoadedConfig(_build({}, source), source)
    except IsADirectoryError:
        raise ConfigError([f"{target}: is a directory, expected a TOML file"]) from None
    except PermissionError:
        raise ConfigError([f"{target}: cannot be read (permission denied)"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{target}: is not UTF-8 text ({exc.reason})"]) from None
    return load_text(text, target, environ)
