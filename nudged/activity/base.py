"""The one interface every activity source implements, and the facts they report.

A source watches one thing the desktop can tell (X11's screensaver extension,
Mutter's IdleMonitor, logind, sway's IPC, ...) and reports *changes* to an
:class:`ActivitySink` from the event loop. No source polls in a loop: each waits on
a file descriptor, a D-Bus signal, or a deadline it computed.

Each source class declares the capabilities it can provide, a cheap
side-effect-free ``probe`` (can it work here?), ``start``/``stop``, and a health
state. The :mod:`nudged.activity.manager` picks, per capability, the best source
whose probe succeeds, and restarts a crashed source with backoff.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, Protocol


class Capability(enum.StrEnum):
    IDLE = "idle"    # has the person touched keyboard or mouse lately?
    LOCK = "lock"    # is the screen locked?
    SLEEP = "sleep"  # is the machine about to sleep / just resumed?
    FOCUS = "focus"  # which app has the focus (app id / WM class)?
    TITLE = "title"  # the focused window's title (never stored)
    URL = "url"      # the focused browser tab's URL (ActivityWatch only)


ALL_CAPABILITIES = tuple(Capability)


class SessionType(enum.StrEnum):
    X11 = "x11"
    WAYLAND = "wayland"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Session:
    """What kind of desktop session nudged runs in, decided once, before any probe."""

    type: SessionType
    desktop: str = ""  # XDG_CURRENT_DESKTOP, lower case, e.g. "gnome", "kde", "sway"
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def display(self) -> str | None:
        return self.environ.get("DISPLAY") or None

    @property
    def wayland_display(self) -> str | None:
        return self.environ.get("WAYLAND_DISPLAY") or None


@dataclass(frozen=True)
class Focus:
    """The focused window. ``title`` lives in memory only and is never written to disk.

    ``fullscreen`` is true while the focused window fills the screen (a film, a
    presentation, a game), where the source can tell.
    """

    app: str
    title: str = ""
    url: str | None = None
    pid: int | None = None
    fullscreen: bool = False


@dataclass(frozen=True)
class Probe:
    """A probe's answer: can this source work here, and if not, why and what to do.

    ``provides`` narrows the class's capabilities to what works here (a screensaver
    service that can tell the lock state but not the idle time); ``None`` = all.
    """

    ok: bool
    reason: str = ""
    provides: frozenset[Capability] | None = None

    @classmethod
    def yes(cls, reason: str = "", provides: frozenset[Capability] | None = None) -> Probe:
        return cls(True, reason, provides)

    @classmethod
    def no(cls, reason: str) -> Probe:
        return cls(False, reason)


class Health(enum.StrEnum):
    STOPPED = "stopped"
    RUNNING = "running"
    FAILED = "failed"


class ActivitySink(Protocol):
    """Where sources report changes. All calls happen on the event loop thread.

    ``at`` is when the change really happened: an idle start is back-dated to the
    last input (a watch that fires after a 3-minute threshold reports the time 3
    minutes earlier).
    """

    def idle_changed(self, source: str, idle: bool, at: datetime) -> None: ...

    def lock_changed(self, source: str, locked: bool, at: datetime) -> None: ...

    def sleep_changed(self, source: str, asleep: bool, at: datetime) -> None: ...

    def focus_changed(self, source: str, focus: Focus | None, at: datetime) -> None: ...

    def source_failed(self, source: str, reason: str) -> None: ...


class ActivitySource(ABC):
    """Base class of every source. Subclasses set the class attributes below."""

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    #: Lower sorts first: the manager prefers the lowest that probes OK per capability.
    priority: ClassVar[int] = 50
    #: Which session types the source may be used in (X11 sources must not run on
    #: Wayland: they would only see XWayland windows).
    sessions: ClassVar[frozenset[SessionType]] = frozenset(SessionType)

    def __init__(self, session: Session, sink: ActivitySink, idle_after: timedelta,
                 wanted: frozenset[Capability] | None = None) -> None:
        self.session = session
        self.sink = sink
        self.idle_after = idle_after
        #: The capabilities the manager chose this source for (a source may skip work
        #: for the others, e.g. not subscribe to titles when another source has focus).
        self.wanted = wanted if wanted is not None else self.capabilities
        self.health = Health.STOPPED
        self.reason = ""

    @classmethod
    @abstractmethod
    async def probe(cls, session: Session) -> Probe:
        """Cheap and side-effect free: could this source work here right now?"""

    @abstractmethod
    async def start(self) -> None:
        """Connect and subscribe; report the current state once, then only changes."""

    @abstractmethod
    async def stop(self) -> None:
        """Disconnect. Must not raise, and must be safe to call twice."""

    async def refresh(self) -> None:  # noqa: B027 - optional for sources
        """Report the current state afresh (called after a resume)."""

    def fail(self, reason: str) -> None:
        """Call from inside the source when it can no longer work (connection lost)."""
        self.health = Health.FAILED
        self.reason = reason
        self.sink.source_failed(self.name, reason)
