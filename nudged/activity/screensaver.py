"""Lock and idle from ``org.freedesktop.ScreenSaver`` on the session bus.

A fallback for sessions where logind has no lock hint and no compositor-specific
source fits (KDE's kscreenlocker, xfce4-screensaver, mate-screensaver).
GNOME's ``org.freedesktop.ScreenSaver`` (gsd-screensaver-proxy) only implements
inhibition and answers ``GetActive`` with an error, which is why the probe asks.

Lock: ``GetActive`` once, then the ``ActiveChanged(b)`` signal. An active
screensaver counts as locked even where it only blanks: either way nobody is
looking at the screen.

Idle: the interface has no "idle" or "user is back" signal, only the poll-style
``GetSessionIdleTime``, so the source works with deadlines instead of polling:

* not idle, idle time ``s``: nothing can change before ``idle_after - s`` has
  passed, so the next question is asked exactly then;
* idle: the only way to notice the person's return is to ask again; that happens
  at most once a minute (``recheck_interval``). The return is dated at the latest
  input (``now - s``): the first one is unknowable, so up to a minute of presence
  may go uncounted, never the other way round;
* an unlock (``ActiveChanged(false)``) is asked about at once: someone typed a
  password, so they are back.

Units differ between implementations and nothing on the bus says which one is
used: KDE answers in milliseconds (kscreenlocker returns ``KIdleTime::idleTime()``).
The gnome-screensaver 2.x family (mate-screensaver, xfce4-screensaver) is taken to
answer in seconds, counted from when *it* considered the session idle rather than
from the last input, so there idle is noticed late and back-dated too little (not
verified against a running one here). The unit is chosen from the desktop name,
milliseconds unless it is MATE or Xfce; pass ``idle_unit`` to override.
KDE on Wayland answers ``GetSessionIdleTime`` with NotSupported: then this source
cannot provide IDLE and says so when started for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, cast

from dbus_fast import BusType
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusError
from dbus_fast.introspection import Node

from nudged.activity.base import ActivitySink, Capability, Health, Probe, Session
from nudged.activity.common import utcnow
from nudged.activity.dbus import (
    CALL_TIMEOUT,
    BusSource,
    error_text,
    name_has_owner,
    watch_name_vanishing,
)
from nudged.errors import NudgedError

__all__ = ["ScreenSaverSource", "ScreenSaverUnavailable", "idle_unit_for"]

SCREENSAVER = "org.freedesktop.ScreenSaver"
SCREENSAVER_IFACE = "org.freedesktop.ScreenSaver"
#: Where implementations export it: the spec'd path, and KDE's historical one.
SCREENSAVER_PATHS = ("/org/freedesktop/ScreenSaver", "/ScreenSaver")

SCREENSAVER_XML = """<node>
  <interface name="org.freedesktop.ScreenSaver">
    <method name="GetActive">
      <arg type="b" direction="out"/>
    </method>
    <method name="GetSessionIdleTime">
      <arg type="u" direction="out"/>
    </method>
    <signal name="ActiveChanged">
      <arg type="b"/>
    </signal>
  </interface>
</node>"""

_SCREENSAVER_NODE = Node.parse(SCREENSAVER_XML)

#: Seconds per unit of GetSessionIdleTime, by desktop (XDG_CURRENT_DESKTOP words).
IDLE_UNITS: Mapping[str, float] = {"kde": 0.001, "mate": 1.0, "xfce": 1.0}
DEFAULT_IDLE_UNIT = 0.001
#: While idle, how often to ask whether the person is back (there is no signal).
RECHECK_INTERVAL = 60.0
#: Never schedule a question sooner than this (units are coarse, clocks differ).
MIN_DELAY = 0.05


class ScreenSaverUnavailable(NudgedError):
    """The screensaver cannot be used here; the message says why."""


def idle_unit_for(desktop: str) -> float:
    """Seconds per unit of ``GetSessionIdleTime`` for an ``XDG_CURRENT_DESKTOP`` value."""
    for word in desktop.lower().replace(";", ":").split(":"):
        if word in IDLE_UNITS:
            return IDLE_UNITS[word]
    return DEFAULT_IDLE_UNIT


def _screensaver(bus: MessageBus, path: str) -> Any:
    return cast(
        Any, bus.get_proxy_object(SCREENSAVER, path, _SCREENSAVER_NODE).get_interface(
            SCREENSAVER_IFACE
        )
    )


async def _find_path(bus: MessageBus, timeout: float) -> tuple[str | None, bool, list[str]]:
    """The first path where ``GetActive`` answers, its answer, and the errors seen."""
    errors: list[str] = []
    for path in SCREENSAVER_PATHS:
        try:
            active = await asyncio.wait_for(_screensaver(bus, path).call_get_active(), timeout)
        except (DBusError, TimeoutError) as exc:
            errors.append(f"{path}: {error_text(exc)}")
            continue
        return path, bool(active), errors
    return None, False, errors


class ScreenSaverSource(BusSource):
    """LOCK (signal-driven) and IDLE (deadline-driven) from the session's screensaver."""

    name: ClassVar[str] = "screensaver"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.LOCK, Capability.IDLE}
    )
    priority: ClassVar[int] = 20
    #: Below X11 / Mutter / Wayland idle sources (which get a signal when input
    #: resumes), above logind's idle hint.
    priorities: ClassVar[Mapping[Capability, int]] = {
        Capability.LOCK: 20,
        Capability.IDLE: 70,
    }
    bus_type: ClassVar[BusType] = BusType.SESSION
    peer: ClassVar[str] = SCREENSAVER
    unavailable: ClassVar[type[NudgedError]] = ScreenSaverUnavailable
    question_failed: ClassVar[str] = "screensaver idle question failed"

    def __init__(
        self,
        session: Session,
        sink: ActivitySink,
        idle_after: timedelta,
        wanted: frozenset[Capability] | None = None,
        *,
        now: Callable[[], datetime] = utcnow,
        idle_unit: float | None = None,
        recheck_interval: float = RECHECK_INTERVAL,
        call_timeout: float = CALL_TIMEOUT,
    ) -> None:
        super().__init__(session, sink, idle_after, wanted, now=now, call_timeout=call_timeout)
        self.idle_unit = idle_unit if idle_unit is not None else idle_unit_for(session.desktop)
        self.recheck_interval = recheck_interval
        self._iface: Any = None
        self.path: str | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._locked: bool | None = None
        self._idle: bool | None = None

    @property
    def wanted(self) -> frozenset[Capability]:
        return self._wanted

    @wanted.setter
    def wanted(self, caps: frozenset[Capability]) -> None:
        """The manager may change our capabilities while we run: start or stop the
        idle questions, and report the state of a newly handed capability."""
        added = caps - getattr(self, "_wanted", caps)
        self._wanted = caps
        if getattr(self, "health", None) is not Health.RUNNING:
            return
        if Capability.IDLE not in caps:
            self._cancel_timer()
        if added:
            self._tasks.spawn(self.refresh())

    # -- probe --------------------------------------------------------------------------
    @classmethod
    async def _probe_bus(cls, bus: MessageBus, where: str, session: Session) -> Probe:
        if not await name_has_owner(bus, SCREENSAVER):
            return Probe.no(f"no screensaver on {where} ({SCREENSAVER} has no owner)")
        path, _active, errors = await _find_path(bus, CALL_TIMEOUT)
        if path is None:
            return Probe.no(
                f"{SCREENSAVER} does not answer GetActive (GNOME's only inhibits): "
                + "; ".join(errors)
            )
        try:
            await asyncio.wait_for(
                _screensaver(bus, path).call_get_session_idle_time(), CALL_TIMEOUT
            )
        except (DBusError, TimeoutError) as exc:
            return Probe.yes(
                f"{SCREENSAVER} at {path}: lock only, no idle time ({error_text(exc)})",
                provides=frozenset({Capability.LOCK}),
            )
        return Probe.yes(f"{SCREENSAVER} at {path}: lock and idle time")

    # -- lifecycle ----------------------------------------------------------------------
    async def _start_on(self, bus: MessageBus, where: str) -> str:
        self._unwatch = await watch_name_vanishing(
            bus, SCREENSAVER, lambda: self._lost("the screensaver left the session bus"),
            self._timeout,
        )
        path, _active, errors = await _find_path(bus, self._timeout)
        if path is None:
            raise ScreenSaverUnavailable(
                f"{SCREENSAVER} on {where} does not answer GetActive: " + "; ".join(errors)
            )
        self.path = path
        self._iface = _screensaver(bus, path)
        # KDE exports both paths; Qt emits the signal on each. Listening on both
        # costs one match rule and makes no assumption; reports are deduplicated.
        for each in SCREENSAVER_PATHS:
            _screensaver(bus, each).on_active_changed(self._on_active_changed)
        # Asked again after subscribing: the answer is the barrier for AddMatch.
        locked = bool(await asyncio.wait_for(self._iface.call_get_active(), self._timeout))
        self._report_lock(locked, self._now(), force=True)
        if Capability.IDLE in self.wanted:
            try:
                await self._check_idle()
            except DBusError as exc:
                raise ScreenSaverUnavailable(
                    f"{SCREENSAVER} cannot tell idle time: {error_text(exc)}"
                ) from exc
        return f"{SCREENSAVER} at {path}"

    async def _release(self) -> None:
        self._cancel_timer()
        self._iface = None

    async def refresh(self) -> None:
        """Ask lock and idle afresh (after a resume) and report them even if unchanged.

        Never raises: the manager fires it and forgets it after every resume.
        """
        if self._iface is None or self._stopping:
            return
        try:
            locked = bool(await asyncio.wait_for(self._iface.call_get_active(), self._timeout))
            self._report_lock(locked, self._now(), force=True)
            if Capability.IDLE in self.wanted:
                self._idle = None
                await self._check_idle()
        except Exception as exc:
            self._task_failed(exc)

    # -- lock ---------------------------------------------------------------------------
    def _on_active_changed(self, active: bool) -> None:
        self._report_lock(bool(active), self._now())
        if not active and Capability.IDLE in self.wanted and not self._stopping:
            # Someone just unlocked: they are back now, no need to wait for the
            # once-a-minute question.
            self._schedule_idle_check(0)

    def _report_lock(self, locked: bool, at: datetime, force: bool = False) -> None:
        if Capability.LOCK not in self.wanted or self._stopping:
            return
        if force or locked != self._locked:
            self._locked = locked
            self.sink.lock_changed(self.name, locked, at)

    # -- idle ---------------------------------------------------------------------------
    async def _check_idle(self) -> None:
        """Ask for the idle time, report a change, and schedule the next question."""
        self._cancel_timer()
        if Capability.IDLE not in self.wanted or self._iface is None:
            return
        threshold = self.idle_after.total_seconds()
        try:
            raw = await asyncio.wait_for(
                self._iface.call_get_session_idle_time(), self._timeout
            )
        except BaseException:
            if not self._stopping:  # try again later; a dead bus is noticed elsewhere
                self._schedule_idle_check(self.recheck_interval)
            raise
        now = self._now()
        idle_for = max(0.0, int(raw) * self.idle_unit)
        last_input = now - timedelta(seconds=idle_for)
        if idle_for >= threshold:
            self._report_idle(True, last_input)
            self._schedule_idle_check(self.recheck_interval)
        else:
            self._report_idle(False, last_input)
            self._schedule_idle_check(threshold - idle_for)

    def _report_idle(self, idle: bool, at: datetime) -> None:
        """Both edges are dated at the latest input: idle began then, and a return
        is at the latest (the only input time the screensaver tells)."""
        if self._stopping:
            return
        if self._idle is None and not idle:
            at = self._now()  # the first report: present since now, not since the input
        if idle != self._idle:
            self._idle = idle
            self.sink.idle_changed(self.name, idle, at)

    def _schedule_idle_check(self, delay: float) -> None:
        if self._stopping or self.health is Health.FAILED:
            return
        self._cancel_timer()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(max(delay, MIN_DELAY), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if not self._stopping:
            self._tasks.spawn(self._check_idle())

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- failure ------------------------------------------------------------------------
    def _lost(self, reason: str) -> None:
        self._cancel_timer()  # no more questions on a lost connection
        super()._lost(reason)
