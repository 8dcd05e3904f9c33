"""The few D-Bus helpers the watches need, on top of dbus-fast.

nudged's own D-Bus sources have the like in ``nudged.activity.dbus``, which is not
public API; a built-in plugin uses only what a third-party one could (see
``tests/test_packaging.py``), so these few lines live here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusError

__all__ = [
    "DBUS_NAME",
    "DBUS_PATH",
    "PROPERTIES_IFACE",
    "Tasks",
    "ask_bus",
    "call",
    "close",
    "connect",
    "error_text",
    "match_rule",
    "name_owner",
]

DBUS_NAME = "org.freedesktop.DBus"
DBUS_PATH = "/org/freedesktop/DBus"
PROPERTIES_IFACE = "org.freedesktop.DBus.Properties"


def match_rule(**keys: str) -> str:
    """``type='signal',sender='...'``: a match rule from its keys, in order."""
    return ",".join(f"{key}='{value}'" for key, value in keys.items())


def ask_bus(member: str, *body: Any, signature: str = "s") -> Message:
    """A call of the bus itself (``AddMatch``, ``GetNameOwner``, ...)."""
    return Message(destination=DBUS_NAME, path=DBUS_PATH, interface=DBUS_NAME,
                   member=member, signature=signature, body=list(body))


async def call(bus: MessageBus, message: Message, timeout: float) -> list[Any]:
    """Send a method call; the reply's body. DBusError on an error reply, TimeoutError
    when there is none within ``timeout``."""
    reply = await asyncio.wait_for(bus.call(message), timeout)
    if reply is None:
        raise DBusError("org.freedesktop.DBus.Error.NoReply", "no reply")
    if reply.message_type == MessageType.ERROR:
        text = reply.body[0] if reply.body else ""
        raise DBusError(reply.error_name or "org.freedesktop.DBus.Error.Failed", str(text))
    return list(reply.body)


async def name_owner(bus: MessageBus, name: str, timeout: float) -> str | None:
    """The unique name that owns ``name`` now, or None if nobody does."""
    try:
        body = await call(bus, ask_bus("GetNameOwner", name), timeout)
    except DBusError:
        return None  # org.freedesktop.DBus.Error.NameHasNoOwner
    return str(body[0]) or None


async def connect(address: str | None, timeout: float) -> MessageBus:
    """A connection of our own to the session bus at ``address``."""
    bus = MessageBus(bus_address=address, bus_type=BusType.SESSION)
    await asyncio.wait_for(bus.connect(), timeout)
    return bus


async def close(bus: MessageBus | None, timeout: float) -> None:
    """Disconnect a connection of our own and wait (briefly) until it is closed."""
    if bus is None or bus.unique_name is None:
        return
    with contextlib.suppress(Exception):
        bus.disconnect()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.shield(bus.wait_for_disconnect()), timeout)


def error_text(exc: BaseException) -> str:
    if isinstance(exc, DBusError):
        return f"{exc.type}: {exc.text}"
    if isinstance(exc, TimeoutError):
        return "no answer within the timeout"
    return str(exc) or type(exc).__name__


class Tasks:
    """Background questions of the plugin: kept referenced, failures reported to
    ``on_error`` (never raised into the event loop), cancelled together at shutdown."""

    def __init__(self, on_error: Callable[[BaseException], None]) -> None:
        self.on_error = on_error
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.on_error(exc)

    async def cancel_all(self) -> None:
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()
