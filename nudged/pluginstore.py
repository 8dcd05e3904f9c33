"""A plugin's own memory: ``ctx.state`` (small values by key) and ``ctx.journal``
(an append-only record of what happened, which reports read later).

Both live in nudged's SQLite file next to everything else, keyed by the plugin's
name, so a plugin never opens files of its own. Values are JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Protocol


class PluginDataStore(Protocol):
    def state_get(self, plugin: str, key: str) -> str | None: ...
    def state_set(self, plugin: str, key: str, value: str) -> None: ...
    def journal_add(self, plugin: str, kind: str, at: datetime, data: str) -> None: ...
    def journal(self, plugin: str | None, kind: str | None = None,
                since: datetime | None = None) -> list[tuple[str, str, datetime, str]]: ...


class State:
    """``ctx.state``: ``get(key, default)`` and ``set(key, value)`` with JSON values."""

    def __init__(self, store: PluginDataStore, plugin: str) -> None:
        self._store = store
        self._plugin = plugin

    def get(self, key: str, default: Any = None) -> Any:
        raw = self._store.state_get(self._plugin, key)
        return default if raw is None else json.loads(raw)

    def set(self, key: str, value: Any) -> None:
        self._store.state_set(self._plugin, key, json.dumps(value, sort_keys=True))


@dataclass(frozen=True)
class Entry:
    kind: str
    at: datetime
    data: dict[str, Any]


class Journal:
    """``ctx.journal``: ``add(kind, at, **data)`` and ``entries(kind, since)``."""

    def __init__(self, store: PluginDataStore, plugin: str, tz: tzinfo) -> None:
        self._store = store
        self._plugin = plugin
        self._tz = tz

    def add(self, kind: str, at: datetime, **data: Any) -> None:
        self._store.journal_add(self._plugin, kind, at, json.dumps(data, sort_keys=True,
                                                                   default=str))

    def entries(self, kind: str | None = None, since: datetime | None = None) -> list[Entry]:
        return [Entry(k, at.astimezone(self._tz), json.loads(d))
                for _p, k, at, d in self._store.journal(self._plugin, kind, since)]
