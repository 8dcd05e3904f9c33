"""Focus on KDE Plasma: the active window, from a KWin script that nudged loads.

Under Wayland only the compositor knows which window is active. KWin runs scripts,
and a script may call D-Bus, so nudged ships one (``nudged/data/kwin/nudged-focus/``)
and, at start, loads it through KWin's scripting interface (``org.kde.KWin``
``/Scripting`` ``loadScript``, then ``run`` on the script object it names); at stop
it unloads it. The script calls back into an object this source exports on the
session bus (``io.github.nudged.KWinFocus``, method ``Focus(caption, resource
class, resource name, pid)``) on every activation and on every caption change of
the active window. Nothing polls. Only calls from KWin itself (the owner of
``org.kde.KWin``) are believed.

Plasma 6 and 5.27 differ: the script handles ``workspace.windowActivated`` and
``workspace.clientActivated``; the script object is ``/Scripting/Script<id>`` in 6
and ``/<id>`` in 5.27 (both are tried, then ``Scripting.start``).

KWin reports "no active window" between two activations; such a report waits
:data:`NONE_DEBOUNCE` and is dropped when a window follows, so a switch is one
change. KWin leaving the bus makes the source FAILED (the manager restarts it with
backoff, which loads the script again).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import structlog
from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus
from dbus_fast.constants import NameFlag, RequestNameReply
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
    DBUS_NAME,
    BusSource,
    bus_call,
    error_text,
    get_name_owner,
    match_name_owner_changed,
    name_has_owner,
)
from nudged.errors import NudgedError

log = structlog.get_logger("nudged.activity.kwin")

__all__ = [
    "CALLBACK_INTERFACE",
    "CALLBACK_NAME",
    "CALLBACK_PATH",
    "KWIN",
    "PLUGIN_NAME",
    "KWinScriptSource",
    "KWinUnavailable",
    "focus_from",
    "script_path",
]

KWIN = "org.kde.KWin"
SCRIPTING_PATH = "/Scripting"
SCRIPTING_IFACE = "org.kde.kwin.Scripting"
SCRIPT_IFACE = "org.kde.kwin.Script"
#: The script's plugin name in KWin (what isScriptLoaded/unloadScript take).
PLUGIN_NAME = "nudged-focus"
#: What the script calls (kept in step with main.js by a test).
CALLBACK_NAME = "io.github.nudged.KWinFocus"
CALLBACK_PATH = "/io/github/nudged/KWinFocus"
CALLBACK_INTERFACE = "io.github.nudged.KWinFocus1"
#: Seconds a "no active window" waits for the activation that usually follows.
NONE_DEBOUNCE = 0.1
#: How long stop() waits for KWin to unload the script.
UNLOAD_TIMEOUT = 1.0


class KWinUnavailable(NudgedError):
    """KWin's scripting cannot be used; the message says why."""


def script_path() -> Path:
    """The shipped script's ``main.js`` (a real file: KWin reads it by path)."""
    return Path(str(resources.files("nudged.data") / "kwin" / PLUGIN_NAME / "contents"
                    / "code" / "main.js"))


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace").rstrip("\0")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def focus_from(body: list[Any], titles: bool = True) -> Focus | None:
    """``(caption, resource class, resource name, pid)`` from the script as a Focus.

    The script sends strings, but KWin's ``callDBus`` passes script values on as
    they are, so bytes and numbers are accepted too. All empty: no active window.
    """
    caption, klass, instance, pid_text = ([*map(_text, body), "", "", "", ""])[:4]
    try:
        pid = int(float(pid_text)) if pid_text else 0
    except ValueError:
        pid = 0
    app = klass or instance
    if not app and not caption and pid <= 0:
        return None
    return Focus(app=app, title=caption if titles else "", pid=pid if pid > 0 else None)


class KWinScriptSource(BusSource):
    """FOCUS and TITLE on KDE Plasma (5.27 and 6), from nudged's KWin script.

    Probe: KWin's scripting interface on the session bus. Start: take the callback
    name, load and run the script (a copy left loaded by a nudged that crashed is
    unloaded first); the script reports the active window at once.
    """

    name: ClassVar[str] = "kwin-script"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.FOCUS, Capability.TITLE})
    #: The compositor itself: exact, and the only way on KDE under Wayland. (On X11
    #: the x11 source sees the focus, and fullscreen windows too.)
    priority: ClassVar[int] = 10
    sessions: ClassVar[frozenset[SessionType]] = frozenset({SessionType.WAYLAND})
    bus_type: ClassVar[BusType] = BusType.SESSION
    peer: ClassVar[str] = KWIN
    unavailable: ClassVar[type[NudgedError]] = KWinUnavailable
    question_failed: ClassVar[str] = "KWin script question failed"

    def _init_state(self) -> None:
        self._owner: str | None = None  # KWin's unique name while we run
        self._named = False
        self._loaded = False
        self._last_focus = LastFocus()
        self._none_timer: asyncio.TimerHandle | None = None

    # -- probe --------------------------------------------------------------------------
    @classmethod
    async def _probe_bus(cls, bus: MessageBus, where: str, session: Session) -> Probe:
        if not await name_has_owner(bus, KWIN):
            if "kde" not in session.desktop.split(":"):
                return Probe.no(f"not a KDE Plasma session ({KWIN} is not on the session bus)")
            return Probe.no(f"no KWin on {where} ({KWIN} has no owner: KWin exited, or "
                            "nudged's service does not see the session bus of Plasma)")
        xml = await bus_call(bus, Message(
            destination=KWIN, path=SCRIPTING_PATH,
            interface="org.freedesktop.DBus.Introspectable", member="Introspect"))
        text = str(xml[0]) if xml else ""
        if SCRIPTING_IFACE not in text or "loadScript" not in text:
            return Probe.no(f"KWin on {where} offers no scripting interface ({SCRIPTING_IFACE} "
                            f"at {SCRIPTING_PATH}); scripting may be switched off")
        path = script_path()
        if not path.is_file():
            return Probe.no(f"nudged's KWin script is missing from the installation ({path}); "
                            "reinstall nudged")
        return Probe.yes(f"KWin's scripting interface on {where}")

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        self._owner = None
        self._named = self._loaded = False
        self._last_focus.forget()
        await super().start()

    async def _start_on(self, bus: MessageBus, where: str) -> str:
        handler = self._on_message
        bus.add_message_handler(handler)
        self._unwatch = lambda: bus.remove_message_handler(handler)
        await match_name_owner_changed(bus, KWIN, self._timeout)
        self._owner = await get_name_owner(bus, KWIN, self._timeout)
        if self._owner is None:
            raise KWinUnavailable(f"no KWin on {where} ({KWIN} has no owner)")
        reply = await asyncio.wait_for(
            bus.request_name(CALLBACK_NAME, NameFlag.DO_NOT_QUEUE), self._timeout)
        if reply not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
            raise KWinUnavailable(f"{CALLBACK_NAME} is taken on {where} (another nudged "
                                  "running in this session?)")
        self._named = True
        # A copy left by a nudged that crashed would report to nobody: replace it.
        if await self._scripting("isScriptLoaded", "s", [PLUGIN_NAME]) == [True]:
            await self._scripting("unloadScript", "s", [PLUGIN_NAME])
        path = script_path()
        (script_id,) = await self._scripting("loadScript", "ss", [str(path), PLUGIN_NAME])
        if int(script_id) < 0:
            raise KWinUnavailable(f"KWin refused to load nudged's script {path}")
        self._loaded = True
        await self._run(int(script_id))
        return f"nudged's KWin script in KWin ({self._owner})"

    async def _scripting(self, member: str, signature: str = "",
                         body: list[Any] | None = None, path: str = SCRIPTING_PATH,
                         interface: str = SCRIPTING_IFACE,
                         timeout: float | None = None) -> list[Any]:
        bus = self._bus
        if bus is None:
            raise KWinUnavailable("not connected")
        return list(await bus_call(bus, Message(
            destination=KWIN, path=path, interface=interface, member=member,
            signature=signature, body=body or []),
            self._timeout if timeout is None else timeout))

    async def _run(self, script_id: int) -> None:
        """Run the loaded script: its object is /Scripting/Script<id> (Plasma 6) or
        /<id> (5.27); failing both, Scripting.start runs every loaded script."""
        for path in (f"{SCRIPTING_PATH}/Script{script_id}", f"/{script_id}"):
            try:
                await self._scripting("run", path=path, interface=SCRIPT_IFACE)
                return
            except DBusError as exc:
                if "UnknownObject" not in exc.type and "UnknownMethod" not in exc.type:
                    raise
        await self._scripting("start")

    async def _release(self) -> None:
        """Unload the script and give the name back (KWin keeps a script loaded until
        told, and it would call a name nobody answers)."""
        self._cancel_none()
        bus = self._bus
        if bus is None or not bus.connected:
            return
        if self._loaded and self.health is not Health.FAILED:
            try:
                await self._scripting("unloadScript", "s", [PLUGIN_NAME],
                                      timeout=UNLOAD_TIMEOUT)
            except Exception as exc:
                log.debug("could not unload the KWin script", error=error_text(exc))
        self._loaded = False
        if self._named:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(bus.release_name(CALLBACK_NAME), UNLOAD_TIMEOUT)
            self._named = False

    async def refresh(self) -> None:
        """Report the active window afresh (the script tells every change, so what it
        told last is current)."""
        if self.health is Health.RUNNING and self._last_focus.known:
            self._report(self._last_focus.focus, force=True)

    # -- events -------------------------------------------------------------------------
    @property
    def _titles(self) -> bool:
        return Capability.TITLE in self.wanted

    def _on_message(self, msg: Message) -> Message | bool | None:
        if msg.message_type == MessageType.METHOD_CALL and msg.path == CALLBACK_PATH:
            return self._on_call(msg)
        if (
            msg.message_type == MessageType.SIGNAL
            and msg.member == "NameOwnerChanged"
            and msg.interface == DBUS_NAME
            and msg.sender == DBUS_NAME
            and msg.body
            and msg.body[0] == KWIN
            and self._owner is not None
            and msg.body[2] != self._owner
        ):
            self._lost("KWin was replaced on the session bus" if msg.body[2]
                       else "KWin left the session bus")
        return None

    def _on_call(self, msg: Message) -> Message:
        if msg.sender != self._owner:
            return Message.new_error(msg, "org.freedesktop.DBus.Error.AccessDenied",
                                     "only KWin reports the active window")
        if msg.interface not in (CALLBACK_INTERFACE, None) or msg.member != "Focus":
            return Message.new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod",
                                     f"no method {msg.member} here")
        if not self._stopping and self.health is not Health.FAILED:
            focus = focus_from(list(msg.body), self._titles)
            if focus is None:
                self._report_none_soon()
            else:
                self._cancel_none()
                self._report(focus)
        return Message.new_method_return(msg)

    def _report_none_soon(self) -> None:
        if self._none_timer is not None:
            return
        at = self._now()
        loop = asyncio.get_running_loop()

        def report() -> None:
            self._none_timer = None
            self._report(None, at=at)

        if not self._last_focus.known:
            report()  # the first word at start: no window is active
            return
        self._none_timer = loop.call_later(NONE_DEBOUNCE, report)

    def _cancel_none(self) -> None:
        if self._none_timer is not None:
            self._none_timer.cancel()
            self._none_timer = None

    def _report(self, focus: Focus | None, force: bool = False,
                at: datetime | None = None) -> None:
        if self._stopping or self.health is Health.FAILED:
            return
        if self._last_focus.changed(focus, force):
            self.sink.focus_changed(self.name, focus, at or self._now())
