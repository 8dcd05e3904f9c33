"""X11: idle time, the focused window and its title, from one X connection.

Everything arrives through the X connection's file descriptor, watched with
``loop.add_reader``; nothing polls:

* **Focus, title and fullscreen**: the window manager publishes the focused window
  in the root window's ``_NET_ACTIVE_WINDOW`` (EWMH). We listen for PropertyNotify on
  the root and on the focused window (for its title and its ``_NET_WM_STATE``, which
  holds ``_NET_WM_STATE_FULLSCREEN`` while it fills the screen), and read
  ``_NET_WM_NAME`` / ``WM_NAME``, ``WM_CLASS``, ``_NET_WM_PID`` and ``_NET_WM_STATE``
  when they change.
* **Idle**: the MIT-SCREEN-SAVER extension tells how long ago the last input was.
  Rather than asking every few seconds, we ask once and set a deadline for the
  moment the idle threshold would be reached; if input happened meanwhile, the
  deadline moves. Once idle, XInput2 raw events (selected on the root only while
  idle, because they are noisy) tell us the moment the person is back, plus a slow
  safety check for input that produces no raw event (absolute pointer warps).

python-xlib is a blocking library. Its round trips go to a local X server and
take well under a millisecond, so they run on the event loop; only opening the
connection, which can hang on a wedged or remote server, runs in a helper thread
with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

import structlog
from Xlib import X, Xatom
from Xlib import display as xdisplay
from Xlib import error as xerror
from Xlib import ext as xext
from Xlib.ext import ge, xinput

from nudged.activity.base import (
    ActivitySink,
    ActivitySource,
    Capability,
    Focus,
    Health,
    Probe,
    Session,
    SessionType,
)
from nudged.activity.common import utcnow
from nudged.errors import NudgedError

log = structlog.get_logger("nudged.activity.x11")

__all__ = ["X11Source", "X11Unavailable", "decode_text"]

#: Seconds to wait for the X server to accept a connection. Below the manager's
#: 2 s probe timeout, so our own, more helpful reason is the one people see.
OPEN_TIMEOUT = 1.5
#: openbox (and others) set _NET_ACTIVE_WINDOW to 0 for a moment while moving the
#: focus; "nothing is focused" is only believed if it lasts this long (seconds).
FOCUS_DEBOUNCE = 0.1
#: While idle, how often to re-check the idle time in case input produced no raw
#: event (seconds). Raw events are the real signal; this only bounds the damage.
SAFETY_INTERVAL = 60.0
#: The same without XInput2 (no raw events at all): the only way back from idle.
NO_XI2_INTERVAL = 5.0
#: A deadline may fire a little early (loop clock granularity); accept that (ms).
EARLY_SLACK_MS = 20
#: Never re-arm a deadline sooner than this (seconds): no tight loops on odd servers.
MIN_DEADLINE = 0.05
#: If the idle time dropped this much below the time we believe the person has been
#: away (ms), there was input that produced no raw event: they are back. Both
#: figures come from the server's idle counter and the loop's monotonic clock, which
#: agree to a few ms; the slack only absorbs round-trip latency.
CAME_BACK_SLACK_MS = 250
#: More unexpected errors than this within RECONNECT_WINDOW seconds: give up and
#: let the manager restart us with backoff, instead of reconnecting in a loop.
MAX_RECONNECTS = 3
RECONNECT_WINDOW = 60.0
#: Events handled per wake-up before yielding to the rest of the loop.
EVENT_BATCH = 500

_XI_RAW_MASK = xinput.RawKeyPressMask | xinput.RawButtonPressMask | xinput.RawMotionMask
_XI_RAW_TYPES = frozenset({xinput.RawKeyPress, xinput.RawButtonPress, xinput.RawMotion})

_T = TypeVar("_T")


class X11Unavailable(NudgedError):
    """The X display cannot be used (start failed); the message says what to do."""


# --------------------------------------------------------------------------- text


# ISO 2022 escape sequences (ESC, intermediates 0x20-0x2f, a final byte) and the
# direction control sequences of COMPOUND_TEXT (CSI ... ]).
_ESCAPE = re.compile(rb"\x1b[\x20-\x2f]*[\x30-\x7e]|\x9b[\x30-\x3f]*\]")


def decode_text(data: bytes, type_name: str) -> str:
    """Decode a window title, whatever encoding the client chose.

    Why not simply UTF-8: ``_NET_WM_NAME`` should be UTF8_STRING, but xdotool (and
    some toolkits) write STRING containing UTF-8; ICCCM's STRING is Latin-1; and
    xterm, without a UTF-8 title resource, writes only ``WM_NAME`` as COMPOUND_TEXT
    with the non-ASCII part in an ``ESC % G`` (UTF-8) segment.
    """
    if type_name == "UTF8_STRING":
        return data.decode("utf-8", "replace")
    if type_name == "COMPOUND_TEXT":
        return _decode_compound_text(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _decode_compound_text(data: bytes) -> str:
    """Enough of COMPOUND_TEXT for titles: UTF-8 segments and the Latin-1 default.

    Segments in other charsets (e.g. JIS) would need conversion tables; they are
    decoded as Latin-1, which keeps their ASCII parts readable.
    """
    parts: list[str] = []
    utf8 = False
    pos = 0
    for match in _ESCAPE.finditer(data):
        chunk = data[pos:match.start()]
        parts.append(chunk.decode("utf-8", "replace") if utf8 else chunk.decode("latin-1"))
        seq = match.group()
        if seq == b"\x1b%G":
            utf8 = True
        elif seq == b"\x1b%@" or not seq.startswith(b"\x1b%"):
            utf8 = False
        pos = match.end()
    chunk = data[pos:]
    parts.append(chunk.decode("utf-8", "replace") if utf8 else chunk.decode("latin-1"))
    return "".join(parts)


# --------------------------------------------------------------------------- connection


def _close_quietly(display: Any) -> None:
    """Close a display whatever state it is in (close() flushes, which can raise)."""
    try:
        display.close()
    except Exception:
        with contextlib.suppress(Exception):
            display.display.socket.close()


async def _in_thread(func: Callable[[], _T], timeout: float, what: str,
                     cleanup: Callable[[_T], None] | None = None) -> _T:
    """Run blocking ``func`` in a daemon thread, waiting at most ``timeout`` seconds.

    Why not ``asyncio.to_thread``: a thread stuck on a wedged X server would keep
    the default executor (and so ``asyncio.run``'s shutdown) waiting forever. A
    result that arrives after the wait was abandoned is handed to ``cleanup``.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()

    def succeed(result: _T) -> None:
        if not future.done():
            future.set_result(result)
        elif cleanup is not None:
            cleanup(result)  # nobody waits any more (timed out or cancelled)

    def failed(exc: BaseException) -> None:
        if not future.done():
            future.set_exception(exc)

    def run() -> None:
        try:
            result = func()
        except BaseException as exc:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody cares
                loop.call_soon_threadsafe(failed, exc)
            return
        try:
            loop.call_soon_threadsafe(succeed, result)
        except RuntimeError:  # the loop is closed: nobody will ever take it
            if cleanup is not None:
                cleanup(result)

    threading.Thread(target=run, name=f"nudged-x11-{what}", daemon=True).start()
    # On timeout (or cancellation) wait_for cancels ``future``; ``succeed`` then
    # sees it done and cleans up whatever the thread still produces.
    return await asyncio.wait_for(future, timeout)


#: The X extensions nudged uses. python-xlib otherwise sets up every extension the
#: server offers (fifteen modules, a round trip each, about 2 MiB kept for the
#: daemon's life); XInput2's events arrive through the Generic Event Extension.
_EXTENSIONS = frozenset({"Generic Event Extension", "XInputExtension", "MIT-SCREEN-SAVER"})
_EXTENSIONS_LOCK = threading.Lock()


def _open(name: str) -> Any:
    """Blocking: connect to the X display ``name`` (python-xlib), with only the
    extensions nudged uses (python-xlib reads them from a module-level list, so it is
    narrowed for the moment of the call, under a lock: displays open in threads)."""
    with _EXTENSIONS_LOCK:
        every = xext.__extensions__
        xext.__extensions__ = [e for e in every if e[0] in _EXTENSIONS]
        try:
            return xdisplay.Display(name)
        finally:
            xext.__extensions__ = every


async def _open_display(name: str, timeout: float = OPEN_TIMEOUT) -> Any:
    return await _in_thread(lambda: _open(name), timeout, "open", cleanup=_close_quietly)


def _open_failure(name: str, exc: BaseException) -> str:
    """An actionable sentence for a display that did not open."""
    if isinstance(exc, TimeoutError):
        return (f"the X display {name} did not answer within {OPEN_TIMEOUT:g}s; "
                "the X server may be hung or far away")
    detail = str(exc).strip() or type(exc).__name__
    return (f"cannot open the X display {name} ({detail}); if the X session is running, "
            "nudged's service may have a stale DISPLAY or no XAUTHORITY: run "
            "`systemctl --user import-environment DISPLAY XAUTHORITY` and restart nudged")


@dataclass(frozen=True)
class _ServerFacts:
    """What a probe learns about an X server."""

    screensaver: bool
    xinput: bool
    active_window: bool  # the window manager publishes _NET_ACTIVE_WINDOW


def _server_facts(name: str) -> _ServerFacts:
    """Blocking: open the display, look at it, close it (no other side effect)."""
    display = _open(name)
    try:
        root = display.screen().root
        supported = root.get_full_property(display.intern_atom("_NET_SUPPORTED"),
                                           X.AnyPropertyType)
        active = display.intern_atom("_NET_ACTIVE_WINDOW")
        return _ServerFacts(
            screensaver=display.has_extension("MIT-SCREEN-SAVER"),
            xinput=display.has_extension("XInputExtension"),
            active_window=supported is not None and active in supported.value,
        )
    finally:
        _close_quietly(display)


# --------------------------------------------------------------------------- source


class X11Source(ActivitySource):
    """Idle, focus and window titles on an X11 session (any EWMH window manager).

    Probe: a session of type X11 with DISPLAY set, a display that opens within
    :data:`OPEN_TIMEOUT`, and the MIT-SCREEN-SAVER extension; otherwise "no" with
    what to do.

    **No window manager is an OK with reduced capabilities, not a "no".** Without
    a WM that publishes ``_NET_ACTIVE_WINDOW`` there is no focused application to
    find, by any source (ActivityWatch's window watcher reads the same property),
    while idle detection still works. And the usual cause is a race at login:
    nudged's user service starts before the WM has set ``_NET_SUPPORTED``. So the
    probe says yes with a reason ("idle only for now ..."), the source keeps
    watching the root window, and focus reports start as soon as a WM (or a
    replacement WM) publishes the active window.

    Reports: ``focus_changed`` when the focused window's app (WM_CLASS class) or
    title changes or it enters or leaves fullscreen, with ``None`` once nothing is
    focused for :data:`FOCUS_DEBOUNCE`; ``idle_changed(True)`` back-dated to the
    last input, ``idle_changed(False)`` at the first input after that. Titles are
    read only while the manager wants ``Capability.TITLE`` from this source (checked
    at read time, because the manager may change ``wanted`` while we run).
    """

    name: ClassVar[str] = "x11"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.IDLE, Capability.FOCUS, Capability.TITLE})
    priority: ClassVar[int] = 40
    sessions: ClassVar[frozenset[SessionType]] = frozenset({SessionType.X11})

    def __init__(self, session: Session, sink: ActivitySink, idle_after: timedelta,
                 wanted: frozenset[Capability] | None = None) -> None:
        super().__init__(session, sink, idle_after, wanted)
        #: Seconds between idle re-checks while idle (tests shorten it).
        self.safety_interval = SAFETY_INTERVAL
        self._loop: asyncio.AbstractEventLoop | None = None
        self._display: Any = None
        self._root: Any = None
        self._fd: int | None = None
        self._atoms: dict[str, int] = {}
        self._xi_opcode: int | None = None
        self._running = False
        # focus
        self._active = 0                      # window whose properties we watch
        self._focus: Focus | None = None      # last reported
        self._focus_reported = False
        self._focus_timer: asyncio.TimerHandle | None = None
        # idle
        self._idle: bool | None = None        # last reported
        self._idle_timer: asyncio.TimerHandle | None = None
        self._raw_selected = False
        self._away_since = 0.0                # loop time of the last input, while idle
        # recovery
        self._reconnects: list[float] = []
        self._reopen: asyncio.Task[None] | None = None
        self._drain_soon: asyncio.Handle | None = None

    # -- probe ------------------------------------------------------------------------

    @classmethod
    async def probe(cls, session: Session) -> Probe:
        """Open the display briefly and check the extensions and the WM."""
        if session.type is not SessionType.X11:
            return Probe.no(
                f"the session is {session.type.value}, not X11; there X11 would see only "
                "XWayland windows, so a source for that desktop is used instead")
        name = session.display
        if not name:
            return Probe.no(
                "no DISPLAY: nudged's service does not see the X session; run "
                "`systemctl --user import-environment DISPLAY XAUTHORITY` (your session "
                "start-up should do it) and restart nudged")
        try:
            facts = await _in_thread(lambda: _server_facts(name), OPEN_TIMEOUT, "probe")
        except Exception as exc:
            return Probe.no(_open_failure(name, exc))
        if not facts.screensaver:
            return Probe.no(
                f"the X server on {name} has no MIT-SCREEN-SAVER extension, so idle time "
                "cannot be read (some VNC/xpra servers drop it); enable it in the server, "
                "or rely on another idle source")
        if not facts.active_window:
            return Probe.yes(
                f"idle only for now: no window manager on {name} publishes "
                "_NET_ACTIVE_WINDOW (none running yet?); focus follows once one does")
        if not facts.xinput:
            return Probe.yes("no XInput2: the return from idle is noticed within "
                             f"{NO_XI2_INTERVAL:g}s instead of at once")
        return Probe.yes()

    # -- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, subscribe, and report the current focus and idle state once."""
        self._loop = asyncio.get_running_loop()
        self._running = True
        self._focus_reported = False
        self._idle = None
        name = self.session.display
        if not name:
            raise X11Unavailable("no DISPLAY in nudged's environment")
        try:
            display = await _open_display(name)
        except Exception as exc:
            self._running = False
            raise X11Unavailable(_open_failure(name, exc)) from exc
        if not self._running:  # stopped while we were connecting
            _close_quietly(display)
            return
        try:
            self._attach(display)
        except Exception as exc:
            self._detach()
            self._running = False
            raise X11Unavailable(f"the X display {name} failed while subscribing: "
                                 f"{type(exc).__name__}: {exc}") from exc
        self.health = Health.RUNNING

    async def stop(self) -> None:
        """Disconnect; safe to call twice, never raises."""
        self._running = False
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        try:
            self._detach()
        except Exception as exc:  # pragma: no cover - _detach already suppresses
            log.debug("x11 stop", error=str(exc))
        if self.health is not Health.FAILED:
            self.health = Health.STOPPED

    async def refresh(self) -> None:
        """Report focus and idle afresh (after a resume the idle clock jumped)."""
        if self._display is None:
            return

        def again() -> None:
            self._cancel_idle_timer()
            self._set_raw_events(False)
            self._idle = None
            self._focus_reported = False
            self._update_focus(final=True)
            self._arm_idle()

        self._guard(again)

    # -- connection -------------------------------------------------------------------

    def _attach(self, display: Any) -> None:
        """Subscribe on a fresh connection and report what differs from before."""
        assert self._loop is not None
        self._display = display
        display.set_error_handler(self._on_async_error)
        self._root = display.screen().root
        self._atoms = {name: display.intern_atom(name) for name in (
            "_NET_ACTIVE_WINDOW", "_NET_SUPPORTED", "_NET_WM_NAME", "_NET_WM_PID",
            "_NET_WM_STATE", "_NET_WM_STATE_FULLSCREEN", "UTF8_STRING", "COMPOUND_TEXT")}
        self._atoms["WM_NAME"] = Xatom.WM_NAME
        self._atoms["WM_CLASS"] = Xatom.WM_CLASS
        self._xi_opcode = None
        if display.has_extension("XInputExtension"):
            opcode = display.query_extension("XInputExtension").major_opcode
            # XI 2.2 rather than python-xlib's 2.0: since 2.1 raw events reach us
            # even while another client grabs the device (a menu, a screen locker).
            reply = xinput.XIQueryVersion(display=display.display, opcode=opcode,
                                          major_version=2, minor_version=2)
            if reply.major_version >= 2:
                self._xi_opcode = opcode
        self._root.change_attributes(event_mask=X.PropertyChangeMask)
        self._active = 0
        self._raw_selected = False
        self._fd = display.fileno()
        self._loop.add_reader(self._fd, self._on_readable)
        self._update_focus(final=True)
        self._arm_idle()
        self._drain()

    def _detach(self) -> None:
        """Forget the connection: reader, timers, display. Never raises."""
        for timer in (self._focus_timer, self._idle_timer, self._drain_soon):
            if timer is not None:
                timer.cancel()
        self._focus_timer = self._idle_timer = self._drain_soon = None
        if self._fd is not None and self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self._fd)
        self._fd = None
        display, self._display, self._root = self._display, None, None
        if display is not None:
            _close_quietly(display)
        self._active = 0
        self._raw_selected = False

    def _guard(self, work: Callable[[], None]) -> None:
        """Run one piece of X work from the loop and sort out what went wrong.

        Every entry point (fd readable, timers, refresh) goes through here, so a
        lost server always ends in ``fail`` and any other surprise in a fresh
        connection: python-xlib can spin at 100% CPU on a connection it got
        confused about, so a confused connection is never used again.
        """
        if self._display is None or not self._running:
            return
        try:
            work()
            self._drain()
        except (xerror.ConnectionClosedError, OSError) as exc:
            self._lost(str(exc) or type(exc).__name__)
        except Exception as exc:
            log.warning("x11: unexpected error; reconnecting", error=f"{type(exc).__name__}: "
                        f"{exc}")
            self._reconnect(f"{type(exc).__name__}: {exc}")

    def _lost(self, detail: str) -> None:
        """The X server went away (or hung up on us): stop and let the manager retry."""
        self._detach()
        if not self._running:
            return
        self._running = False
        self.fail(f"lost the X display {self.session.display}: {detail}")

    def _reconnect(self, detail: str) -> None:
        assert self._loop is not None
        self._detach()
        now = self._loop.time()
        self._reconnects = [t for t in self._reconnects if now - t < RECONNECT_WINDOW] + [now]
        if len(self._reconnects) > MAX_RECONNECTS:
            self._running = False
            self.fail(f"the X connection keeps failing ({detail})")
            return
        self._reopen = self._loop.create_task(self._reopen_display(detail))

    async def _reopen_display(self, detail: str) -> None:
        name = self.session.display or ""
        try:
            display = await _open_display(name)
        except Exception as exc:
            if self._running:
                self._running = False
                self.fail(f"{_open_failure(name, exc)} (after: {detail})")
            return
        finally:
            self._reopen = None
        if not self._running:
            _close_quietly(display)
            return
        try:
            self._attach(display)
        except (xerror.ConnectionClosedError, OSError) as exc:
            self._lost(str(exc))
        except Exception as exc:
            self._detach()
            self._running = False
            self.fail(f"the X display {name} failed again: {type(exc).__name__}: {exc}")

    def _on_async_error(self, err: Any, request: Any) -> None:
        """Errors of requests without a reply: a window we watched vanished. Harmless."""
        log.debug("x11: protocol error ignored", error=str(err).strip())

    # -- events -----------------------------------------------------------------------

    def _on_readable(self) -> None:
        self._guard(lambda: None)  # _guard drains

    def _drain(self) -> None:
        """Handle every event python-xlib has read or queued during round trips.

        Replies to our own requests (in timers, in handlers) can carry events that
        python-xlib queues without the fd becoming readable again, so every entry
        point ends here. A long backlog is handled in batches so the loop breathes.
        """
        display = self._display
        handled = 0
        while display is not None and display is self._display and display.pending_events():
            self._handle(display.next_event())
            handled += 1
            if handled >= EVENT_BATCH and self._loop is not None:
                if self._drain_soon is None:
                    self._drain_soon = self._loop.call_soon(self._drain_later)
                break
        if display is not None and display is self._display:
            display.flush()  # requests made by the handlers (event masks)

    def _drain_later(self) -> None:
        self._drain_soon = None
        self._guard(lambda: None)

    def _handle(self, event: Any) -> None:
        if event.type == X.PropertyNotify:
            window = event.window.id
            if window == self._root.id:
                if event.atom in (self._atoms["_NET_ACTIVE_WINDOW"],
                                  self._atoms["_NET_SUPPORTED"]):
                    self._update_focus(final=False)
            elif window == self._active and event.atom in (
                    self._atoms["_NET_WM_NAME"], self._atoms["WM_NAME"],
                    self._atoms["WM_CLASS"], self._atoms["_NET_WM_STATE"]):
                self._update_focus(final=False)
        elif (event.type == ge.GenericEventCode and self._xi_opcode is not None
              and event.extension == self._xi_opcode and event.evtype in _XI_RAW_TYPES):
            self._on_input()

    # -- focus ------------------------------------------------------------------------

    def _active_window(self) -> int:
        prop = self._root.get_full_property(self._atoms["_NET_ACTIVE_WINDOW"],
                                            X.AnyPropertyType)
        if prop is None or prop.format != 32 or len(prop.value) == 0:
            return 0
        return int(prop.value[0])

    def _update_focus(self, final: bool) -> None:
        """Follow ``_NET_ACTIVE_WINDOW``; ``final`` is the debounce's last word.

        A window of 0, or one that vanished before we could read it, is usually a
        moment in a focus change; it becomes "nothing focused" only if it is still
        so after :data:`FOCUS_DEBOUNCE`.
        """
        wid = self._active_window()
        focus = self._read_focus(wid) if wid else None
        if focus is None and not final:
            if self._focus_timer is None:
                assert self._loop is not None
                self._focus_timer = self._loop.call_later(FOCUS_DEBOUNCE, self._debounced)
            return
        if self._focus_timer is not None:
            self._focus_timer.cancel()
            self._focus_timer = None
        self._watch_window(wid if focus is not None else 0)
        self._report_focus(focus)

    def _debounced(self) -> None:
        self._focus_timer = None
        self._guard(lambda: self._update_focus(final=True))

    def _watch_window(self, wid: int) -> None:
        """Listen for property changes (title, state) of ``wid`` only, not its predecessor."""
        if wid == self._active:
            return
        if self._active:
            old = self._display.create_resource_object("window", self._active)
            old.change_attributes(event_mask=X.NoEventMask)  # BadWindow if gone: ignored
        if wid:
            new = self._display.create_resource_object("window", wid)
            new.change_attributes(event_mask=X.PropertyChangeMask)
        self._active = wid

    def _read_focus(self, wid: int) -> Focus | None:
        """The app, title, pid and fullscreen state of ``wid``; None if the window vanished."""
        window = self._display.create_resource_object("window", wid)
        try:
            title = self._read_title(window) if Capability.TITLE in self.wanted else ""
            wm_class = window.get_full_property(self._atoms["WM_CLASS"], X.AnyPropertyType)
            pid_prop = window.get_full_property(self._atoms["_NET_WM_PID"], X.AnyPropertyType)
            state = window.get_full_property(self._atoms["_NET_WM_STATE"], X.AnyPropertyType)
        except (xerror.BadWindow, xerror.BadDrawable, xerror.BadMatch):
            return None
        app = ""
        if wm_class is not None and wm_class.format == 8:
            # "instance\0class\0": the class ("Firefox") names the app; the instance
            # ("Navigator") is per window and only a fallback.
            names = [n for n in bytes(wm_class.value).split(b"\0") if n]
            if names:
                app = (names[1] if len(names) > 1 else names[0]).decode("utf-8", "replace")
        pid = None
        if pid_prop is not None and pid_prop.format == 32 and len(pid_prop.value):
            pid = int(pid_prop.value[0]) or None
        # A list of atoms, kept by the window manager (a client asks it to change).
        fullscreen = (state is not None and state.format == 32
                      and self._atoms["_NET_WM_STATE_FULLSCREEN"] in state.value)
        return Focus(app=app, title=title, pid=pid, fullscreen=fullscreen)

    def _read_title(self, window: Any) -> str:
        # AnyPropertyType: asking for UTF8_STRING returns nothing when the client
        # wrote STRING (xdotool does), so take whatever type is there.
        for atom in (self._atoms["_NET_WM_NAME"], self._atoms["WM_NAME"]):
            prop = window.get_full_property(atom, X.AnyPropertyType)
            if prop is not None and prop.format == 8 and len(prop.value):
                type_name = self._type_name(prop.property_type)
                return decode_text(bytes(prop.value), type_name)
        return ""

    def _type_name(self, atom: int) -> str:
        if atom == self._atoms["UTF8_STRING"]:
            return "UTF8_STRING"
        if atom == self._atoms["COMPOUND_TEXT"]:
            return "COMPOUND_TEXT"
        if atom == Xatom.STRING:
            return "STRING"
        return str(atom)

    def _report_focus(self, focus: Focus | None) -> None:
        """Report only what a person would call a change: another app or title, or
        the focused window entering or leaving fullscreen."""
        if self._focus_reported:
            before = self._focus
            if before is None and focus is None:
                return
            if (before is not None and focus is not None
                    and (before.app, before.title, before.fullscreen)
                    == (focus.app, focus.title, focus.fullscreen)):
                self._focus = focus  # the same to a person (another window): keep quiet
                return
        self._focus = focus
        self._focus_reported = True
        self.sink.focus_changed(self.name, focus, utcnow())

    # -- idle -------------------------------------------------------------------------

    def _idle_ms(self) -> int:
        return int(self._root.screensaver_query_info().idle)

    @property
    def _threshold_ms(self) -> int:
        return max(1, int(self.idle_after / timedelta(milliseconds=1)))

    def _arm_idle(self) -> None:
        """Ask the server how long input has been quiet; report or set the deadline."""
        idle_ms = self._idle_ms()
        if idle_ms + EARLY_SLACK_MS >= self._threshold_ms:
            self._become_idle(idle_ms)
        else:
            if self._idle is not False:
                self._idle = False
                self.sink.idle_changed(self.name, False, utcnow())
            self._set_idle_timer((self._threshold_ms - idle_ms) / 1000, self._deadline)

    def _deadline(self) -> None:
        """The threshold would be reached now, unless there was input meanwhile."""
        self._idle_timer = None
        self._guard(self._arm_idle)

    def _become_idle(self, idle_ms: int) -> None:
        assert self._loop is not None
        self._away_since = self._loop.time() - idle_ms / 1000
        self._set_raw_events(True)
        if self._idle is not True:
            self._idle = True
            self.sink.idle_changed(self.name, True, utcnow() - timedelta(milliseconds=idle_ms))
        interval = self.safety_interval if self._xi_opcode is not None else min(
            self.safety_interval, NO_XI2_INTERVAL)
        self._set_idle_timer(interval, self._safety_check)

    def _on_input(self) -> None:
        """A raw input event: the person is back (only selected while idle)."""
        if self._idle is not True:
            self._set_raw_events(False)
            return
        self._back(utcnow())
        self._set_idle_timer(self._threshold_ms / 1000, self._deadline)

    def _back(self, at: datetime) -> None:
        self._set_raw_events(False)
        self._idle = False
        self.sink.idle_changed(self.name, False, at)

    def _safety_check(self) -> None:
        self._idle_timer = None
        self._guard(self._check_still_away)

    def _check_still_away(self) -> None:
        """Input that made no raw event still resets the server's idle counter."""
        assert self._loop is not None
        idle_ms = self._idle_ms()
        away_ms = (self._loop.time() - self._away_since) * 1000
        slack = min(CAME_BACK_SLACK_MS, self._threshold_ms / 2)
        if idle_ms + slack < away_ms:
            self._back(utcnow() - timedelta(milliseconds=idle_ms))
            self._arm_idle()  # they may have left again already: back-dated, as always
        else:
            self._become_idle(idle_ms)

    def _set_raw_events(self, on: bool) -> None:
        if self._xi_opcode is None or on == self._raw_selected:
            return
        self._root.xinput_select_events([(xinput.AllMasterDevices, _XI_RAW_MASK if on else 0)])
        self._display.flush()
        self._raw_selected = on

    def _set_idle_timer(self, delay: float, callback: Callable[[], None]) -> None:
        assert self._loop is not None
        self._cancel_idle_timer()
        self._idle_timer = self._loop.call_later(max(MIN_DEADLINE, delay), callback)

    def _cancel_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
