"""Hyprland: the focused window, its class and title, from Hyprland's event socket.

Hyprland writes one line per event to every client of
``$XDG_RUNTIME_DIR/hypr/$HYPRLAND_INSTANCE_SIGNATURE/.socket2.sock`` (before
Hyprland 0.40: ``/tmp/hypr/...``), e.g. ``activewindow>>firefox,Reddit - Mozilla
Firefox`` and ``activewindowv2>>55e0c6e75980``. We read those lines as they come
(an asyncio stream; nothing polls) and ask the request socket (``.socket.sock``,
``j/activewindow``) once at start for the window that has the focus already.

Fullscreen takes one more question. ``fullscreen>>1`` does not say which window,
and Hyprland also sends it for a maximized window ("fake" fullscreen, which is
not a film), so on ``fullscreen>>1`` and whenever the focus moves to another
window we ask ``j/activewindow`` again, whose ``fullscreen`` tells the two apart.
``fullscreen>>0`` needs no question: nothing fills the screen any more.

Why not the wlroots window list: Hyprland offers it too (``wlr-toplevel`` works
there), but the event socket needs no Wayland connection, keeps working across
Hyprland's own restarts of the Wayland socket, and is what Hyprland users'
bars rely on, so it is the better-tested path on that compositor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import structlog

from nudged.activity.base import (
    ActivitySink,
    Capability,
    Focus,
    Health,
    Probe,
    Session,
    SessionType,
)
from nudged.activity.common import ConnectedSource, LastFocus, close_writer, utcnow
from nudged.errors import NudgedError

log = structlog.get_logger("nudged.activity.hyprland")

__all__ = ["HyprlandSource", "HyprlandUnavailable", "instance_dir", "is_fullscreen",
           "parse_event"]

#: Where Hyprland before 0.40 kept its sockets.
LEGACY_ROOT = Path("/tmp/hypr")
EVENT_SOCKET = ".socket2.sock"
REQUEST_SOCKET = ".socket.sock"
#: Seconds to connect or to get the answer to a request. Below the manager's 2 s
#: probe timeout. Hyprland serves request-socket clients synchronously, so a
#: request is written, answered and closed at once.
IPC_TIMEOUT = 1.5
#: Longest event line we accept (a title can be long; this is far beyond any).
LINE_LIMIT = 1 << 20


class HyprlandUnavailable(NudgedError):
    """Hyprland's sockets cannot be used (start failed); the message says what to do."""


def instance_dir(environ: Mapping[str, str], legacy_root: Path = LEGACY_ROOT
                 ) -> tuple[Path | None, str]:
    """The running instance's socket folder, or None and why not."""
    signature = environ.get("HYPRLAND_INSTANCE_SIGNATURE") or ""
    if not signature:
        return None, ("no HYPRLAND_INSTANCE_SIGNATURE: not a Hyprland session, or nudged's "
                      "service does not see it; run `systemctl --user import-environment "
                      "HYPRLAND_INSTANCE_SIGNATURE` from Hyprland's config and restart nudged")
    candidates = []
    runtime = environ.get("XDG_RUNTIME_DIR") or ""
    if runtime:
        candidates.append(Path(runtime) / "hypr" / signature)
    candidates.append(legacy_root / signature)
    for folder in candidates:
        if (folder / EVENT_SOCKET).exists():
            return folder, ""
    where = " or ".join(str(c / EVENT_SOCKET) for c in candidates)
    return None, f"Hyprland's event socket is missing ({where}): Hyprland exited or restarted?"


def parse_event(line: str) -> tuple[str, str] | None:
    """``"activewindow>>firefox,Reddit"`` -> ``("activewindow", "firefox,Reddit")``."""
    name, sep, data = line.rstrip("\r\n").partition(">>")
    if not sep or not name:
        return None
    return name, data


def is_fullscreen(window: Mapping[str, Any]) -> bool:
    """Whether the window of ``j/activewindow`` fills the screen (maximized does not).

    Since Hyprland 0.42 ``fullscreen`` is a mode: 0 none, 1 maximized, 2 fullscreen,
    3 both. Before, a flag, with ``fullscreenMode`` 0 (fullscreen) or 1 (maximized).
    """
    value = window.get("fullscreen")
    if isinstance(value, bool):
        return value and window.get("fullscreenMode", 0) != 1
    if isinstance(value, int):
        return bool(value & 2)
    return False


def _address(text: str) -> str | None:
    """Hyprland writes window addresses as bare hex in events and 0x-hex in JSON."""
    text = text.strip().lower()
    text = text.removeprefix("0x")
    return text or None


async def _request(folder: Path, command: str) -> bytes:
    """One request on the request socket: write, read the whole answer, close."""
    reader, writer = await asyncio.open_unix_connection(str(folder / REQUEST_SOCKET))
    try:
        writer.write(command.encode())
        await writer.drain()
        return await reader.read()  # Hyprland closes after answering
    finally:
        await close_writer(writer)


class HyprlandSource(ConnectedSource):
    """FOCUS and TITLE on Hyprland, from its event socket.

    Probe: a Wayland session with ``HYPRLAND_INSTANCE_SIGNATURE`` set whose event
    socket exists and accepts a connection.

    Reports the focused window once at start (from ``j/activewindow``; nothing if
    that request fails, the next event tells), then on ``activewindow`` (which
    Hyprland also re-sends when the focused window's title changes) and on
    ``windowtitlev2`` for the focused window; None when ``activewindow>>,`` says
    nothing has the focus. ``Focus.fullscreen`` comes from ``j/activewindow``
    (asked again on ``fullscreen>>1`` and when the focus moves to another window;
    a window that cannot be asked about counts as not fullscreen) and ends with
    ``fullscreen>>0``. The events carry no pid, so ``Focus.pid`` is None. The event
    socket closing makes the source FAILED.
    """

    name: ClassVar[str] = "hyprland"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.FOCUS, Capability.TITLE})
    priority: ClassVar[int] = 20
    sessions: ClassVar[frozenset[SessionType]] = frozenset({SessionType.WAYLAND})
    #: Overridable for tests; Hyprland before 0.40 used it.
    legacy_root: ClassVar[Path] = LEGACY_ROOT

    def __init__(self, session: Session, sink: ActivitySink, idle_after: timedelta,
                 wanted: frozenset[Capability] | None = None) -> None:
        super().__init__(session, sink, idle_after, wanted)
        self._folder: Path | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._query: asyncio.Task[None] | None = None
        self._query_again = False
        self._address: str | None = None
        self._app = ""
        self._title = ""
        self._fullscreen = False
        self._last_focus = LastFocus()

    @classmethod
    async def probe(cls, session: Session) -> Probe:
        """Find the event socket and check that Hyprland accepts a connection there."""
        if session.type is not SessionType.WAYLAND:
            return Probe.no(f"the session is {session.type.value}, not Wayland (Hyprland is "
                            "a Wayland compositor)")
        folder, why = instance_dir(session.environ, cls.legacy_root)
        if folder is None:
            return Probe.no(why)
        path = folder / EVENT_SOCKET
        try:
            _, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)),
                                               IPC_TIMEOUT)
        except Exception as exc:
            return Probe.no(f"Hyprland does not accept connections on {path} "
                            f"({type(exc).__name__}: {exc}); a stale socket of an old instance?")
        await close_writer(writer)
        return Probe.yes(f"events from {path}")

    async def start(self) -> None:
        """Connect to the event socket, report the focused window once, read events."""
        self._running = True
        self._last_focus.forget()
        folder, why = instance_dir(self.session.environ, self.legacy_root)
        if folder is None:
            self._running = False
            raise HyprlandUnavailable(why)
        self._folder = folder
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(str(folder / EVENT_SOCKET), limit=LINE_LIMIT),
                IPC_TIMEOUT)
        except Exception as exc:
            self._running = False
            raise HyprlandUnavailable(
                f"cannot connect to Hyprland's event socket in {folder}: "
                f"{type(exc).__name__}: {exc}") from exc
        if not self._running:
            writer.close()
            return
        self._writer = writer
        # Connected first, asked second: a change in between arrives as an event.
        initial = await self._active_window(folder)
        if not self._running:
            return
        self._live = True
        self.health = Health.RUNNING
        if initial is not None:
            self._address = _address(str(initial.get("address") or ""))
            self._app = str(initial.get("class") or "")
            self._title = str(initial.get("title") or "")
            self._fullscreen = is_fullscreen(initial)
            self._report()
        self._task = asyncio.get_running_loop().create_task(self._read(reader))

    async def _active_window(self, folder: Path) -> dict[str, Any] | None:
        """``j/activewindow``: a dict (empty when nothing is focused), None on failure."""
        try:
            answer = await asyncio.wait_for(_request(folder, "j/activewindow"), IPC_TIMEOUT)
            data = json.loads(answer.decode("utf-8", "replace") or "{}")
        except Exception as exc:
            log.info("hyprland: could not ask for the active window; waiting for events",
                     error=f"{type(exc).__name__}: {exc}")
            return None
        return data if isinstance(data, dict) else None

    async def refresh(self) -> None:
        """Report the focused window afresh, even if unchanged."""
        if self._live:
            self._last_focus.forget()
            self._report()

    def _teardown(self) -> None:
        for task in (self._task, self._query):
            if task is not None and task is not asyncio.current_task() and not task.done():
                task.cancel()
        self._task = self._query = None
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        detail = "Hyprland closed its event socket"
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # longer than LINE_LIMIT: skipped by readline
                    log.debug("hyprland: overlong event line skipped")
                    continue
                if not line:
                    break
                self._handle(line.decode("utf-8", "replace"))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
        self._connection_lost(f"lost Hyprland's event socket ({detail}; Hyprland exited?)")

    def _handle(self, line: str) -> None:
        event = parse_event(line)
        if event is None:
            return
        name, data = event
        if name == "activewindow":
            app, _, title = data.partition(",")
            self._app, self._title = app, title
            if not app and not title:
                self._address = None
                self._fullscreen = False
            # The new window's fullscreen comes with the answer to the question that
            # activewindowv2 asks; until then (milliseconds) the old one's stands.
            self._report()
        elif name == "activewindowv2":
            address = _address(data.strip(","))
            if address != self._address:
                self._address = address
                if address is None:
                    self._fullscreen = False
                    self._report()
                else:
                    self._ask_fullscreen()
        elif name == "fullscreen":
            if data.strip() == "0":
                self._fullscreen = False
                self._report()
            else:
                self._ask_fullscreen()
        elif name == "windowtitlev2":
            address, _, title = data.partition(",")
            if self._address is not None and _address(address) == self._address:
                self._title = title
                self._report()

    def _ask_fullscreen(self) -> None:
        """Ask whether the focused window is fullscreen (one question at a time, the
        latest wins)."""
        if self._query is not None and not self._query.done():
            self._query_again = True
            return
        self._query = asyncio.get_running_loop().create_task(self._query_fullscreen())

    async def _query_fullscreen(self) -> None:
        while self._live and self._folder is not None:
            self._query_again = False
            window = await self._active_window(self._folder)
            if not self._live:
                return
            if window is None:
                self._fullscreen = False  # cannot tell: no nudge is held on a guess
                self._report()
            elif _address(str(window.get("address") or "")) == self._address:
                self._fullscreen = is_fullscreen(window)
                self._report()
            # Another address: the focus moved on, and its event asks again.
            if not self._query_again:
                return

    def _report(self) -> None:
        if not self._app and not self._title:
            focus = None
        else:
            title = self._title if Capability.TITLE in self.wanted else ""
            focus = Focus(app=self._app, title=title, fullscreen=self._fullscreen)
        if self._last_focus.changed(focus):
            self.sink.focus_changed(self.name, focus, utcnow())
