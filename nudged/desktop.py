"""Desktop connections the daemon shares with plugins that watch the desktop.

Built-in filters (do-not-disturb, for one) and third-party plugins need the
person's session bus; opening one connection per plugin would cost a socket and
an authentication each. :class:`Desktop` opens the session bus on first use and
hands the same connection to everyone; the daemon's control interface lives on
it too. A plugin gets it as ``ctx.desktop`` (``None`` in previews and tests
without a desktop) and must remove the match rules and handlers it added when it
shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from dbus_fast.aio import MessageBus

log = structlog.get_logger("nudged.desktop")
CONNECT_TIMEOUT = 3.0

__all__ = ["Desktop", "NotificationServer"]

#: Notification servers known to show fewer action buttons than a nudge may offer.
#: GNOME Shell shows three; the freedesktop spec has no way to ask.
FEW_BUTTONS = {"gnome-shell": 3}


@dataclass(frozen=True)
class NotificationServer:
    """Who shows the person's notifications (``GetServerInformation``) and what it
    says it can do (``GetCapabilities``: "actions", "body", "inline-reply", ...)."""

    name: str
    vendor: str
    version: str
    capabilities: frozenset[str]

    def shows_buttons(self, count: int) -> bool:
        """Whether a notification with ``count`` buttons shows all of them."""
        if "actions" not in self.capabilities:
            return False
        return count <= FEW_BUTTONS.get(self.name.lower(), count)


class Desktop:
    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self.environ = environ
        self._bus: MessageBus | None = None
        self._connecting: asyncio.Task[MessageBus | None] | None = None
        self._closed = False

    async def session_bus(self) -> MessageBus | None:
        """The session bus, connected once and shared; ``None`` without one.

        The address comes from the daemon's environment
        (``DBUS_SESSION_BUS_ADDRESS``); a failure is logged once and answered with
        ``None`` from then on, so callers can simply skip what needs the bus.
        """
        if self._closed:
            return None
        if self._bus is not None and self._bus.connected:
            return self._bus
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
        return await asyncio.shield(self._connecting)

    async def _connect(self) -> MessageBus | None:
        from dbus_fast import BusType
        from dbus_fast.aio import MessageBus

        from nudged.dbus import session_address

        address = session_address(self.environ)
        if address is None:
            log.info("no session bus: do-not-disturb and the control interface are off")
            return None
        bus = MessageBus(bus_address=address, bus_type=BusType.SESSION)
        try:
            await asyncio.wait_for(bus.connect(), CONNECT_TIMEOUT)
        except Exception as exc:
            log.warning("cannot connect to the session bus", address=address,
                        error=f"{type(exc).__name__}: {exc}")
            return None
        self._bus = bus
        return bus

    async def notification_server(self) -> NotificationServer | None:
        """The notification server on the session bus now, or ``None`` (no bus, no
        server, or no answer within a second)."""
        from dbus_fast import Message

        from nudged.dbus import bus_call

        bus = await self.session_bus()
        if bus is None:
            return None

        def ask(member: str) -> Message:
            return Message(destination="org.freedesktop.Notifications",
                           path="/org/freedesktop/Notifications",
                           interface="org.freedesktop.Notifications", member=member)

        try:
            name, vendor, version, _spec = await bus_call(bus, ask("GetServerInformation"), 1.0)
            capabilities = await bus_call(bus, ask("GetCapabilities"), 1.0)
        except Exception as exc:
            log.info("no notification server answered", error=f"{type(exc).__name__}: {exc}")
            return None
        return NotificationServer(str(name), str(vendor), str(version),
                                  frozenset(str(c) for c in capabilities[0]))

    async def close(self) -> None:
        """Disconnect (the daemon calls this last, after every plugin stopped)."""
        self._closed = True
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        bus, self._bus = self._bus, None
        if bus is not None and bus.connected:
            with contextlib.suppress(Exception):
                bus.disconnect()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(bus.wait_for_disconnect()), 1.0)
