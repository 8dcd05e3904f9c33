"""Subcommands that plugins add to ``nudged`` through ``nudged_register_commands``.

Loaded only when the command a person typed is not a built-in one, so ``nudged
--help`` and the built-in commands never import a plugin.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from nudged import config as configmod
from nudged.context import PluginContext
from nudged.errors import PluginError
from nudged.plugins import _describe
from nudged.pluginstore import Journal, State
from nudged.runtime import build_host
from nudged.store import Store, default_db_path

Run = Callable[[argparse.Namespace, PluginContext], int]


@dataclass
class PluginCommand:
    plugin: str
    name: str
    help: str
    build: Callable[[argparse.ArgumentParser], None]
    run: Run
    ctx: PluginContext


class _LazyStore:
    """Opens the state database on first use: ``--help`` of a plugin command needs none."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: Store | None = None

    def __getattr__(self, name: str) -> Any:
        if self._store is None:
            self._store = Store.open(self.path)
        return getattr(self._store, name)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def discover(config_path: Path | None = None) -> tuple[list[PluginCommand], _LazyStore]:
    loaded = configmod.load(config_path)
    tz = loaded.settings.core.tz()
    host, _ = build_host(loaded, os.environ)
    store = _LazyStore(default_db_path())
    commands: list[PluginCommand] = []
    for record in host.active():
        ctx = PluginContext(
            name=record.name, config=record.config, tz=tz,
            log=structlog.get_logger(f"nudged.plugin.{record.name}").bind(plugin=record.name),
            _now=lambda: datetime.now(tz),
            state=State(store, record.name), journal=Journal(store, record.name, tz),
            configured=record.name in loaded.settings.plugins,
        )

        def register(name: str, help: str, build: Callable[[argparse.ArgumentParser], None],
                     run: Run, _record: Any = record, _ctx: PluginContext = ctx) -> None:
            if any(c.name == name for c in commands):
                raise PluginError(f"the command {name!r} is registered twice")
            commands.append(PluginCommand(_record.name, name, help, build, run, _ctx))

        try:
            host.call_one(record, "nudged_register_commands", register=register, ctx=ctx)
        except Exception as exc:
            structlog.get_logger("nudged.commands").warning(
                "plugin could not add its commands", plugin=record.name, error=_describe(exc))
    return commands, store


def switched_off(config_path: Path | None = None) -> dict[str, str]:
    """Installed plugins that do not run, by name, with why: a command named like one
    of them is most likely that plugin's (``nudged checkin`` while it is off)."""
    host, _ = build_host(configmod.load(config_path), os.environ)
    return {r.name: r.reason for r in host.records.values() if not r.active}
