"""Focus on GNOME: the focused window from nudged's own GNOME Shell extension.

Under Wayland only the compositor knows which window has the focus, and GNOME
Shell offers no interface for it that an ordinary program may use. nudged ships a
small extension (``nudged/data/gnome-shell/``, installed by ``nudged
gnome-extension install``) that owns ``io.github.nudged.Focus`` on the session bus
and offers exactly the focused window's title, WM class / app id and pid:
``GetFocus()`` once, then the signal ``FocusChanged`` on every focus change and on
every title change of the focused window (a browser tab switch changes only the
title). Nothing polls, on either side.

Probe: the name is on the bus. When it is not, the probe's reason says exactly what
to do, from what GNOME Shell itself says about the extension
(``org.gnome.Shell.Extensions.GetExtensionInfo``): not installed, installed but not
loaded yet (GNOME on Wayland loads a new extension only at login), switched off,
refused as out of date by an unknown shell version, or failed with an error.

The extension leaving the bus (switched off, GNOME Shell crashed or restarted)
makes the source FAILED; the manager restarts it with backoff and meanwhile
total screen time goes on (idle comes from Mutter's idle monitor).

Ordering: as in :mod:`nudged.activity.mutter`, a signal can be handled before the
reply to a question sent earlier, so each answer and each signal is applied only
if its serial is newer than everything applied so far.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Mapping
from typing import Any, ClassVar

from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusError

from nudged.activity.base import (
    Capability,
    Focus,
    Health,
    Probe,
    Session,
    SessionType,
)
from nudged.activity.common import LastFocus
from nudged.activity.dbus import (
    CALL_TIMEOUT,
    DBUS_NAME,
    PROPERTIES_IFACE,
    BusSource,
    ask_bus,
    bus_call,
    bus_reply,
    get_name_owner,
    match_name_owner_changed,
    match_rule,
    name_has_owner,
)
from nudged.errors import NudgedError
from nudged.gnome import FOCUS_INTERFACE, FOCUS_NAME, FOCUS_PATH, UUID, installed_dir

__all__ = [
    "FOCUS_INTERFACE",
    "FOCUS_NAME",
    "FOCUS_PATH",
    "GnomeShellFocusSource",
    "GnomeShellUnavailable",
    "focus_from",
    "why_missing",
]

SHELL_NAME = "org.gnome.Shell"
SHELL_PATH = "/org/gnome/Shell"
EXTENSIONS_IFACE = "org.gnome.Shell.Extensions"

#: ``state`` in ``GetExtensionInfo`` (GNOME Shell's ExtensionState).
ENABLED, DISABLED, ERROR, OUT_OF_DATE, DOWNLOADING, INITIALIZED = 1, 2, 3, 4, 5, 6
DISABLING, ENABLING = 7, 8  # GNOME 45 and later

INSTALL = "run `nudged gnome-extension install`, then log out and back in"
AT_LOGIN = "GNOME on Wayland loads a new extension only at login"
SIGNATURE = "sssi"


class GnomeShellUnavailable(NudgedError):
    """nudged's GNOME Shell extension cannot be used; the message says what to do."""


def focus_from(body: list[Any], titles: bool = True) -> Focus | None:
    """A ``(title, wm_class, app_id, pid)`` from the extension as a Focus (None: no window).

    The app is the WM class (on Wayland mutter gives the xdg-shell app id there;
    for XWayland windows the X11 class, as the X11 source reports it), else the
    sandboxed or GTK application id.
    """
    title, wm_class, app_id, pid = (str(body[0]), str(body[1]), str(body[2]), int(body[3]))
    app = wm_class or app_id
    if not app and not title and pid <= 0:
        return None
    return Focus(app=app, title=title if titles else "", pid=pid if pid > 0 else None)


def _environ(session: Session) -> Mapping[str, str]:
    return collections.ChainMap(dict(session.environ), dict(os.environ))


def _on_gnome(session: Session) -> bool:
    return "gnome" in session.desktop.split(":")


async def extension_info(bus: MessageBus, timeout: float = CALL_TIMEOUT) -> dict[str, Any]:
    """What GNOME Shell says about nudged's extension ({} when it does not know it)."""
    body = await bus_call(bus, Message(
        destination=SHELL_NAME, path=SHELL_PATH, interface=EXTENSIONS_IFACE,
        member="GetExtensionInfo", signature="s", body=[UUID]), timeout)
    info = body[0] if body and isinstance(body[0], dict) else {}
    return {key: getattr(value, "value", value) for key, value in info.items()}


async def _user_extensions_enabled(bus: MessageBus, timeout: float) -> bool:
    try:
        body = await bus_call(bus, Message(
            destination=SHELL_NAME, path=SHELL_PATH, interface=PROPERTIES_IFACE,
            member="Get", signature="ss", body=[EXTENSIONS_IFACE, "UserExtensionsEnabled"]),
            timeout)
        return bool(getattr(body[0], "value", True))
    except Exception:
        return True  # cannot tell: do not blame the switch


async def why_missing(bus: MessageBus, session: Session,
                      timeout: float = CALL_TIMEOUT) -> str:
    """Why ``io.github.nudged.Focus`` is not on the bus, and exactly what to do."""
    shell = await name_has_owner(bus, SHELL_NAME, timeout)
    if not shell and not _on_gnome(session):
        return ("not a GNOME Shell session (nudged's GNOME Shell extension tells the focus "
                "on GNOME only)")
    on_disk = installed_dir(_environ(session)).is_dir()
    info: dict[str, Any] = {}
    if shell:
        try:
            info = await extension_info(bus, timeout)
        except Exception:
            info = {}  # an old or busy shell: judge from the disk alone
    state = int(info.get("state", 0) or 0)
    if not info or state == 0:
        if on_disk:
            return (f"nudged's GNOME Shell extension is installed but GNOME Shell has not "
                    f"loaded it yet: log out and back in ({AT_LOGIN})")
        return f"nudged's GNOME Shell extension is not installed: {INSTALL} ({AT_LOGIN})"
    error = str(info.get("error", "") or "").strip()
    if state == ERROR:
        return (f"nudged's GNOME Shell extension failed in GNOME Shell"
                f"{': ' + error if error else ''}; {INSTALL}")
    if state == OUT_OF_DATE:
        return ("GNOME Shell refuses nudged's extension as made for another version: "
                f"{INSTALL} (it writes the format for this GNOME)")
    if state in (DISABLED, INITIALIZED, DISABLING):
        if not await _user_extensions_enabled(bus, timeout):
            return ("extensions are switched off for your account, nudged's too: switch "
                    "them on in the Extensions app")
        return ("nudged's GNOME Shell extension is switched off: run "
                f"`gnome-extensions enable {UUID}`")
    if state == ENABLING:
        return "nudged's GNOME Shell extension is being switched on; ask again in a moment"
    return (f"nudged's GNOME Shell extension is enabled but not on the session bus (an old "
            f"copy?): {INSTALL}")


class GnomeShellFocusSource(BusSource):
    """FOCUS and TITLE on GNOME, from nudged's GNOME Shell extension.

    Reports the focused window once at start (``GetFocus``), then every change the
    extension signals, de-duplicated; None when no window has the focus. The pid is
    the window's, where mutter knows it. ``fullscreen`` is not offered (the extension
    tells only the title, app and pid).
    """

    name: ClassVar[str] = "gnome-shell"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.FOCUS, Capability.TITLE})
    #: The compositor itself: exact, and the only way on GNOME under Wayland. (On X11
    #: the x11 source sees the focus, and fullscreen windows too.)
    priority: ClassVar[int] = 10
    sessions: ClassVar[frozenset[SessionType]] = frozenset({SessionType.WAYLAND})
    bus_type: ClassVar[BusType] = BusType.SESSION
    peer: ClassVar[str] = FOCUS_NAME
    unavailable: ClassVar[type[NudgedError]] = GnomeShellUnavailable
    question_failed: ClassVar[str] = "GNOME Shell focus question failed"

    def _init_state(self) -> None:
        self._owner: str | None = None
        self._applied = 0  # serial of the newest message from the extension applied
        self._last_focus = LastFocus()

    # -- probe --------------------------------------------------------------------------
    @classmethod
    async def _probe_bus(cls, bus: MessageBus, where: str, session: Session) -> Probe:
        if await name_has_owner(bus, FOCUS_NAME):
            return Probe.yes(f"nudged's GNOME Shell extension ({FOCUS_NAME}) on {where}")
        return Probe.no(await why_missing(bus, session))

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        self._applied = 0  # serials are per connection
        self._owner = None
        self._last_focus.forget()
        await super().start()

    async def _start_on(self, bus: MessageBus, where: str) -> str:
        handler = self._on_message
        bus.add_message_handler(handler)
        self._unwatch = lambda: bus.remove_message_handler(handler)
        # Subscribe before asking who owns the name: no change can slip in between.
        await match_name_owner_changed(bus, FOCUS_NAME, self._timeout)
        await bus_call(bus, ask_bus("AddMatch", match_rule(
            type="signal", sender=FOCUS_NAME, path=FOCUS_PATH, interface=FOCUS_INTERFACE,
            member="FocusChanged")), self._timeout)
        self._owner = await get_name_owner(bus, FOCUS_NAME, self._timeout)
        if self._owner is None:
            raise GnomeShellUnavailable(await why_missing(bus, self.session, self._timeout))
        await self._ask(force=True)
        return f"nudged's GNOME Shell extension ({FOCUS_NAME}, {self._owner})"

    async def refresh(self) -> None:
        """Ask the extension afresh and report the focus even if unchanged."""
        if self._bus is not None and self.health is Health.RUNNING:
            await self._ask(force=True)

    async def _ask(self, force: bool) -> None:
        bus = self._bus
        if bus is None:
            raise GnomeShellUnavailable("not connected")
        reply = await bus_reply(bus, Message(
            destination=FOCUS_NAME, path=FOCUS_PATH, interface=FOCUS_INTERFACE,
            member="GetFocus"), self._timeout)
        if reply.signature != SIGNATURE:
            raise DBusError("org.freedesktop.DBus.Error.InvalidSignature",
                            f"GetFocus answered {reply.signature!r}, expected {SIGNATURE!r} "
                            "(a different version of the extension? run `nudged "
                            "gnome-extension install` again)")
        if self._newer(reply.serial):
            self._report(focus_from(reply.body, self._titles), force)
        elif force:
            self._report(self._last_focus.focus, force=True)

    # -- events -------------------------------------------------------------------------
    @property
    def _titles(self) -> bool:
        return Capability.TITLE in self.wanted

    def _newer(self, serial: int) -> bool:
        if serial <= self._applied:
            return False
        self._applied = serial
        return True

    def _on_message(self, msg: Message) -> None:
        if msg.message_type != MessageType.SIGNAL or self._stopping:
            return
        if (
            msg.member == "FocusChanged"
            and msg.interface == FOCUS_INTERFACE
            and msg.path == FOCUS_PATH
            and msg.sender == self._owner
            and msg.signature == SIGNATURE
        ):
            if self._newer(msg.serial):
                self._report(focus_from(msg.body, self._titles))
        elif (
            msg.member == "NameOwnerChanged"
            and msg.interface == DBUS_NAME
            and msg.sender == DBUS_NAME
            and msg.body
            and msg.body[0] == FOCUS_NAME
            and self._owner is not None
            and msg.body[2] != self._owner
        ):
            self._lost(
                "nudged's GNOME Shell extension was replaced on the session bus"
                if msg.body[2] else
                "nudged's GNOME Shell extension left the session bus (switched off, or "
                "GNOME Shell restarted or crashed)")

    def _report(self, focus: Focus | None, force: bool = False) -> None:
        if self._stopping or self.health is Health.FAILED:
            return
        if self._last_focus.changed(focus, force):
            self.sink.focus_changed(self.name, focus, self._now())
