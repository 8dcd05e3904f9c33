"""The notification server's own do-not-disturb: dunst, KDE's ``Inhibited``, mako.

Whoever owns ``org.freedesktop.Notifications`` is asked, when it appears, what it
offers at ``/org/freedesktop/Notifications`` (and mako at ``/fr/emersion/Mako``):

* dunst: the property ``paused`` (b) of ``org.dunstproject.cmd0``. dunst 1.9 sends
  the new value in ``PropertiesChanged`` (checked against the real one in the tests);
  a server that only invalidates it is asked with ``Get``.
* KDE Plasma, or any server that has it: the property ``Inhibited`` (b) of
  ``org.freedesktop.Notifications``, with ``PropertiesChanged``.
* mako: ``ListModes`` of ``fr.emersion.Mako``. mako (1.7) has no property and no
  signal for its modes; they change only through its ``SetModes`` / ``SetMode`` calls
  (what ``makoctl mode`` sends) or a restart. So a connection of the plugin's own
  becomes a bus monitor (``BecomeMonitor``, which dbus-daemon and dbus-broker allow
  the session's own user) for just those two calls, and each one it sees makes the
  plugin ask mako for its modes again. A monitor only listens: every call it sees is
  claimed unanswered, so dbus-fast never replies to a call meant for mako. Where the
  bus refuses a monitor, mako's modes are not used (said once in the log).

When the server leaves the bus (it quit or crashed), whatever it said goes with it:
do-not-disturb is off, and a new owner is asked afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from nudged.dbus import (
    DBUS_NAME,
    DBUS_PATH,
    PROPERTIES_IFACE,
    TaskGroup,
    ask_bus,
    bus_call,
    close_bus,
    connect_bus,
    error_text,
    match_rule,
    name_owner,
    session_address,
)

__all__ = ["ServerWatch"]

NOTIFICATIONS = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
DUNST_IFACE = "org.dunstproject.cmd0"
MAKO_PATH = "/fr/emersion/Mako"
MAKO_IFACE = "fr.emersion.Mako"
#: One question to the server; its answers are quick, and startup waits for them.
ASK_TIMEOUT = 1.0

Report = Callable[[str, str | None], None]


#: PropertiesChanged of whoever owns the notification server's name.
PROPERTIES_RULE = match_rule(type="signal", sender=NOTIFICATIONS, path=NOTIFICATIONS_PATH,
                             interface=PROPERTIES_IFACE, member="PropertiesChanged")
#: The notification server's name changing hands (a crash, a restart, another server).
OWNER_RULE = match_rule(type="signal", sender=DBUS_NAME, interface=DBUS_NAME,
                        member="NameOwnerChanged", arg0=NOTIFICATIONS)
#: The calls that change mako's modes, as a monitor sees them.
MAKO_CALL_RULES = [match_rule(type="method_call", interface=MAKO_IFACE, member=member)
                   for member in ("SetModes", "SetMode")]


class Rereader:
    """Runs ``read`` after each :meth:`poke`, one read at a time: a change heard while
    a read is under way is read once more afterwards, so the last answer is the newest."""

    def __init__(self, tasks: TaskGroup, read: Callable[[], Any]) -> None:
        self.tasks = tasks
        self.read = read
        self._again = False
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        self._again = True
        if self._task is None or self._task.done():
            self._task = self.tasks.spawn(self._run())

    async def _run(self) -> None:
        while self._again:
            self._again = False
            await self.read()


class ServerWatch:
    """dunst's pause, the ``Inhibited`` property and mako's modes, on the shared bus."""

    def __init__(self, bus: MessageBus, environ: Mapping[str, str], wanted: frozenset[str],
                 mako_modes: tuple[str, ...], report: Report, log: Any,
                 tasks: TaskGroup) -> None:
        self.bus = bus
        self.environ = environ
        self.wanted = wanted
        self.mako_modes = mako_modes
        self.report = report
        self.log = log
        self.tasks = tasks
        #: The unique name of the notification server now (None: there is none).
        self.owner: str | None = None
        #: What the present owner offers, of the wanted sources.
        self.offers: set[str] = set()
        self._rules: list[str] = []
        self._monitor: MessageBus | None = None
        self._monitor_refused = False
        self._dunst = Rereader(tasks, lambda: self._read_property("dunst"))
        self._inhibited = Rereader(tasks, lambda: self._read_property("notifications"))
        self._mako = Rereader(tasks, self._read_mako)

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> bool:
        self.bus.add_message_handler(self._on_message)
        for rule in (OWNER_RULE, PROPERTIES_RULE):
            await bus_call(self.bus, ask_bus("AddMatch", rule), ASK_TIMEOUT)
            self._rules.append(rule)
        # The rules are in: from here on no change of owner or property is missed.
        await self._adopt(await name_owner(self.bus, NOTIFICATIONS, ASK_TIMEOUT))
        return True

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.bus.remove_message_handler(self._on_message)
        await self._stop_monitor()
        rules, self._rules = self._rules, []
        if self.bus.connected:
            await asyncio.gather(*(bus_call(self.bus, ask_bus("RemoveMatch", rule), 0.3)
                                   for rule in rules), return_exceptions=True)

    # -- a new notification server ------------------------------------------------------
    async def _adopt(self, owner: str | None) -> None:
        """Ask the server that now owns the name what it offers, and its state."""
        self.owner = owner
        self.offers = set()
        if owner is None:
            self.log.debug("no notification server on the bus yet")
            return
        probes = []
        if "dunst" in self.wanted:
            probes.append(self._probe("dunst", self._read_property("dunst", probing=True)))
        if "notifications" in self.wanted:
            probes.append(self._probe("notifications",
                                      self._read_property("notifications", probing=True)))
        if "mako" in self.wanted:
            probes.append(self._probe("mako", self._probe_mako()))
        await asyncio.gather(*probes)

    async def _replace(self, owner: str) -> None:
        await self._stop_monitor()  # watched the old server's calls; asked again below
        if self.owner == owner:
            await self._adopt(owner)

    async def _probe(self, source: str, probe: Any) -> None:
        owner = self.owner
        try:
            await probe
        except Exception as exc:
            if self.owner == owner:
                self.log.debug("do-not-disturb source not offered", source=source,
                               server=owner, reason=error_text(exc))
            return
        if self.owner == owner:
            self.offers.add(source)
            self.log.info("watching do-not-disturb", source=source, server=owner)

    def _gone(self) -> None:
        """The server left or was replaced: what it said no longer holds."""
        self.offers = set()
        for source in ("dunst", "notifications", "mako"):
            self.report(source, None)

    # -- dunst's paused, the Inhibited property -----------------------------------------
    async def _read_property(self, source: str, probing: bool = False) -> None:
        owner = self.owner
        if owner is None:
            return
        iface, name = (DUNST_IFACE, "paused") if source == "dunst" else (NOTIFICATIONS,
                                                                           "Inhibited")
        try:
            body = await bus_call(self.bus, Message(
                destination=owner, path=NOTIFICATIONS_PATH, interface=PROPERTIES_IFACE,
                member="Get", signature="ss", body=[iface, name]), ASK_TIMEOUT)
        except Exception:
            if probing:
                raise
            if self.owner == owner:  # it stopped answering: treat as off
                self.report(source, None)
            raise
        if self.owner == owner:
            self._set_flag(source, body[0])

    def _set_flag(self, source: str, value: Any) -> None:
        on = bool(value.value if isinstance(value, Variant) else value)
        reason = ("dunst is paused" if source == "dunst"
                  else "the notification server is inhibited")
        self.report(source, reason if on else None)

    def _properties_changed(self, msg: Message) -> None:
        iface, changed, invalidated = msg.body[0], msg.body[1], msg.body[2]
        if iface == DUNST_IFACE and "dunst" in self.wanted:
            source, name, again = "dunst", "paused", self._dunst
        elif iface == NOTIFICATIONS and "notifications" in self.wanted:
            source, name, again = "notifications", "Inhibited", self._inhibited
        else:
            return
        if name in changed:
            self.offers.add(source)
            self._set_flag(source, changed[name])
        elif name in invalidated:
            again.poke()

    # -- mako's modes -------------------------------------------------------------------
    async def _list_modes(self, owner: str) -> list[str]:
        body = await bus_call(self.bus, Message(
            destination=owner, path=MAKO_PATH, interface=MAKO_IFACE, member="ListModes"),
            ASK_TIMEOUT)
        return [str(mode) for mode in body[0]]

    async def _probe_mako(self) -> None:
        owner = self.owner
        assert owner is not None
        await self._list_modes(owner)  # raises when the server is not mako
        if self.owner != owner:
            return
        if not await self._start_monitor():
            raise RuntimeError("the bus does not allow watching mako's mode changes")
        await self._read_mako()  # again, now that no change can be missed

    async def _read_mako(self) -> None:
        owner = self.owner
        if owner is None:
            return
        try:
            modes = await self._list_modes(owner)
        except Exception:
            if self.owner == owner:
                self.report("mako", None)
            raise
        if self.owner != owner:
            return
        dnd = [mode for mode in modes if mode in self.mako_modes]
        self.report("mako", f"mako is in the {dnd[0]} mode" if dnd else None)

    async def _start_monitor(self) -> bool:
        if self._monitor is not None:
            return True
        if self._monitor_refused:
            return False
        try:
            monitor = await connect_bus(BusType.SESSION, session_address(self.environ), ASK_TIMEOUT)
        except Exception as exc:
            self._refused(exc)
            return False
        # A monitor must never send: claim every call it sees, so none is answered.
        monitor.add_message_handler(self._on_monitored)
        try:
            await bus_call(monitor, Message(
                destination=DBUS_NAME, path=DBUS_PATH,
                interface="org.freedesktop.DBus.Monitoring", member="BecomeMonitor",
                signature="asu", body=[MAKO_CALL_RULES, 0]), ASK_TIMEOUT)
        except Exception as exc:
            await close_bus(monitor, 0.3)
            self._refused(exc)
            return False
        self._monitor = monitor
        self.tasks.spawn(self._monitor_lost(monitor))
        return True

    def _refused(self, exc: BaseException) -> None:
        self._monitor_refused = True
        self.log.info("mako's modes cannot be watched on this bus; they are not used",
                      error=error_text(exc))

    def _on_monitored(self, msg: Message) -> bool | None:
        if msg.message_type != MessageType.METHOD_CALL:
            return None  # the reply to BecomeMonitor, the bus's signals
        if msg.interface == MAKO_IFACE and msg.member in ("SetModes", "SetMode"):
            self._mako.poke()
        return True  # claimed: dbus-fast must not answer a call meant for mako

    async def _monitor_lost(self, monitor: MessageBus) -> None:
        with contextlib.suppress(Exception):
            await asyncio.shield(monitor.wait_for_disconnect())
        if self._monitor is monitor:
            self._monitor = None
            self.report("mako", None)

    async def _stop_monitor(self) -> None:
        monitor, self._monitor = self._monitor, None
        await close_bus(monitor, 0.3)

    # -- signals on the shared bus ------------------------------------------------------
    def _on_message(self, msg: Message) -> None:
        """Every message of the shared connection passes here; returns None, so the
        daemon's other handlers see them too."""
        if msg.message_type != MessageType.SIGNAL:
            return
        if (msg.member == "NameOwnerChanged" and msg.sender == DBUS_NAME
                and msg.interface == DBUS_NAME and msg.body and msg.body[0] == NOTIFICATIONS):
            new_owner = msg.body[2] or None
            if new_owner == self.owner:
                return
            self._gone()
            if new_owner is None:
                self.owner = None
                self.log.info("the notification server left the bus")
                self.tasks.spawn(self._stop_monitor())
                return
            self.owner = new_owner  # set now: answers about the old one are dropped
            self.tasks.spawn(self._replace(new_owner))
            return
        if (msg.member == "PropertiesChanged" and msg.interface == PROPERTIES_IFACE
                and msg.path == NOTIFICATIONS_PATH and msg.sender == self.owner
                and self.owner is not None and len(msg.body) == 3):
            self._properties_changed(msg)
