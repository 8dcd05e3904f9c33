"""sway: the focused window, its app and title, from sway's i3-compatible IPC.

Why a sway source when the wlroots window list (``wlr-toplevel``) also works on
sway: IPC gives the pid, the X11 class of XWayland windows (a browser running
under XWayland has no Wayland app id), and needs no Wayland connection at all.

We subscribe to ``window`` and ``workspace`` events with i3ipc's asyncio API:

* ``window::focus`` names the new focused window;
* ``window::title`` and ``window::fullscreen_mode`` are reported only for the
  focused window;
* ``window::close`` of the focused window, and ``workspace::focus`` (which may land
  on an empty workspace, where no window event follows), are followed by one
  ``get_tree`` to learn what has the focus now.

Two quirks of i3ipc 2.2.1's asyncio ``Connection`` are handled here: it has no way
to close it (we remove its reader and close its two sockets ourselves), and its
command socket is blocking, so a compositor that stops answering would block the
whole event loop inside ``sock_recv``; we make that socket non-blocking.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import timedelta
from typing import Any, ClassVar

import structlog
from i3ipc import Event
from i3ipc.aio import Connection

from nudged.activity.base import (
    ActivitySink,
    Capability,
    Focus,
    Health,
    Probe,
    Session,
    SessionType,
)
from nudged.activity.common import ConnectedSource, LastFocus, utcnow
from nudged.errors import NudgedError

log = structlog.get_logger("nudged.activity.sway")

__all__ = ["SwaySource", "SwayUnavailable", "focus_of"]

#: Seconds to connect and get an answer. Below the manager's 2 s probe timeout.
IPC_TIMEOUT = 1.5
#: Container types that are windows (the rest are workspaces, outputs, the root).
_VIEW_TYPES = frozenset({"con", "floating_con"})


class SwayUnavailable(NudgedError):
    """sway's IPC cannot be used (start failed); the message says what to do."""


def focus_of(con: Any, with_title: bool = True) -> Focus | None:
    """The Focus of an i3ipc container, or None if it is not a window.

    The app is the Wayland app id, or for XWayland windows the X11 class (what
    the X11 source would report for the same browser). ``fullscreen_mode`` is 1
    (fullscreen on its output) or 2 (across all outputs) while it fills the screen.
    """
    if con is None or getattr(con, "type", None) not in _VIEW_TYPES:
        return None
    app = con.app_id or con.window_class or con.window_instance
    if not app and not con.name and con.pid is None:
        return None  # a split container, not a window
    return Focus(app=app or "", title=(con.name or "") if with_title else "",
                 pid=con.pid if isinstance(con.pid, int) and con.pid > 0 else None,
                 fullscreen=bool(getattr(con, "fullscreen_mode", 0)))


def _close_connection(conn: Connection) -> None:
    """What i3ipc's Connection lacks: stop reading and close both sockets."""
    loop = getattr(conn, "_loop", None)
    fd = getattr(conn, "_sub_fd", None)
    if loop is not None and fd is not None:
        with contextlib.suppress(Exception):
            loop.remove_reader(fd)
    for attr in ("_sub_socket", "_cmd_socket"):
        sock = getattr(conn, attr, None)
        if sock is not None:
            with contextlib.suppress(Exception):
                sock.close()


async def _connect(path: str) -> Connection:
    """Connect to sway's socket at ``path``, with a non-blocking command socket."""
    conn = Connection(socket_path=path, auto_reconnect=False)
    try:
        await conn.connect()
        conn._cmd_socket.setblocking(False)
    except BaseException:
        _close_connection(conn)
        raise
    return conn


async def _version(path: str) -> Any:
    conn = await _connect(path)
    try:
        return await conn.get_version()
    finally:
        _close_connection(conn)


class SwaySource(ConnectedSource):
    """FOCUS and TITLE on sway, from its IPC (``$SWAYSOCK``).

    Probe: a Wayland session with ``SWAYSOCK`` set, and sway answering
    ``get_version`` within :data:`IPC_TIMEOUT`.

    Reports the focused window once at start, then each change of its app, title,
    pid or fullscreen state; None when the focus lands on an empty workspace or the
    last window closes. The IPC connection closing makes the source FAILED (the
    manager restarts it with backoff).
    """

    name: ClassVar[str] = "sway"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.FOCUS, Capability.TITLE})
    priority: ClassVar[int] = 20
    sessions: ClassVar[frozenset[SessionType]] = frozenset({SessionType.WAYLAND})

    def __init__(self, session: Session, sink: ActivitySink, idle_after: timedelta,
                 wanted: frozenset[Capability] | None = None) -> None:
        super().__init__(session, sink, idle_after, wanted)
        self._conn: Connection | None = None
        self._main: asyncio.Task[None] | None = None
        self._query: asyncio.Task[None] | None = None
        self._query_again = False
        self._events = 0  # window focus events seen (to tell a stale get_tree answer)
        self._focused_id: int | None = None
        self._last_focus = LastFocus()

    @classmethod
    async def probe(cls, session: Session) -> Probe:
        """Ask sway for its version over ``$SWAYSOCK``."""
        if session.type is not SessionType.WAYLAND:
            return Probe.no(f"the session is {session.type.value}, not Wayland (sway is a "
                            "Wayland compositor)")
        path = session.environ.get("SWAYSOCK") or ""
        if not path:
            return Probe.no("no SWAYSOCK: not a sway session, or nudged's service does not "
                            "see it; run `systemctl --user import-environment SWAYSOCK` "
                            "from sway's config and restart nudged")
        if not os.path.exists(path):
            return Probe.no(f"SWAYSOCK={path} does not exist (sway restarted? restart nudged)")
        try:
            version = await asyncio.wait_for(_version(path), IPC_TIMEOUT)
        except TimeoutError:
            return Probe.no(f"sway did not answer on {path} within {IPC_TIMEOUT:g}s")
        except Exception as exc:
            return Probe.no(f"cannot talk to sway on {path}: {type(exc).__name__}: {exc}")
        return Probe.yes(f"sway {getattr(version, 'human_readable', '')}".strip())

    async def start(self) -> None:
        """Connect, subscribe, and report the focused window once."""
        self._running = True
        self._last_focus.forget()
        path = self.session.environ.get("SWAYSOCK") or ""
        if not path:
            self._running = False
            raise SwayUnavailable("no SWAYSOCK in nudged's environment")
        try:
            conn = await asyncio.wait_for(_connect(path), IPC_TIMEOUT)
        except Exception as exc:
            self._running = False
            raise SwayUnavailable(f"cannot connect to sway on {path}: "
                                  f"{type(exc).__name__}: {exc}") from exc
        self._conn = conn
        try:
            # Subscribe first (awaited), then attach handlers: ``on`` would subscribe
            # in a task of its own whose failure nobody sees.
            await asyncio.wait_for(conn.subscribe([Event.WINDOW, Event.WORKSPACE]),
                                   IPC_TIMEOUT)
            conn.on(Event.WINDOW, self._on_window)
            conn.on(Event.WORKSPACE, self._on_workspace)
            # i3ipc only raises a lost connection from main(): run it from now on.
            self._main = asyncio.get_running_loop().create_task(self._watch(conn))
            tree = await asyncio.wait_for(conn.get_tree(), IPC_TIMEOUT)
        except Exception as exc:
            self._teardown()
            self._running = False
            raise SwayUnavailable(f"sway on {path} failed while subscribing: "
                                  f"{type(exc).__name__}: {exc}") from exc
        if not self._running:
            self._teardown()
            return
        self._live = True
        self.health = Health.RUNNING
        focused = tree.find_focused()
        self._focused_id = getattr(focused, "id", None)
        self._report(focus_of(focused, self._titles))

    async def refresh(self) -> None:
        """Report the focused window afresh, even if unchanged."""
        if self._live:
            self._last_focus.forget()
            self._requery()

    @property
    def _titles(self) -> bool:
        return Capability.TITLE in self.wanted

    def _teardown(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # its future may be cancelled already
                conn.main_quit()
            _close_connection(conn)
        for task in (self._main, self._query):
            if task is not None and not task.done():
                task.cancel()
        self._main = self._query = None

    async def _watch(self, conn: Connection) -> None:
        """Wait for i3ipc's main loop to end: the connection closed (or a handler broke)."""
        try:
            await conn.main()
            detail = "the IPC connection closed"
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if conn is self._conn:
            self._lost(detail)

    def _lost(self, detail: str) -> None:
        self._main = None  # we are that task: do not cancel ourselves
        self._connection_lost(f"lost sway's IPC ({detail}; sway exited or restarted?)")

    # -- events -----------------------------------------------------------------------

    def _on_window(self, conn: Connection, event: Any) -> None:
        if not self._live:
            return
        con = event.container
        if event.change == "focus":
            self._focused_id = con.id
            self._events += 1  # a get_tree answer asked for before this one is stale
            self._report(focus_of(con, self._titles))
        elif event.change in ("title", "fullscreen_mode") and con.id == self._focused_id:
            self._report(focus_of(con, self._titles))
        elif event.change == "close" and con.id == self._focused_id:
            self._requery()

    def _on_workspace(self, conn: Connection, event: Any) -> None:
        if self._live and event.change in ("focus", "empty"):
            self._requery()

    def _requery(self) -> None:
        """Ask sway for the focused container (one query at a time, latest wins)."""
        if self._query is not None and not self._query.done():
            self._query_again = True
            return
        self._query = asyncio.get_running_loop().create_task(self._query_focus())

    async def _query_focus(self) -> None:
        while self._live and self._conn is not None:
            self._query_again = False
            # i3ipc answers on its command socket and sends events on another, so an
            # answer can arrive after a newer focus event: then the event is the truth.
            events = self._events
            try:
                tree = await asyncio.wait_for(self._conn.get_tree(), IPC_TIMEOUT)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("sway: get_tree failed", error=f"{type(exc).__name__}: {exc}")
                return  # a lost connection is reported by _watch
            if not self._live:
                return
            if events != self._events:
                if not self._query_again:
                    return
                continue
            focused = tree.find_focused()
            self._focused_id = getattr(focused, "id", None)
            self._report(focus_of(focused, self._titles))
            if not self._query_again:
                return

    def _report(self, focus: Focus | None) -> None:
        if self._last_focus.changed(focus):
            self.sink.focus_changed(self.name, focus, utcnow())
