"""Idle from GNOME's compositor: Mutter's ``org.gnome.Mutter.IdleMonitor``.

On GNOME (Wayland or X11) mutter sees every input event, so its idle monitor is the
most precise idle source there is, and it pushes: nothing here polls.

How the two kinds of watch are used (mutter 43, verified against a headless mutter):

* ``AddIdleWatch(idle_after)`` is *persistent*: it fires every time the idle time
  crosses the threshold, so it is added once at start and removed at stop. It fires
  exactly ``idle_after`` after the last input, so the idle start is back-dated by
  the threshold. It also fires at once when added while the session is already
  idle, which is why the initial state comes from ``GetIdletime`` *before* the
  watch is added (that answer knows since when, the early fire does not).
* ``AddUserActiveWatch()`` is *one-shot*: it fires on the next input. It is armed
  each time the person becomes idle; its firing is the return. Input that slips in
  between the idle fire and the arming is caught by one ``GetIdletime`` right after.

Ordering. ``WatchFired`` is a unicast signal from mutter, and dbus-fast runs signal
handlers as messages arrive but resumes a coroutine awaiting a reply later, so a
fire can be *handled* before the answer to a question that mutter sent earlier (or
a fire's id before the ``Add*Watch`` reply that names it). Mutter numbers every
message it sends, so each fire and each ``GetIdletime`` answer is applied only when
its serial is newer than everything applied so far; fires of ids not known yet are
kept with their serial until the reply arrives.

Mutter removes a client's watches when the client leaves the bus, and its watches
die with it: when mutter leaves the bus (or is replaced) the source fails and the
manager restarts it, which adds fresh watches.

Introspection XML is embedded (static): it saves a round trip at every start, the
replies are checked against it, and the members used here have been stable since
GNOME 3.10.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any, ClassVar

from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusError
from dbus_fast.introspection import Node

from nudged.activity.base import Capability, Health, Probe, Session
from nudged.activity.dbus import (
    DBUS_NAME,
    BusSource,
    bus_reply,
    error_text,
    get_name_owner,
    match_name_owner_changed,
    name_has_owner,
)
from nudged.errors import NudgedError

__all__ = [
    "IDLE_MONITOR",
    "IDLE_MONITOR_PATH",
    "IDLE_MONITOR_XML",
    "MutterIdleSource",
    "MutterUnavailable",
    "bus_reply",
]

IDLE_MONITOR = "org.gnome.Mutter.IdleMonitor"
IDLE_MONITOR_PATH = "/org/gnome/Mutter/IdleMonitor/Core"
IDLE_MONITOR_IFACE = "org.gnome.Mutter.IdleMonitor"

IDLE_MONITOR_XML = """<node>
  <interface name="org.gnome.Mutter.IdleMonitor">
    <method name="GetIdletime">
      <arg name="idletime" type="t" direction="out"/>
    </method>
    <method name="AddIdleWatch">
      <arg name="interval" type="t" direction="in"/>
      <arg name="id" type="u" direction="out"/>
    </method>
    <method name="AddUserActiveWatch">
      <arg name="id" type="u" direction="out"/>
    </method>
    <method name="RemoveWatch">
      <arg name="id" type="u" direction="in"/>
    </method>
    <signal name="WatchFired">
      <arg name="id" type="u"/>
    </signal>
  </interface>
</node>"""

_IDLE_MONITOR_NODE = Node.parse(IDLE_MONITOR_XML)
#: Reply signatures by method, from the XML above: every reply is checked.
_OUT_SIGNATURES: dict[str, str] = {
    method.name: method.out_signature
    for interface in _IDLE_MONITOR_NODE.interfaces
    for method in interface.methods
}

#: How long stop() waits for each RemoveWatch; mutter drops our watches anyway when
#: we disconnect, so this is courtesy, not correctness.
REMOVE_TIMEOUT = 1.0


class MutterUnavailable(NudgedError):
    """Mutter's idle monitor cannot be used here; the message says why."""


class MutterIdleSource(BusSource):
    """IDLE from mutter's idle monitor: back-dated idle starts, instant returns."""

    name: ClassVar[str] = "mutter"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.IDLE})
    #: The compositor itself sees every input event: the best idle source on GNOME.
    priority: ClassVar[int] = 10
    bus_type: ClassVar[BusType] = BusType.SESSION
    peer: ClassVar[str] = IDLE_MONITOR
    unavailable: ClassVar[type[NudgedError]] = MutterUnavailable
    question_failed: ClassVar[str] = "mutter idle question failed"

    def _init_state(self) -> None:
        self._owner: str | None = None  # mutter's unique name while we run
        self._idle_watch: int | None = None
        self._active_watch: int | None = None
        self._arming = False
        #: Add*Watch calls in flight, and fires (id -> serial) of ids not known yet.
        self._adding = 0
        self._early: dict[int, int] = {}
        #: Add*Watch calls whose caller was cancelled: stop() removes their watches.
        self._orphans: list[asyncio.Future[Message]] = []
        #: Serial of the newest mutter message whose news was applied (see module doc).
        self._applied = 0
        self._idle: bool | None = None
        self._idle_at: datetime | None = None

    @property
    def threshold_ms(self) -> int:
        """``idle_after`` in mutter's unit; mutter refuses an interval of 0."""
        return max(1, round(self.idle_after.total_seconds() * 1000))

    # -- probe --------------------------------------------------------------------------
    @classmethod
    async def _probe_bus(cls, bus: MessageBus, where: str, session: Session) -> Probe:
        try:
            if not await name_has_owner(bus, IDLE_MONITOR):
                return Probe.no(
                    f"no mutter on {where} ({IDLE_MONITOR} has no owner; "
                    "only GNOME's compositor offers it)"
                )
        except Exception as exc:
            return Probe.no(f"the session bus did not answer at {where}: {error_text(exc)}")
        return Probe.yes(f"{IDLE_MONITOR} on {where}")

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        self._applied = 0  # serials are per connection
        self._idle = self._idle_at = None
        self._early.clear()
        await super().start()

    async def _start_on(self, bus: MessageBus, where: str) -> str:
        # Watch the owner before asking for it: no change can slip in between.
        handler = self._on_message
        bus.add_message_handler(handler)
        self._unwatch = lambda: bus.remove_message_handler(handler)
        # Hear when mutter leaves the bus *or* another process takes the name over:
        # either way our watches are gone. (WatchFired is unicast: no rule needed.)
        await match_name_owner_changed(bus, IDLE_MONITOR, self._timeout)
        self._owner = await get_name_owner(bus, IDLE_MONITOR, self._timeout)
        if self._owner is None:
            raise MutterUnavailable(f"no mutter on {where} ({IDLE_MONITOR} has no owner)")
        # The state first (it knows since when), then the watch (see module doc).
        await self._report_state(force=True)
        reply = await self._add_watch("AddIdleWatch", "t", [self.threshold_ms])
        self._idle_watch = reply
        self._replay_early(reply)
        return f"{IDLE_MONITOR} ({self._owner})"

    async def _release(self) -> None:
        """Remove our watches (courtesy: mutter drops them when we disconnect)."""
        bus = self._bus
        watches = [w for w in (self._idle_watch, self._active_watch) if w is not None]
        self._idle_watch = self._active_watch = None
        orphans, self._orphans = self._orphans, []
        if bus is not None and bus.connected and self.health is not Health.FAILED:
            for call in orphans:
                with contextlib.suppress(Exception):
                    reply = await asyncio.wait_for(asyncio.shield(call), REMOVE_TIMEOUT)
                    watches.append(int(reply.body[0]))
            for watch in watches:
                with contextlib.suppress(Exception):
                    await self._call("RemoveWatch", "u", [watch], REMOVE_TIMEOUT)
        self._early.clear()

    async def refresh(self) -> None:
        """Ask mutter for the idle time afresh and report it even if unchanged."""
        await self._report_state(force=True)

    # -- calls --------------------------------------------------------------------------
    async def _call(
        self, member: str, signature: str = "", body: list[Any] | None = None,
        timeout: float | None = None,
    ) -> Message:
        """One IdleMonitor call; the raw reply, whose serial orders it among the fires."""
        bus = self._bus
        if bus is None:
            raise MutterUnavailable("not connected")
        reply = await bus_reply(
            bus,
            Message(
                destination=IDLE_MONITOR,
                path=IDLE_MONITOR_PATH,
                interface=IDLE_MONITOR_IFACE,
                member=member,
                signature=signature,
                body=body or [],
            ),
            self._timeout if timeout is None else timeout,
        )
        expected = _OUT_SIGNATURES[member]
        if reply.signature != expected:
            raise DBusError(
                "org.freedesktop.DBus.Error.InvalidSignature",
                f"{member} answered {reply.signature!r}, expected {expected!r}",
            )
        return reply

    async def _add_watch(self, member: str, signature: str = "",
                         body: list[Any] | None = None) -> int:
        """Add a watch while recording fires of not-yet-known ids.

        The call runs shielded: if we are cancelled (stop) before the reply, the
        call is kept so stop() can still remove the watch once its id arrives.
        """
        self._adding += 1
        call = asyncio.ensure_future(self._call(member, signature, body))
        call.add_done_callback(_retrieve)
        try:
            reply = await asyncio.shield(call)
        except asyncio.CancelledError:
            self._orphans.append(call)
            raise
        finally:
            self._adding -= 1
        return int(reply.body[0])

    def _replay_early(self, watch: int) -> None:
        """A fire of ``watch`` handled before we knew its id: apply it now."""
        serial = self._early.pop(watch, None)
        if not self._adding:
            self._early.clear()
        if serial is not None:
            self._on_watch_fired(watch, serial)

    # -- events -------------------------------------------------------------------------
    def _newer(self, serial: int) -> bool:
        """Is this message's news newer than all applied so far? (Marks it applied.)"""
        if serial <= self._applied:
            return False
        self._applied = serial
        return True

    def _on_message(self, msg: Message) -> None:
        if msg.message_type != MessageType.SIGNAL:
            return
        if (
            msg.member == "WatchFired"
            and msg.interface == IDLE_MONITOR_IFACE
            and msg.path == IDLE_MONITOR_PATH
            and msg.sender == self._owner
            and msg.signature == "u"
        ):
            self._on_watch_fired(int(msg.body[0]), msg.serial)
        elif (
            msg.member == "NameOwnerChanged"
            and msg.interface == DBUS_NAME
            and msg.sender == DBUS_NAME
            and msg.body
            and msg.body[0] == IDLE_MONITOR
            and self._owner is not None
            and msg.body[2] != self._owner
        ):
            new = msg.body[2]
            self._lost(
                f"mutter was replaced on the session bus ({IDLE_MONITOR} now {new})"
                if new
                else f"mutter left the session bus ({IDLE_MONITOR} has no owner)"
            )

    def _on_watch_fired(self, watch: int, serial: int) -> None:
        if self._stopping or self.health is Health.FAILED:
            return
        if watch == self._idle_watch:
            if self._newer(serial):
                # The watch fires exactly idle_after after the last input.
                self._became_idle(self._now() - self.idle_after)
        elif watch == self._active_watch:
            self._active_watch = None  # one-shot: mutter has already dropped it
            if self._newer(serial):
                self._report_idle(False, self._now())
        elif self._adding:
            self._early[watch] = serial

    def _became_idle(self, at: datetime, force: bool = False) -> None:
        """Report idle since ``at`` and arm the one-shot watch for the return."""
        self._report_idle(True, at, force)
        if self._active_watch is None and not self._arming and not self._stopping:
            self._tasks.spawn(self._arm_active_watch())

    async def _arm_active_watch(self) -> None:
        """One-shot watch for the return; then catch input that came before it."""
        self._arming = True
        try:
            watch = await self._add_watch("AddUserActiveWatch")
        finally:
            self._arming = False
        if self._stopping:
            return
        self._active_watch = watch
        self._replay_early(watch)
        if self._active_watch == watch:
            # Input between the idle fire and this watch would only be noticed at the
            # next input; one question per idle period closes that gap. (A watch left
            # armed after a return is still valid: it fires at the next input.)
            await self._report_state(force=False)

    # -- reporting ----------------------------------------------------------------------
    async def _report_state(self, force: bool) -> None:
        reply = await self._call("GetIdletime")
        idle_ms = int(reply.body[0])
        if not self._newer(reply.serial):
            # A fire sent after this answer was handled already: it is the newer news.
            if force and self._idle is not None and self._idle_at is not None:
                self._report_idle(self._idle, self._idle_at, force=True)
            return
        now = self._now()
        if idle_ms >= self.threshold_ms:
            self._became_idle(now - timedelta(milliseconds=idle_ms), force)
        else:
            # A return we learn of by asking happened at the last input; a first
            # report of presence is simply "present now".
            at = now - timedelta(milliseconds=idle_ms) if self._idle else now
            self._report_idle(False, at, force)

    def _report_idle(self, idle: bool, at: datetime, force: bool = False) -> None:
        if Capability.IDLE not in self.wanted or self._stopping:
            return
        if force or idle != self._idle:
            self._idle = idle
            self._idle_at = at
            self.sink.idle_changed(self.name, idle, at)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a background call's outcome as seen (asyncio warns about unseen errors)."""
    if not future.cancelled():
        future.exception()
