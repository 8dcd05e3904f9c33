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

The small D-Bus helpers at the top (connect with a timeout, ``NameHasOwner``,
watch a name vanish or the connection drop) are shared with
:mod:`nudged.activity.screensaver`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, cast

import structlog
from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusError
from dbus_fast.introspection import Node

from nudged.activity.base import (
    ActivitySink,
    ActivitySource,
    Capability,
    Health,
    Probe,
    Session,
)
from nudged.errors import NudgedError

log = structlog.get_logger("nudged.activity.logind")

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

#: How long one D-Bus round trip may take before we call the peer unresponsive.
CALL_TIMEOUT = 5.0
#: A whole probe (connect, ask, disconnect). Below the manager's 2 s probe timeout,
#: so our own, more helpful reason is the one people see.
PROBE_TIMEOUT = 1.5

DBUS_NAME = "org.freedesktop.DBus"
DBUS_PATH = "/org/freedesktop/DBus"
PROPERTIES_IFACE = "org.freedesktop.DBus.Properties"

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


def utcnow() -> datetime:
    return datetime.now(UTC)


def bus_address(session: Session, bus_type: BusType) -> str | None:
    """The address from the session's environment, else None (dbus-fast's default).

    The session's environ is what the daemon was started with (and what tests
    inject); dbus-fast itself would read ``os.environ``.
    """
    var = "DBUS_SYSTEM_BUS_ADDRESS" if bus_type is BusType.SYSTEM else "DBUS_SESSION_BUS_ADDRESS"
    return session.environ.get(var) or os.environ.get(var) or None


def describe_bus(bus_type: BusType, address: str | None) -> str:
    which = "system" if bus_type is BusType.SYSTEM else "session"
    return f"the {which} bus" + (f" at {address}" if address else "")


async def connect_bus(
    bus_type: BusType, address: str | None, timeout: float = CALL_TIMEOUT
) -> MessageBus:
    """Connect and authenticate within ``timeout``; raises OSError/TimeoutError/...

    A failed (or cancelled) ``connect()`` closes its own socket in dbus-fast 5.
    """
    bus = MessageBus(bus_address=address, bus_type=bus_type)
    await asyncio.wait_for(bus.connect(), timeout)
    return bus


async def close_bus(bus: MessageBus | None, timeout: float = 1.0) -> None:
    """Disconnect and wait (briefly) until the transport is closed. Never raises."""
    if bus is None or bus.unique_name is None:  # never connected: nothing to close
        return
    with contextlib.suppress(Exception):
        bus.disconnect()
    with contextlib.suppress(Exception):  # not BaseException: keep cancellation
        # Shielded: a timeout must not cancel the future other waiters share.
        await asyncio.wait_for(asyncio.shield(bus.wait_for_disconnect()), timeout)


async def bus_call(bus: MessageBus, message: Message, timeout: float = CALL_TIMEOUT) -> Any:
    """Send a method call; return the reply's body, raise DBusError on an error reply."""
    reply = await asyncio.wait_for(bus.call(message), timeout)
    if reply is None:
        raise DBusError("org.freedesktop.DBus.Error.NoReply", "no reply")
    if reply.message_type == MessageType.ERROR:
        text = reply.body[0] if reply.body else ""
        raise DBusError(reply.error_name or "org.freedesktop.DBus.Error.Failed", str(text))
    return reply.body


async def name_has_owner(bus: MessageBus, name: str, timeout: float = CALL_TIMEOUT) -> bool:
    body = await bus_call(
        bus,
        Message(
            destination=DBUS_NAME,
            path=DBUS_PATH,
            interface=DBUS_NAME,
            member="NameHasOwner",
            signature="s",
            body=[name],
        ),
        timeout,
    )
    return bool(body[0])


async def watch_name_vanishing(
    bus: MessageBus, name: str, on_vanished: Callable[[], None], timeout: float = CALL_TIMEOUT
) -> Callable[[], None]:
    """Call ``on_vanished`` when ``name`` loses its owner; returns an unsubscribe.

    The match rule is awaited, so once this returns no vanishing can be missed.
    """

    def handler(msg: Message) -> None:
        if (
            msg.message_type == MessageType.SIGNAL
            and msg.member == "NameOwnerChanged"
            and msg.interface == DBUS_NAME
            and msg.sender == DBUS_NAME
            and msg.body
            and msg.body[0] == name
            and not msg.body[2]
        ):
            on_vanished()

    bus.add_message_handler(handler)
    rule = (
        f"type='signal',sender='{DBUS_NAME}',interface='{DBUS_NAME}',"
        f"member='NameOwnerChanged',arg0='{name}'"
    )
    await bus_call(
        bus,
        Message(
            destination=DBUS_NAME,
            path=DBUS_PATH,
            interface=DBUS_NAME,
            member="AddMatch",
            signature="s",
            body=[rule],
        ),
        timeout,
    )
    return lambda: bus.remove_message_handler(handler)


async def probe_within(timeout: float, what: str, probe: Coroutine[Any, Any, Probe]) -> Probe:
    """Run a probe under one deadline, so a hung peer is a reason, not a hang."""
    try:
        return await asyncio.wait_for(probe, timeout)
    except TimeoutError:
        return Probe.no(f"{what} did not answer within {timeout:g}s")


class TaskGroup:
    """Background tasks of one source: kept referenced, logged, cancelled on stop."""

    def __init__(self, owner: str, on_error: Callable[[BaseException], None]) -> None:
        self.owner = owner
        self.on_error = on_error
        self.tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.on_error(exc)

    async def cancel_all(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in self.tasks if t is not current]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self.tasks.clear()


def error_text(exc: BaseException) -> str:
    if isinstance(exc, DBusError):
        return f"{exc.type}: {exc.text}"
    if isinstance(exc, TimeoutError):
        return "no answer within the timeout"
    return str(exc) or type(exc).__name__


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


class LogindSource(ActivitySource):
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

    def __init__(
        self,
        session: Session,
        sink: ActivitySink,
        idle_after: timedelta,
        wanted: frozenset[Capability] | None = None,
        *,
        now: Callable[[], datetime] = utcnow,
        call_timeout: float = CALL_TIMEOUT,
    ) -> None:
        super().__init__(session, sink, idle_after, wanted)
        self._now = now
        self._timeout = call_timeout
        self._bus: MessageBus | None = None
        self.session_path: str | None = None
        self._session_props: Any = None
        self._unwatch: Callable[[], None] | None = None
        self._locked: bool | None = None
        self._idle: bool | None = None
        self._stopping = False
        self._tasks = TaskGroup(self.name, self._task_failed)

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
    async def probe(cls, session: Session) -> Probe:
        address = bus_address(session, BusType.SYSTEM)
        where = describe_bus(BusType.SYSTEM, address)
        return await probe_within(
            PROBE_TIMEOUT, f"logind on {where}", cls._probe(address, where, session)
        )

    @classmethod
    async def _probe(cls, address: str | None, where: str, session: Session) -> Probe:
        try:
            bus = await connect_bus(BusType.SYSTEM, address)
        except Exception as exc:
            return Probe.no(f"cannot reach {where}: {error_text(exc)}")
        try:
            if not await name_has_owner(bus, LOGIN1):
                return Probe.no(
                    f"no logind on {where} ({LOGIN1} has no owner; "
                    "is systemd-logind or elogind running?)"
                )
            path, tried = await find_session(bus, session.environ)
            if path is None:
                return Probe.no("logind knows no session for nudged: " + "; ".join(tried))
            return Probe.yes(f"logind session {path}")
        except Exception as exc:
            return Probe.no(f"logind did not answer on {where}: {error_text(exc)}")
        finally:
            await close_bus(bus)

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        self._stopping = False
        address = bus_address(self.session, BusType.SYSTEM)
        where = describe_bus(BusType.SYSTEM, address)
        try:
            self._bus = await connect_bus(BusType.SYSTEM, address, self._timeout)
        except Exception as exc:
            raise LogindUnavailable(f"cannot reach {where}: {error_text(exc)}") from exc
        bus = self._bus
        try:
            self._unwatch = await watch_name_vanishing(
                bus, LOGIN1, lambda: self._lost("logind left the system bus"), self._timeout
            )
            if not await name_has_owner(bus, LOGIN1, self._timeout):
                raise LogindUnavailable(f"no logind on {where} ({LOGIN1} has no owner)")
            path, tried = await find_session(bus, self.session.environ, self._timeout)
            if path is None:
                raise LogindUnavailable(
                    "logind knows no session for nudged: " + "; ".join(tried)
                )
            self.session_path = path
            self._subscribe(bus, path)
            # The first query is also the barrier for the AddMatch calls the
            # subscriptions sent: once it answers, no change can slip through.
            await self._report_state(force=True)
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, LogindUnavailable | asyncio.CancelledError):
                raise
            raise LogindUnavailable(f"logind on {where}: {error_text(exc)}") from exc
        self._tasks.spawn(self._watch_connection(bus))
        self.health = Health.RUNNING
        self.reason = f"session {path}"

    async def stop(self) -> None:
        self._stopping = True
        await self._tasks.cancel_all()
        if self._unwatch is not None:
            with contextlib.suppress(Exception):
                self._unwatch()
            self._unwatch = None
        bus, self._bus = self._bus, None
        await close_bus(bus)
        self._session_props = None
        if self.health is Health.RUNNING:
            self.health = Health.STOPPED

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
        self.sink.sleep_changed(self.name, False, now)
        # After a resume the lock and idle state may have changed while we slept
        # (and presence assumes "not idle" on resume): ask afresh.
        self._tasks.spawn(self._report_state(force=True))

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
    async def _report_state(self, force: bool) -> None:
        props = self._session_props
        if props is None:
            return
        values = await asyncio.wait_for(props.call_get_all(SESSION_IFACE), self._timeout)
        now = self._now()
        if "LockedHint" in values:
            self._report_lock(bool(_plain(values["LockedHint"])), now, force)
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

    # -- failure ------------------------------------------------------------------------
    async def _watch_connection(self, bus: MessageBus) -> None:
        try:
            # Shielded: cancelling this watcher must not cancel dbus-fast's own
            # disconnect future, which close_bus() awaits afterwards.
            await asyncio.shield(bus.wait_for_disconnect())
            reason = "the system bus connection closed"
        except Exception as exc:
            reason = f"lost the system bus connection: {error_text(exc)}"
        self._lost(reason)

    def _lost(self, reason: str) -> None:
        if self._stopping or self.health is Health.FAILED:
            return
        log.warning("activity source lost", source=self.name, reason=reason)
        self.fail(reason)
        if self._bus is not None:  # free the connection now; stop() stays safe
            with contextlib.suppress(Exception):
                self._bus.disconnect()

    def _task_failed(self, exc: BaseException) -> None:
        if self._stopping:
            return
        if self._bus is None or not self._bus.connected:
            self._lost("lost the system bus connection")
            return
        # One failed re-query (logind busy, a timeout) is not worth a restart:
        # the next signal brings the state again.
        log.warning("logind re-query failed", error=error_text(exc))
