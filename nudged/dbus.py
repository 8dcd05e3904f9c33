"""Small D-Bus helpers on top of dbus-fast, for nudged and for plugins.

Public API (``nudged.dbus.__all__``): what a plugin that watches the desktop over
D-Bus needs and should not write again. Every call has a timeout, so a hung peer
is an error and never a hang; closing never raises. The daemon's own session bus
connection is ``await ctx.desktop.session_bus()``; :func:`connect_bus` is for a
connection of a plugin's own (a bus monitor, say).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusError

__all__ = [
    "CALL_TIMEOUT",
    "DBUS_NAME",
    "DBUS_PATH",
    "PROPERTIES_IFACE",
    "TaskGroup",
    "ask_bus",
    "bus_call",
    "bus_reply",
    "close_bus",
    "connect_bus",
    "error_text",
    "match_rule",
    "name_owner",
    "session_address",
]

#: How long one D-Bus round trip may take before we call the peer unresponsive.
CALL_TIMEOUT = 5.0

DBUS_NAME = "org.freedesktop.DBus"
DBUS_PATH = "/org/freedesktop/DBus"
PROPERTIES_IFACE = "org.freedesktop.DBus.Properties"


def session_address(environ: Mapping[str, str] = os.environ) -> str | None:
    """The session bus address: ``DBUS_SESSION_BUS_ADDRESS``, else the systemd user
    bus at ``$XDG_RUNTIME_DIR/bus`` if it is there, else None."""
    address = environ.get("DBUS_SESSION_BUS_ADDRESS")
    if address:
        return address
    runtime_dir = environ.get("XDG_RUNTIME_DIR")
    if runtime_dir and os.path.exists(f"{runtime_dir}/bus"):
        return f"unix:path={runtime_dir}/bus"
    return None


async def connect_bus(bus_type: BusType, address: str | None,
                      timeout: float = CALL_TIMEOUT) -> MessageBus:
    """Connect and authenticate within ``timeout``; raises OSError/TimeoutError/...

    ``address`` None means dbus-fast's default for ``bus_type``. A failed (or
    cancelled) ``connect()`` closes its own socket in dbus-fast 5.
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


async def bus_reply(bus: MessageBus, message: Message, timeout: float = CALL_TIMEOUT) -> Message:
    """Send a method call; the reply message itself (DBusError on an error reply)."""
    reply = await asyncio.wait_for(bus.call(message), timeout)
    if reply is None:
        raise DBusError("org.freedesktop.DBus.Error.NoReply", "no reply")
    if reply.message_type == MessageType.ERROR:
        text = reply.body[0] if reply.body else ""
        raise DBusError(reply.error_name or "org.freedesktop.DBus.Error.Failed", str(text))
    return reply


async def bus_call(bus: MessageBus, message: Message, timeout: float = CALL_TIMEOUT) -> Any:
    """Send a method call; return the reply's body, raise DBusError on an error reply."""
    return (await bus_reply(bus, message, timeout)).body


def ask_bus(member: str, *body: Any, signature: str = "s") -> Message:
    """A call of the bus daemon itself (``AddMatch``, ``GetNameOwner``, ...)."""
    return Message(destination=DBUS_NAME, path=DBUS_PATH, interface=DBUS_NAME,
                   member=member, signature=signature, body=list(body))


def match_rule(**keys: str) -> str:
    """``type='signal',sender='...'``: a match rule from its keys, in order."""
    return ",".join(f"{key}='{value}'" for key, value in keys.items())


async def name_owner(bus: MessageBus, name: str, timeout: float = CALL_TIMEOUT) -> str | None:
    """The unique name that owns ``name`` now, or None if nobody does."""
    try:
        reply = await bus_reply(bus, ask_bus("GetNameOwner", name), timeout)
    except DBusError:
        return None  # org.freedesktop.DBus.Error.NameHasNoOwner
    return str(reply.body[0]) or None


def error_text(exc: BaseException) -> str:
    """One line for a log: the D-Bus error name and text, or what went wrong."""
    if isinstance(exc, DBusError):
        return f"{exc.type}: {exc.text}"
    if isinstance(exc, TimeoutError):
        return "no answer within the timeout"
    return str(exc) or type(exc).__name__


class TaskGroup:
    """Background questions of one watcher: kept referenced, failures handed to
    ``on_error`` (never raised into the event loop), cancelled together on stop."""

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
