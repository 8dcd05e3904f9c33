"""The real ``nudged run`` with its activity layer: a person comes, goes and locks up.

Each story runs the daemon as a child process on a real desktop (Xvfb, a private
session bus with dunst, openbox for focus) and plays the person with real input
(xdotool, from a thread: :class:`tests.testbed.Typist`) in front of an xterm titled
and classed like a Firefox tab. logind is python-dbusmock on a private bus acting as
the system bus, driven the way a screen locker and systemd would drive it. What the
person would have seen is read off the session bus (every ``Notify``); what nudged
decided, from its log; what it kept, from its SQLite file and ``nudged usage``.

Timings: the machine is shared and noisy, so waits are generous and bounds on
latencies are a few seconds wide; every wait is bounded.
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from tests import testbed
from tests.test_daemon_service import (
    Nudged,
    nudged_cli,
    private_env,
    run_nudged,
    until,
    write_config,
    write_plugin,
)
from tests.testbed import (
    DesktopStack,
    LogindControl,
    LogindMock,
    NotifyCall,
    Openbox,
    SessionBus,
    Typist,
    XWindow,
)

__all__ = ["run_nudged"]  # a fixture, imported to be used here

REDDIT = "Reddit - Dive into anything — Mozilla Firefox"
#: pieces of the window title that must never reach the disk ("Firefox" is the app
#: id, WM_CLASS, which is stored on purpose)
TITLE_PIECES = (REDDIT.encode(), b"Reddit", b"Dive into anything", b"Mozilla")
STRETCH = "Time to stretch"
WATER = "A glass of water?"
TITLES = {"custom:stretch": STRETCH, "custom:water": WATER}
IDLE_AFTER = 4.0  # seconds: [core] idle_after in every story
#: seconds the present time in the ledger may differ from what the test measured
LEDGER_TOLERANCE = 3.0
#: seconds a held nudge may take to appear once the person is back (noisy machine)
RELEASE_WITHIN = 3.0


def config(*nudges: tuple[str, str, int], timeout: str = "3s") -> str:
    """A config with ``(id, title, every seconds)`` custom nudges. Unanswered nudges
    are withdrawn after ``timeout`` so that every occurrence is shown anew."""
    text = f"""
        [core]
        idle_after = "{IDLE_AFTER:g}s"
        max_per_hour = 60
        snooze = "5s"
        notification_timeout = "{timeout}"
    """
    for nudge_id, title, every in nudges:
        text += f"""
        [[plugins.custom.nudges]]
        id = "{nudge_id}"
        title = "{title}"
        body = "Just a moment for yourself."
        every = "{every}s"
        """
    return textwrap.dedent(text)


def isolated(env: dict[str, str], tmp_path: Path, system_bus: str | None = None) -> dict[str, str]:
    """No way to the machine's real system bus or a local ActivityWatch, and only the
    ``custom`` nudges of the story (the other built-in plugins have nudges of their
    own, at times of day or after long stretches): the daemon sees only what the
    story gives it."""
    env = dict(env)
    env["DBUS_SYSTEM_BUS_ADDRESS"] = system_bus or f"unix:path={tmp_path}/no-system-bus"
    env["NUDGED_AW_URL"] = f"http://127.0.0.1:{testbed.free_tcp_port()}"
    others = sorted({ep.name for ep in entry_points(group="nudged")} - {"custom"})
    env["NUDGED_DISABLE_PLUGINS"] = ",".join(others)
    return env


# --------------------------------------------------------------------------- the desk


@dataclass
class Desk:
    """Xvfb + session bus + dunst + openbox, a focused "Firefox" tab, and a person."""

    stack: DesktopStack
    openbox: Openbox
    browser: XWindow
    person: Typist

    @property
    def display(self) -> str:
        return self.stack.xvfb.display

    def nudges(self, since: int = 0) -> list[NotifyCall]:
        return [c for c in self.stack.monitor.notifies(since) if c.app_name == "nudged"]

    def nudges_between(self, start: float, end: float = float("inf")) -> list[NotifyCall]:
        """Notify calls that reached the bus after ``start`` and before ``end`` (wall
        clock, as dbus-monitor stamps them)."""
        return [c for c in self.nudges() if start < c.time < end]

    def assert_nothing_new_shown(self, daemon: Nudged, shown_before: int, why: str) -> None:
        """Nothing was shown since the store held ``shown_before`` nudges.

        Counted rather than timed: a nudge shown a moment before the person left may
        reach the bus a moment after nudged noticed; it is one of ``shown_before``.
        Every shown nudge is one Notify (dunst is up), and a held one would be both
        a new row and a new Notify.
        """
        rows = daemon.shown()
        assert len(rows) == shown_before, f"a nudge was shown while {why}: {rows[shown_before:]}"
        calls = self.nudges()
        assert len(calls) == shown_before, f"a nudge reached dunst while {why}: {calls}"

    def wait_nudge(self, title: str, since: int = 0, timeout: float = 15.0) -> NotifyCall:
        call = self.stack.monitor.wait_for(
            lambda c: c.app_name == "nudged" and c.summary == title, timeout, since)
        assert call.id is not None, f"dunst did not accept {title!r}: {call.error}"
        return call


@pytest.fixture
def desk() -> Iterator[Desk]:
    testbed.require_desktop_tools()
    testbed.require_x11_tools()
    with testbed.desktop_stack_context(
        dunst_extra_config="[global]\n    stack_duplicates = false\n"
    ) as stack, Openbox(stack.xvfb.display) as openbox, \
            Typist(stack.xvfb.display, interval=0.5) as person:
        browser = openbox.xterm(REDDIT, "Firefox")
        testbed.xdotool(stack.xvfb.display, "windowactivate", "--sync", str(browser.wid))
        until(lambda: f"{browser.wid:#x}" in testbed.root_property(
            stack.xvfb.display, "_NET_ACTIVE_WINDOW"), 10, "the browser window to have focus")
        yield Desk(stack, openbox, browser, person)


@pytest.fixture
def logind() -> Iterator[tuple[SessionBus, LogindControl, str]]:
    """logind (python-dbusmock) on a private system bus, with a graphical session of
    ours that it reports as the user's display: (bus, control, session path)."""
    testbed.require_logind_tools()
    with SessionBus() as bus, LogindMock(bus.address):
        control = LogindControl(bus.address)
        control.fix_get_user()
        yield bus, control, control.add_session("c1")


# --------------------------------------------------------------------------- what was kept


def usage_rows(daemon: Nudged) -> list[dict[str, Any]]:
    path = daemon.state_dir / "nudged.db"
    conn = sqlite3.connect(path, timeout=5)
    conn.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in conn.execute("SELECT * FROM usage ORDER BY id")]
    finally:
        conn.close()
    for row in rows:  # start/end are stored to the second (UTC ISO)
        row["start_ts"] = datetime.fromisoformat(row["start"]).timestamp()
        row["end_ts"] = datetime.fromisoformat(row["end"]).timestamp()
    return rows


def seconds_for(rows: list[dict[str, Any]], app: str | None) -> float:
    return sum(r["seconds"] for r in rows if r["app"] == app)


def assert_nothing_counted_between(rows: list[dict[str, Any]], away: float, back: float,
                                   what: str) -> None:
    """No stretch of present time overlaps (away, back). Stored times are truncated to
    the second, so a row ending at ``away`` may show up to a second earlier, and one
    starting at ``back`` up to a second earlier."""
    for row in rows:
        ends_before = row["end_ts"] <= away + 0.01
        starts_after = row["start_ts"] >= back - 1.01
        assert ends_before or starts_after, (
            f"present time counted while {what} ({away:.2f} .. {back:.2f}): {row}")


def usage_json(env: dict[str, str], rows: list[dict[str, Any]]) -> dict[str, float]:
    """``nudged usage --json`` minutes per app, summed over the days the rows touch
    (a story that runs across midnight has two)."""
    by_app: dict[str, float] = {}
    for day in sorted({r["day"] for r in rows}):
        proc = nudged_cli(env, "usage", "--json", "--day", day)
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        assert report["day"] == day
        assert not any(piece.decode() in proc.stdout for piece in TITLE_PIECES), proc.stdout
        for app, minutes in report["by_app"].items():
            by_app[app] = by_app.get(app, 0.0) + minutes
    return by_app


def state_bytes(daemon: Nudged) -> dict[str, bytes]:
    """The database file and its -wal/-shm companions, as bytes."""
    found = {}
    for path in sorted(daemon.state_dir.glob("nudged.db*")):
        found[path.name] = path.read_bytes()
    return found


def assert_no_titles_on_disk(daemon: Nudged) -> None:
    files = state_bytes(daemon)
    assert "nudged.db" in files, sorted(files)
    for name, data in files.items():
        for piece in TITLE_PIECES:
            assert piece not in data, f"{piece!r} found in {name}"
    # The search can see text at all: the app id is stored, in one of the files.
    assert any(b"Firefox" in data for data in files.values()), sorted(files)


def doctor(env: dict[str, str]) -> dict[str, Any]:
    proc = nudged_cli(env, "doctor", "--json")
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def count_events(daemon: Nudged, event: str, **fields: str) -> int:
    return len(daemon.events(event, **fields))


def at_of(entry: dict[str, str]) -> float:
    """The ``at`` of a "presence changed" log entry, as a wall-clock timestamp."""
    return datetime.fromisoformat(entry["at"]).timestamp()


# --------------------------------------------------------------------------- X11


@pytest.mark.desktop
def test_x11_nudges_wait_while_the_person_is_away_and_time_counts_only_while_there(
    desk: Desk, run_nudged: Callable[..., Nudged], tmp_path: Path
) -> None:
    env = isolated(desk.stack.env(), tmp_path)
    path = write_config(env, config(("stretch", STRETCH, 8)))
    desk.person.start()  # Sam is reading Reddit, scrolling now and then
    daemon = run_nudged(env, "--config", str(path))

    chosen = daemon.wait_event("activity sources chosen", timeout=20)
    focus_from = time.time()  # the x11 source reported the focus just before this
    assert (chosen["idle"], chosen["focus"], chosen["title"]) == ("x11", "x11", "x11"), chosen

    # While Sam is at the screen, nudges come as usual.
    desk.wait_nudge(STRETCH, timeout=20)
    assert count_events(daemon, "presence changed") == 0, daemon.diagnostics()

    # Right after a nudge (the next is due in 8 s), Sam stops touching anything.
    last_input = desk.person.stop()
    away = daemon.wait_event("presence changed", state="away", timeout=IDLE_AFTER + 8)
    noticed = time.time() - last_input
    away_at = at_of(away)
    assert away["because"] == "idle"
    assert IDLE_AFTER - 0.5 <= noticed <= IDLE_AFTER + 4, f"noticed after {noticed:.2f}s"
    # The time between the last input and the idle threshold is not present time:
    # the change is back-dated to the last input.
    assert abs(away_at - last_input) <= 1.0, (away_at, last_input)
    mark = desk.stack.monitor.mark()
    shown_before = len(daemon.shown())

    # The next nudge comes due while Sam is away: it is held, not shown.
    held = daemon.wait_event("nudge deferred", by="presence", timeout=12)
    assert held["nudge"] == "custom:stretch" and held["reason"] == "the person is away"
    time.sleep(1.0)  # a held nudge would have reached the bus by now
    desk.assert_nothing_new_shown(daemon, shown_before, "Sam was away")
    assert daemon.stdout() == ""  # and it did not go to the terminal either
    # What is on disk by now (the first stretch was written when Sam left, into
    # the WAL) holds no window title.
    assert "nudged.db-wal" in state_bytes(daemon)
    assert_no_titles_on_disk(daemon)

    # Sam is back: the held nudge shows within a moment.
    back_input = desk.person.start()
    call = desk.wait_nudge(STRETCH, since=mark, timeout=RELEASE_WITHIN + 5)
    released = call.time - back_input
    assert released <= RELEASE_WITHIN, f"the held nudge took {released:.2f}s to appear"
    back = daemon.wait_event("presence changed", state="present")
    back_at = at_of(back)
    assert abs(back_at - back_input) <= 1.0, (back_at, back_input)
    assert count_events(daemon, "presence changed") == 2, daemon.diagnostics()

    # `nudged doctor` sees the same desktop.
    report = doctor(env)
    assert report["session"] == "x11"
    caps = report["capabilities"]
    assert (caps["idle"]["source"], caps["focus"]["source"], caps["title"]["source"]) \
        == ("x11", "x11", "x11"), caps
    assert caps["lock"]["source"] is None and "system bus" in caps["lock"]["reason"]

    time.sleep(2.0)  # Sam reads on for a bit
    code, _took = daemon.terminate(within=3.0)
    stopped = time.time()
    desk.person.stop()
    assert code == 0, daemon.diagnostics()
    assert "Traceback" not in daemon.log_text()
    assert desk.person.errors == []

    rows = usage_rows(daemon)
    firefox = seconds_for(rows, "Firefox")
    expected = (last_input - focus_from) + (stopped - back_input)
    assert abs(firefox - expected) <= LEDGER_TOLERANCE, (firefox, expected, rows)
    assert {r["app"] for r in rows} <= {"Firefox", None}, rows  # None: before any focus report
    assert_nothing_counted_between(rows, away_at, back_at, "idle")
    by_app = usage_json(env, rows)
    assert abs(by_app["Firefox"] - firefox / 60) <= 0.05 + 1e-9, (by_app, firefox)
    assert abs(by_app["Firefox"] * 60 - expected) <= LEDGER_TOLERANCE + 3, (by_app, expected)
    assert_no_titles_on_disk(daemon)


# --------------------------------------------------------------------------- logind


@pytest.mark.desktop
def test_locking_and_suspending_hold_nudges_and_stop_the_clock(
    desk: Desk, logind: tuple[SessionBus, LogindControl, str],
    run_nudged: Callable[..., Nudged], tmp_path: Path,
) -> None:
    system_bus, control, session = logind
    env = isolated(desk.stack.env(), tmp_path, system_bus=system_bus.address)
    path = write_config(env, config(("stretch", STRETCH, 5), ("water", WATER, 5)))
    desk.person.start()  # Sam keeps working throughout: only lock and sleep take them away
    started = time.time()
    daemon = run_nudged(env, "--config", str(path))

    chosen = daemon.wait_event("activity sources chosen", timeout=20)
    assert (chosen["lock"], chosen["sleep"], chosen["idle"], chosen["focus"]) \
        == ("logind", "logind", "x11", "x11"), chosen
    desk.wait_nudge(STRETCH, timeout=20)
    desk.wait_nudge(WATER, timeout=5)

    # -- Sam locks the screen (GNOME Shell / KDE set the session's LockedHint).
    deferred = count_events(daemon, "nudge deferred", by="presence")
    lock_call = time.time()
    control.set_locked_hint(session, True)
    away = daemon.wait_event("presence changed", state="away")
    assert away["because"] == "locked"
    locked_at = at_of(away)
    assert -0.5 <= locked_at - lock_call <= 2.0, (locked_at, lock_call)
    mark = desk.stack.monitor.mark()
    shown_before = len(daemon.shown())
    daemon.wait_event("nudge deferred", by="presence", since=deferred, timeout=12)
    time.sleep(1.0)
    desk.assert_nothing_new_shown(daemon, shown_before, "the screen was locked")

    unlock_call = time.time()
    control.set_locked_hint(session, False)
    back = daemon.wait_event("presence changed", state="present")
    unlocked_at = at_of(back)
    assert -0.5 <= unlocked_at - unlock_call <= 2.0, (unlocked_at, unlock_call)
    held = {e["nudge"] for e in daemon.events("nudge deferred", by="presence")[deferred:]}
    for key in sorted(held):  # every nudge held during the lock shows now, once
        call = desk.wait_nudge(TITLES[key], since=mark, timeout=RELEASE_WITHIN + 5)
        assert call.time - unlock_call <= RELEASE_WITHIN, (call, unlock_call)

    # -- The lid closes; Sam is gone long enough for each nudge to come due twice.
    deferred = count_events(daemon, "nudge deferred", by="presence")
    sleep_call = time.time()
    control.prepare_for_sleep(True)
    asleep = daemon.wait_event("presence changed", state="away", since=1)
    assert asleep["because"] == "asleep"
    asleep_at = at_of(asleep)
    assert -0.5 <= asleep_at - sleep_call <= 2.0
    mark = desk.stack.monitor.mark()
    shown_before = len(daemon.shown())

    def came_due_twice() -> bool:
        held = [e["nudge"] for e in daemon.events("nudge deferred", by="presence")[deferred:]]
        return held.count("custom:stretch") >= 2 and held.count("custom:water") >= 2

    # The lid opens right after the second occurrence came due (so the next punctual
    # one is almost a whole interval away).
    until(came_due_twice, 20, "each nudge to come due twice during the sleep",
          daemon.diagnostics)
    desk.assert_nothing_new_shown(daemon, shown_before, "the machine slept")
    resume_call = time.time()
    control.prepare_for_sleep(False)
    woke = daemon.wait_event("presence changed", state="present", since=1)
    woke_at = at_of(woke)
    assert -0.5 <= woke_at - resume_call <= 2.0
    # Each nudge is shown once for everything it missed: no burst.
    first = [desk.wait_nudge(title, since=mark, timeout=RELEASE_WITHIN + 5)
             for title in (STRETCH, WATER)]
    for call in first:
        assert call.time - resume_call <= RELEASE_WITHIN, (call, resume_call)
    # Until the released ones time out (3 s), nothing else may come.
    window_end = min(c.time for c in first) + 2.5
    time.sleep(max(0.0, window_end + 0.2 - time.time()))
    after = [c.summary for c in desk.nudges_between(resume_call - 0.01, window_end)]
    assert (after.count(STRETCH), after.count(WATER)) == (1, 1), after
    assert len(after) == len(set(after)), after

    code, _took = daemon.terminate(within=3.0)
    stopped = time.time()
    desk.person.stop()
    assert code == 0, daemon.diagnostics()
    assert "Traceback" not in daemon.log_text()
    assert daemon.events("activity source failed") == []

    rows = usage_rows(daemon)
    assert_nothing_counted_between(rows, locked_at, unlocked_at, "locked")
    assert_nothing_counted_between(rows, asleep_at, woke_at, "asleep")
    # Everything else was present time: from start to stop, less the lock and the sleep.
    total = sum(r["seconds"] for r in rows)
    began = min(r["start_ts"] for r in rows)
    assert started - 1.0 <= began <= started + 10, (began, started)  # the daemon's start
    expected = (stopped - began) - (unlock_call - lock_call) - (resume_call - sleep_call)
    assert abs(total - expected) <= LEDGER_TOLERANCE + 1, (total, expected, rows)
    assert seconds_for(rows, "Firefox") >= total - 10, rows


# --------------------------------------------------------------------------- nothing there


@pytest.mark.desktop
def test_without_any_desktop_nudges_go_to_the_terminal_and_doctor_says_why(
    tmp_path: Path, run_nudged: Callable[..., Nudged]
) -> None:
    # Over SSH into a container: no DISPLAY, no session bus, no system bus.
    env = isolated(private_env(tmp_path / "ssh"), tmp_path)
    env.pop("XDG_SESSION_TYPE", None)
    path = write_config(env, config(("stretch", STRETCH, 5)))
    daemon = run_nudged(env, "--config", str(path))

    chosen = daemon.wait_event("activity sources chosen", timeout=20)
    for cap in ("idle", "lock", "focus", "title", "url"):
        assert chosen[cap] == "none", chosen
    assert chosen["sleep"] == "clock"  # the clocks are always there on Linux
    until(lambda: daemon.stdout().count(f"● {STRETCH}") >= 2, 20,
          "two nudges on the terminal", daemon.diagnostics)
    assert daemon.alive()
    assert daemon.events("activity layer failed to start") == []
    assert daemon.events("presence changed") == []  # nothing can tell: never held

    report = doctor(env)
    assert report["session"] == "unknown"
    caps = report["capabilities"]
    assert set(caps) == {"idle", "lock", "sleep", "focus", "title", "url"}
    for cap in ("idle", "lock", "focus", "title", "url"):
        info = caps[cap]
        assert info["source"] is None, (cap, info)
        assert info["reason"].strip(), (cap, info)
        assert info["tried"], (cap, info)
        for tried in info["tried"]:
            assert tried["source"] and tried["reason"].strip(), (cap, tried)
    # The reasons point at what is missing.
    assert "no-system-bus" in caps["lock"]["reason"]
    assert "DBUS_SESSION_BUS_ADDRESS" in caps["idle"]["reason"]
    assert caps["sleep"]["source"] == "clock"

    code, _took = daemon.terminate(within=3.0)
    assert code == 0, daemon.diagnostics()
    assert "Traceback" not in daemon.log_text()


# --------------------------------------------------------------------------- stopping early

SLOW_TO_STOP = '''
    """Writes its notes somewhere on the way out; that takes a second."""
    import asyncio

    async def nudged_shutdown():
        await asyncio.sleep(1.0)
'''


@pytest.mark.desktop
def test_a_stop_while_sources_are_still_starting_leaves_nothing_running(
    desk: Desk, logind: tuple[SessionBus, LogindControl, str],
    run_nudged: Callable[..., Nudged], tmp_path: Path,
) -> None:
    # `systemctl stop` moments after the start: x11 is up, logind is still being
    # asked which session is ours (slowly: its second GetUser takes 0.8 s), and a
    # plugin takes a second to shut down. Nothing may start once stopping began.
    system_bus, control, _session = logind
    control.call(control.MANAGER_PATH, control.MOCK, "AddMethod", "sssss", control.MANAGER,
                 "GetUser", "u", "o", textwrap.dedent("""
                     import time
                     self.asked = getattr(self, "asked", 0) + 1
                     if self.asked > 1:
                         time.sleep(0.8)
                     ret = "/org/freedesktop/login1/user/%d" % args[0]
                 """))
    env = isolated(desk.stack.env(), tmp_path, system_bus=system_bus.address)
    write_plugin(env, "notes", SLOW_TO_STOP)
    path = write_config(env, config(("stretch", STRETCH, 5)))
    daemon = run_nudged(env, "--config", str(path))

    daemon.wait_event("activity source started", source="x11", timeout=20)
    assert daemon.events("activity source started", source="logind") == [], \
        "logind started before x11: this story needs x11 first (adapt the slow call)"
    code, took = daemon.terminate(within=4.0)
    assert code == 0, daemon.diagnostics()
    text = daemon.log_text()
    stopping = text.index('event="nudged is stopping"')
    after = text[stopping:]
    for sign in ("activity source started", "activity sources chosen", "Task was destroyed",
                 "closed database", "Traceback"):
        assert sign not in after, daemon.diagnostics()
    assert took <= 3.0, f"took {took:.2f}s to stop"
