"""What the D-Bus sources (logind, mutter, screensaver) share.

The general helpers live in :mod:`nudged.dbus` (public, for plugins too) and are
re-exported here; this module adds ``NameHasOwner``, watching a name vanish, probes
under a deadline, and :class:`BusSource`: the life cycle all three follow. A
source connects its own bus in ``start`` (a probe connects and disconnects), asks
and subscribes, and from then on hears everything as signals. The connection
closing, or the peer leaving the bus, makes the source FAILED (the manager
restarts it with backoff); one failed question in the background does not.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import abstractmethod
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, ClassVar

import structlog
from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus

from nudged.activity.base import ActivitySink, ActivitySource, Capability, Health, Probe, Session
from nudged.activity.common import getenv, utcnow
from nudged.dbus import (
    CALL_TIMEOUT,
    DBUS_NAME,
    DBUS_PATH,
    PROPERTIES_IFACE,
    TaskGroup,
    ask_bus,
    bus_call,
    bus_reply,
    close_bus,
    connect_bus,
    error_text,
    match_rule,
)
from nudged.dbus import name_owner as get_name_owner
from nudged.errors import NudgedError

log = structlog.get_logger("nudged.activity.dbus")

__all__ = [
    "CALL_TIMEOUT",
    "DBUS_NAME",
    "DBUS_PATH",
    "PROBE_TIMEOUT",
    "PROPERTIES_IFACE",
    "BusSource",
    "TaskGroup",
    "bus_address",
    "bus_call",
    "bus_reply",
    "close_bus",
    "connect_bus",
    "describe_bus",
    "error_text",
    "get_name_owner",
    "match_name_owner_changed",
    "name_has_owner",
    "probe_within",
    "watch_name_vanishing",
]

#: A whole probe (connect, ask, disconnect). Below the manager's 2 s probe timeout,
#: so our own, more helpful reason is the one people see.
PROBE_TIMEOUT = 1.5

# --------------------------------------------------------------------------- helpers


def _which(bus_type: BusType) -> str:
    return "system" if bus_type is BusType.SYSTEM else "session"


def bus_address(session: Session, bus_type: BusType) -> str | None:
    """The address from the session's environment, else None (dbus-fast's default).

    The session's environ is what the daemon was started with (and what tests
    inject); dbus-fast itself would read ``os.environ``.
    """
    var = "DBUS_SYSTEM_BUS_ADDRESS" if bus_type is BusType.SYSTEM else "DBUS_SESSION_BUS_ADDRESS"
    return getenv(session, var)


def describe_bus(bus_type: BusType, address: str | None) -> str:
    return f"the {_which(bus_type)} bus" + (f" at {address}" if address else "")


async def name_has_owner(bus: MessageBus, name: str, timeout: float = CALL_TIMEOUT) -> bool:
    body = await bus_call(bus, ask_bus("NameHasOwner", name), timeout)
    return bool(body[0])


async def match_name_owner_changed(
    bus: MessageBus, name: str, timeout: float = CALL_TIMEOUT
) -> None:
    """Ask the bus for ``NameOwnerChanged`` of ``name``; returns once the rule is in."""
    rule = match_rule(type="signal", sender=DBUS_NAME, interface=DBUS_NAME,
                      member="NameOwnerChanged", arg0=name)
    await bus_call(bus, ask_bus("AddMatch", rule), timeout)


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
    await match_name_owner_changed(bus, name, timeout)
    return lambda: bus.remove_message_handler(handler)


async def probe_within(timeout: float, what: str, probe: Coroutine[Any, Any, Probe]) -> Probe:
    """Run a probe under one deadline, so a hung peer is a reason, not a hang."""
    try:
        return await asyncio.wait_for(probe, timeout)
    except TimeoutError:
        return Probe.no(f"{what} did not answer within {timeout:g}s")


# --------------------------------------------------------------------------- source


class BusSource(ActivitySource):
    """A source that talks to one peer over its own D-Bus connection.

    Subclasses say which bus and peer (``bus_type``, ``peer``, the exception that
    ``start`` raises, the log event of a failed background question) and implement
    :meth:`_probe_bus` (ask on a fresh connection, closed afterwards) and
    :meth:`_start_on` (subscribe and report the state once on our connection), and
    may add to ``stop`` with :meth:`_release`.
    """

    bus_type: ClassVar[BusType]
    #: Who we talk to, as reasons name it ("logind", a well-known bus name).
    peer: ClassVar[str]
    unavailable: ClassVar[type[NudgedError]]
    #: The log event of a failed question in the background.
    question_failed: ClassVar[str]

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
        #: Undoes the subscription that tells us the peer is gone.
        self._unwatch: Callable[[], None] | None = None
        self._stopping = False
        self._tasks = TaskGroup(self.name, self._task_failed)
        self._init_state()

    def _init_state(self) -> None:
        """A subclass's own attributes (what it knows of its peer), set up here rather
        than in an ``__init__`` of its own that would repeat this signature."""

    # -- probe --------------------------------------------------------------------------
    @classmethod
    async def probe(cls, session: Session) -> Probe:
        address = bus_address(session, cls.bus_type)
        where = describe_bus(cls.bus_type, address)
        return await probe_within(
            PROBE_TIMEOUT, f"{cls.peer} on {where}", cls._probe_at(address, where, session)
        )

    @classmethod
    async def _probe_at(cls, address: str | None, where: str, session: Session) -> Probe:
        try:
            bus = await connect_bus(cls.bus_type, address)
        except Exception as exc:
            return Probe.no(f"cannot reach {where}: {error_text(exc)}")
        try:
            return await cls._probe_bus(bus, where, session)
        except Exception as exc:
            return Probe.no(f"{cls.peer} did not answer on {where}: {error_text(exc)}")
        finally:
            await close_bus(bus)

    @classmethod
    @abstractmethod
    async def _probe_bus(cls, bus: MessageBus, where: str, session: Session) -> Probe:
        """Ask the peer on ``bus`` (``where``, for reasons) whether it can serve us."""

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        self._stopping = False
        address = bus_address(self.session, self.bus_type)
        where = describe_bus(self.bus_type, address)
        try:
            self._bus = await connect_bus(self.bus_type, address, self._timeout)
        except Exception as exc:
            raise self.unavailable(f"cannot reach {where}: {error_text(exc)}") from exc
        bus = self._bus
        try:
            reason = await self._start_on(bus, where)
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, (self.unavailable, asyncio.CancelledError)):
                raise
            raise self.unavailable(f"{self.peer} on {where}: {error_text(exc)}") from exc
        self._tasks.spawn(self._watch_connection(bus))
        self.health = Health.RUNNING
        self.reason = reason

    @abstractmethod
    async def _start_on(self, bus: MessageBus, where: str) -> str:
        """Subscribe on our connection and report the state once; the status reason.

        Raise ``unavailable`` with a reason; any other error is wrapped in it.
        """

    async def stop(self) -> None:
        self._stopping = True
        await self._tasks.cancel_all()
        await self._release()
        if self._unwatch is not None:
            with contextlib.suppress(Exception):
                self._unwatch()
            self._unwatch = None
        bus, self._bus = self._bus, None
        await close_bus(bus)
        if self.health is Health.RUNNING:
            self.health = Health.STOPPED

    async def _release(self) -> None:
        """What the source lets go of in ``stop`` while its connection is still open."""

    # -- failure ------------------------------------------------------------------------
    async def _watch_connection(self, bus: MessageBus) -> None:
        which = _which(self.bus_type)
        try:
            # Shielded: cancelling this watcher (stop) must not cancel dbus-fast's own
            # disconnect future, which close_bus() awaits afterwards.
            await asyncio.shield(bus.wait_for_disconnect())
            reason = f"the {which} bus connection closed"
        except Exception as exc:
            reason = f"lost the {which} bus connection: {error_text(exc)}"
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
            self._lost(f"lost the {_which(self.bus_type)} bus connection")
            return
        # One failed question (the peer busy, a timeout) is not worth a restart: the
        # next signal brings the state again.
        log.warning(self.question_failed, error=error_text(exc))
