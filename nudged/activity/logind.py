"""Lock, sleep and (as a last resort) idle from systemd-logind on the system bus.

logind is the one source that exists on every systemd (and elogind) desktop, X11 or
Wayland, whatever the compositor: it knows when the machine is about to sleep
(``PrepareForSleep``) and holds a per-session ``LockedHint`` and ``IdleHint`` that
desktops keep up to date. That makes it the preferred source for LOCK and SLEEP and
the fallback of last resort for IDLE: the idle hint follows the desktop's own idle
delay (GNOME: the "blank screen" delay), not ours, and some desktops never set it.

Everything arrives as signals; nothing is polled. Introspection XML is embedded
(static): it saves a round trip at start, and python-dbusmock's logind template
does not list ``PrepareForSleep`` in its introspection, so a client that asked
would never subscribe to it.

The D-Bus helpers it used to host live in :mod:`nudged.activity.dbus`; the names
are still importable from here.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, cast

from dbus_fast import BusType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusError
from dbus_fast.introspection import Node

from nudged.activity.base import Capability, Health, Probe, Session
from nudged.activity.common import utcnow
from nudged.activity.dbus import (
    CALL_TIMEOUT,
    PROPERTIES_IFACE,
    BusSource,
    TaskGroup,
    bus_address,
    bus_call,
    close_bus,
    connect_bus,
    describe_bus,
    error_text,
    name_has_owner,
    probe_within,
    watch_name_vanishing,
)
from nudged.activity.dbus import DBUS_NAME as DBUS_NAME
from nudged.activity.dbus import DBUS_PATH as DBUS_PATH
from nudged.activity.dbus import PROBE_TIMEOUT as PROBE_TIMEOUT
from nudged.errors import NudgedError

#: The D-Bus helpers (and utcnow) lived here first: they stay importable from here.
__all__ = [
    "LogindSource",
    "LogindUnavailable",
    "TaskGroup",
    "bus_address",
    "bus_call",
    "close_bus",
    "connect_bus",
    "describe_bus",
    "error_text",
    "find_session",
    "name_has_owner",
    "probe_within",
    "utcnow",
    "watch_name_vanishing",
]

LOGIN1 = "org.freedesktop.login1"
MANAGER_PATH = "/org/freedesktop/login1"
MANAGER_IFACE = "org.freedesktop.login1.Manager"
SESSION_IFACE = "org.freedesktop.login1.Session"
USER_IFACE = "org.freedesktop.login1.User"

_PROPERTIES_XML = """
  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get">
      <arg name="interface_name" type="s" direction="in"/>
      <arg name="property_name" type="s" direction="in"/>
      <arg name="value" type="v" direction="out"/>
    </method>
    <method name="GetAll">
      <arg name="interface_name" type="s" direction="in"/>
      <arg name="props" type="a{sv}" direction="out"/>
    </method>
    <signal name="PropertiesChanged">
      <arg name="interface_name" type="s"/>
      <arg name="changed_properties" type="a{sv}"/>
      <arg name="invalidated_properties" type="as"/>
    </signal>
  </interface>
"""

#: Only the members nudged uses (logind has many more).
MANAGER_XML = """<node>
  <interface name="org.freedesktop.login1.Manager">
    <method name="GetUser">
      <arg name="uid" type="u" direction="in"/>
      <arg name="object_path" type="o" direction="out"/>
    </method>
    <method name="GetSession">
      <arg name="session_id" type="s" direction="in"/>
      <arg name="object_path" type="o" direction="out"/>
    </method>
    <method name="GetSessionByPID">
      <arg name="pid" type="u" direction="in"/>
      <arg name="object_path" type="o" direction="out"/>
    </method>
    <signal name="PrepareForSleep">
      <arg name="start" type="b"/>
    </signal>
  </interface>
</node>"""

SESSION_XML = f"""<node>
  <interface name="org.freedesktop.login1.Session">
    <property name="LockedHint" type="b" access="read"/>
    <property name="IdleHint" type="b" access="read"/>
    <property name="IdleSinceHint" type="t" access="read"/>
    <signal name="Lock"/>
    <signal name="Unlock"/>
  </interface>{_PROPERTIES_XML}</node>"""

USER_XML = f"""<node>
  <interface name="org.freedesktop.login1.User">
    <property name="Display" type="(so)" access="read"/>
  </interface>{_PROPERTIES_XML}</node>"""

_MANAGER_NODE = Node.parse(MANAGER_XML)
_SESSION_NODE = Node.parse(SESSION_XML)
_USER_NODE = Node.parse(USER_XML)


class LogindUnavailable(NudgedError):
    """logind cannot be used here; the message says why, for the status output."""


# --------------------------------------------------------------------------- helpers


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _usec_to_datetime(usec: int, now: datetime) -> datetime:
    """logind's CLOCK_REALTIME microseconds; 0 (unknown) or a future value -> ``now``."""
    if usec <= 0:
        return now
    at = _EPOCH + timedelta(microseconds=usec)  # exact, unlike a float timestamp
    return min(at, now)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Variant) else value


# --------------------------------------------------------------------------- session


async def find_session(
    bus: MessageBus, environ: Mapping[str, str], timeout: float = CALL_TIMEOUT
) -> tuple[str | None, list[str]]:
    """The object path of our display session, and what was tried when there is none.

    Order matters. ``User.Display`` first: nudged runs as a systemd user service,
    outside any session scope, so ``GetSessionByPID`` fails for it (it works when
    started from a terminal in the session). ``XDG_SESSION_ID`` last: user services
    usually do not have it.
    """
    tried: list[str] = []
    manager = cast(
        Any, bus.get_proxy_object(LOGIN1, MANAGER_PATH, _MANAGER_NODE).get_interface(MANAGER_IFACE)
    )

    uid = os.getuid()
    try:
        user_path = await asyncio.wait_for(manager.call_get_user(uid), timeout)
        user = cast(
            Any, bus.get_proxy_object(LOGIN1, user_path, _USER_NODE).get_interface(PROPERTIES_IFACE)
        )
        display = _plain(await asyncio.wait_for(user.call_get(USER_IFACE, "Display"), timeout))
        path = str(display[1]) if display and len(display) > 1 else ""
        if path and path != "/":
            return path, tried
        tried.append(f"user {uid} has no display session")
    except (DBusError, TimeoutError, TypeError, ValueError, IndexError) as exc:
        tried.append(f"GetUser({uid}): {error_text(exc)}")

    pid = os.getpid()
    try:
        return str(await asyncio.wait_for(manager.call_get_session_by_pid(pid), timeout)), tried
    except (DBusError, TimeoutError) as exc:
        tried.append(f"GetSessionByPID({pid}): {error_text(exc)}")

    session_id = environ.get("XDG_SESSION_ID", "")
    if not session_id:
        tried.append("XDG_SESSION_ID is not set")
        return None, tried
    try:
        return str(await asyncio.wait_for(manager.call_get_session(session_id), timeout)), tried
    except (DBusError, TimeoutError) as exc:
        tried.append(f"GetSession({session_id!r}): {error_text(exc)}")
    return None, tried


# --------------------------------------------------------------------------- source


class LogindSource(BusSource):
    """LOCK and SLEEP from logind (preferred everywhere); IDLE from its idle hint.

    Reports, as the person lives them:

    * screen locked / unlocked: the session's ``LockedHint`` (PropertiesChanged),
      and the session's ``Lock``/``Unlock`` signals, which some setups send without
      ever touching the hint (``loginctl lock-session`` with xss-lock);
    * suspend / resume: ``PrepareForSleep(true)`` -> asleep; ``(false)`` -> awake,
      then lock and idle are queried afresh and re-reported even if unchanged,
      because signals can be lost across a suspend and presence resets idle on
      resume;
    * idle: ``IdleHint`` with ``IdleSinceHint`` as the time it began (back-dated).

    Only changes are reported after the first report. Connection loss, or logind
    leaving the bus, makes the source FAILED (the manager restarts it with backoff).
    """

    name: ClassVar[str] = "logind"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.LOCK, Capability.SLEEP, Capability.IDLE}
    )
    priority: ClassVar[int] = 10
    #: Per capability: the idle hint follows the desktop's own delay and is missing
    #: on many desktops, so it is the last resort for IDLE.
    priorities: ClassVar[Mapping[Capability, int]] = {
        Capability.LOCK: 10,
        Capability.SLEEP: 10,
        Capability.IDLE: 90,
    }
    bus_type: ClassVar[BusType] = BusType.SYSTEM
    peer: ClassVar[str] = "logind"
    unavailable: ClassVar[type[NudgedError]] = LogindUnavailable
    question_failed: ClassVar[str] = "logind re-query failed"

    def _init_state(self) -> None:
        self.session_path: str | None = None
        self._session_props: Any = None
        self._locked: bool | None = None
        self._idle: bool | None = None

    @property
    def wanted(self) -> frozenset[Capability]:
        return self._wanted

    @wanted.setter
    def wanted(self, caps: frozenset[Capability]) -> None:
        """The manager may hand us a capability while we run (another source
        failed): report its current state then, as reports are only of changes."""
        added = caps - getattr(self, "_wanted", caps)
        self._wanted = caps
        if added and getattr(self, "health", None) is Health.RUNNING:
            self._tasks.spawn(self._report_state(force=True))

    # -- probe --------------------------------------------------------------------------
    @classmethod
    async def _probe_bus(cls, bus: MessageBus, where: str, session: Session) -> Probe:
        if not await name_has_owner(bus, LOGIN1):
            return Probe.no(
                f"no logind on {where} ({LOGIN1} has no owner; "
                "is systemd-logind or elogind running?)"
            )
        path, tried = await find_session(bus, session.environ)
        if path is None:
            return Probe.no("logind knows no session for nudged: " + "; ".join(tried))
        return Probe.yes(f"logind session {path}")

    # -- lifecycle ----------------------------------------------------------------------
    async def _start_on(self, bus: MessageBus, where: str) -> str:
        self._unwatch = await watch_name_vanishing(
            bus, LOGIN1, lambda: self._lost("logind left the system bus"), self._timeout
        )
        if not await name_has_owner(bus, LOGIN1, self._timeout):
            raise LogindUnavailable(f"no logind on {where} ({LOGIN1} has no owner)")
        path, tried = await find_session(bus, self.session.environ, self._timeout)
        if path is None:
            raise LogindUnavailable("logind knows no session for nudged: " + "; ".join(tried))
        self.session_path = path
        self._subscribe(bus, path)
        # The first query is also the barrier for the AddMatch calls the
        # subscriptions sent: once it answers, no change can slip through.
        await self._report_state(force=True)
        return f"session {path}"

    async def _release(self) -> None:
        self._session_props = None

    async def refresh(self) -> None:
        """Query lock and idle afresh and report them even if unchanged.

        Never raises: the manager fires it and forgets it after every resume.
        """
        if self._session_props is None or self._stopping:
            return
        try:
            await self._report_state(force=True)
        except Exception as exc:
            self._task_failed(exc)

    # -- subscriptions ------------------------------------------------------------------
    def _subscribe(self, bus: MessageBus, session_path: str) -> None:
        session_obj = bus.get_proxy_object(LOGIN1, session_path, _SESSION_NODE)
        props = cast(Any, session_obj.get_interface(PROPERTIES_IFACE))
        self._session_props = props
        # Subscribed whatever ``wanted`` is now (it may grow while we run); the
        # reports are filtered instead. Three match rules, no traffic when quiet.
        props.on_properties_changed(self._on_properties_changed)
        session_iface = cast(Any, session_obj.get_interface(SESSION_IFACE))
        session_iface.on_lock(self._on_lock)
        session_iface.on_unlock(self._on_unlock)
        manager = cast(
            Any,
            bus.get_proxy_object(LOGIN1, MANAGER_PATH, _MANAGER_NODE).get_interface(MANAGER_IFACE),
        )
        manager.on_prepare_for_sleep(self._on_prepare_for_sleep)

    def _on_lock(self) -> None:
        self._report_lock(True, self._now())

    def _on_unlock(self) -> None:
        self._report_lock(False, self._now())

    def _on_prepare_for_sleep(self, start: bool) -> None:
        if Capability.SLEEP not in self.wanted or self._stopping:
            return
        now = self._now()
        if start:
            self.sink.sleep_changed(self.name, True, now)
            return
        # After a resume the lock and idle state may have changed while we slept: ask
        # afresh, and report a lock *before* "awake", so that nothing is shown on a
        # lock screen for the moment in between. Idle comes after "awake", which
        # presence takes as input (someone opened the lid).
        self._tasks.spawn(self._report_state(force=True, resumed_at=now))

    def _on_properties_changed(
        self, interface: str, changed: dict[str, Variant], invalidated: list[str]
    ) -> None:
        if interface != SESSION_IFACE:
            return
        now = self._now()
        if "LockedHint" in changed:
            self._report_lock(bool(_plain(changed["LockedHint"])), now)
        if "IdleHint" in changed:
            idle = bool(_plain(changed["IdleHint"]))
            if "IdleSinceHint" in changed or not idle:
                since = int(_plain(changed.get("IdleSinceHint", Variant("t", 0))))
                self._report_idle(idle, since, now)
            else:  # logind sends all three together; a bare IdleHint needs the time
                self._tasks.spawn(self._report_state(force=False))
        if {"LockedHint", "IdleHint"} & set(invalidated):
            self._tasks.spawn(self._report_state(force=False))

    # -- reporting ----------------------------------------------------------------------
    async def _report_state(self, force: bool, resumed_at: datetime | None = None) -> None:
        props = self._session_props
        values: dict[str, Variant] = {}
        try:
            if props is not None:
                values = await asyncio.wait_for(props.call_get_all(SESSION_IFACE),
                                                self._timeout)
        finally:
            now = self._now()
            if "LockedHint" in values:
                self._report_lock(bool(_plain(values["LockedHint"])), now, force)
            if resumed_at is not None:
                self.sink.sleep_changed(self.name, False, resumed_at)
        if "IdleHint" in values:
            since = int(_plain(values.get("IdleSinceHint", Variant("t", 0))))
            self._report_idle(bool(_plain(values["IdleHint"])), since, now, force)

    def _report_lock(self, locked: bool, at: datetime, force: bool = False) -> None:
        if Capability.LOCK not in self.wanted or self._stopping:
            return
        if force or locked != self._locked:
            self._locked = locked
            self.sink.lock_changed(self.name, locked, at)

    def _report_idle(self, idle: bool, since_usec: int, now: datetime, force: bool = False) -> None:
        """Idle starts back-dated to ``IdleSinceHint``; a return is reported as now.

        ``IdleSinceHint`` is when the hint last changed. For a return we use the
        arrival time instead: it is only milliseconds late, and a stale hint (some
        desktops never update it) would otherwise erase the whole absence.
        """
        if Capability.IDLE not in self.wanted or self._stopping:
            return
        if force or idle != self._idle:
            self._idle = idle
            at = _usec_to_datetime(since_usec, now) if idle else now
            self.sink.idle_changed(self.name, idle, at)
