"""The X11 activity source against a real X server and a real window manager.

Every story runs Xvfb (a display number it picks itself) and openbox, opens xterm
windows named and classed like real browser windows (see TESTBEDS.md section 11),
moves the focus and types with xdotool, and watches what the source tells a
recording sink. The source runs in this process on a real asyncio loop, so the
CPU-time checks measure exactly the code that would run in the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nudged.activity.base import Capability, Focus, Health, Session, SessionType
from tests.testbed import (
    Openbox,
    TestbedError,
    Xvfb,
    XWindow,
    require_x11_tools,
    x11_env,
)
from tests.testbed_fullscreen import set_fullscreen

desktop = pytest.mark.desktop

REDDIT = "Reddit - Dive into anything — Mozilla Firefox"
LOFI = "Lo-fi beats to relax to - YouTube - Chromium"
INSTAGRAM = "Instagram - Mozilla Firefox"

#: Generous bounds: a shared CI machine can be slow, but never this slow.
REPORT_TIMEOUT = 5.0
#: CPU seconds the whole test process may use while the source only waits. An idle
#: asyncio loop with one fd and one timer uses about a millisecond in 3 seconds; a
#: busy loop would use the full 3 seconds.
IDLE_CPU_BUDGET = 0.15


# --------------------------------------------------------------------------- recording sink


@dataclass(frozen=True)
class Call:
    kind: str           # "idle", "focus", "failed", "lock", "sleep"
    value: Any          # bool, Focus | None, or the failure reason
    at: datetime | None
    seen: datetime      # when the sink received it


@dataclass
class RecordingSink:
    """Collects every report with its time; scenarios await the ones they expect."""

    calls: list[Call] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def _record(self, kind: str, value: Any, at: datetime | None) -> None:
        self.calls.append(Call(kind, value, at, datetime.now(UTC)))
        self._changed.set()

    def idle_changed(self, source: str, idle: bool, at: datetime) -> None:
        assert source == "x11"
        self._record("idle", idle, at)

    def lock_changed(self, source: str, locked: bool, at: datetime) -> None:
        self._record("lock", locked, at)

    def sleep_changed(self, source: str, asleep: bool, at: datetime) -> None:
        self._record("sleep", asleep, at)

    def focus_changed(self, source: str, focus: Focus | None, at: datetime) -> None:
        assert source == "x11"
        self._record("focus", focus, at)

    def source_failed(self, source: str, reason: str) -> None:
        self._record("failed", reason, None)

    def of(self, kind: str, since: int = 0) -> list[Call]:
        return [c for c in self.calls[since:] if c.kind == kind]

    def values(self, kind: str, since: int = 0) -> list[Any]:
        return [c.value for c in self.of(kind, since)]

    def mark(self) -> int:
        return len(self.calls)

    async def wait_for(self, kind: str, predicate: Callable[[Any], bool] = lambda v: True,
                       since: int = 0, timeout: float = REPORT_TIMEOUT) -> Call:
        """The first ``kind`` report (index >= ``since``) whose value matches."""
        deadline = time.monotonic() + timeout
        while True:
            for call in self.calls[since:]:
                if call.kind == kind and predicate(call.value):
                    return call
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no matching {kind!r} report within {timeout:g}s; got {self.calls[since:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)


# --------------------------------------------------------------------------- harness


@dataclass
class Desk:
    """One person's X11 desktop: Xvfb + openbox (optional) + windows."""

    xvfb: Xvfb
    openbox: Openbox | None

    @property
    def display(self) -> str:
        return self.xvfb.display

    def session(self) -> Session:
        return Session(type=SessionType.X11, environ={"DISPLAY": self.display})

    def window(self, title: str, wm_class: str) -> XWindow:
        assert self.openbox is not None
        return self.openbox.xterm(title, wm_class)

    async def xdotool(self, *args: str, timeout: float = 10.0) -> None:
        """xdotool without blocking the loop (the source keeps reading events)."""
        proc = await asyncio.create_subprocess_exec(
            "xdotool", *args, env=x11_env(self.display),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        try:
            _, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise TestbedError(
                f"xdotool {' '.join(args)}: no answer within {timeout:g}s") from None
        if proc.returncode != 0:
            raise TestbedError(f"xdotool {' '.join(args)} failed: {err.decode().strip()}")

    async def activate(self, window: XWindow) -> None:
        await self.xdotool("windowactivate", "--sync", str(window.wid))


@contextlib.contextmanager
def _desk(with_wm: bool = True) -> Iterator[Desk]:
    require_x11_tools()
    with Xvfb() as xvfb:
        if not with_wm:
            yield Desk(xvfb, None)
            return
        with Openbox(xvfb.display) as openbox:
            yield Desk(xvfb, openbox)


@pytest.fixture
def desk() -> Iterator[Desk]:
    """Xvfb + openbox, torn down (every process by its PID) after the test."""
    with _desk() as d:
        yield d


@pytest.fixture
def bare_x() -> Iterator[Desk]:
    """Xvfb without a window manager."""
    with _desk(with_wm=False) as d:
        yield d


def _source(desk: Desk, sink: RecordingSink, idle_after: float = 600.0) -> Any:
    from nudged.activity.x11 import X11Source

    return X11Source(desk.session(), sink, timedelta(seconds=idle_after))


@contextlib.asynccontextmanager
async def running(desk: Desk, sink: RecordingSink, idle_after: float = 600.0,
                  safety_interval: float | None = None) -> AsyncIterator[Any]:
    source = _source(desk, sink, idle_after)
    if safety_interval is not None:
        source.safety_interval = safety_interval
    await source.start()
    try:
        yield source
    finally:
        await source.stop()


def run(scenario: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Run one story on a fresh event loop, bounded in time."""
    async def bounded() -> Any:
        return await asyncio.wait_for(scenario(), timeout)
    return asyncio.run(bounded())


def _close_to(actual: datetime | None, expected: datetime, tolerance: float) -> bool:
    return actual is not None and abs((actual - expected).total_seconds()) <= tolerance


# --------------------------------------------------------------------------- stories: focus


@desktop
def test_focus_follows_the_person_between_browser_windows(desk: Desk) -> None:
    firefox = desk.window(REDDIT, "Firefox")
    chromium = desk.window(LOFI, "Chromium")

    async def scenario() -> None:
        await desk.activate(firefox)
        sink = RecordingSink()
        async with running(desk, sink):
            first = await sink.wait_for("focus")
            assert first.value == Focus(app="Firefox", title=REDDIT, pid=firefox.pid)

            mark = sink.mark()
            await desk.activate(chromium)
            await sink.wait_for("focus", lambda f: f is not None and f.app == "Chromium",
                                since=mark)
            await desk.activate(firefox)
            await sink.wait_for("focus", lambda f: f is not None and f.app == "Firefox",
                                since=mark)
            await desk.activate(chromium)
            await sink.wait_for("focus", lambda f: f is not None and f.app == "Chromium",
                                since=mark + 1)
            await asyncio.sleep(0.4)  # longer than the debounce: a stray None would show

        assert sink.values("focus", since=mark) == [
            Focus(app="Chromium", title=LOFI, pid=chromium.pid),
            Focus(app="Firefox", title=REDDIT, pid=firefox.pid),
            Focus(app="Chromium", title=LOFI, pid=chromium.pid),
        ], "each focus change once, in order, and no moment of 'nothing focused'"

    run(scenario)


@desktop
def test_a_new_title_in_the_focused_window_is_reported_others_are_not(desk: Desk) -> None:
    firefox = desk.window(REDDIT, "Firefox")
    chromium = desk.window(LOFI, "Chromium")

    async def scenario() -> None:
        await desk.activate(chromium)
        sink = RecordingSink()
        async with running(desk, sink):
            await sink.wait_for("focus")
            # Chromium had the focus (its title was watched); now Firefox has it.
            await desk.activate(firefox)
            await sink.wait_for("focus", lambda f: f is not None and f.app == "Firefox")
            mark = sink.mark()
            # The background window changes its title first: events arrive in order
            # on one connection, so a report of it would come before Instagram's.
            await desk.xdotool("set_window", "--name", "Rick Astley - YouTube - Chromium",
                               str(chromium.wid))
            await desk.xdotool("set_window", "--name", INSTAGRAM, str(firefox.wid))
            await sink.wait_for("focus", lambda f: f is not None and f.title == INSTAGRAM,
                                since=mark)
            assert sink.values("focus", since=mark) == [
                Focus(app="Firefox", title=INSTAGRAM, pid=firefox.pid)]

            # The same title written again is no change for a person.
            await desk.xdotool("set_window", "--name", INSTAGRAM, str(firefox.wid))
            # ...and the background title did change: it shows once focused.
            await desk.activate(chromium)
            last = await sink.wait_for("focus", lambda f: f is not None and f.app == "Chromium",
                                       since=mark)
            assert last.value.title == "Rick Astley - YouTube - Chromium"
            assert len(sink.values("focus", since=mark)) == 2

    run(scenario)


@desktop
def test_a_focused_window_that_closes_does_not_break_the_source(desk: Desk) -> None:
    firefox = desk.window(REDDIT, "Firefox")
    chromium = desk.window(LOFI, "Chromium")

    async def scenario() -> None:
        await desk.activate(firefox)
        sink = RecordingSink()
        async with running(desk, sink) as source:
            await sink.wait_for("focus")
            mark = sink.mark()
            assert desk.openbox is not None
            await asyncio.to_thread(desk.openbox.close_window, firefox)
            # openbox moves the focus to the remaining window, or to nothing.
            after = await sink.wait_for("focus", since=mark)
            assert after.value is None or after.value.app == "Chromium"
            await desk.activate(chromium)
            await sink.wait_for("focus", lambda f: f is not None and f.app == "Chromium",
                                since=mark)
            assert source.health is Health.RUNNING
            assert not sink.of("failed")
            assert REDDIT not in [f.title for f in sink.values("focus", since=mark) if f]

    run(scenario)


@desktop
def test_titles_are_left_out_when_another_source_provides_them(desk: Desk) -> None:
    firefox = desk.window(REDDIT, "Firefox")

    async def scenario() -> None:
        from nudged.activity.x11 import X11Source

        await desk.activate(firefox)
        sink = RecordingSink()
        source = X11Source(desk.session(), sink, timedelta(minutes=10),
                           frozenset({Capability.FOCUS, Capability.IDLE}))
        await source.start()
        try:
            first = await sink.wait_for("focus")
            assert first.value == Focus(app="Firefox", title="", pid=firefox.pid)
        finally:
            await source.stop()

    run(scenario)


@desktop
def test_a_film_going_fullscreen_and_back_is_reported_with_the_focus(desk: Desk) -> None:
    film = desk.window("Big Buck Bunny - mpv", "mpv")
    firefox = desk.window(REDDIT, "Firefox")

    async def scenario() -> None:
        await desk.activate(film)
        sink = RecordingSink()
        async with running(desk, sink):
            first = await sink.wait_for("focus")
            assert first.value == Focus(app="mpv", title="Big Buck Bunny - mpv", pid=film.pid)
            mark = sink.mark()

            # Sam presses F11: the player asks openbox for fullscreen.
            await asyncio.to_thread(set_fullscreen, desk.display, film.wid, True)
            await sink.wait_for("focus", lambda f: f is not None and f.fullscreen, since=mark)
            # A glance at Reddit (the film stays fullscreen behind it), and back.
            await desk.activate(firefox)
            await sink.wait_for("focus", lambda f: f is not None and f.app == "Firefox",
                                since=mark)
            await desk.activate(film)
            await sink.wait_for("focus", lambda f: f is not None and f.app == "mpv",
                                since=mark + 2)
            # The film ends: Sam leaves fullscreen.
            await asyncio.to_thread(set_fullscreen, desk.display, film.wid, False)
            await sink.wait_for("focus", lambda f: f is not None and not f.fullscreen,
                                since=mark + 3)
            await asyncio.sleep(0.4)  # longer than the debounce: a stray report would show

        in_film = Focus(app="mpv", title="Big Buck Bunny - mpv", pid=film.pid)
        assert sink.values("focus", since=mark) == [
            replace(in_film, fullscreen=True),
            Focus(app="Firefox", title=REDDIT, pid=firefox.pid),
            replace(in_film, fullscreen=True),
            in_film,
        ], "each change once: fullscreen belongs to the window, not to the moment"

    run(scenario)


# --------------------------------------------------------------------------- stories: idle


@desktop
def test_the_person_steps_away_and_comes_back(desk: Desk) -> None:
    firefox = desk.window(REDDIT, "Firefox")

    async def scenario() -> None:
        await desk.activate(firefox)
        sink = RecordingSink()
        await desk.xdotool("mousemove_relative", "1", "1")
        last_input = datetime.now(UTC)
        async with running(desk, sink, idle_after=1.5) as source:
            assert sink.values("idle") == [False], "the state at start, once"

            away = await sink.wait_for("idle", lambda v: v is True)
            assert _close_to(away.at, last_input, 0.5), (away.at, last_input)
            assert away.seen - last_input >= timedelta(seconds=1.4), "not before the threshold"

            mark = sink.mark()
            await desk.xdotool("mousemove_relative", "5", "5")
            moved = datetime.now(UTC)
            back = await sink.wait_for("idle", lambda v: v is False, since=mark, timeout=1.0)
            assert _close_to(back.at, moved, 0.5)

            # Idle again 1.5 s later, and a key press (not the mouse) brings them back.
            again = await sink.wait_for("idle", lambda v: v is True, since=mark)
            assert _close_to(again.at, moved, 0.5)
            mark = sink.mark()
            await desk.xdotool("key", "shift")
            await sink.wait_for("idle", lambda v: v is False, since=mark, timeout=1.0)
            assert source.health is Health.RUNNING

        assert sink.values("idle") == [False, True, False, True, False]

    run(scenario)


@desktop
def test_input_without_raw_events_is_caught_by_the_safety_check(desk: Desk) -> None:
    """Absolute ``xdotool mousemove`` makes no XInput2 raw event on Xvfb."""

    async def scenario() -> None:
        sink = RecordingSink()
        async with running(desk, sink, idle_after=1.0, safety_interval=0.5):
            await sink.wait_for("idle", lambda v: v is True)
            mark = sink.mark()
            await desk.xdotool("mousemove", "300", "200")
            moved = datetime.now(UTC)
            back = await sink.wait_for("idle", lambda v: v is False, since=mark, timeout=2.0)
            assert _close_to(back.at, moved, 0.5), "back-dated to the move, not the check"

    run(scenario)


@desktop
def test_waiting_for_the_person_costs_no_cpu(desk: Desk) -> None:
    firefox = desk.window(REDDIT, "Firefox")

    async def scenario() -> None:
        await desk.activate(firefox)
        sink = RecordingSink()
        async with running(desk, sink, idle_after=1.0) as source:
            await sink.wait_for("idle", lambda v: v is True)
            mark = sink.mark()
            queries = 0
            query = source._idle_ms

            def counted() -> int:
                nonlocal queries
                queries += 1
                return int(query())

            source._idle_ms = counted
            before = time.process_time()
            await asyncio.sleep(3.0)
            used = time.process_time() - before
            assert used < IDLE_CPU_BUDGET, f"{used:.3f}s of CPU in 3s of waiting"
            assert queries == 0, "while away, raw input events wake us, not a poll"
            assert sink.calls[mark:] == [], "nothing to report while nothing happens"
            helpers = [t.name for t in threading.enumerate() if t.name.startswith("nudged-x11")]
            assert helpers == [], "no thread: the X connection is watched by the loop"

    run(scenario)


@desktop
def test_refresh_reports_the_current_state_again(desk: Desk) -> None:
    firefox = desk.window(REDDIT, "Firefox")

    async def scenario() -> None:
        await desk.activate(firefox)
        sink = RecordingSink()
        async with running(desk, sink) as source:
            await sink.wait_for("focus")
            mark = sink.mark()
            await source.refresh()
            assert [(c.kind, c.value) for c in sink.calls[mark:]] == [
                ("focus", Focus(app="Firefox", title=REDDIT, pid=firefox.pid)),
                ("idle", False),
            ]

    run(scenario)


# --------------------------------------------------------------------------- stories: probe


def test_probe_refuses_a_wayland_session() -> None:
    from nudged.activity.x11 import X11Source

    session = Session(type=SessionType.WAYLAND,
                      environ={"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"})
    probe = asyncio.run(X11Source.probe(session))
    assert not probe.ok
    assert "wayland" in probe.reason and "XWayland" in probe.reason


def test_probe_without_display_says_how_to_import_it() -> None:
    from nudged.activity.x11 import X11Source

    probe = asyncio.run(X11Source.probe(Session(type=SessionType.X11, environ={})))
    assert not probe.ok
    assert "systemctl --user import-environment DISPLAY" in probe.reason


@desktop
def test_probe_refuses_a_display_that_is_gone() -> None:
    from nudged.activity.x11 import X11Source

    require_x11_tools()
    with Xvfb() as xvfb:
        display = xvfb.display
    # The server has exited; its display number is free again (and not ours to pick).
    probe = asyncio.run(X11Source.probe(Session(type=SessionType.X11,
                                                environ={"DISPLAY": display})))
    assert not probe.ok
    assert f"cannot open the X display {display}" in probe.reason
    assert "import-environment" in probe.reason


@desktop
def test_probe_on_a_desktop_with_a_window_manager(desk: Desk) -> None:
    from nudged.activity.x11 import X11Source

    probe = asyncio.run(X11Source.probe(desk.session()))
    assert probe == probe.yes()


@desktop
def test_without_a_window_manager_idle_works_and_focus_waits_for_one(bare_x: Desk) -> None:
    """The documented choice: no WM is "OK, idle only for now", not a "no"."""
    from nudged.activity.x11 import X11Source

    probe = asyncio.run(X11Source.probe(bare_x.session()))
    assert probe.ok
    assert "_NET_ACTIVE_WINDOW" in probe.reason and "idle only" in probe.reason

    async def scenario() -> None:
        sink = RecordingSink()
        async with running(bare_x, sink, idle_after=1.0):
            start = await sink.wait_for("focus")
            assert start.value is None
            await sink.wait_for("idle", lambda v: v is True)

            # The window manager arrives late (a login race), then a window.
            mark = sink.mark()
            openbox = Openbox(bare_x.display)
            try:
                await asyncio.to_thread(openbox.start)
                window = await asyncio.to_thread(openbox.xterm, REDDIT, "Firefox")
                await bare_x.xdotool("windowactivate", "--sync", str(window.wid))
                got = await sink.wait_for("focus", lambda f: f is not None, since=mark)
                assert got.value == Focus(app="Firefox", title=REDDIT, pid=window.pid)
            finally:
                await asyncio.to_thread(openbox.stop)

    run(scenario)


# --------------------------------------------------------------------------- stories: failure


@desktop
def test_the_x_server_dies_under_the_source(desk: Desk) -> None:
    firefox = desk.window(REDDIT, "Firefox")

    async def scenario() -> None:
        await desk.activate(firefox)
        sink = RecordingSink()
        source = _source(desk, sink, idle_after=1.0)
        await source.start()
        try:
            await sink.wait_for("focus")
            os.kill(desk.xvfb.pid, signal.SIGKILL)
            failed = await sink.wait_for("failed")
            assert desk.display in failed.value
            assert source.health is Health.FAILED

            # No busy loop on the dead connection, and no timer re-querying it.
            before = time.process_time()
            await asyncio.sleep(1.5)
            used = time.process_time() - before
            assert used < IDLE_CPU_BUDGET, f"{used:.3f}s of CPU in 1.5s after the server died"
            assert len(sink.of("failed")) == 1
        finally:
            await source.stop()
            await source.stop()  # twice: the manager may stop a failed source again
        assert source.health is Health.FAILED

    run(scenario)


@desktop
def test_a_hung_x_server_is_a_no_within_the_probe_timeout() -> None:
    """A stopped (SIGSTOP) server accepts connections but never answers."""
    from nudged.activity.x11 import OPEN_TIMEOUT, X11Source, X11Unavailable

    require_x11_tools()
    with Xvfb() as xvfb:
        desk = Desk(xvfb, None)
        os.kill(xvfb.pid, signal.SIGSTOP)
        try:
            async def scenario() -> None:
                began = time.monotonic()
                probe = await X11Source.probe(desk.session())
                assert not probe.ok
                assert "did not answer" in probe.reason
                assert time.monotonic() - began < OPEN_TIMEOUT + 1.0
                source = _source(desk, RecordingSink())
                with pytest.raises(X11Unavailable, match="did not answer"):
                    await source.start()
                await source.stop()

            run(scenario, timeout=15)
        finally:
            os.kill(xvfb.pid, signal.SIGCONT)


@desktop
def test_a_surprise_from_python_xlib_means_a_fresh_connection(desk: Desk) -> None:
    """python-xlib can spin on a connection it got confused about: never reuse one."""
    firefox = desk.window(REDDIT, "Firefox")
    chromium = desk.window(LOFI, "Chromium")

    async def scenario() -> None:
        await desk.activate(firefox)
        sink = RecordingSink()
        async with running(desk, sink) as source:
            await sink.wait_for("focus")
            first_display = source._display
            read_active = source._active_window
            surprises = 0

            def surprising() -> int:
                nonlocal surprises
                if surprises == 0:
                    surprises += 1
                    raise RuntimeError("Expected reply for request 42, but got 41")
                return int(read_active())

            source._active_window = surprising
            mark = sink.mark()
            await desk.activate(chromium)  # the event that meets the surprise
            got = await sink.wait_for("focus", since=mark)
            assert got.value == Focus(app="Chromium", title=LOFI, pid=chromium.pid)
            assert surprises == 1
            assert source._display is not None and source._display is not first_display
            await desk.activate(firefox)
            await sink.wait_for("focus", lambda f: f is not None and f.app == "Firefox",
                                since=mark)
            assert [f.app for f in sink.values("focus", since=mark)] == ["Chromium", "Firefox"]
            assert not sink.of("failed") and source.health is Health.RUNNING

    run(scenario)


@desktop
def test_a_connection_that_keeps_failing_is_given_up(desk: Desk) -> None:
    firefox = desk.window(REDDIT, "Firefox")
    chromium = desk.window(LOFI, "Chromium")

    async def scenario() -> None:
        await desk.activate(firefox)
        sink = RecordingSink()
        async with running(desk, sink) as source:
            await sink.wait_for("focus")

            def broken() -> int:
                raise RuntimeError("confused")

            source._active_window = broken
            await desk.activate(chromium)
            failed = await sink.wait_for("failed")
            assert "confused" in failed.value
            assert source.health is Health.FAILED
            before = time.process_time()
            await asyncio.sleep(1.0)
            assert time.process_time() - before < IDLE_CPU_BUDGET
            assert len(sink.of("failed")) == 1

    run(scenario)


@desktop
def test_start_on_a_dead_display_raises_a_sentence() -> None:
    from nudged.activity.x11 import X11Unavailable

    require_x11_tools()
    with Xvfb() as xvfb:
        desk = Desk(xvfb, None)
    sink = RecordingSink()

    async def scenario() -> None:
        source = _source(desk, sink)
        with pytest.raises(X11Unavailable, match="cannot open the X display"):
            await source.start()
        await source.stop()

    run(scenario)
    assert sink.calls == []


# --------------------------------------------------------------------------- titles


@pytest.mark.parametrize(
    ("data", "type_name", "text"),
    [
        ("Reddit — Firefox".encode(), "UTF8_STRING", "Reddit — Firefox"),
        # xdotool writes UTF-8 bytes typed STRING
        ("Instagram — Firefox".encode(), "STRING", "Instagram — Firefox"),
        # ICCCM STRING proper: Latin-1
        ("Café".encode("latin-1"), "STRING", "Café"),
        # xterm's WM_NAME: COMPOUND_TEXT with a UTF-8 segment
        (b"Reddit - Dive into anything \x1b%G\xe2\x80\x94\x1b%@ Mozilla Firefox",
         "COMPOUND_TEXT", REDDIT),
        (b"caf\xe9", "COMPOUND_TEXT", "café"),
    ],
)
def test_window_titles_decode_whatever_the_encoding(data: bytes, type_name: str,
                                                    text: str) -> None:
    from nudged.activity.x11 import decode_text

    assert decode_text(data, type_name) == text
