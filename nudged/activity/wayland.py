"""Wayland: idle from the compositor's idle protocol, focus from wlroots' window list.

A Wayland compositor tells a client nothing about other clients unless it offers
a protocol for it, and compositors offer them independently: KWin has idle
notifications but no wlroots window list, sway 1.7 has the window list and only
KDE's older idle protocol, Mutter has neither. So there are two sources, each
probing for its own globals, and the manager combines them with the others:

* :class:`WaylandIdleSource` (``wayland-idle``, IDLE): ``ext_idle_notifier_v1``
  (preferred) or ``org_kde_kwin_idle``. The compositor runs the timer; we get an
  event when the seat has had no input for ``idle_after`` and one at the next input.
* :class:`WlrForeignToplevelSource` (``wlr-toplevel``, FOCUS and TITLE):
  ``zwlr_foreign_toplevel_manager_v1`` lists every window with its app id, title
  and states; the one whose state holds ``activated`` has the focus, and
  ``fullscreen`` says whether it fills the screen.

Everything arrives through the connection's file descriptor, watched with
``loop.add_reader``; nothing polls. The probe speaks just enough of the wire
protocol itself (list the globals, then disconnect) to stay cheap, bounded in
time and free of side effects; the sources use pywayland.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import structlog
from pywayland.client import Display
from pywayland.protocol.wayland import WlSeat

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
from nudged.activity.protocols.ext_idle_notify_v1 import ExtIdleNotifierV1
from nudged.activity.protocols.idle import OrgKdeKwinIdle
from nudged.activity.protocols.wlr_foreign_toplevel_management_unstable_v1 import (
    ZwlrForeignToplevelHandleV1,
    ZwlrForeignToplevelManagerV1,
)
from nudged.errors import NudgedError

log = structlog.get_logger("nudged.activity.wayland")

__all__ = [
    "EXT_IDLE",
    "KDE_IDLE",
    "WLR_TOPLEVEL",
    "WaylandIdleSource",
    "WaylandUnavailable",
    "WlrForeignToplevelSource",
    "read_globals",
    "socket_path",
]

EXT_IDLE = "ext_idle_notifier_v1"
KDE_IDLE = "org_kde_kwin_idle"
WLR_TOPLEVEL = "zwlr_foreign_toplevel_manager_v1"
SEAT = "wl_seat"

#: Seconds to connect and list the globals. Below the manager's 2 s probe timeout,
#: so our own, more helpful reason is the one people see.
CONNECT_TIMEOUT = 1.5
#: Focus moving between windows can arrive as two batches (the old window loses
#: ``activated``, then the new one gains it); "nothing focused" is only believed if
#: it lasts this long (seconds).
FOCUS_DEBOUNCE = 0.1
#: Versions we speak (what our generated bindings know); we bind min(ours, theirs).
_WLR_TOPLEVEL_VERSION = 3
_MAX_TIMEOUT_MS = 2**32 - 1


class WaylandUnavailable(NudgedError):
    """The compositor cannot be used (start failed); the message says what to do."""


# --------------------------------------------------------------------------- where


def socket_path(environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The compositor's socket from *these* variables, or None and why not.

    Why not let libwayland resolve ``WAYLAND_DISPLAY``: it reads the process
    environment, while a source must use the session it was given (tests and the
    manager pass their own), and it silently falls back to ``wayland-0``.
    """
    name = environ.get("WAYLAND_DISPLAY") or ""
    if not name:
        return None, (
            "no WAYLAND_DISPLAY: nudged's service does not see the Wayland session; run "
            "`systemctl --user import-environment WAYLAND_DISPLAY XDG_RUNTIME_DIR` (your "
            "compositor's start-up should do it) and restart nudged")
    if os.path.isabs(name):
        return name, ""
    runtime = environ.get("XDG_RUNTIME_DIR") or ""
    if not runtime:
        return None, (f"WAYLAND_DISPLAY={name} is relative to XDG_RUNTIME_DIR, which is "
                      "not set in nudged's environment")
    return os.path.join(runtime, name), ""


def _not_wayland(session: Session) -> str:
    return (f"the session is {session.type.value}, not Wayland; the Wayland protocols "
            "are only offered to clients of a Wayland compositor")


def _connect_failure(path: str, exc: BaseException) -> str:
    """An actionable sentence for a compositor socket that did not answer."""
    if isinstance(exc, TimeoutError):
        return f"the Wayland compositor at {path} did not answer within {CONNECT_TIMEOUT:g}s"
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError):
        return (f"no Wayland compositor listens on {path} (a stale WAYLAND_DISPLAY? "
                "restart nudged after logging in again)")
    if isinstance(exc, PermissionError):
        return f"cannot connect to {path}: permission denied (another user's session?)"
    detail = str(exc).strip() or type(exc).__name__
    return f"cannot talk to the Wayland compositor at {path}: {detail}"


# --------------------------------------------------------------------------- probe


async def _connect_socket(path: str) -> socket.socket:
    """A connected, non-blocking AF_UNIX socket (connect never blocks the loop)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, path)
    except BaseException:
        sock.close()
        raise
    return sock


def _message(obj: int, opcode: int, *words: int) -> bytes:
    return struct.pack(f"=II{len(words)}I", obj, ((8 + 4 * len(words)) << 16) | opcode, *words)


async def _read_globals(path: str) -> dict[str, int]:
    sock = await _connect_socket(path)
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    try:
        # wl_display (object 1): get_registry(new_id 2), then sync(new_id 3). The
        # server answers with one wl_registry.global per global, then
        # wl_callback.done: the list is complete.
        writer.write(_message(1, 1, 2) + _message(1, 0, 3))
        await writer.drain()
        found: dict[str, int] = {}
        while True:
            obj, word = struct.unpack("=II", await reader.readexactly(8))
            size, opcode = word >> 16, word & 0xFFFF
            body = await reader.readexactly(size - 8) if size > 8 else b""
            if obj == 2 and opcode == 0:  # wl_registry.global(name, interface, version)
                length = struct.unpack_from("=I", body, 4)[0]
                interface = body[8:8 + max(length - 1, 0)].decode("ascii", "replace")
                version = struct.unpack_from("=I", body, 8 + ((length + 3) & ~3))[0]
                found.setdefault(interface, version)
            elif obj == 3 and opcode == 0:  # wl_callback.done
                return found
            elif obj == 1 and opcode == 0:  # wl_display.error(object, code, message)
                raise ConnectionError("the compositor reported a protocol error")
    finally:
        await close_writer(writer)


async def read_globals(path: str, timeout: float = CONNECT_TIMEOUT) -> dict[str, int]:
    """The globals a compositor offers (interface -> highest version), then disconnect.

    Why the wire protocol by hand: pywayland's ``roundtrip`` blocks the whole event
    loop until the compositor answers, so a hung compositor would hang the daemon.
    Listing globals is two requests and two kinds of events.
    """
    return await asyncio.wait_for(_read_globals(path), timeout)


async def _probe_globals(session: Session) -> tuple[str | None, dict[str, int], str]:
    """(socket path, globals, why not) for a probe."""
    if session.type is not SessionType.WAYLAND:
        return None, {}, _not_wayland(session)
    path, why = socket_path(session.environ)
    if path is None:
        return None, {}, why
    try:
        return path, await read_globals(path), ""
    except Exception as exc:
        return path, {}, _connect_failure(path, exc)


# --------------------------------------------------------------------------- connection


class _Connection:
    """One pywayland display, driven by the event loop's reader on its fd.

    On readable: read what arrived, dispatch it, flush what the handlers asked
    for, then tell the owner the batch is over (so it can judge the new state
    once, not after every event). Anything that breaks the connection (hang-up,
    protocol error, a handler raising) closes it and calls ``on_lost`` once.
    """

    def __init__(self, path: str, on_lost: Callable[[str], None],
                 on_global: Callable[[int, str, int], None] | None = None,
                 on_global_remove: Callable[[int], None] | None = None,
                 on_batch: Callable[[], None] | None = None) -> None:
        self.path = path
        self.globals: dict[int, tuple[str, int]] = {}  # name -> (interface, version)
        self._on_lost = on_lost
        self._on_global = on_global
        self._on_global_remove = on_global_remove
        self._on_batch = on_batch
        self._loop: asyncio.AbstractEventLoop | None = None
        self.display: Any = None
        self._registry: Any = None
        self._fd: int | None = None
        self._waiters: set[asyncio.Future[None]] = set()
        self._callbacks: set[Any] = set()  # wl_callbacks of pending syncs (kept alive)
        self.closed = False

    async def open(self, timeout: float = CONNECT_TIMEOUT) -> None:
        """Connect, list the globals (``on_global`` for each), and return when done."""
        self._loop = asyncio.get_running_loop()
        sock = await asyncio.wait_for(_connect_socket(self.path), timeout)
        display = Display(sock.detach())  # the display owns the fd from here on
        display.connect()
        self.display = display
        registry = display.get_registry()
        registry.dispatcher["global"] = self.callback(self._global)
        registry.dispatcher["global_remove"] = self.callback(self._global_removed)
        self._registry = registry
        self._fd = display.get_fd()
        self._loop.add_reader(self._fd, self._on_readable)
        await self.sync(timeout)

    def callback(self, func: Callable[..., None]) -> Callable[..., None]:
        """Wrap an event handler: pywayland prints and swallows handler errors."""
        def handler(*args: Any) -> None:
            if self.closed:
                return
            try:
                func(*args)
            except Exception as exc:
                log.warning("wayland: event handler failed", error=f"{type(exc).__name__}: "
                            f"{exc}", path=self.path)
                assert self._loop is not None
                self._loop.call_soon(self.lost, f"internal error: {type(exc).__name__}: {exc}")
        return handler

    def _global(self, registry: Any, name: int, interface: str, version: int) -> None:
        self.globals[name] = (interface, version)
        if self._on_global is not None:
            self._on_global(name, interface, version)

    def _global_removed(self, registry: Any, name: int) -> None:
        self.globals.pop(name, None)
        if self._on_global_remove is not None:
            self._on_global_remove(name)

    def find(self, interface: str) -> tuple[int, int] | None:
        """(name, version) of the first global of ``interface``, if offered."""
        for name, (iface, version) in self.globals.items():
            if iface == interface:
                return name, version
        return None

    def bind(self, name: int, interface: type[Any], version: int) -> Any:
        return self._registry.bind(name, interface, version)

    def adopt(self, proxy: Any) -> None:
        """Make a proxy the compositor created (a ``new_id`` event) belong to us.

        Why: pywayland 0.4.19 attaches such proxies to the display of the first
        live ``wl_registry`` in the process, not the one the event came from. With
        two connections (idle and window list run side by side) the other
        display's ``disconnect()`` would destroy our window handles.
        """
        old = getattr(proxy, "_display", None)
        if old is self.display:
            return
        children = getattr(old, "_children", None)
        if children is not None:
            children.discard(proxy)
        proxy._display = self.display
        self.display._children.add(proxy)

    async def sync(self, timeout: float = CONNECT_TIMEOUT) -> None:
        """Wait (without blocking the loop) until the compositor handled our requests."""
        assert self._loop is not None
        if self.closed:
            raise ConnectionError("the Wayland connection is closed")
        future: asyncio.Future[None] = self._loop.create_future()
        callback = self.display.sync()

        def done(proxy: Any, serial: int) -> None:
            self._callbacks.discard(proxy)
            if not future.done():
                future.set_result(None)

        callback.dispatcher["done"] = self.callback(done)
        self._callbacks.add(callback)
        self._waiters.add(future)
        self.flush()
        try:
            await asyncio.wait_for(future, timeout)
        finally:
            self._waiters.discard(future)

    def flush(self) -> None:
        """Send buffered requests. A failure shows up as a hang-up on the next read."""
        if not self.closed and self.display is not None:
            self.display.flush()

    def _on_readable(self) -> None:
        if self.closed:
            return
        try:
            self.display.read()
            self.display.dispatch(block=False)
            self.display.flush()
        except (RuntimeError, ValueError, OSError) as exc:
            self.lost(f"the connection broke ({exc})" if str(exc) else "the connection broke")
            return
        if self._on_batch is not None and not self.closed:
            try:
                self._on_batch()
            except Exception as exc:
                log.warning("wayland: batch handler failed", error=f"{type(exc).__name__}: "
                            f"{exc}")
                self.lost(f"internal error: {type(exc).__name__}: {exc}")

    def lost(self, detail: str) -> None:
        """The connection is gone or unusable: close it and tell the owner, once."""
        if self.closed:
            return
        self.close(detail)
        self._on_lost(detail)

    def close(self, detail: str = "the Wayland connection was closed") -> None:
        """Stop reading and disconnect. Never raises, safe to call twice.

        Whoever waits in :meth:`sync` gets a ConnectionError at once, rather than
        waiting for its timeout.
        """
        self.closed = True
        for future in self._waiters:
            if not future.done():
                future.set_exception(ConnectionError(detail))
        if self._fd is not None and self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self._fd)
        self._fd = None
        display, self.display = self.display, None
        self._registry = None
        self._callbacks.clear()
        if display is not None:
            with contextlib.suppress(Exception):
                display.disconnect()


class _CompositorSource(ConnectedSource):
    """What both Wayland sources share: one :class:`_Connection`, opened in start()."""

    def __init__(self, session: Session, sink: ActivitySink, idle_after: timedelta,
                 wanted: frozenset[Capability] | None = None) -> None:
        super().__init__(session, sink, idle_after, wanted)
        self._conn: _Connection | None = None

    async def _connect(self, ready: Callable[[_Connection], Awaitable[None]] | None = None,
                       **handlers: Any) -> _Connection | None:
        """Open our connection (start() has set ``_running``) with these handlers.

        ``ready`` runs on the open connection before it counts as established. A
        failure raises WaylandUnavailable with what to do; None if stop() came first.
        """
        path, why = socket_path(self.session.environ)
        if path is None:
            self._running = False
            raise WaylandUnavailable(why)
        conn = _Connection(path, self._lost, **handlers)
        self._conn = conn
        try:
            await conn.open()
            if ready is not None:
                await ready(conn)
        except WaylandUnavailable:
            self._teardown()
            self._running = False
            raise
        except Exception as exc:
            self._teardown()
            if not self._running:  # stopped while connecting: nothing to report
                return None
            self._running = False
            raise WaylandUnavailable(_connect_failure(path, exc)) from exc
        if not self._running:  # stopped while connecting
            self._teardown()
            return None
        return conn

    def _lost(self, detail: str) -> None:
        self._connection_lost(f"lost the Wayland compositor ({detail})")


# --------------------------------------------------------------------------- idle


class WaylandIdleSource(_CompositorSource):
    """IDLE from ``ext_idle_notifier_v1``, or ``org_kde_kwin_idle`` where that is all.

    Probe: a Wayland session whose compositor offers a ``wl_seat`` and one of the
    two idle protocols (the reason names the one in use).

    The compositor runs one timer of ``idle_after`` for us. ``idled`` means the
    last input was ``idle_after`` ago, so the report is back-dated by that much;
    ``resumed`` comes with the first input after it. At start the source reports
    "not idle": a new notification object starts its timer from zero, so the
    compositor cannot tell us how long the seat has already been idle, and the
    ``idled`` event follows within ``idle_after`` if nobody is there.

    ``ext_idle_notifier_v1`` (version 1) honours idle inhibitors: while a video
    player inhibits idle, the person counts as present, which matches what the
    screen does. The compositor closing, or withdrawing the seat or the idle
    global, makes the source FAILED (the manager restarts it with backoff).
    """

    name: ClassVar[str] = "wayland-idle"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.IDLE})
    priority: ClassVar[int] = 20
    sessions: ClassVar[frozenset[SessionType]] = frozenset({SessionType.WAYLAND})

    def __init__(self, session: Session, sink: ActivitySink, idle_after: timedelta,
                 wanted: frozenset[Capability] | None = None) -> None:
        super().__init__(session, sink, idle_after, wanted)
        #: The idle protocol in use once started (EXT_IDLE or KDE_IDLE).
        self.protocol: str | None = None
        self._seat: Any = None
        self._notifier: Any = None
        self._notification: Any = None
        self._watched: set[int] = set()  # global names whose removal ends us
        self._idle: bool | None = None

    @classmethod
    async def probe(cls, session: Session) -> Probe:
        """List the compositor's globals and look for a seat and an idle protocol."""
        path, found, why = await _probe_globals(session)
        if path is None or why:
            return Probe.no(why)
        if SEAT not in found:
            return Probe.no(f"the compositor at {path} offers no wl_seat (no input at all?)")
        if EXT_IDLE in found:
            return Probe.yes(f"{EXT_IDLE} on {path}")
        if KDE_IDLE in found:
            return Probe.yes(f"{KDE_IDLE} on {path} (the compositor has no {EXT_IDLE})")
        return Probe.no(
            f"the compositor at {path} offers neither {EXT_IDLE} nor {KDE_IDLE}; GNOME's "
            "Mutter has its own idle monitor (the mutter source), other compositors need "
            "a newer version")

    async def start(self) -> None:
        """Connect, ask for an idle notification of ``idle_after``, report "not idle"."""
        self._running = True
        self._idle = None
        conn = await self._connect(on_global_remove=self._global_removed)
        if conn is None:
            return
        seat = conn.find(SEAT)
        notifier = conn.find(EXT_IDLE) or conn.find(KDE_IDLE)
        if seat is None or notifier is None:
            self._teardown()
            self._running = False
            raise WaylandUnavailable(f"the compositor at {conn.path} offers no "
                                     f"{'wl_seat' if seat is None else 'idle protocol'}")
        self._seat = conn.bind(seat[0], WlSeat, 1)  # no seat events needed
        self._watched = {seat[0], notifier[0]}
        self.protocol = conn.globals[notifier[0]][0]
        self._arm(notifier[0])
        conn.flush()
        self._live = True
        self.health = Health.RUNNING
        self._report(False, utcnow())

    def _arm(self, notifier_name: int) -> None:
        """Create the notification object; the compositor starts its timer now."""
        assert self._conn is not None
        conn = self._conn
        timeout_ms = max(1, min(_MAX_TIMEOUT_MS, round(self.idle_after.total_seconds() * 1000)))
        if self.protocol == EXT_IDLE:
            self._notifier = conn.bind(notifier_name, ExtIdleNotifierV1, 1)
            notification = self._notifier.get_idle_notification(timeout_ms, self._seat)
            notification.dispatcher["idled"] = conn.callback(self._on_idled)
        else:
            self._notifier = conn.bind(notifier_name, OrgKdeKwinIdle, 1)
            notification = self._notifier.get_idle_timeout(self._seat, timeout_ms)
            notification.dispatcher["idle"] = conn.callback(self._on_idled)
        notification.dispatcher["resumed"] = conn.callback(self._on_resumed)
        self._notification = notification

    def _teardown(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()  # the compositor drops our objects with the connection
        self._notification = self._notifier = self._seat = None

    def _on_idled(self, proxy: Any) -> None:
        self._report(True, utcnow() - self.idle_after)

    def _on_resumed(self, proxy: Any) -> None:
        self._report(False, utcnow())

    def _report(self, idle: bool, at: datetime) -> None:
        if idle == self._idle:
            return
        self._idle = idle
        self.sink.idle_changed(self.name, idle, at)

    def _global_removed(self, name: int) -> None:
        if name in self._watched and self._conn is not None:
            self._conn.lost("the compositor withdrew the seat or the idle protocol")


# --------------------------------------------------------------------------- focus


@dataclass
class _Toplevel:
    """One window as the compositor describes it; ``pending`` until ``done``."""

    app_id: str = ""
    title: str = ""
    activated: bool = False
    fullscreen: bool = False
    order: int = 0  # when it was last activated (higher is later)
    pending_app_id: str | None = None
    pending_title: str | None = None
    pending_states: set[int] | None = None


_ACTIVATED = ZwlrForeignToplevelHandleV1.state.activated.value
_FULLSCREEN = ZwlrForeignToplevelHandleV1.state.fullscreen.value


def _states(data: bytes) -> set[int]:
    """The ``state`` event's array: native-endian uint32 values."""
    count = len(data) // 4
    return set(struct.unpack(f"={count}I", data[:count * 4]))


class WlrForeignToplevelSource(_CompositorSource):
    """FOCUS and TITLE from wlroots' ``zwlr_foreign_toplevel_manager_v1``.

    Probe: a Wayland session whose compositor offers the global (sway, Hyprland,
    labwc, Wayfire, river...; not KWin or Mutter).

    The manager is bound inside the registry's ``global`` event, with its
    handler attached at once: the compositor announces the existing windows right
    after the bind. Window details are double-buffered until the window's ``done``
    event; after each batch of events the focused window is the activated one
    (the most recently activated if several claim it). A change of its app id,
    title or ``fullscreen`` state is reported; "nothing focused" only once it lasted
    :data:`FOCUS_DEBOUNCE`. The protocol carries no pid, so ``Focus.pid`` is None.
    Titles are only passed on while the manager wants TITLE from this source.
    """

    name: ClassVar[str] = "wlr-toplevel"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.FOCUS, Capability.TITLE})
    priority: ClassVar[int] = 30
    sessions: ClassVar[frozenset[SessionType]] = frozenset({SessionType.WAYLAND})

    def __init__(self, session: Session, sink: ActivitySink, idle_after: timedelta,
                 wanted: frozenset[Capability] | None = None) -> None:
        super().__init__(session, sink, idle_after, wanted)
        self._manager: Any = None
        self._manager_name: int | None = None
        self._toplevels: dict[Any, _Toplevel] = {}  # handle proxy -> window (keeps it alive)
        self._activations = 0
        self._dirty = False
        self._last_focus = LastFocus()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    async def probe(cls, session: Session) -> Probe:
        """List the compositor's globals and look for the window list."""
        path, found, why = await _probe_globals(session)
        if path is None or why:
            return Probe.no(why)
        if WLR_TOPLEVEL not in found:
            return Probe.no(
                f"the compositor at {path} offers no {WLR_TOPLEVEL} (only wlroots-based "
                "compositors do; on sway the sway source needs none, on KDE and GNOME "
                "their own sources report focus)")
        return Probe.yes(f"{WLR_TOPLEVEL} on {path}")

    async def start(self) -> None:
        """Connect, bind the window list, and report the focused window once."""
        self._loop = asyncio.get_running_loop()
        self._running = True
        self._last_focus.forget()
        if await self._connect(self._windows_listed, on_global=self._global,
                               on_global_remove=self._global_removed,
                               on_batch=self._batch) is None:
            return
        self._live = True
        self.health = Health.RUNNING
        self._update(final=True)

    async def _windows_listed(self, conn: _Connection) -> None:
        if self._manager is None:
            raise WaylandUnavailable(f"the compositor at {conn.path} offers no {WLR_TOPLEVEL}")
        await conn.sync()  # the existing windows, announced after our bind

    async def refresh(self) -> None:
        """Report the focused window afresh, even if unchanged."""
        if self._conn is not None and self._running:
            self._last_focus.forget()
            self._update(final=True)

    def _teardown(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        self._manager = None
        self._manager_name = None
        self._toplevels.clear()

    # -- registry ---------------------------------------------------------------------

    def _global(self, name: int, interface: str, version: int) -> None:
        if interface != WLR_TOPLEVEL or self._manager is not None or self._conn is None:
            return
        conn = self._conn
        manager = conn.bind(name, ZwlrForeignToplevelManagerV1,
                            min(version, _WLR_TOPLEVEL_VERSION))
        manager.dispatcher["toplevel"] = conn.callback(self._on_toplevel)
        manager.dispatcher["finished"] = conn.callback(self._on_finished)
        self._manager = manager
        self._manager_name = name

    def _global_removed(self, name: int) -> None:
        if name == self._manager_name and self._conn is not None:
            self._conn.lost(f"the compositor withdrew {WLR_TOPLEVEL}")

    def _on_finished(self, manager: Any) -> None:
        if self._conn is not None:
            self._conn.lost(f"the compositor finished {WLR_TOPLEVEL}")

    # -- windows ----------------------------------------------------------------------

    def _on_toplevel(self, manager: Any, handle: Any) -> None:
        assert self._conn is not None
        conn = self._conn
        conn.adopt(handle)
        window = _Toplevel()
        self._toplevels[handle] = window

        def title(proxy: Any, text: str) -> None:
            window.pending_title = text

        def app_id(proxy: Any, text: str) -> None:
            window.pending_app_id = text

        def state(proxy: Any, data: bytes) -> None:
            window.pending_states = _states(data)

        def done(proxy: Any) -> None:
            if window.pending_title is not None:
                window.title, window.pending_title = window.pending_title, None
            if window.pending_app_id is not None:
                window.app_id, window.pending_app_id = window.pending_app_id, None
            if window.pending_states is not None:
                activated = _ACTIVATED in window.pending_states
                if activated and not window.activated:
                    self._activations += 1
                    window.order = self._activations
                window.activated = activated
                window.fullscreen = _FULLSCREEN in window.pending_states
                window.pending_states = None
            self._dirty = True

        def closed(proxy: Any) -> None:
            self._toplevels.pop(proxy, None)
            with contextlib.suppress(Exception):
                proxy.destroy()
            self._dirty = True

        handle.dispatcher["title"] = conn.callback(title)
        handle.dispatcher["app_id"] = conn.callback(app_id)
        handle.dispatcher["state"] = conn.callback(state)
        handle.dispatcher["done"] = conn.callback(done)
        handle.dispatcher["closed"] = conn.callback(closed)

    def _batch(self) -> None:
        """After each batch of events: judge the focus once."""
        if self._dirty:
            self._dirty = False
            self._update(final=False)

    def _current(self) -> Focus | None:
        active = [w for w in self._toplevels.values() if w.activated]
        if not active:
            return None
        window = max(active, key=lambda w: w.order)
        title = window.title if Capability.TITLE in self.wanted else ""
        return Focus(app=window.app_id, title=title, fullscreen=window.fullscreen)

    def _update(self, final: bool) -> None:
        focus = self._current()
        if focus is None and not final:
            if self._timer is None and self._loop is not None:
                self._timer = self._loop.call_later(FOCUS_DEBOUNCE, self._debounced)
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._last_focus.changed(focus):
            self.sink.focus_changed(self.name, focus, utcnow())

    def _debounced(self) -> None:
        self._timer = None
        if self._running:
            self._update(final=True)
