"""The Wayland, sway and Hyprland activity sources against real compositors.

sway (headless, TESTBEDS.md section 4) runs as uid 65534 when the tests run as
root; the sources under test run in this process on a real asyncio loop and
connect to its sockets by absolute path (root may enter the 0700 runtime dir; as
an ordinary user everything runs as that user). foot windows are titled like the
browser tabs a person would lose an hour in; xterm stands in for a browser under
XWayland. KWin (section 5) shows ``ext_idle_notifier_v1``. There is no Hyprland
here: its source reads a fake event socket that writes real Hyprland event lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import shutil
import struct
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nudged.activity.base import (
    ActivitySource,
    Capability,
    Focus,
    Health,
    Session,
    SessionType,
)
from nudged.activity.manager import choose, load_source, probe_all
from tests.testbed import (
    ActivityRecorder,
    KWin,
    Sway,
    SwayWindow,
    TestbedError,
    require_kwin_tools,
    require_sway_tools,
)

desktop = pytest.mark.desktop

REDDIT = "Reddit - Dive into anything"
CALENDAR = "Calendar - Week 48"
INSTAGRAM = "Instagram"
#: ASCII on purpose: xterm writes a non-ASCII title only as a COMPOUND_TEXT WM_NAME,
#: which wlroots 0.15 ignores (the window then has no title at all). Browsers set
#: _NET_WM_NAME in UTF-8, which it reads.
REDDIT_X11 = "Reddit - Dive into anything - Mozilla Firefox"

WAYLAND_SOURCES = (
    "nudged.activity.wayland:WaylandIdleSource",
    "nudged.activity.wayland:WlrForeignToplevelSource",
    "nudged.activity.sway:SwaySource",
    "nudged.activity.hyprland:HyprlandSource",
)

#: Generous bounds: a shared CI machine can be slow, but never this slow.
REPORT_TIMEOUT = 5.0
#: CPU seconds the test process may use while three sources only wait for 2 s. A
#: busy loop would use the full 2 seconds.
IDLE_CPU_BUDGET = 0.15


# --------------------------------------------------------------------------- harness


def run(scenario: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Run one story on a fresh event loop, bounded in time."""
    async def bounded() -> Any:
        return await asyncio.wait_for(scenario(), timeout)
    return asyncio.run(bounded())


def _close_to(actual: datetime | None, expected: datetime, tolerance: float) -> bool:
    return actual is not None and abs((actual - expected).total_seconds()) <= tolerance


@pytest.fixture
def sway() -> Iterator[Sway]:
    """A headless sway, torn down (windows and sway, each by its PID) after the test."""
    require_sway_tools()
    with Sway() as compositor:
        yield compositor


@pytest.fixture
def kwin() -> Iterator[KWin]:
    """A headless KWin 5.27 from a copied binary, stopped by its PID after the test."""
    require_kwin_tools()
    with KWin() as compositor:
        yield compositor


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temp dir with a short path: AF_UNIX socket paths must fit in 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="nudged-h-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def session_of(environ: dict[str, str], desktop: str = "sway") -> Session:
    return Session(type=SessionType.WAYLAND, desktop=desktop, environ=environ)


def make(cls_path: str, session: Session, sink: ActivityRecorder, idle_after: float = 600.0,
         wanted: frozenset[Capability] | None = None) -> ActivitySource:
    """A source by its "module:Class" path, as the manager would build it."""
    return load_source(cls_path)(session, sink, timedelta(seconds=idle_after), wanted)


@contextlib.asynccontextmanager
async def running(*sources: ActivitySource) -> AsyncIterator[None]:
    started: list[ActivitySource] = []
    try:
        for source in sources:
            await source.start()
            started.append(source)
        yield
    finally:
        for source in started:
            await source.stop()


async def swaymsg(sway: Sway, *args: str) -> None:
    """swaymsg without blocking the loop (the sources keep reading their sockets)."""
    proc = await asyncio.create_subprocess_exec(
        "swaymsg", "-s", sway.swaysock, *args,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 10)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise TestbedError(f"swaymsg {' '.join(args)}: no answer within 10s") from None
    if proc.returncode != 0:
        raise TestbedError(f"swaymsg {' '.join(args)} failed: {err.decode().strip()}")


async def focus_window(sway: Sway, window: SwayWindow) -> None:
    await swaymsg(sway, f"[con_id={window.con_id}] focus")


def is_app(app: str) -> Callable[[Any], bool]:
    return lambda focus: focus is not None and focus.app == app


def titled(title: str) -> Callable[[Any], bool]:
    return lambda focus: focus is not None and focus.title == title


def fullscreen(on: bool) -> Callable[[Any], bool]:
    return lambda focus: focus is not None and focus.fullscreen is on


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- probes


WAYLAND_ENV_NAMES = {
    "nudged.activity.wayland:WaylandIdleSource": "WAYLAND_DISPLAY",
    "nudged.activity.wayland:WlrForeignToplevelSource": "WAYLAND_DISPLAY",
    "nudged.activity.sway:SwaySource": "SWAYSOCK",
    "nudged.activity.hyprland:HyprlandSource": "HYPRLAND_INSTANCE_SIGNATURE",
}


@pytest.mark.parametrize("path", WAYLAND_SOURCES)
def test_in_an_x11_session_no_wayland_source_offers_itself(path: str) -> None:
    cls = load_source(path)
    x11 = Session(type=SessionType.X11, desktop="xfce",
                  environ={"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0",
                           "XDG_RUNTIME_DIR": "/run/user/1000"})
    assert cls.sessions == frozenset({SessionType.WAYLAND})
    probe = run(lambda: cls.probe(x11))
    assert not probe.ok
    assert "x11" in probe.reason and "Wayland" in probe.reason


@pytest.mark.parametrize("path", WAYLAND_SOURCES)
def test_without_its_variable_a_source_says_which_one_to_import(path: str) -> None:
    cls = load_source(path)
    probe = run(lambda: cls.probe(session_of({"XDG_RUNTIME_DIR": "/run/user/1000"})))
    assert not probe.ok
    variable = WAYLAND_ENV_NAMES[path]
    assert f"no {variable}" in probe.reason
    assert "import-environment" in probe.reason


def test_a_stale_wayland_display_is_named(tmp_path: Path) -> None:
    from nudged.activity.wayland import WaylandIdleSource, WlrForeignToplevelSource

    session = session_of({"WAYLAND_DISPLAY": "wayland-9", "XDG_RUNTIME_DIR": str(tmp_path)})

    async def scenario() -> None:
        for cls in (WaylandIdleSource, WlrForeignToplevelSource):
            probe = await cls.probe(session)
            assert not probe.ok
            assert f"no Wayland compositor listens on {tmp_path}/wayland-9" in probe.reason

    run(scenario)


class FakeCompositor:
    """Just enough of a Wayland server to answer a probe: a list of globals.

    Real compositors here offer every global the sources want; this one offers
    what a test says, to show what the probes say about compositors that lack one
    (Mutter has no idle protocol; a compositor without input has no seat).
    """

    def __init__(self, path: Path, interfaces: list[str] | None) -> None:
        """``interfaces=None``: a hung compositor that accepts and never answers."""
        self.path = path
        self.interfaces = interfaces
        self._server: asyncio.AbstractServer | None = None

    async def __aenter__(self) -> FakeCompositor:
        self._server = await asyncio.start_unix_server(self._serve, str(self.path))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @staticmethod
    def _event(obj: int, opcode: int, body: bytes) -> bytes:
        return struct.pack("=II", obj, ((8 + len(body)) << 16) | opcode) + body

    @staticmethod
    def _string(text: str) -> bytes:
        data = text.encode() + b"\0"
        return struct.pack("=I", len(data)) + data + b"\0" * (-len(data) % 4)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        registry = callback = 0
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            if self.interfaces is None:
                await reader.read()
                return
            while not (registry and callback):
                obj, word = struct.unpack("=II", await reader.readexactly(8))
                body = await reader.readexactly((word >> 16) - 8)
                if obj == 1 and word & 0xFFFF == 1:  # wl_display.get_registry(new_id)
                    registry = struct.unpack("=I", body)[0]
                elif obj == 1 and word & 0xFFFF == 0:  # wl_display.sync(new_id)
                    callback = struct.unpack("=I", body)[0]
            for name, interface in enumerate(self.interfaces, start=1):
                writer.write(self._event(registry, 0, struct.pack("=I", name)
                                         + self._string(interface) + struct.pack("=I", 1)))
            writer.write(self._event(callback, 0, struct.pack("=I", 1)))
            await writer.drain()
            await reader.read()  # until the client hangs up
        writer.close()


@pytest.mark.parametrize(("interfaces", "idle_says", "list_says"), [
    (["wl_compositor", "wl_seat", "wl_output"],
     "offers neither ext_idle_notifier_v1 nor org_kde_kwin_idle",
     "offers no zwlr_foreign_toplevel_manager_v1"),
    (["wl_compositor", "ext_idle_notifier_v1", "zwlr_foreign_toplevel_manager_v1"],
     "offers no wl_seat", ""),
])
def test_probes_name_the_global_a_compositor_lacks(short_tmp: Path, interfaces: list[str],
                                                   idle_says: str, list_says: str) -> None:
    from nudged.activity.wayland import WaylandIdleSource, WlrForeignToplevelSource, read_globals

    socket_file = short_tmp / "wayland-fake"
    session = session_of({"WAYLAND_DISPLAY": str(socket_file)})

    async def scenario() -> None:
        async with FakeCompositor(socket_file, interfaces):
            assert set(await read_globals(str(socket_file))) == set(interfaces)
            idle = await WaylandIdleSource.probe(session)
            assert not idle.ok and idle_says in idle.reason
            windows = await WlrForeignToplevelSource.probe(session)
            assert windows.ok is (not list_says)
            assert list_says in windows.reason

    run(scenario)


def test_a_hung_compositor_costs_a_bounded_wait_and_can_be_stopped(short_tmp: Path) -> None:
    from nudged.activity.sway import SwaySource
    from nudged.activity.wayland import WaylandIdleSource, WlrForeignToplevelSource

    hung = short_tmp / "hung"
    session = session_of({"WAYLAND_DISPLAY": str(hung), "SWAYSOCK": str(hung)})

    async def scenario() -> None:
        async with FakeCompositor(hung, None):
            for cls in (WaylandIdleSource, SwaySource):
                began = time.monotonic()
                probe = await cls.probe(session)
                assert not probe.ok and "did not answer" in probe.reason, probe.reason
                assert time.monotonic() - began < 2.0, "below the manager's probe timeout"

            sink = ActivityRecorder()
            source = WlrForeignToplevelSource(session, sink, timedelta(minutes=3))
            starting = asyncio.ensure_future(source.start())
            await asyncio.sleep(0.2)
            await source.stop()  # the daemon shuts down meanwhile
            await asyncio.wait_for(starting, 0.5)  # start() ends at once, quietly
            assert not sink.reports and source.health is Health.STOPPED

    run(scenario)


def test_a_relative_wayland_display_needs_the_runtime_dir() -> None:
    from nudged.activity.wayland import WaylandIdleSource

    probe = run(lambda: WaylandIdleSource.probe(session_of({"WAYLAND_DISPLAY": "wayland-1"})))
    assert not probe.ok and "XDG_RUNTIME_DIR" in probe.reason


def test_starting_without_a_compositor_raises_a_sentence(tmp_path: Path) -> None:
    from nudged.activity.wayland import WaylandUnavailable, WlrForeignToplevelSource

    sink_session = session_of({"WAYLAND_DISPLAY": str(tmp_path / "gone")})

    async def scenario() -> None:
        source = WlrForeignToplevelSource(sink_session, ActivityRecorder(),
                                          timedelta(minutes=3))
        with pytest.raises(WaylandUnavailable, match="no Wayland compositor listens"):
            await source.start()
        await source.stop()
        await source.stop()  # twice: harmless

    run(scenario)


# --------------------------------------------------------------------------- sway


@desktop
def test_on_sway_every_source_probes_yes_and_ipc_is_preferred_for_focus(sway: Sway) -> None:
    session = session_of(sway.session_environ())

    async def scenario() -> None:
        results = {r.name: r for r in await probe_all(session, WAYLAND_SOURCES)}
        assert results["wayland-idle"].probe.ok
        assert "org_kde_kwin_idle" in results["wayland-idle"].probe.reason, (
            "sway 1.7 has only KDE's idle protocol")
        assert results["wlr-toplevel"].probe.ok
        assert results["sway"].probe.ok and "sway 1.7" in results["sway"].probe.reason
        assert not results["hyprland"].probe.ok
        choices = choose(list(results.values()))
        assert choices[Capability.IDLE].source == "wayland-idle"
        assert choices[Capability.FOCUS].source == "sway"
        assert choices[Capability.TITLE].source == "sway"

    run(scenario)


@desktop
def test_idle_on_sway_comes_after_the_threshold_and_ends_at_the_first_input(
        sway: Sway) -> None:
    async def scenario() -> None:
        sink = ActivityRecorder()
        source = make(WAYLAND_SOURCES[0], session_of(sway.session_environ()), sink,
                      idle_after=1.0)
        async with running(source):
            assert getattr(source, "protocol", None) == "org_kde_kwin_idle"
            first = await sink.wait_for("idle")
            assert first.value is False, "at start the person is assumed present"
            idle = await sink.wait_for("idle", lambda v: v is True)
            waited = (idle.seen - first.seen).total_seconds()
            assert 0.8 <= waited <= 3.0, f"idle came {waited:.2f}s after start"
            assert _close_to(idle.at, idle.seen - timedelta(seconds=1), 0.3), (
                "idle is back-dated to the last input")

            mark = sink.mark()
            await swaymsg(sway, "seat seat0 cursor move 5 5")
            back = await sink.wait_for("idle", lambda v: v is False, since=mark)
            assert _close_to(back.at, back.seen, 0.2)

            # And once more: the notification object keeps working.
            again = await sink.wait_for("idle", lambda v: v is True, since=mark)
            assert (again.seen - back.seen).total_seconds() >= 0.8
        assert source.health is Health.STOPPED
        assert not sink.of("failed")

    run(scenario)


@desktop
def test_focus_follows_the_person_between_windows_by_ipc_and_by_wlr(sway: Sway) -> None:
    reddit = sway.foot(REDDIT, "firefox")
    calendar = sway.foot(CALENDAR, "org.gnome.Calendar")
    session = session_of(sway.session_environ())

    async def scenario() -> None:
        ipc_sink, wlr_sink = ActivityRecorder(), ActivityRecorder()
        ipc = make("nudged.activity.sway:SwaySource", session, ipc_sink)
        wlr = make("nudged.activity.wayland:WlrForeignToplevelSource", session, wlr_sink)
        async with running(ipc, wlr):
            # The window opened last has the focus; each source says so once.
            assert (await ipc_sink.wait_for("focus")).value == Focus(
                app="org.gnome.Calendar", title=CALENDAR, pid=calendar.pid)
            assert (await wlr_sink.wait_for("focus")).value == Focus(
                app="org.gnome.Calendar", title=CALENDAR)
            ipc_mark, wlr_mark = ipc_sink.mark(), wlr_sink.mark()

            await swaymsg(sway, '[title="^Reddit"] focus')
            await ipc_sink.wait_for("focus", is_app("firefox"), since=ipc_mark)
            await wlr_sink.wait_for("focus", is_app("firefox"), since=wlr_mark)
            await focus_window(sway, calendar)
            await ipc_sink.wait_for("focus", is_app("org.gnome.Calendar"), since=ipc_mark)
            await wlr_sink.wait_for("focus", is_app("org.gnome.Calendar"), since=wlr_mark)
            await asyncio.sleep(0.3)  # longer than the debounce: a stray None would show

        assert ipc_sink.values("focus", since=ipc_mark) == [
            Focus(app="firefox", title=REDDIT, pid=reddit.pid),
            Focus(app="org.gnome.Calendar", title=CALENDAR, pid=calendar.pid),
        ]
        assert wlr_sink.values("focus", since=wlr_mark) == [
            Focus(app="firefox", title=REDDIT),
            Focus(app="org.gnome.Calendar", title=CALENDAR),
        ], "each change once, in order, and no moment of 'nothing focused'"
        assert not ipc_sink.of("failed") and not wlr_sink.of("failed")

    run(scenario)


@desktop
def test_a_new_title_in_the_focused_window_is_reported_others_are_not(sway: Sway) -> None:
    reddit = sway.foot(REDDIT, "firefox", settable_title=True)
    calendar = sway.foot(CALENDAR, "org.gnome.Calendar", settable_title=True)
    session = session_of(sway.session_environ())

    async def scenario() -> None:
        ipc_sink, wlr_sink = ActivityRecorder(), ActivityRecorder()
        ipc = make("nudged.activity.sway:SwaySource", session, ipc_sink)
        wlr = make("nudged.activity.wayland:WlrForeignToplevelSource", session, wlr_sink)
        await focus_window(sway, reddit)
        async with running(ipc, wlr):
            await ipc_sink.wait_for("focus", titled(REDDIT))
            await wlr_sink.wait_for("focus", titled(REDDIT))
            ipc_mark, wlr_mark = ipc_sink.mark(), wlr_sink.mark()

            # The background window's title changes first, and sway has seen it...
            calendar.set_title("Calendar - Week 49")
            await asyncio.to_thread(
                lambda: _wait_for_title(sway, calendar.con_id, "Calendar - Week 49"))
            # ...then the person follows a link in the focused one.
            reddit.set_title(INSTAGRAM)
            await ipc_sink.wait_for("focus", titled(INSTAGRAM), since=ipc_mark)
            await wlr_sink.wait_for("focus", titled(INSTAGRAM), since=wlr_mark)

        assert ipc_sink.values("focus", since=ipc_mark) == [
            Focus(app="firefox", title=INSTAGRAM, pid=reddit.pid)]
        assert wlr_sink.values("focus", since=wlr_mark) == [
            Focus(app="firefox", title=INSTAGRAM)]

    run(scenario)


def _wait_for_title(sway: Sway, con_id: int, title: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(v["id"] == con_id and v.get("name") == title for v in sway.views()):
            return
        time.sleep(0.05)
    raise TestbedError(f"sway never showed the title {title!r}")


@desktop
def test_titles_stay_out_when_only_the_app_is_wanted(sway: Sway) -> None:
    sway.foot(REDDIT, "firefox")
    session = session_of(sway.session_environ())

    async def scenario() -> None:
        ipc_sink, wlr_sink = ActivityRecorder(), ActivityRecorder()
        only_app = frozenset({Capability.FOCUS})
        ipc = make("nudged.activity.sway:SwaySource", session, ipc_sink, wanted=only_app)
        wlr = make("nudged.activity.wayland:WlrForeignToplevelSource", session, wlr_sink,
                   wanted=only_app)
        async with running(ipc, wlr):
            assert (await ipc_sink.wait_for("focus")).value.title == ""
            assert (await wlr_sink.wait_for("focus")).value == Focus(app="firefox")

    run(scenario)


@desktop
def test_a_browser_under_xwayland_is_named_by_its_x11_class(sway: Sway) -> None:
    browser = sway.xterm(REDDIT_X11, "Firefox")
    session = session_of(sway.session_environ())

    async def scenario() -> None:
        ipc_sink, wlr_sink = ActivityRecorder(), ActivityRecorder()
        ipc = make("nudged.activity.sway:SwaySource", session, ipc_sink)
        wlr = make("nudged.activity.wayland:WlrForeignToplevelSource", session, wlr_sink)
        await focus_window(sway, browser)
        async with running(ipc, wlr):
            assert (await ipc_sink.wait_for("focus")).value == Focus(
                app="Firefox", title=REDDIT_X11, pid=browser.pid)
            # wlroots gives XWayland windows their X11 class as the app id.
            assert (await wlr_sink.wait_for("focus")).value == Focus(
                app="Firefox", title=REDDIT_X11)

    run(scenario)


@desktop
def test_a_fullscreen_film_is_reported_by_ipc_and_by_wlr(sway: Sway) -> None:
    film = sway.foot("Big Buck Bunny", "mpv")
    notes = sway.foot(CALENDAR, "org.gnome.Calendar")
    sway.swaymsg(f"[con_id={notes.con_id}] move container to workspace 2")
    session = session_of(sway.session_environ())

    async def scenario() -> None:
        ipc_sink, wlr_sink = ActivityRecorder(), ActivityRecorder()
        ipc = make("nudged.activity.sway:SwaySource", session, ipc_sink)
        wlr = make("nudged.activity.wayland:WlrForeignToplevelSource", session, wlr_sink)
        await focus_window(sway, film)
        async with running(ipc, wlr):
            await ipc_sink.wait_for("focus", is_app("mpv"))
            await wlr_sink.wait_for("focus", is_app("mpv"))
            ipc_mark, wlr_mark = ipc_sink.mark(), wlr_sink.mark()

            await swaymsg(sway, f"[con_id={film.con_id}] fullscreen enable")
            await ipc_sink.wait_for("focus", fullscreen(True), since=ipc_mark)
            await wlr_sink.wait_for("focus", fullscreen(True), since=wlr_mark)
            # A look at the calendar on the other workspace; the film stays fullscreen.
            await swaymsg(sway, "workspace 2")
            await ipc_sink.wait_for("focus", is_app("org.gnome.Calendar"), since=ipc_mark)
            await wlr_sink.wait_for("focus", is_app("org.gnome.Calendar"), since=wlr_mark)
            await swaymsg(sway, "workspace 1")
            await ipc_sink.wait_for("focus", fullscreen(True), since=ipc_mark + 2)
            await wlr_sink.wait_for("focus", fullscreen(True), since=wlr_mark + 2)
            await swaymsg(sway, f"[con_id={film.con_id}] fullscreen disable")
            await ipc_sink.wait_for("focus", fullscreen(False), since=ipc_mark + 3)
            await wlr_sink.wait_for("focus", fullscreen(False), since=wlr_mark + 3)

        film_focus = Focus(app="mpv", title="Big Buck Bunny")
        expected = [replace(film_focus, fullscreen=True), Focus(app="org.gnome.Calendar",
                                                                title=CALENDAR),
                    replace(film_focus, fullscreen=True), film_focus]
        assert wlr_sink.values("focus", since=wlr_mark) == expected
        assert [replace(f, pid=None) for f in ipc_sink.values("focus", since=ipc_mark)] \
            == expected
        assert {f.pid for f in ipc_sink.values("focus", since=ipc_mark)} == {film.pid, notes.pid}

    run(scenario)


@desktop
def test_an_empty_workspace_or_a_closed_last_window_means_nothing_is_focused(
        sway: Sway) -> None:
    reddit = sway.foot(REDDIT, "firefox")
    session = session_of(sway.session_environ())

    async def scenario() -> None:
        ipc_sink, wlr_sink = ActivityRecorder(), ActivityRecorder()
        ipc = make("nudged.activity.sway:SwaySource", session, ipc_sink)
        wlr = make("nudged.activity.wayland:WlrForeignToplevelSource", session, wlr_sink)
        async with running(ipc, wlr):
            await ipc_sink.wait_for("focus", is_app("firefox"))
            await wlr_sink.wait_for("focus", is_app("firefox"))
            ipc_mark, wlr_mark = ipc_sink.mark(), wlr_sink.mark()

            await swaymsg(sway, "workspace 2")
            await ipc_sink.wait_for("focus", lambda f: f is None, since=ipc_mark)
            await wlr_sink.wait_for("focus", lambda f: f is None, since=wlr_mark)
            await swaymsg(sway, "workspace 1")
            await ipc_sink.wait_for("focus", is_app("firefox"), since=ipc_mark)
            await wlr_sink.wait_for("focus", is_app("firefox"), since=wlr_mark)

            await asyncio.to_thread(sway.close_window, reddit)
            await ipc_sink.wait_for("focus", lambda f: f is None, since=ipc_mark + 2)
            await wlr_sink.wait_for("focus", lambda f: f is None, since=wlr_mark + 2)

        assert [f is None for f in ipc_sink.values("focus", since=ipc_mark)] == [
            True, False, True]
        assert [f is None for f in wlr_sink.values("focus", since=wlr_mark)] == [
            True, False, True]

    run(scenario)


@desktop
def test_when_sway_dies_every_source_says_so(sway: Sway) -> None:
    sway.foot(REDDIT, "firefox")
    session = session_of(sway.session_environ())

    async def scenario() -> None:
        sink = ActivityRecorder()
        sources = [make(path, session, sink) for path in WAYLAND_SOURCES[:3]]
        async with running(*sources):
            await sink.wait_for("focus")
            await asyncio.to_thread(sway.kill)
            await _all_failed(sink, {s.name for s in sources})
            reasons = {r.source: r.value for r in sink.of("failed")}
            assert "lost the Wayland compositor" in reasons["wayland-idle"]
            assert "lost the Wayland compositor" in reasons["wlr-toplevel"]
            assert "lost sway's IPC" in reasons["sway"]
            for source in sources:
                assert source.health is Health.FAILED
                assert source.reason == reasons[source.name]
        for source in sources:
            assert source.health is Health.FAILED  # stop() keeps the verdict
            await source.stop()  # twice: harmless

    run(scenario)


async def _all_failed(sink: ActivityRecorder, names: set[str]) -> None:
    async def every() -> None:
        while {r.source for r in sink.of("failed")} != names:
            await sink.wait_for("failed", since=sink.mark())

    try:
        await asyncio.wait_for(every(), REPORT_TIMEOUT)
    except TimeoutError:
        raise AssertionError(f"failures reported: {sink.of('failed')}") from None
    assert len(sink.of("failed")) == len(names), "each source fails exactly once"


@desktop
def test_the_two_wayland_connections_do_not_tangle(sway: Sway) -> None:
    """Stopping the idle source must not take the window list's windows with it."""
    sway.foot(REDDIT, "firefox")
    calendar = sway.foot(CALENDAR, "org.gnome.Calendar")
    session = session_of(sway.session_environ())

    async def scenario() -> None:
        sink = ActivityRecorder()
        idle = make(WAYLAND_SOURCES[0], session, sink)
        wlr = make(WAYLAND_SOURCES[1], session, sink)
        async with running(idle, wlr):
            await sink.wait_for("focus", is_app("org.gnome.Calendar"))
            # A window that opens while both connections are up...
            sway_window = await asyncio.to_thread(sway.foot, INSTAGRAM, "chromium")
            await sink.wait_for("focus", is_app("chromium"))
            await idle.stop()
            # ...and the one from before still report after the other connection closed.
            mark = sink.mark()
            await focus_window(sway, calendar)
            await sink.wait_for("focus", is_app("org.gnome.Calendar"), since=mark)
            await focus_window(sway, sway_window)
            await sink.wait_for("focus", is_app("chromium"), since=mark)
        assert not sink.of("failed")

    run(scenario)


@desktop
def test_waiting_sources_use_no_cpu(sway: Sway) -> None:
    sway.foot(REDDIT, "firefox")
    session = session_of(sway.session_environ())

    async def scenario() -> None:
        sink = ActivityRecorder()
        sources = [make(path, session, sink) for path in WAYLAND_SOURCES[:3]]
        async with running(*sources):
            await sink.wait_for("focus")
            before = cpu_seconds()
            await asyncio.sleep(2.0)
            used = cpu_seconds() - before
        assert used < IDLE_CPU_BUDGET, f"{used:.3f}s of CPU in 2s of waiting"

    run(scenario)


# --------------------------------------------------------------------------- KWin


@desktop
def test_kwin_notifies_idle_through_ext_idle_notify(kwin: KWin) -> None:
    from nudged.activity.wayland import WaylandIdleSource, WlrForeignToplevelSource

    session = session_of(kwin.session_environ(), desktop="kde")

    async def scenario() -> None:
        probe = await WaylandIdleSource.probe(session)
        assert probe.ok and probe.reason.startswith("ext_idle_notifier_v1"), probe.reason
        no_list = await WlrForeignToplevelSource.probe(session)
        assert not no_list.ok
        assert "offers no zwlr_foreign_toplevel_manager_v1" in no_list.reason

        sink = ActivityRecorder()
        source = WaylandIdleSource(session, sink, timedelta(seconds=1))
        async with running(source):
            assert source.protocol == "ext_idle_notifier_v1", "preferred over KDE's own"
            first = await sink.wait_for("idle")
            assert first.value is False
            idle = await sink.wait_for("idle", lambda v: v is True)
            waited = (idle.seen - first.seen).total_seconds()
            assert 0.8 <= waited <= 3.5, f"idle came {waited:.2f}s after start"
            assert _close_to(idle.at, idle.seen - timedelta(seconds=1), 0.3)

    run(scenario)


@desktop
def test_when_kwin_dies_the_idle_source_fails(kwin: KWin) -> None:
    from nudged.activity.wayland import WaylandIdleSource

    session = session_of(kwin.session_environ(), desktop="kde")

    async def scenario() -> None:
        sink = ActivityRecorder()
        source = WaylandIdleSource(session, sink, timedelta(minutes=3))
        async with running(source):
            await sink.wait_for("idle")
            await asyncio.to_thread(kwin.kill)
            failed = await sink.wait_for("failed")
            assert failed.source == "wayland-idle"
            assert "lost the Wayland compositor" in failed.value
            assert source.health is Health.FAILED

    run(scenario)


# --------------------------------------------------------------------------- Hyprland


class FakeHyprland:
    """Hyprland's two sockets as the real one serves them (no Hyprland here).

    ``.socket2.sock`` writes event lines to every client; ``.socket.sock`` answers
    ``j/activewindow`` with the JSON ``hyprctl activewindow -j`` prints, then closes.
    """

    def __init__(self, root: Path, signature: str | None = None) -> None:
        self.signature = signature or uuid.uuid4().hex[:12]
        self.folder = root / "hypr" / self.signature
        self.active: dict[str, Any] = {}
        self.requests: list[str] = []
        self._clients: list[asyncio.StreamWriter] = []
        self._servers: list[asyncio.AbstractServer] = []
        self._connected = asyncio.Event()

    async def start(self) -> FakeHyprland:
        self.folder.mkdir(parents=True)
        self._servers.append(await asyncio.start_unix_server(
            self._on_event_client, str(self.folder / ".socket2.sock")))
        self._servers.append(await asyncio.start_unix_server(
            self._on_request, str(self.folder / ".socket.sock")))
        return self

    async def _on_event_client(self, reader: asyncio.StreamReader,
                               writer: asyncio.StreamWriter) -> None:
        self._clients.append(writer)
        self._connected.set()

    async def _on_request(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        command = (await reader.read(4096)).decode()
        self.requests.append(command)
        answer = json.dumps(self.active) if command == "j/activewindow" else "unknown request"
        writer.write(answer.encode())
        await writer.drain()
        writer.close()

    async def asked_more_than(self, count: int) -> None:
        """Return once more than ``count`` requests came (each is answered at once)."""
        while len(self.requests) <= count:
            await asyncio.sleep(0.01)

    async def clients(self) -> int:
        await asyncio.wait_for(self._connected.wait(), REPORT_TIMEOUT)
        return len(self._clients)

    async def emit(self, *lines: str) -> None:
        for writer in self._clients:
            writer.write("".join(line + "\n" for line in lines).encode())
            await writer.drain()

    async def crash(self) -> None:
        """Hyprland exits: the sockets close (their files stay, as after a crash)."""
        for server in self._servers:
            server.close()
        for writer in self._clients:
            writer.close()
        self._clients.clear()

    async def stop(self) -> None:
        await self.crash()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()

    def environ(self, runtime: Path) -> dict[str, str]:
        return {"HYPRLAND_INSTANCE_SIGNATURE": self.signature,
                "XDG_RUNTIME_DIR": str(runtime), "WAYLAND_DISPLAY": "wayland-1"}


@contextlib.asynccontextmanager
async def fake_hyprland(root: Path) -> AsyncIterator[FakeHyprland]:
    fake = await FakeHyprland(root).start()
    try:
        yield fake
    finally:
        await fake.stop()


def test_hyprland_probe_finds_the_event_socket_and_names_a_stale_one(short_tmp: Path) -> None:
    from nudged.activity.hyprland import HyprlandSource

    async def scenario() -> None:
        async with fake_hyprland(short_tmp) as hypr:
            probe = await HyprlandSource.probe(session_of(hypr.environ(short_tmp)))
            assert probe.ok and ".socket2.sock" in probe.reason
            await hypr.crash()
            stale = await HyprlandSource.probe(session_of(hypr.environ(short_tmp)))
            assert not stale.ok and "stale socket" in stale.reason
        missing = await HyprlandSource.probe(session_of(
            {"HYPRLAND_INSTANCE_SIGNATURE": "nonesuch", "XDG_RUNTIME_DIR": str(short_tmp)}))
        assert not missing.ok and "event socket is missing" in missing.reason

    run(scenario)


def test_hyprland_focus_and_titles_follow_its_events(short_tmp: Path) -> None:
    from nudged.activity.hyprland import HyprlandSource

    async def scenario() -> None:
        async with fake_hyprland(short_tmp) as hypr:
            hypr.active = {"address": "0x55e0c6e75980", "class": "kitty", "title": "~/notes",
                           "pid": 716768, "xwayland": False}
            sink = ActivityRecorder()
            source = HyprlandSource(session_of(hypr.environ(short_tmp)), sink,
                                    timedelta(minutes=3))
            async with running(source):
                first = await sink.wait_for("focus")
                assert first.value == Focus(app="kitty", title="~/notes")
                assert hypr.requests == ["j/activewindow"]
                assert await hypr.clients() == 1
                mark = sink.mark()

                # A title with a comma: only the first comma separates the class.
                await hypr.emit("workspace>>2", "focusedmon>>DP-1,2",
                                "activewindow>>firefox,Reddit, the front page - Mozilla Firefox",
                                "activewindowv2>>55e0c6e557f0")
                await sink.wait_for("focus", is_app("firefox"), since=mark)
                # Another window's title changes: not ours to report.
                await hypr.emit("windowtitle>>55e0c6e75980",
                                "windowtitlev2>>55e0c6e75980,~/notes/todo.md")
                # The focused one's title changes: both forms arrive, one report.
                await hypr.emit("windowtitle>>55e0c6e557f0",
                                "windowtitlev2>>55e0c6e557f0,Instagram - Mozilla Firefox",
                                "activewindow>>firefox,Instagram - Mozilla Firefox",
                                "activewindowv2>>55e0c6e557f0")
                await sink.wait_for("focus", titled("Instagram - Mozilla Firefox"), since=mark)
                # Focus leaves every window (an empty workspace).
                await hypr.emit("activewindow>>,", "activewindowv2>>")
                await sink.wait_for("focus", lambda f: f is None, since=mark)

                assert sink.values("focus", since=mark) == [
                    Focus(app="firefox", title="Reddit, the front page - Mozilla Firefox"),
                    Focus(app="firefox", title="Instagram - Mozilla Firefox"),
                    None,
                ]

                await hypr.crash()
                failed = await sink.wait_for("failed")
                assert "lost Hyprland's event socket" in failed.value
                assert source.health is Health.FAILED

    run(scenario)


def test_hyprland_without_titles_and_with_nothing_focused_at_start(short_tmp: Path) -> None:
    from nudged.activity.hyprland import HyprlandSource

    async def scenario() -> None:
        async with fake_hyprland(short_tmp) as hypr:
            sink = ActivityRecorder()
            source = HyprlandSource(session_of(hypr.environ(short_tmp)), sink,
                                    timedelta(minutes=3), frozenset({Capability.FOCUS}))
            async with running(source):
                assert (await sink.wait_for("focus")).value is None  # "{}": nothing focused
                await hypr.clients()
                await hypr.emit("activewindow>>firefox,Reddit - Mozilla Firefox")
                focus = await sink.wait_for("focus", is_app("firefox"))
                assert focus.value == Focus(app="firefox")
            assert source.health is Health.STOPPED
            assert not sink.of("failed")

    run(scenario)


def test_hyprland_fullscreen_is_asked_for_and_maximized_is_not_fullscreen(
        short_tmp: Path) -> None:
    from nudged.activity.hyprland import HyprlandSource

    film = {"address": "0x5a1", "class": "mpv", "title": "Big Buck Bunny",
            "fullscreen": 0, "fullscreenClient": 0}
    notes = {"address": "0x5a2", "class": "kitty", "title": "~/notes",
             "fullscreen": 1, "fullscreenClient": 0}  # maximized ("fake" fullscreen)

    async def scenario() -> None:
        async with fake_hyprland(short_tmp) as hypr:
            hypr.active = dict(film)
            sink = ActivityRecorder()
            source = HyprlandSource(session_of(hypr.environ(short_tmp)), sink,
                                    timedelta(minutes=3))
            async with running(source):
                await sink.wait_for("focus", is_app("mpv"))
                await hypr.clients()
                mark = sink.mark()

                # Sam presses the fullscreen key: the event names no window, so the
                # source asks which one it is.
                hypr.active["fullscreen"] = 2
                await hypr.emit("fullscreen>>1")
                await sink.wait_for("focus", fullscreen(True), since=mark)
                # A look at the notes on another workspace, maximized there: Hyprland
                # says fullscreen>>1 for that too, but it is no film.
                hypr.active = dict(notes)
                await hypr.emit("workspace>>2", "activewindow>>kitty,~/notes",
                                "activewindowv2>>5a2")
                await sink.wait_for("focus", lambda f: is_app("kitty")(f) and not f.fullscreen,
                                    since=mark)
                asked = len(hypr.requests)
                await hypr.emit("fullscreen>>1")
                await asyncio.wait_for(hypr.asked_more_than(asked), REPORT_TIMEOUT)
                # Back to the film, still fullscreen.
                hypr.active = {**film, "fullscreen": 2}
                await hypr.emit("workspace>>1", "activewindow>>mpv,Big Buck Bunny",
                                "activewindowv2>>5a1")
                await sink.wait_for("focus", lambda f: is_app("mpv")(f) and f.fullscreen,
                                    since=mark + 2)
                # The film ends: fullscreen>>0 needs no question.
                asked = len(hypr.requests)
                hypr.active = dict(film)
                await hypr.emit("fullscreen>>0")
                await sink.wait_for("focus", lambda f: is_app("mpv")(f) and not f.fullscreen,
                                    since=mark + 5)
                assert len(hypr.requests) == asked

        in_film = Focus(app="mpv", title="Big Buck Bunny")
        in_notes = Focus(app="kitty", title="~/notes")
        # Until Hyprland answers about the newly focused window, the last one's
        # fullscreen stands (a nudge held a moment longer, never one shown over a film).
        assert sink.values("focus", since=mark) == [
            replace(in_film, fullscreen=True),
            replace(in_notes, fullscreen=True), in_notes,
            in_film, replace(in_film, fullscreen=True),
            in_film,
        ]
        assert set(hypr.requests) == {"j/activewindow"}

    run(scenario)


def test_hyprland_tells_fullscreen_from_maximized_in_old_and_new_answers() -> None:
    from nudged.activity.hyprland import is_fullscreen

    # Since 0.42: a mode, 0 none, 1 maximized, 2 fullscreen, 3 both.
    assert [is_fullscreen({"fullscreen": mode}) for mode in range(4)] == [
        False, False, True, True]
    # Before: a flag, with fullscreenMode 0 (fullscreen) or 1 (maximized).
    assert is_fullscreen({"fullscreen": True, "fullscreenMode": 0})
    assert not is_fullscreen({"fullscreen": True, "fullscreenMode": 1})
    assert not is_fullscreen({"fullscreen": False, "fullscreenMode": 0})
    assert not is_fullscreen({})


def test_hyprland_before_0_40_kept_its_sockets_in_tmp(short_tmp: Path) -> None:
    from nudged.activity.hyprland import HyprlandSource, instance_dir

    async def scenario() -> None:
        legacy = short_tmp / "tmp"
        async with fake_hyprland(legacy) as hypr:
            environ = {"HYPRLAND_INSTANCE_SIGNATURE": hypr.signature,
                       "XDG_RUNTIME_DIR": str(short_tmp / "run")}
            folder, why = instance_dir(environ, legacy_root=legacy / "hypr")
            assert folder == hypr.folder and not why

            class OldHyprland(HyprlandSource):
                legacy_root = legacy / "hypr"

            assert (await OldHyprland.probe(session_of(environ))).ok

    run(scenario)


def test_hyprland_event_lines_are_parsed_like_hyprland_writes_them() -> None:
    from nudged.activity.hyprland import parse_event

    assert parse_event("activewindow>>firefox,Reddit, hi\n") == (
        "activewindow", "firefox,Reddit, hi")
    assert parse_event("activewindowv2>>\n") == ("activewindowv2", "")
    assert parse_event("garbage without separator") is None
    assert parse_event(">>no name") is None


def test_the_process_environment_is_never_consulted(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A source uses the session it was given, not nudged's own os.environ."""
    from nudged.activity.wayland import socket_path

    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-from-os-environ")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/somewhere/else")
    path, why = socket_path({"WAYLAND_DISPLAY": "wayland-7",
                             "XDG_RUNTIME_DIR": str(tmp_path)})
    assert path == os.path.join(tmp_path, "wayland-7") and not why
    path, why = socket_path({"WAYLAND_DISPLAY": "/abs/wayland-3"})
    assert path == "/abs/wayland-3"


def test_the_shipped_protocol_modules_are_what_the_scanner_makes(tmp_path: Path) -> None:
    """Nobody edited the generated bindings by hand (regenerate them instead)."""
    from nudged.activity.protocols import regenerate

    if not regenerate.CORE_XML.exists():
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"CI=true but {regenerate.CORE_XML} is missing (libwayland-dev)")
        pytest.skip(f"{regenerate.CORE_XML} is missing (apt-get install -y libwayland-dev)")
    for fresh in regenerate.regenerate(out_dir=tmp_path):
        shipped = regenerate.HERE / fresh.name
        assert shipped.read_text() == fresh.read_text(), f"{shipped.name} differs"
