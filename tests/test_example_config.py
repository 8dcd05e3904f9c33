"""A person runs `nudged config init` and reads the example config to learn every key.

So config.example.toml must be valid, must mention every key nudged and its built-in
plugins understand (set, or in a commented-out line such as ``# timezone = ...``),
every commented-out line must be valid once uncommented, and every plugin table in it
must belong to a plugin that ships with nudged.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from nudged.cli import main
from nudged.config import CoreConfig
from nudged.plugins import PluginHost, PluginStatus

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.toml"
BUILT_IN_ENTRY_POINTS = [
    ep for ep in entry_points(group="nudged") if ep.value.startswith("nudged_plugins.")
]
BUILT_IN = sorted(ep.name for ep in BUILT_IN_ENTRY_POINTS)

HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
KEY_LINE = re.compile(r"^\s*(#\s*)?([A-Za-z0-9_-]+)\s*=")

TablePath = tuple[str, ...]


@dataclass
class Table:
    """One table of the example as written: ``[core]`` or one ``[[plugins.custom.nudges]]``."""

    path: TablePath
    header_line: int
    keys: dict[str, int]  # set key -> line
    commented: dict[str, int]  # commented-out key -> line


def read_tables(text: str) -> list[Table]:
    tables = [Table((), 0, {}, {})]
    for number, line in enumerate(text.splitlines(), start=1):
        header = HEADER.match(line)
        if header:
            path = tuple(part.strip().strip('"') for part in header.group(2).split("."))
            tables.append(Table(path, number, {}, {}))
            continue
        key = KEY_LINE.match(line)
        if key:
            target = tables[-1].commented if key.group(1) else tables[-1].keys
            target.setdefault(key.group(2), number)
    return tables


def _matches(written: TablePath, pattern: TablePath) -> bool:
    """``*`` in a pattern stands for any one table name (the keys of a dict of tables)."""
    return len(written) == len(pattern) and all(
        p in ("*", w) for w, p in zip(written, pattern, strict=True))


def mentioned(tables: list[Table], path: TablePath) -> set[str]:
    """Keys set or commented out in every table at ``path``, plus sub-table names."""
    names: set[str] = set()
    for table in tables:
        if _matches(table.path, path):
            names |= set(table.keys) | set(table.commented)
        elif len(table.path) > len(path) and _matches(table.path[: len(path)], path):
            names.add(table.path[len(path)])
    return names


def _is_dict(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is dict or any(
        getattr(arg, "__origin__", None) is dict for arg in getattr(annotation, "__args__", ())
    )


def models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """pydantic models inside a field's type: ``tuple[CustomNudge, ...]`` -> CustomNudge."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in getattr(annotation, "__args__", ()) or ():
        yield from models_in(arg)


def every_key(model: type[BaseModel], path: TablePath) -> Iterator[tuple[TablePath, str]]:
    """(table path, key) for every field of ``model``, recursing into nested models."""
    for name, info in model.model_fields.items():
        key = info.alias or name
        yield path, key
        # A dict of models is a table of named tables: their keys sit one level down.
        below = (*path, key, "*") if _is_dict(info.annotation) else (*path, key)
        for inner in models_in(info.annotation):
            yield from every_key(inner, below)


def config_model(name: str) -> type[BaseModel] | None:
    """A built-in plugin's config model, asked the way nudged asks for it."""
    host = PluginHost(environ={})
    host.discover([ep for ep in BUILT_IN_ENTRY_POINTS if ep.name == name], user_dir=Path("/-"))
    host.load()
    record = host.records[name]
    assert record.status is PluginStatus.LOADED, f"{name} does not load: {record.reason}"
    model = host.call_one(record, "nudged_config_model")
    assert model is None or (isinstance(model, type) and issubclass(model, BaseModel)), model
    return model


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["config", "check", str(path)])
    out = capsys.readouterr()
    return code, out.err + out.out


def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


# -- it is valid ------------------------------------------------------------------------


def test_the_example_config_passes_config_check(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(EXAMPLE, capsys)
    assert code == 0, f"`nudged config check config.example.toml` says:\n{out}"
    assert "OK" in out
    assert "note:" not in out, f"a built-in plugin is not running with the example:\n{out}"


def test_config_init_writes_the_same_example(private_home: Path) -> None:
    packaged = resources.files("nudged").joinpath("data/config.example.toml").read_text("utf-8")
    assert packaged == example_text(), (
        "nudged/data/config.example.toml (what `nudged config init` writes) differs from "
        "config.example.toml"
    )
    assert main(["config", "init"]) == 0
    written = private_home / ".config" / "nudged" / "config.toml"
    assert written.read_text(encoding="utf-8") == example_text()


# -- it mentions every key --------------------------------------------------------------


def test_there_are_built_in_plugins_to_cover() -> None:
    assert {"custom", "quiet"} <= set(BUILT_IN), f"built-in plugins installed: {BUILT_IN}"


def missing_keys(model: type[BaseModel], path: TablePath) -> list[str]:
    tables = read_tables(example_text())
    missing = []
    for table_path, key in every_key(model, path):
        if key not in mentioned(tables, table_path):
            header = ".".join(table_path)
            missing.append(
                f"{header}.{key}: add `{key} = ...` (or a commented-out `# {key} = ...`) "
                f"to the [{header}] table"
            )
    return missing


def test_the_example_mentions_every_core_key() -> None:
    missing = missing_keys(CoreConfig, ("core",))
    assert not missing, "config.example.toml does not mention:\n" + "\n".join(missing)


@pytest.mark.parametrize("plugin", BUILT_IN)
def test_the_example_mentions_every_key_of_a_built_in_plugin(plugin: str) -> None:
    model = config_model(plugin)
    if model is None:
        tables = [t for t in read_tables(example_text()) if t.path[:2] == ("plugins", plugin)]
        assert not any(t.keys for t in tables), f"{plugin} takes no options"
        return
    missing = missing_keys(model, ("plugins", plugin))
    assert not missing, "config.example.toml does not mention:\n" + "\n".join(missing)


def test_the_key_finder_sees_set_and_commented_keys_and_sub_tables() -> None:
    # The coverage tests above are only as good as this reading of the file.
    tables = read_tables(
        "[core]\n# timezone = \"UTC\"\nsnooze = \"5m\"\n"
        "[[plugins.custom.nudges]]\nid = \"a\"\n[[plugins.custom.nudges]]\n#  every = \"2h\"\n"
    )
    assert mentioned(tables, ("core",)) == {"timezone", "snooze"}
    assert mentioned(tables, ("plugins", "custom")) == {"nudges"}
    assert mentioned(tables, ("plugins", "custom", "nudges")) == {"id", "every"}


# -- its commented-out lines work too ---------------------------------------------------


def commented_lines() -> list[tuple[int, str]]:
    """(line, key) of commented-out keys inside a table, where the same table does not
    also set that key (uncommenting would then repeat it)."""
    found = []
    for table in read_tables(example_text()):
        if not table.path:
            continue  # the preamble: prose about the format, not a table
        found += [(line, key) for key, line in table.commented.items() if key not in table.keys]
    return sorted(found)


@pytest.mark.parametrize(("line", "key"), commented_lines(), ids=lambda v: str(v))
def test_a_commented_out_line_is_valid_once_uncommented(
    line: int, key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = example_text().splitlines(keepends=True)
    lines[line - 1] = re.sub(r"^(\s*)#\s*", r"\1", lines[line - 1], count=1)
    edited = tmp_path / "config.toml"
    edited.write_text("".join(lines), encoding="utf-8")
    code, out = check(edited, capsys)
    assert code == 0, (
        f"config.example.toml:{line}: uncommenting `{key}` makes the config invalid:\n"
        f"{out.replace(str(edited), 'config.toml')}"
    )


# -- it configures only plugins that ship with nudged -----------------------------------


def test_every_plugin_table_in_the_example_names_a_built_in_plugin() -> None:
    data = tomllib.loads(example_text())
    named = sorted(data.get("plugins", {}))
    strangers = [name for name in named if name not in BUILT_IN]
    assert not strangers, (
        f"config.example.toml configures {', '.join(strangers)}, which "
        f"{'is' if len(strangers) == 1 else 'are'} not a built-in plugin "
        f"(built-in: {', '.join(BUILT_IN)})"
    )
    headers = [t for t in read_tables(example_text()) if t.path[:1] == ("plugins",)]
    assert headers and all(len(t.path) >= 2 and t.path[1] in BUILT_IN for t in headers), [
        (t.header_line, ".".join(t.path)) for t in headers
    ]
