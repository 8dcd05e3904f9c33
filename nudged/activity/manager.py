"""Probe the sources, pick the best per capability, keep them running.

At start-up (and when a source fails) every known source is probed; for each
capability the one with the best priority whose probe succeeded is chosen. A
source only gets its reports through for the capabilities it was chosen for, so
logind's coarse ``IdleHint`` is ignored while X11 or Mutter report idle precisely.
A failed source is restarted with exponential backoff; while it is down, the
capabilities it served move to the next-best source that probes OK.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import structlog

from nudged.activity.base import (
    ALL_CAPABILITIES,
    ActivitySink,
    ActivitySource,
    Capability,
    Focus,
    Health,
    Probe,
    Session,
    SessionType,
)

log = structlog.get_logger("nudged.activity")

@dataclass(frozen=True)
class Candidate:
    """A source nudged knows, and what must hold before its module is even imported.

    Importing a source's library costs memory for the daemon's whole life
    (pywayland ~3 MiB, python-xlib ~2 MiB), so a source that cannot apply here, such
    as sway's IPC in an X11 session, is ruled out from the environment alone.
    """

    path: str  # "module:Class"
    name: str = ""  # the class's ``name`` (a test keeps these in step)
    capabilities: frozenset[Capability] = frozenset()  # likewise
    sessions: frozenset[SessionType] = frozenset(SessionType)
    env: tuple[str, ...] = ()  # at least one of these must be set
    #: A local server that must accept a connection first: (env var, default URL).
    listening: tuple[str, str] | None = None

    def ruled_out(self, session: Session) -> str:
        """Why this source cannot apply in ``session`` (empty if it might)."""
        if session.type not in self.sessions:
            return not_used_in(session)
        if self.env and not any(session.environ.get(var) for var in self.env):
            return f"{' or '.join(self.env)} is not set"
        return ""

    async def nobody_listening(self, session: Session) -> str:
        """Why the server this source needs does not answer (empty if it might)."""
        if self.listening is None:
            return ""
        var, default = self.listening
        url = urlsplit(session.environ.get(var) or os.environ.get(var) or default)
        host, port = url.hostname or "127.0.0.1", url.port or (443 if url.scheme == "https"
                                                               else 80)
        try:
            _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 0.5)
        except (OSError, TimeoutError) as exc:
            return f"nothing answers at {host}:{port} ({type(exc).__name__})"
        writer.close()
        return ""


def not_used_in(session: Session) -> str:
    kind = {SessionType.X11: "an X11", SessionType.WAYLAND: "a Wayland",
            SessionType.UNKNOWN: "an unknown"}[session.type]
    return f"not used in {kind} session"


WAYLAND = frozenset({SessionType.WAYLAND})
X11 = frozenset({SessionType.X11})

#: Every source nudged knows, imported only when it may apply and then probed, so a
#: missing optional library is a failed probe, not a crash.
IDLE, LOCK, SLEEP = Capability.IDLE, Capability.LOCK, Capability.SLEEP
FOCUS, TITLE, URL = Capability.FOCUS, Capability.TITLE, Capability.URL
ANY_SESSION = frozenset(SessionType)
SESSION_BUS = ("DBUS_SESSION_BUS_ADDRESS",)

#: Every source nudged knows, imported only when it may apply and then probed, so a
#: missing optional library is a failed probe, not a crash.
KNOWN_SOURCES: tuple[Candidate | str, ...] = (
    Candidate("nudged.activity.mutter:MutterIdleSource", "mutter", frozenset({IDLE}),
              ANY_SESSION, SESSION_BUS),
    # The compositors' own view of the focus (priority 10): on GNOME and KDE under
    # Wayland the only one there is. (On X11 the x11 source sees the focus, and more.)
    Candidate("nudged.activity.gnome:GnomeShellFocusSource", "gnome-shell",
              frozenset({FOCUS, TITLE}), WAYLAND, SESSION_BUS),
    Candidate("nudged.activity.kwin:KWinScriptSource", "kwin-script",
              frozenset({FOCUS, TITLE}), WAYLAND, SESSION_BUS),
    Candidate("nudged.activity.wayland:WaylandIdleSource", "wayland-idle", frozenset({IDLE}),
              WAYLAND, ("WAYLAND_DISPLAY",)),
    Candidate("nudged.activity.wayland:WlrForeignToplevelSource", "wlr-toplevel",
              frozenset({FOCUS, TITLE}), WAYLAND, ("WAYLAND_DISPLAY",)),
    Candidate("nudged.activity.x11:X11Source", "x11", frozenset({IDLE, FOCUS, TITLE}),
              X11, ("DISPLAY",)),
    Candidate("nudged.activity.sway:SwaySource", "sway", frozenset({FOCUS, TITLE}),
              WAYLAND, ("SWAYSOCK",)),
    Candidate("nudged.activity.hyprland:HyprlandSource", "hyprland",
              frozenset({FOCUS, TITLE}), WAYLAND, ("HYPRLAND_INSTANCE_SIGNATURE",)),
    Candidate("nudged.activity.logind:LogindSource", "logind",
              frozenset({IDLE, LOCK, SLEEP})),
    Candidate("nudged.activity.screensaver:ScreenSaverSource", "screensaver",
              frozenset({IDLE, LOCK}), ANY_SESSION, SESSION_BUS),
    Candidate("nudged.activity.activitywatch:ActivityWatchSource", "activitywatch",
              frozenset({IDLE, FOCUS, TITLE, URL}),
              listening=("NUDGED_AW_URL", "http://127.0.0.1:5600")),
    Candidate("nudged.activity.clockjump:ClockJumpSleepSource", "clock", frozenset({SLEEP})),
)

BACKOFF_START = 1.0
BACKOFF_MAX = 300.0


def priority_of(cls: type[ActivitySource], cap: Capability) -> int:
    priorities = getattr(cls, "priorities", None) or {}
    return int(priorities.get(cap, cls.priority))


@dataclass
class ProbeResult:
    name: str
    cls: type[ActivitySource] | None
    probe: Probe
    capabilities: frozenset[Capability] = frozenset()


@dataclass
class Choice:
    """Which source serves a capability, or why none does."""

    source: str | None
    reason: str
    tried: list[tuple[str, str]] = field(default_factory=list)  # (source, why not)


def load_source(path: str) -> type[ActivitySource]:
    module, _, attr = path.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    if not (isinstance(cls, type) and issubclass(cls, ActivitySource)):
        raise TypeError(f"{path} is not an ActivitySource")
    return cls


async def probe_all(session: Session, paths: Sequence[Candidate | str] = KNOWN_SOURCES,
                    timeout: float = 2.0) -> list[ProbeResult]:
    """Probe every source concurrently; import errors and timeouts become reasons."""

    async def one(candidate: Candidate | str) -> ProbeResult:
        if isinstance(candidate, str):
            candidate = Candidate(candidate, candidate.rsplit(":", 1)[-1])
        path, name = candidate.path, candidate.name
        why_not = candidate.ruled_out(session) or await candidate.nobody_listening(session)
        if why_not:
            return ProbeResult(name, None, Probe.no(why_not), candidate.capabilities)
        try:
            cls = load_source(path)
        except ImportError as exc:
            return ProbeResult(name, None, Probe.no(f"not available: {exc}"))
        except Exception as exc:
            return ProbeResult(name, None, Probe.no(f"broken: {type(exc).__name__}: {exc}"))
        if session.type not in cls.sessions:
            return ProbeResult(cls.name, cls, Probe.no(
                not_used_in(session)), cls.capabilities)
        try:
            result = await asyncio.wait_for(cls.probe(session), timeout)
        except TimeoutError:
            result = Probe.no(f"no answer within {timeout:g}s")
        except Exception as exc:
            result = Probe.no(f"probe failed: {type(exc).__name__}: {exc}")
        provides = cls.capabilities if result.provides is None else (
            cls.capabilities & result.provides)
        return ProbeResult(cls.name, cls, result, provides)

    return list(await asyncio.gather(*(one(p) for p in paths)))


def choose(results: Sequence[ProbeResult],
           exclude: frozenset[str] = frozenset()) -> dict[Capability, Choice]:
    """For each capability, the best source that probed OK (and is not excluded)."""
    choices: dict[Capability, Choice] = {}
    for cap in ALL_CAPABILITIES:
        candidates = sorted(
            (r for r in results if cap in r.capabilities),
            key=lambda r: priority_of(r.cls, cap) if r.cls is not None else 1000,
        )
        tried = []
        chosen = None
        for result in candidates:
            if result.name in exclude:
                tried.append((result.name, "failed recently; restarting"))
            elif result.probe.ok and result.cls is not None:
                chosen = result
                break
            else:
                tried.append((result.name, result.probe.reason))
        if chosen is not None:
            choices[cap] = Choice(chosen.name, chosen.probe.reason or "works", tried)
        else:
            why = "; ".join(f"{n}: {r}" for n, r in tried) or "no source offers it"
            choices[cap] = Choice(None, why, tried)
    return choices


class _Gate:
    """The sink a source talks to: passes only reports for its chosen capabilities."""

    def __init__(self, manager: ActivityManager, name: str) -> None:
        self.manager = manager
        self.name = name

    def _serves(self, cap: Capability) -> bool:
        choice = self.manager.choices.get(cap)
        return choice is not None and choice.source == self.name

    def idle_changed(self, source: str, idle: bool, at: datetime) -> None:
        if self._serves(Capability.IDLE):
            self.manager.sink.idle_changed(source, idle, at)

    def lock_changed(self, source: str, locked: bool, at: datetime) -> None:
        if self._serves(Capability.LOCK):
            self.manager.sink.lock_changed(source, locked, at)

    def sleep_changed(self, source: str, asleep: bool, at: datetime) -> None:
        if self._serves(Capability.SLEEP):
            self.manager.sink.sleep_changed(source, asleep, at)
            if not asleep:
                self.manager.after_resume()

    def focus_changed(self, source: str, focus: Focus | None, at: datetime) -> None:
        if self._serves(Capability.FOCUS):
            self.manager.latest_focus = focus
            self.manager.sink.focus_changed(source, focus, at)
            self.manager.look_up_url(source, focus, at)

    def source_failed(self, source: str, reason: str) -> None:
        self.manager.source_failed(self.name, reason)


class ActivityManager:
    """Owns the running sources. Reports flow to ``sink`` (the presence machine)."""

    def __init__(self, session: Session, sink: ActivitySink, idle_after: timedelta,
                 paths: Sequence[Candidate | str] = KNOWN_SOURCES,
                 now: Callable[[], datetime] | None = None) -> None:
        self.session = session
        self.sink = sink
        self.idle_after = idle_after
        self.paths = paths
        self.results: list[ProbeResult] = []
        self.choices: dict[Capability, Choice] = {}
        self.running: dict[str, ActivitySource] = {}
        self._failed: dict[str, float] = {}  # name -> current backoff
        self._restarts: dict[str, asyncio.TimerHandle] = {}
        self._stopping = False
        self._tasks: set[asyncio.Future[Any]] = set()
        self.latest_focus: Focus | None = None
        #: Called whenever the choice of sources changes (at start and on failover).
        self.on_choices: list[Callable[[dict[Capability, Choice]], None]] = []

    async def start(self) -> None:
        self.results = await probe_all(self.session, self.paths)
        await self._apply(choose(self.results, frozenset(self._restarts)))

    async def _apply(self, choices: dict[Capability, Choice]) -> None:
        self.choices = choices
        for listener in self.on_choices:
            listener(choices)
        wanted: dict[str, set[Capability]] = {}
        for cap, choice in choices.items():
            if choice.source is not None:
                wanted.setdefault(choice.source, set()).add(cap)
        for name in list(self.running):
            if name not in wanted:
                await self._stop_one(name)
        classes = {r.name: r.cls for r in self.results if r.cls is not None}
        for name, caps in wanted.items():
            if self._stopping:  # stop() ran meanwhile: start nothing more
                return
            if name in self.running:
                self.running[name].wanted = frozenset(caps)
                continue
            source = classes[name](self.session, _Gate(self, name), self.idle_after,
                                   frozenset(caps))
            try:
                await source.start()
            except Exception as exc:
                log.warning("activity source failed to start", source=name,
                            error=f"{type(exc).__name__}: {exc}")
                await self._safe_stop(source)
                self._schedule_restart(name)
                continue
            if self._stopping:  # stop() ran while this one was starting
                await self._safe_stop(source)
                return
            source.health = Health.RUNNING
            self.running[name] = source
            log.info("activity source started", source=name,
                     capabilities=",".join(sorted(c.value for c in caps)))

    def source_failed(self, name: str, reason: str) -> None:
        if self._stopping:
            return
        log.warning("activity source failed", source=name, reason=reason)
        source = self.running.pop(name, None)
        if source is not None:
            self._spawn(self._safe_stop(source))
        self._schedule_restart(name)
        # Meanwhile, let the next-best sources take over its capabilities.
        self._spawn(self._apply(choose(self.results, frozenset(self._restarts))))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _schedule_restart(self, name: str) -> None:
        if name in self._restarts:
            return
        delay = self._failed.get(name, BACKOFF_START)
        self._failed[name] = min(delay * 2, BACKOFF_MAX)
        loop = asyncio.get_running_loop()
        self._restarts[name] = loop.call_later(delay, lambda: self._spawn(self._restart(name)))

    async def _restart(self, name: str) -> None:
        self._restarts.pop(name, None)
        if self._stopping:
            return
        self.results = await probe_all(self.session, self.paths)
        await self._apply(choose(self.results, frozenset(self._restarts)))
        if name in self.running:
            self._failed.pop(name, None)

    def look_up_url(self, source: str, focus: Focus | None, at: datetime) -> None:
        """A focus change is a decision point: ask the URL source (ActivityWatch) what
        the tab's address is, when another source reported the focus without one."""
        choice = self.choices.get(Capability.URL)
        if focus is None or focus.url or choice is None or choice.source in (None, source):
            return
        url_source = self.running.get(choice.source or "")
        current = getattr(url_source, "current", None)
        if current is None:
            return

        async def ask() -> None:
            try:
                seen = await current()
            except Exception as exc:
                log.debug("URL look-up failed", source=choice.source, error=str(exc))
                return
            if self.latest_focus != focus:
                return  # the focus moved on while we asked
            if seen is not None and seen.url and seen.title == focus.title:
                self.latest_focus = replace(focus, url=seen.url)
                self.sink.focus_changed(source, self.latest_focus, at)

        self._spawn(ask())

    def after_resume(self) -> None:
        """After a resume, ask every running source for its state afresh."""
        for source in list(self.running.values()):
            self._spawn(source.refresh())

    async def _safe_stop(self, source: ActivitySource) -> None:
        try:
            await source.stop()
        except Exception as exc:
            log.debug("activity source stop raised", source=source.name, error=str(exc))
        source.health = Health.STOPPED

    async def _stop_one(self, name: str) -> None:
        source = self.running.pop(name, None)
        if source is not None:
            await self._safe_stop(source)

    async def stop(self) -> None:
        self._stopping = True
        for handle in self._restarts.values():
            handle.cancel()
        self._restarts.clear()
        for name in list(self.running):
            await self._stop_one(name)

    def report(self) -> dict[str, Any]:
        return report(self.session, self.choices)


def report(session: Session, choices: dict[Capability, Choice]) -> dict[str, Any]:
    """The ``nudged doctor --json`` shape: per capability, the source or why none."""
    return {
        "session": session.type.value,
        "desktop": session.desktop or None,
        "capabilities": {
            cap.value: {"source": c.source, "reason": c.reason,
                        "tried": [{"source": n, "reason": r} for n, r in c.tried]}
            for cap, c in choices.items()
        },
    }
