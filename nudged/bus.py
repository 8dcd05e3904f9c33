"""The control interface on the session bus, and the client the CLI uses.

The daemon owns ``io.github.nudged.Daemon`` on the person's session bus and exports
``io.github.nudged.Daemon1`` at ``/io/github/nudged/Daemon`` (docs/control.md has
the introspection XML). Only the person's own session bus can reach it: nothing
listens on TCP. Every method is a thin shell over :class:`nudged.control.Control`;
rich answers travel as ``a{sv}`` dictionaries (``None`` values are left out).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import structlog
from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusBool, DBusSignature, DBusStr, DBusUInt32, DBusUInt64
from dbus_fast.constants import NameFlag, PropertyAccess, RequestNameReply
from dbus_fast.errors import DBusError
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property, dbus_signal

from nudged.control import Control, ControlError
from nudged.dbus import session_address
from nudged.errors import NudgedError

log = structlog.get_logger("nudged.bus")

BUS_NAME = "io.github.nudged.Daemon"
OBJECT_PATH = "/io/github/nudged/Daemon"
INTERFACE = "io.github.nudged.Daemon1"
ERROR_PREFIX = "io.github.nudged.Error."
CALL_TIMEOUT = 5.0

Dict = Annotated[dict[str, Variant], DBusSignature("a{sv}")]
DictList = Annotated[list[dict[str, Variant]], DBusSignature("aa{sv}")]


# -- JSON-like values <-> D-Bus variants ------------------------------------------------
def to_variant(value: Any) -> Variant:
    """A JSON-like value as a variant: dicts as ``a{sv}`` (``None`` entries left out),
    lists of dicts as ``aa{sv}``, lists of strings as ``as``, other lists as ``av``."""
    if isinstance(value, bool):
        return Variant("b", value)
    if isinstance(value, int):
        return Variant("x", value)
    if isinstance(value, float):
        return Variant("d", value)
    if isinstance(value, str):
        return Variant("s", value)
    if isinstance(value, Mapping):
        return Variant("a{sv}", to_dict(value))
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, Mapping) for v in value):
            return Variant("aa{sv}", [to_dict(v) for v in value])
        if all(isinstance(v, str) for v in value):
            return Variant("as", list(value))
        return Variant("av", [to_variant(v) for v in value])
    raise TypeError(f"cannot send {type(value).__name__} over D-Bus")


def to_dict(mapping: Mapping[str, Any]) -> dict[str, Variant]:
    return {str(k): to_variant(v) for k, v in mapping.items() if v is not None}


def from_variant(value: Any) -> Any:
    """Unwrap variants (recursively) into plain Python values."""
    if isinstance(value, Variant):
        return from_variant(value.value)
    if isinstance(value, dict):
        return {k: from_variant(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_variant(v) for v in value]
    return value


# -- the service --------------------------------------------------------------------------
class ControlInterface(ServiceInterface):
    """``io.github.nudged.Daemon1``."""

    def __init__(self, control: Control) -> None:
        super().__init__(INTERFACE)
        self.control = control
        self._last: tuple[str, str] | None = None
        control.on_change.append(self.announce)

    def _do(self, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except ControlError as exc:
            raise DBusError(ERROR_PREFIX + exc.kind, str(exc)) from None

    @dbus_method()
    def Status(self) -> Dict:  # D-Bus member names are CamelCase
        return to_dict(self._do(self.control.status))

    @dbus_method()
    def Pause(self, seconds: DBusUInt64) -> DBusStr:
        until: datetime = self._do(self.control.pause, float(seconds))
        return until.isoformat(timespec="seconds")

    @dbus_method()
    def Resume(self) -> DBusBool:
        return bool(self._do(self.control.resume))

    @dbus_method()
    def Snooze(self, nudge: DBusStr, seconds: DBusUInt64) -> DBusStr:
        until: datetime = self._do(self.control.snooze, nudge, float(seconds))
        return until.isoformat(timespec="seconds")

    @dbus_method()
    def Trigger(self, nudge: DBusStr, force: DBusBool) -> DBusStr:
        return str(self._do(self.control.trigger, nudge, bool(force)))

    @dbus_method()
    def Upcoming(self, count: DBusUInt32) -> DictList:
        items = self._do(self.control.upcoming, max(1, min(int(count), 100)))
        return [to_dict(item.as_json()) for item in items]

    @dbus_property(access=PropertyAccess.READ)
    def State(self) -> DBusStr:
        return self._state()[0]

    @dbus_property(access=PropertyAccess.READ)
    def PausedUntil(self) -> DBusStr:
        """ISO 8601, or an empty string while running."""
        return self._state()[1]

    @dbus_signal()
    def StatusChanged(self) -> Annotated[list[str], DBusSignature("ss")]:
        """Sent when the state or a plugin's status changes: (state, paused_until)."""
        return list(self._state())

    def _state(self) -> tuple[str, str]:
        try:
            state, until = self.control.state()
        except ControlError:
            return "starting", ""
        return state, until.isoformat(timespec="seconds") if until else ""

    def announce(self) -> None:
        """Signal listeners (status bars) that something changed."""
        now = self._state()
        self.StatusChanged()
        if now != self._last:
            self.emit_properties_changed({"State": now[0], "PausedUntil": now[1]})
        self._last = now


class ControlService:
    """Owns the bus name and exports the interface for as long as the daemon runs."""

    def __init__(self, control: Control) -> None:
        self.interface = ControlInterface(control)
        self.bus: MessageBus | None = None

    async def start(self, bus: MessageBus) -> None:
        """Export and take the name. Raises :class:`AlreadyRunning` if another daemon
        has it: two daemons would show every nudge twice."""
        bus.export(OBJECT_PATH, self.interface)
        reply = await asyncio.wait_for(
            bus.request_name(BUS_NAME, NameFlag.DO_NOT_QUEUE), CALL_TIMEOUT)
        if reply not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
            bus.unexport(OBJECT_PATH, self.interface)
            pid = await _owner_pid(bus)
            raise AlreadyRunning(
                "already running on this session"
                + (f" (pid {pid})" if pid else "") + "; `nudged status` shows it")
        self.bus = bus
        log.info("control interface ready", name=BUS_NAME)

    async def stop(self) -> None:
        bus, self.bus = self.bus, None
        if bus is None or not bus.connected:
            return
        bus.unexport(OBJECT_PATH, self.interface)
        try:
            await asyncio.wait_for(bus.release_name(BUS_NAME), 1.0)
        except Exception as exc:  # stopping anyway
            log.debug("could not release the bus name", error=f"{type(exc).__name__}: {exc}")


class AlreadyRunning(NudgedError):
    pass


async def _owner_pid(bus: MessageBus) -> int | None:
    try:
        reply = await asyncio.wait_for(bus.call(Message(
            destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
            interface="org.freedesktop.DBus", member="GetConnectionUnixProcessID",
            signature="s", body=[BUS_NAME])), CALL_TIMEOUT)
    except Exception:
        return None
    if reply is None or reply.message_type != MessageType.METHOD_RETURN:
        return None
    return int(reply.body[0])


# -- the client ---------------------------------------------------------------------------
class NotRunning(NudgedError):
    """No daemon to ask; the message says so in one line."""

    exit_code = 3  # as `systemctl is-active` says "inactive"


class Refused(NudgedError):
    """The daemon said no (an unknown nudge, a pause too long), in one sentence."""

    exit_code = 2


NOT_RUNNING = "not running (start it with `systemctl --user start nudged` or `nudged run`)"


async def call(member: str, signature: str = "", body: list[Any] | None = None, *,
               environ: Mapping[str, str] = os.environ, timeout: float = CALL_TIMEOUT) -> Any:
    """Call one method of the running daemon; the reply's values, unwrapped."""
    address = session_address(environ)
    if address is None:
        raise NotRunning("not running here: there is no session bus to reach it on")
    bus = MessageBus(bus_address=address)
    try:
        try:
            await asyncio.wait_for(bus.connect(), timeout)
        except (OSError, TimeoutError, DBusError) as exc:
            raise NotRunning(f"{NOT_RUNNING}; the session bus at {address} did not answer "
                             f"({type(exc).__name__})") from None
        reply = await asyncio.wait_for(bus.call(Message(
            destination=BUS_NAME, path=OBJECT_PATH, interface=INTERFACE, member=member,
            signature=signature, body=body or [])), timeout)
    except TimeoutError:
        raise NotRunning("no answer within "
                         f"{timeout:g} seconds; is it stuck? `journalctl --user -u nudged`") \
            from None
    finally:
        if bus.connected:
            bus.disconnect()
    if reply is None:
        raise NotRunning(NOT_RUNNING)
    if reply.message_type == MessageType.ERROR:
        name = reply.error_name or ""
        text = str(reply.body[0]) if reply.body else name
        if name in ("org.freedesktop.DBus.Error.ServiceUnknown",
                    "org.freedesktop.DBus.Error.NameHasNoOwner"):
            raise NotRunning(NOT_RUNNING)
        if name.startswith(ERROR_PREFIX):
            raise Refused(text)
        raise NotRunning(f"could not answer: {text}")
    values = [from_variant(v) for v in reply.body]
    return values[0] if len(values) == 1 else values
