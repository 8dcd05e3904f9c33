"""Wires config, plugins, scheduler and engine together; shared by the daemon and previews.

The daemon and ``nudged preview`` differ only in what they pass in (a real or a
simulated scheduler, a desktop or capturing sink, the SQLite store or a list);
everything a plugin can observe goes through this one path.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import partial
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, Protocol

import structlog
from pydantic import BaseModel

from nudged.activity.hub import ActivityHub
from nudged.config import LoadedConfig, validate_table
from nudged.context import PluginContext
from nudged.desktop import Desktop
from nudged.engine import Engine, Event, Recorder, Sink
from nudged.errors import ConfigError
from nudged.models import Nudge, NudgeSpec
from nudged.plugins import PluginHost, PluginRecord, PluginStatus, _describe
from nudged.pluginstore import Journal, PluginDataStore, State
from nudged.store import Store

log = structlog.get_logger("nudged.runtime")
SHUTDOWN_TIMEOUT = 1.2


class Scheduler(Protocol):
    tz: tzinfo

    def now(self) -> datetime: ...
    def add_nudge(self, plugin: str, spec: NudgeSpec,
                  due: Callable[[datetime], None]) -> bool: ...
    def call_at(self, when: datetime, callback: Callable[[], None], key: str) -> None: ...
    def cancel(self, key: str) -> None: ...


@dataclass
class PluginSelection:
    """Which plugins to discover; tests and ``nudged.testing`` narrow it down."""

    entry_points: Iterable[EntryPoint] | None = None
    user_dir: Path | None = None
    objects: Mapping[str, object] | None = None  # name -> plugin object, added in process
    discover: bool = True


def build_host(loaded: LoadedConfig, environ: Mapping[str, str],
               selection: PluginSelection | None = None) -> tuple[PluginHost, list[str]]:
    """Discover, load and configure plugins. Returns the host and config problems
    that belong to no plugin (a table for a plugin that is not installed)."""
    selection = selection or PluginSelection()
    host = PluginHost(environ)
    if selection.discover:
        host.discover(selection.entry_points, selection.user_dir)
    for name, obj in (selection.objects or {}).items():
        host.add_object(name, obj)
    tables = loaded.settings.plugins
    off = [name for name, table in tables.items() if table.get("enabled") is False]
    host.load(disabled=off)
    for record in host.active():
        # An opt-in plugin (sleep_window, movement) runs only once a person wrote its
        # table: nobody gets bedtime reminders they did not ask for.
        if getattr(record.obj, "opt_in", False) and record.name not in tables:
            host.set_failed(record, PluginStatus.DISABLED,
                            f"opt-in: add a [plugins.{record.name}] table to turn it on")
    problems = []
    for name in tables:
        if name not in host.records:
            close = difflib.get_close_matches(name, list(host.records), n=1)
            hint = f"; did you mean [plugins.{close[0]}]?" if close else ""
            problems.append(f"{loaded.source.where(('plugins', name))}: plugins.{name}: "
                            f"no plugin named {name!r} is installed{hint}")
    for record in host.active():
        _configure(host, record, loaded)
    return host, problems


def config_problems(host: PluginHost, problems: list[str]) -> list[str]:
    """Every sentence ``nudged config check`` would print for this host and config."""
    found = list(problems)
    for record in host.records.values():
        if record.status is PluginStatus.CONFIG_ERROR:
            found.extend(record.reason.splitlines())
    return found


def _configure(host: PluginHost, record: PluginRecord, loaded: LoadedConfig) -> None:
    table = {k: v for k, v in loaded.settings.plugins.get(record.name, {}).items()
             if k != "enabled"}
    try:
        model = host.call_one(record, "nudged_config_model")
    except Exception as exc:
        host.set_failed(record, PluginStatus.CONFIG_ERROR,
                        f"nudged_config_model raised {_describe(exc)}")
        return
    if model is not None and not (isinstance(model, type) and issubclass(model, BaseModel)):
        host.set_failed(record, PluginStatus.CONFIG_ERROR,
                        f"nudged_config_model returned {model!r}, not a pydantic model class")
        return
    if model is None:
        if table:
            host.set_failed(record, PluginStatus.CONFIG_ERROR,
                            f"{loaded.source.where(('plugins', record.name))}: "
                            f"plugins.{record.name}: this plugin takes no options")
        record.config = None
        return
    try:
        record.config = validate_table(
            model, table, loaded.source, ("plugins", record.name))
    except ConfigError as exc:
        host.set_failed(record, PluginStatus.CONFIG_ERROR, str(exc))
        log.debug("plugin config is invalid", plugin=record.name, problems=exc.problems)


class Runtime:
    """Plugins started, nudges registered, an engine ready to take due nudges."""

    def __init__(self, loaded: LoadedConfig, scheduler: Scheduler, sink: Sink,
                 recorder: Recorder, *, environ: Mapping[str, str],
                 selection: PluginSelection | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 engine: Engine | None = None,
                 built: tuple[PluginHost, list[str]] | None = None,
                 activity: ActivityHub | None = None,
                 desktop: Desktop | None = None) -> None:
        self.loaded = loaded
        self.desktop = desktop
        self.scheduler = scheduler
        self.host, self.config_problems = built or build_host(loaded, environ, selection)
        core = loaded.settings.core
        if engine is None:
            engine = Engine(self.host, scheduler, scheduler, sink, recorder, on_event=on_event)
        # A reload keeps the engine (outstanding notifications, rate limit, deferrals)
        # and gives it the new plugins and settings.
        engine.host = self.host
        engine.max_per_hour = core.max_per_hour
        engine.snooze = core.snooze
        engine.notification_timeout = core.notification_timeout
        self.engine = engine
        if activity is None:
            activity = ActivityHub(scheduler.now, scheduler.tz, Store.memory())
        self.activity = activity
        #: Plugins' state and journal live in the same store as the usage ledger.
        self.data: PluginDataStore = activity.store
        activity.attach(self.host, engine)
        self.specs: dict[tuple[str, str], NudgeSpec] = {}
        for problem in self.config_problems:
            log.warning("config names a plugin that is not installed", problem=problem)

    def _context(self, record: PluginRecord) -> PluginContext:
        return PluginContext(
            name=record.name,
            config=record.config,
            tz=self.scheduler.tz,
            log=structlog.get_logger(f"nudged.plugin.{record.name}").bind(plugin=record.name),
            _now=self.scheduler.now,
            _fire=self.fire,
            activity=self.activity,
            _timers=self.scheduler,
            state=State(self.data, record.name),
            journal=Journal(self.data, record.name, self.scheduler.tz),
            configured=record.name in self.loaded.settings.plugins,
            desktop=self.desktop,
            _recheck=self.recheck,
        )

    async def start(self) -> None:
        for record in self.host.active():
            record.ctx = self._context(record)
            try:
                await self.host.acall_one(record, "nudged_startup")
            except Exception as exc:
                self.host.set_failed(record, PluginStatus.STARTUP_ERROR, _describe(exc))
                log.error("plugin failed to start", plugin=record.name, error=_describe(exc),
                          exc_info=exc)
                continue
            record.status = PluginStatus.OK
            record.started = True
        for record in self.host.active():
            self._register(record)

    def _register(self, record: PluginRecord) -> None:
        mine: dict[str, NudgeSpec] = {}

        def register(spec: NudgeSpec) -> None:
            if not isinstance(spec, NudgeSpec):
                raise TypeError(f"register() takes a NudgeSpec, not {type(spec).__name__}")
            if spec.id in mine:
                raise ValueError(f"nudge id {spec.id!r} is registered twice")
            mine[spec.id] = spec

        try:
            self.host.call_one(record, "nudged_register_nudges", register=register)
        except Exception as exc:
            self.host.set_failed(record, PluginStatus.STARTUP_ERROR,
                                 f"nudged_register_nudges raised {_describe(exc)}")
            return
        for spec in mine.values():
            self.specs[(record.name, spec.id)] = spec
            self.scheduler.add_nudge(
                record.name, spec,
                partial(self._due, record.name, spec),
            )

    def _due(self, plugin: str, spec: NudgeSpec, at: datetime) -> None:
        record = self.host.records.get(plugin)
        if record is None or not record.active:
            return  # the plugin was disabled meanwhile
        self.engine.due(Nudge(plugin=plugin, spec=spec, due_at=at))

    def restore(self, store: Store) -> None:
        """Take up a pause and the snoozes remembered from before a restart or reload,
        and remember new ones in ``store`` from now on."""
        engine = self.engine
        engine.memory = store
        now = self.scheduler.now()
        until = store.paused_until()
        if until is not None and until > now:
            engine.pause(until.astimezone(self.scheduler.tz))
        elif until is not None:
            store.save_pause(None)  # it ran out while nudged was stopped
        for row in store.snoozes():
            spec = self.specs.get((row["plugin"], row["nudge_id"]))
            key = f"{row['plugin']}:{row['nudge_id']}"
            if spec is None:  # the plugin or the nudge is gone from the config
                store.drop_snooze(key)
                continue
            engine.restore_snooze(Nudge(
                row["plugin"], spec, row["until"].astimezone(self.scheduler.tz),
                attempt=row["attempt"], title=row["title"], body=row["body"]))

    def recheck(self, plugin: str) -> None:
        """``ctx.recheck()``: the nudges ``plugin`` holds come due again."""
        self.engine.release(plugin)

    def fire(self, plugin: str, nudge_id: str, title: str | None = None,
             body: str | None = None) -> None:
        spec = self.specs.get((plugin, nudge_id))
        if spec is None:
            raise KeyError(f"{plugin} has no nudge {nudge_id!r}")
        self.engine.due(Nudge(plugin, spec, self.scheduler.now(), title=title, body=body))

    async def stop(self) -> None:
        """Shutdown hooks in reverse order, all together bounded by SHUTDOWN_TIMEOUT."""
        async def each() -> None:
            for record in reversed(list(self.host.records.values())):
                if not record.started:
                    continue
                record.started = False
                try:
                    await self.host.acall_one(record, "nudged_shutdown")
                except Exception as exc:
                    log.warning("plugin shutdown raised", plugin=record.name,
                                error=_describe(exc))
        try:
            await asyncio.wait_for(each(), SHUTDOWN_TIMEOUT)
        except TimeoutError:
            log.warning("plugins took too long to shut down; stopping anyway")

    def statuses(self) -> list[dict[str, Any]]:
        return self.host.statuses()
