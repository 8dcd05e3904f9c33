"""``nudged run``: the composition root. Builds everything, handles signals, stops cleanly.

Order of start: config -> logging -> store -> plugins (startup, register) ->
scheduler -> ``READY=1``. Order of stop: ``STOPPING=1`` -> scheduler -> plugins'
shutdown hooks (bounded) -> notifier -> store, all in ``finally`` so a failing
step never skips the ones after it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from nudged import config as configmod
from nudged import logs, sdnotify
from nudged.activity.base import Capability
from nudged.activity.hub import ActivityHub
from nudged.activity.manager import ActivityManager
from nudged.activity.session import detect
from nudged.config import LoadedConfig
from nudged.desktop import Desktop
from nudged.errors import ConfigError, NudgedError
from nudged.models import Answer, Response
from nudged.notify import ConsoleSink, DesktopSink
from nudged.runtime import PluginSelection, Runtime, build_host, config_problems
from nudged.scheduler import ClockJumpWatch, NudgeScheduler
from nudged.store import Store, default_db_path

if TYPE_CHECKING:
    from nudged.bus import ControlService

log = structlog.get_logger("nudged.daemon")
HEARTBEAT = 300.0  # seconds between ledger writes of the open stretch of present time


def release_freed_memory() -> None:
    """Give the heap that start-up used and freed back to the system.

    Loading the config, building the plugins' models and probing the desktop allocate
    and free a few MiB once; glibc keeps freed heap mapped unless asked. A daemon that
    then idles all day should not hold on to it. Harmless where it is unavailable.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def demo_config() -> LoadedConfig:
    text = resources.files("nudged").joinpath("data/demo.toml").read_text(encoding="utf-8")
    return configmod.load_text(text, Path("(demo config)"))


class Daemon:
    def __init__(self, config_path: Path | None = None, *, demo: bool = False,
                 log_format: logs.LogFormat = "auto",
                 environ: Mapping[str, str] = os.environ,
                 selection: PluginSelection | None = None) -> None:
        self.config_path = config_path
        self.demo = demo
        self.log_format = log_format
        self.environ = environ
        self.selection = selection
        self.sd = sdnotify.Notifier(environ)
        self.stopping = asyncio.Event()
        self.runtime: Runtime | None = None
        self._reloading = False
        self._tasks: set[asyncio.Future[Any]] = set()
        self._heartbeat: asyncio.TimerHandle | None = None
        self.activity: ActivityManager | None = None
        self.desktop: Desktop | None = None
        self.control: ControlService | None = None
        self._activity_start: asyncio.Future[Any] | None = None
        self._kept_on: date | None = None  # [core] keep: the day retention last ran

    def _load(self) -> LoadedConfig:
        if self.demo:
            return demo_config()
        loaded = configmod.load(self.config_path, self.environ)
        if not loaded.source.exists and self.config_path is None:
            log.info("no config file; using defaults", would_be_at=str(loaded.source.path),
                     hint="nudged config init writes a commented example there")
        return loaded

    def _respond(self, shown_id: int, response: Response | Answer) -> None:
        if self.runtime is not None:
            self.runtime.engine.respond(shown_id, response)

    async def run(self) -> int:
        loaded = self._load()  # ConfigError propagates: the CLI prints it, exit 2
        logs.setup(self.log_format, loaded.settings.core.log_level)
        db = default_db_path(self.environ)
        if self.demo:
            db = db.with_name("demo.db")
        store = Store.open(db)
        loop = asyncio.get_running_loop()
        scheduler = NudgeScheduler(loaded.settings.core.tz())
        interactive = self.demo and sys.stdin is not None and sys.stdin.isatty()
        console = ConsoleSink(self._respond, interactive=interactive)
        sink = DesktopSink(self._respond, console, snooze=loaded.settings.core.snooze)
        watch = ClockJumpWatch(loop, lambda _jump: scheduler.wakeup())
        desktop = self.desktop = Desktop(self.environ)
        hub = ActivityHub(scheduler.now, scheduler.tz, store)
        hub.on_resume.append(scheduler.wakeup)  # missed nudges coalesce at once
        activity = self.activity = ActivityManager(detect(self.environ), hub,
                                                   loaded.settings.core.idle_after)
        # Present time counts only while some source can tell idle time.
        hub.set_counting(False)
        activity.on_choices.append(
            lambda choices: hub.set_counting(choices[Capability.IDLE].source is not None))
        try:
            self.runtime = Runtime(loaded, scheduler, sink, store, environ=self.environ,
                                   selection=self.selection, activity=hub, desktop=desktop)
            await self.runtime.start()
            since = scheduler.now() - timedelta(hours=1)
            self.runtime.engine.seed_recent(store.shown_since(since))
            self.runtime.restore(store)  # a pause and snoozes from before a restart
            await self._start_control(loaded, scheduler, desktop)
            scheduler.start()
            watch.start()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stopping.set)
            loop.add_signal_handler(signal.SIGHUP, lambda: self._spawn(self.reload()))
            if interactive:
                loop.add_reader(sys.stdin.fileno(),
                                lambda: console.answer(sys.stdin.readline()))
            self.sd.ready(self._status_line(scheduler))
            log.info("nudged is running", config=loaded.source.label, state=str(db),
                     plugins=", ".join(f"{r['name']}={r['status']}"
                                       for r in self.runtime.statuses()),
                     pid=os.getpid())
            self._log_broken_plugins()
            # Probing the desktop takes a moment; READY=1 does not wait for it.
            self._activity_start = self._spawn(self._start_activity())
            self._heartbeat = loop.call_later(HEARTBEAT, self._beat)
            if self.demo:
                log.info("demo mode: nudges every few seconds; Ctrl+C stops",
                         state=str(db))
            await self.stopping.wait()
        finally:
            self.sd.stopping()
            log.info("nudged is stopping")
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            if interactive:
                loop.remove_reader(sys.stdin.fileno())
            watch.stop()
            if self._heartbeat is not None:
                self._heartbeat.cancel()
            scheduler.shutdown()
            try:
                # A stop during the probe: no source may start after this point (it
                # would report into a closed store and never be stopped).
                await self._cancel_activity_start()
                await asyncio.wait_for(activity.stop(), 0.5)
            except TimeoutError:
                log.warning("activity sources took too long to stop")
            except Exception as exc:
                log.warning("activity sources failed to stop", error=str(exc))
            hub.heartbeat()  # the open stretch of present time goes to the ledger
            try:
                if self.control is not None:
                    await self.control.stop()
                if self.runtime is not None:
                    await self.runtime.stop()
            finally:
                await sink.close()
                await desktop.close()
                store.close()
                self.sd.close()
        return 0

    async def _start_control(self, loaded: LoadedConfig, scheduler: NudgeScheduler,
                             desktop: Desktop) -> None:
        """Offer the control interface (`nudged status`, `pause`, ...) on the session bus."""
        assert self.runtime is not None
        bus = await desktop.session_bus()
        if bus is None:
            log.info("no session bus: `nudged status`, `pause` and friends cannot reach "
                     "this daemon")
            return
        from nudged.bus import AlreadyRunning, ControlService
        from nudged.control import Control

        control = Control(lambda: self.runtime, scheduler.upcoming, loaded.source.label)
        self.runtime.engine.on_control.append(control.changed)
        service = ControlService(control)
        try:
            await service.start(bus)
        except AlreadyRunning as exc:
            if not self.demo:
                raise  # two daemons would show every nudge twice
            log.warning("demo without the control interface", reason=str(exc))
            return
        except Exception as exc:  # the nudges matter more than the remote control
            log.warning("control interface unavailable", error=f"{type(exc).__name__}: {exc}")
            return
        self.control = service

    def _spawn(self, coro: Any) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _cancel_activity_start(self) -> None:
        task = self._activity_start
        if task is None or task.done():
            return
        task.cancel()
        await asyncio.wait([task], timeout=0.5)

    async def _start_activity(self) -> None:
        assert self.activity is not None
        try:
            await self.activity.start()
        except Exception as exc:  # never a dead daemon: nudges still come, untimed by presence
            log.error("activity layer failed to start", error=f"{type(exc).__name__}: {exc}")
            return
        chosen = {cap: c.source for cap, c in self.activity.choices.items()}
        log.info("activity sources chosen", **{k.value: v or "none" for k, v in chosen.items()})
        release_freed_memory()

    def _beat(self) -> None:
        """Write the open stretch of present time, so a crash loses at most this much."""
        if self.runtime is not None:
            self.runtime.activity.heartbeat()
            self._retain()
        self._heartbeat = asyncio.get_running_loop().call_later(HEARTBEAT, self._beat)

    # -- retention ([core] keep): once a day, from the heartbeat (docs/report.md) -------
    def _retain(self) -> None:
        """Delete records older than ``[core] keep``; a failure is logged, never fatal."""
        assert self.runtime is not None
        store, core = self.runtime.data, self.runtime.loaded.settings.core
        today = self.runtime.scheduler.now().astimezone(core.tz()).date()
        if core.keep is None or self._kept_on == today or not isinstance(store, Store):
            return
        self._kept_on = today
        before = today - timedelta(days=core.keep.days)
        try:
            deleted = store.purge_before(before, core.tz())
        except Exception as exc:
            log.warning("could not delete old records ([core] keep)", error=str(exc))
            return
        if any(deleted.values()):
            log.info("deleted old records ([core] keep)", before=before.isoformat(), **deleted)

    def _log_broken_plugins(self) -> None:
        assert self.runtime is not None
        for row in self.runtime.statuses():
            if row["status"] not in ("ok", "disabled"):
                log.warning("plugin is not running", plugin=row["name"], status=row["status"],
                            reason=row["reason"])

    def _status_line(self, scheduler: NudgeScheduler) -> str:
        assert self.runtime is not None
        ok = sum(1 for r in self.runtime.statuses() if r["status"] == "ok")
        upcoming = scheduler.upcoming(1)
        nxt = f"; next: {upcoming[0][1]} at {upcoming[0][0]:%H:%M}" if upcoming else ""
        return f"{ok} plugin{'' if ok == 1 else 's'} ok{nxt}"

    async def reload(self) -> None:
        """SIGHUP: read the config again; an invalid one is rejected, the old one kept."""
        if self._reloading or self.runtime is None:
            return
        self._reloading = True
        old = self.runtime
        scheduler = old.scheduler
        assert isinstance(scheduler, NudgeScheduler)
        self.sd.reloading()
        try:
            try:
                loaded = self._load()
                # Plugin tables are validated by the plugins: reject what `nudged config
                # check` rejects, before anything of the running config is stopped.
                built = build_host(loaded, self.environ, self.selection)
                problems = config_problems(*built)
                if problems:
                    raise ConfigError(problems)
            except ConfigError as exc:
                for problem in exc.problems:  # one line each, as `nudged config check` says it
                    log.error("new config rejected; keeping the previous one", problem=problem)
                sink = old.engine.sink
                if isinstance(sink, DesktopSink):
                    sink.notice("nudged kept its previous settings",
                                "The changed config has a problem:\n" + str(exc))
                return
            scheduler.remove_nudges()
            await old.stop()
            scheduler.cancel_prefix("plugin:")  # owed to the old plugins
            old.engine.forget_pending()  # snoozes come back from the store below
            new = Runtime(loaded, scheduler, old.engine.sink, old.engine.recorder,
                          environ=self.environ, selection=self.selection, engine=old.engine,
                          built=built, activity=old.activity, desktop=old.desktop)
            if isinstance(new.engine.sink, DesktopSink):
                new.engine.sink.snooze = loaded.settings.core.snooze
            await new.start()
            self.runtime = new
            if isinstance(old.engine.memory, Store):
                new.restore(old.engine.memory)
            # Held nudges: the plugin holding one may be gone or configured anew, and
            # would never let go. Each is asked again; one still held is held again.
            new.engine.release()
            self._log_broken_plugins()
            log.info("config reloaded", config=loaded.source.label,
                     plugins=", ".join(f"{r['name']}={r['status']}" for r in new.statuses()))
        except NudgedError as exc:
            log.error("reload failed; keeping the previous config", error=str(exc))
        finally:
            self._reloading = False
            self.sd.ready(self._status_line(scheduler))


def run(config_path: Path | None, demo: bool, log_format: logs.LogFormat) -> int:
    daemon = Daemon(config_path, demo=demo, log_format=log_format)
    return asyncio.run(daemon.run())
