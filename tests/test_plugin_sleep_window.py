"""``sleep_window``: a person's evenings, simulated week by week.

Most tests are stories: a config, a person at the screen during some hours, and the
exact nudges they meet and when. Times are local to the configured time zone; on the
DST nights the offsets are asserted too, since "01:30" happens twice in autumn.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog
from helpers import load, shown, simulate
from nudged_plugins.quiet import QuietHoursPlugin
from nudged_plugins.sleep_window import SleepWindowConfig, SleepWindowPlugin, words
from nudged_plugins.sleep_window.nights import current_night, night_for, wall_moment

from nudged.cli import main
from nudged.context import PluginContext
from nudged.models import Manual, Nudge, NudgeSpec, Response
from nudged.pluginstore import Journal, State
from nudged.preview import PreviewItem
from nudged.runtime import Runtime
from nudged.scheduler import SimulatedScheduler
from nudged.store import Store
from tests.test_daemon_desktop import desktop, nudge_call
from tests.test_daemon_desktop import start as start_daemon
from tests.test_daemon_service import Nudged, run_nudged
from tests.testbed import DesktopStack

__all__ = ["desktop", "run_nudged"]  # fixtures, imported to be used here

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NAME = "sleep_window"

W, B, S = "sleep_window:wind-down", "sleep_window:bedtime", "sleep_window:still-up"


def run(config: str, *, start: str = "2026-03-02 12:00", days: float = 1,
        present: tuple[str, ...] = ("17:00-02:00",), respond: str = "done",
        timezone: str = "Europe/Berlin", core: str = "",
        others: dict[str, object] | None = None) -> tuple[list[PreviewItem], Runtime]:
    """Simulate the plugin alone (plus ``others``) with ``config`` under its table."""
    text = (f'[core]\ntimezone = "{timezone}"\n{core}\n[plugins.sleep_window]\n'
            + textwrap.dedent(config))
    return simulate(text, start=start, days=days, present=present, respond=respond,
                    plugins={NAME: SleepWindowPlugin(), **(others or {})}, builtins=False)


def night_list(runtime: Runtime) -> list[dict[str, Any]]:
    """The data of every ``night`` journal entry, oldest first."""
    journal = Journal(runtime.data, NAME, runtime.scheduler.tz)
    return [entry.data for entry in journal.entries("night")]


def offsets(items: list[PreviewItem]) -> list[tuple[str, str]]:
    """(local time with its UTC offset, nudge) of every shown nudge: DST-proof."""
    return [(i.at.strftime("%a %H:%M %z"), i.nudge.key) for i in items if i.shown]


def evening(day: str, bedtime: str = "23:00", repeats: tuple[str, ...] = (
        "23:20", "23:40", "00:00", "00:20", "00:40", "01:00"),
        wind: tuple[str, ...] = ("22:00", "22:45"), next_day: str = "") -> list[tuple[str, str]]:
    """One default evening: wind-downs, bedtime and repeats, with the day names."""
    nxt = next_day or {"Mon": "Tue", "Tue": "Wed", "Wed": "Thu", "Thu": "Fri", "Fri": "Sat",
                       "Sat": "Sun", "Sun": "Mon"}[day]

    def on(hhmm: str) -> str:
        return f"{day if hhmm >= '12:00' else nxt} {hhmm}"

    return ([(on(t), W) for t in wind] + [(on(bedtime), B)]
            + [(on(t), S) for t in repeats])


# --------------------------------------------------------------------------- a week


def test_a_default_week_wind_down_bedtime_and_six_repeats_while_at_the_screen() -> None:
    # Sam is at the laptop every evening from 17:00 until 02:00.
    items, runtime = run("", days=7)
    expected = []
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        expected += evening(day)
    assert shown(items) == expected
    # Nothing after 01:00: max_repeats (6) is used up, though Sam is there until 02:00.
    assert all(i.shown for i in items)
    first = [(i.nudge.shown_title, i.nudge.shown_body) for i in items[:5]]
    assert first == [
        ("Bedtime is at 23:00",
         "In an hour. A good moment to dim the screen and start winding down."),
        ("Bedtime is at 23:00",
         "In 15 minutes. A good moment to find a stopping point and save your work."),
        ("It's bedtime",
         "Saving what you're doing and closing the laptop now makes the 07:00 wake-up "
         "easier."),
        ("It's past bedtime",
         "Bedtime was 23:00. Saving your work now is a good place to stop for the night."),
        ("A gentle reminder about bed",
         "Whatever is left will keep until the morning. Wake-up is at 07:00."),
    ]
    # The repeats vary and come round again, never louder.
    titles = [i.nudge.shown_title for i in items[3:9]]
    assert titles == ["It's past bedtime", "A gentle reminder about bed", "Time to rest",
                      "Ready to call it a night?", "It's past bedtime",
                      "A gentle reminder about bed"]
    # The buttons: "Not tonight" is always there; no snooze (the next reminder is it).
    assert items[0].nudge.spec.labels == {"done": "Thanks", "skip": "Not tonight"}
    assert items[2].nudge.spec.labels == {"done": "Going to bed", "skip": "Not tonight"}
    assert all(i.nudge.spec.buttons == ("done", "skip") for i in items)

    records = night_list(runtime)
    assert [r["night"] for r in records] == [f"2026-03-0{d}" for d in range(2, 9)]
    assert records[0] == {
        "night": "2026-03-02",
        "bedtime": "2026-03-02T23:00:00+01:00",
        "wake": "2026-03-03T07:00:00+01:00",
        "present_in_window": True,
        "last_present": "2026-03-03T02:00:00+01:00",
        "present_minutes": 180,
        "reminders": 9,
        "skipped": False,
        "ended": "wake",
    }
    entries = Journal(runtime.data, NAME, BERLIN).entries("night")
    assert entries[0].at == datetime(2026, 3, 2, 23, 0, tzinfo=BERLIN)


def test_nothing_after_the_person_leaves_and_the_night_says_until_when() -> None:
    items, runtime = run("", present=("17:00-00:10",))
    assert shown(items) == [("Mon 22:00", W), ("Mon 22:45", W), ("Mon 23:00", B),
                            ("Mon 23:20", S), ("Mon 23:40", S), ("Tue 00:00", S)]
    [record] = night_list(runtime)
    assert record["last_present"] == "2026-03-03T00:10:00+01:00"
    assert record["present_minutes"] == 70
    assert record["reminders"] == 6


def test_repeats_stop_when_presence_stops_and_resume_on_return() -> None:
    # Sam leaves at 23:30 (tea, the laptop goes idle) and is back at 23:50 until 00:30.
    items, runtime = run("", present=("17:00-23:30", "23:50-00:30"))
    assert shown(items) == [("Mon 22:00", W), ("Mon 22:45", W), ("Mon 23:00", B),
                            ("Mon 23:20", S),
                            # 23:40 falls while away: not shown, not even at 23:50;
                            # the rhythm carries on from bedtime.
                            ("Tue 00:00", S), ("Tue 00:20", S)]
    assert [i.nudge.shown_title for i in items[3:]] == [
        "It's past bedtime", "A gentle reminder about bed", "Time to rest"]
    [record] = night_list(runtime)
    assert record["last_present"] == "2026-03-03T00:30:00+01:00"
    assert record["present_minutes"] == 30 + 40


def test_a_wind_down_missed_while_away_is_not_shown_later() -> None:
    # Sam is out for a walk from 21:50 to 22:10 and leaves for bed at 23:10.
    items, _ = run("", present=("17:00-21:50", "22:10-23:10"))
    assert shown(items) == [("Mon 22:45", W), ("Mon 23:00", B)]
    assert items == [i for i in items if i.shown]  # nothing held back and dropped


def test_away_at_bedtime_and_back_inside_the_window_the_repeats_begin() -> None:
    items, runtime = run("", present=("17:00-22:30", "23:30-00:15"))
    # Out from 22:30 to 23:30: no wind-down at 22:45, no bedtime nudge; back inside
    # the window, the rhythm picks up at its next step.
    assert shown(items) == [("Mon 22:00", W), ("Mon 23:40", S), ("Tue 00:00", S)]
    assert items[1].nudge.shown_title == "It's past bedtime"
    assert night_list(runtime)[0]["reminders"] == 3


def test_max_repeats_is_respected() -> None:
    items, _ = run("max_repeats = 2\n", present=("17:00-04:00",))
    assert shown(items) == evening("Mon", repeats=("23:20", "23:40"))
    items, _ = run("max_repeats = 0\n", present=("17:00-04:00",))
    assert shown(items) == evening("Mon", repeats=())


def test_wake_time_ends_the_window() -> None:
    # Up all night: with room for many repeats, the last one is before 07:00.
    items, runtime = run('repeat_every = "1h"\nmax_repeats = 50\n', present=("17:00-09:00",))
    assert shown(items) == evening("Mon", repeats=(
        "00:00", "01:00", "02:00", "03:00", "04:00", "05:00", "06:00"))
    [record] = night_list(runtime)
    assert record["last_present"] == "2026-03-03T07:00:00+01:00"  # capped at wake
    assert record["present_minutes"] == 8 * 60


def test_per_day_overrides_for_friday_and_saturday_nights() -> None:
    # Thursday noon to Monday noon; Sam is up until 02:00 every night.
    items, runtime = run("""
        [plugins.sleep_window.days.fri]
        bedtime = "00:30"
        [plugins.sleep_window.days.sat]
        bedtime = "00:30"
        wake = "09:00"
    """, start="2026-03-05 12:00", days=4)
    late = ("00:50", "01:10", "01:30", "01:50")  # then Sam leaves at 02:00
    assert shown(items) == (
        evening("Thu")
        # Friday's night: its override puts bedtime at 00:30 on Saturday.
        + evening("Fri", bedtime="00:30", wind=("23:30", "00:15"), repeats=late)
        + evening("Sat", bedtime="00:30", wind=("23:30", "00:15"), repeats=late)
        + evening("Sun"))
    records = night_list(runtime)
    assert [(r["night"], r["bedtime"], r["wake"]) for r in records] == [
        ("2026-03-05", "2026-03-05T23:00:00+01:00", "2026-03-06T07:00:00+01:00"),
        ("2026-03-06", "2026-03-07T00:30:00+01:00", "2026-03-07T07:00:00+01:00"),
        ("2026-03-07", "2026-03-08T00:30:00+01:00", "2026-03-08T09:00:00+01:00"),
        ("2026-03-08", "2026-03-08T23:00:00+01:00", "2026-03-09T07:00:00+01:00"),
    ]
    friday = next(i for i in items if i.at.strftime("%a %H:%M") == "Fri 23:30")
    assert friday.nudge.shown_title == "Bedtime is at 00:30"


def test_a_saturday_wake_override_lets_the_window_run_until_nine() -> None:
    items, _ = run("""
        repeat_every = "1h"
        max_repeats = 50
        [plugins.sleep_window.days.sat]
        wake = "09:00"
    """, start="2026-03-07 12:00", days=1, present=("17:00-10:00",))
    assert shown(items) == evening("Sat", repeats=(
        "00:00", "01:00", "02:00", "03:00", "04:00", "05:00", "06:00", "07:00", "08:00"))


def test_quiet_hours_do_not_hold_sleep_nudges_back() -> None:
    items, _ = run("", others={"quiet": QuietHoursPlugin()}, present=("17:00-00:10",))
    items_quiet, _ = run("\n[plugins.quiet]\nhours = [\"21:00-08:00\"]\n",
                         others={"quiet": QuietHoursPlugin()}, present=("17:00-00:10",))
    assert shown(items_quiet) == shown(items) == evening("Mon", repeats=(
        "23:20", "23:40", "00:00"))
    assert all(i.why == [] for i in items_quiet)


def test_not_tonight_ends_that_nights_reminders_only() -> None:
    # Sam answers every nudge with "Not tonight": one wind-down an evening, no more.
    items, runtime = run("", days=3, respond="skip")
    assert shown(items) == [("Mon 22:00", W), ("Tue 22:00", W), ("Wed 22:00", W)]
    assert [i.response for i in items] == ["skip"] * 3
    records = night_list(runtime)
    assert [(r["skipped"], r["reminders"], r["present_in_window"]) for r in records] == [
        (True, 1, True)] * 3


def test_a_night_away_from_the_screen_is_recorded_as_such() -> None:
    items, runtime = run("", days=2, present=("08:00-20:00",))
    assert shown(items) == []
    assert [(r["night"], r["present_in_window"], r["last_present"], r["reminders"])
            for r in night_list(runtime)] == [("2026-03-02", False, None, 0),
                                              ("2026-03-03", False, None, 0)]


def test_a_running_night_is_recorded_at_shutdown() -> None:
    # The simulation (the daemon) stops at 00:30, inside the window.
    items, runtime = run("", days=12.5 / 24)
    assert shown(items)[-1] == ("Tue 00:20", S)
    [record] = night_list(runtime)
    assert (record["ended"], record["reminders"], record["present_minutes"]) == \
        ("shutdown", 7, 90)
    assert record["last_present"] == "2026-03-03T00:30:00+01:00"


def test_the_plugin_loads_through_its_entry_point_like_any_plugin() -> None:
    items, runtime = simulate('[core]\ntimezone = "Europe/Berlin"\n[plugins.sleep_window]\n',
                              start="2026-03-02 12:00", present=("17:00-23:30",))
    assert runtime.host.records[NAME].status.value == "ok"
    mine = [(when, key) for when, key in shown(items) if key.startswith("sleep_window:")]
    assert mine == [("Mon 22:00", W), ("Mon 22:45", W), ("Mon 23:00", B), ("Mon 23:20", S)]


# --------------------------------------------------------------------------- DST nights


def test_berlin_spring_forward_night_has_an_hour_less() -> None:
    # 2026-03-29 02:00 CET -> 03:00 CEST. Repeats keep their real-time rhythm.
    items, runtime = run('repeat_every = "30m"\nmax_repeats = 10\n',
                         start="2026-03-28 12:00", present=("17:00-04:00",))
    assert offsets(items) == [
        ("Sat 22:00 +0100", W), ("Sat 22:45 +0100", W), ("Sat 23:00 +0100", B),
        ("Sat 23:30 +0100", S), ("Sun 00:00 +0100", S), ("Sun 00:30 +0100", S),
        ("Sun 01:00 +0100", S), ("Sun 01:30 +0100", S),
        ("Sun 03:00 +0200", S),  # half an hour after 01:30: the clocks jumped
        ("Sun 03:30 +0200", S),
    ]
    [record] = night_list(runtime)
    assert (record["bedtime"], record["wake"]) == ("2026-03-28T23:00:00+01:00",
                                                   "2026-03-29T07:00:00+02:00")
    assert record["present_minutes"] == 4 * 60  # 23:00 CET to 04:00 CEST
    assert record["last_present"] == "2026-03-29T04:00:00+02:00"


def test_berlin_fall_back_night_has_an_hour_more() -> None:
    # 2026-10-25 03:00 CEST -> 02:00 CET: 02:00-03:00 happens twice.
    items, runtime = run('repeat_every = "30m"\nmax_repeats = 10\n',
                         start="2026-10-24 12:00", present=("17:00-04:00",))
    assert offsets(items) == [
        ("Sat 22:00 +0200", W), ("Sat 22:45 +0200", W), ("Sat 23:00 +0200", B),
        ("Sat 23:30 +0200", S), ("Sun 00:00 +0200", S), ("Sun 00:30 +0200", S),
        ("Sun 01:00 +0200", S), ("Sun 01:30 +0200", S), ("Sun 02:00 +0200", S),
        ("Sun 02:30 +0200", S), ("Sun 02:00 +0100", S), ("Sun 02:30 +0100", S),
        ("Sun 03:00 +0100", S),  # the tenth: max_repeats, though Sam stays until 04:00
    ]
    [record] = night_list(runtime)
    assert (record["bedtime"], record["wake"]) == ("2026-10-24T23:00:00+02:00",
                                                   "2026-10-25T07:00:00+01:00")
    assert record["present_minutes"] == 6 * 60  # 23:00 CEST to 04:00 CET


def test_new_york_spring_forward_with_a_bedtime_in_the_missing_hour() -> None:
    # 2026-03-08 02:00 EST -> 03:00 EDT. Saturday's 02:30 never shows on the clock:
    # bedtime comes when the clocks jump, and the wind-downs are an hour and a
    # quarter of an hour before that moment.
    items, runtime = run("""
        [plugins.sleep_window.days.sat]
        bedtime = "02:30"
    """, timezone="America/New_York", start="2026-03-07 12:00", present=("17:00-04:30",))
    assert offsets(items) == [
        ("Sun 01:00 -0500", W), ("Sun 01:45 -0500", W), ("Sun 03:00 -0400", B),
        ("Sun 03:20 -0400", S), ("Sun 03:40 -0400", S), ("Sun 04:00 -0400", S),
        ("Sun 04:20 -0400", S),
    ]
    assert items[0].nudge.shown_title == "Bedtime is at 03:00"
    [record] = night_list(runtime)
    assert (record["night"], record["bedtime"], record["wake"]) == (
        "2026-03-07", "2026-03-08T03:00:00-04:00", "2026-03-08T07:00:00-04:00")


def test_new_york_fall_back_with_a_bedtime_in_the_repeated_hour() -> None:
    # 2026-11-01 02:00 EDT -> 01:00 EST. Bedtime 01:30 is its first appearance (EDT);
    # repeats every 20 minutes of real time run through the repeated hour.
    items, runtime = run("""
        max_repeats = 10
        [plugins.sleep_window.days.sat]
        bedtime = "01:30"
    """, timezone="America/New_York", start="2026-10-31 12:00", present=("17:00-03:00",),
        # Core bug (reported): the engine's rate limit subtracts wall clocks, so in the
        # repeated hour 01:15 EDT looks 15 minutes before 01:30 EST, not 75.
        core="max_per_hour = 10")
    assert offsets(items) == [
        ("Sun 00:30 -0400", W), ("Sun 01:15 -0400", W), ("Sun 01:30 -0400", B),
        ("Sun 01:50 -0400", S), ("Sun 01:10 -0500", S), ("Sun 01:30 -0500", S),
        ("Sun 01:50 -0500", S), ("Sun 02:10 -0500", S), ("Sun 02:30 -0500", S),
        ("Sun 02:50 -0500", S),
    ]
    [record] = night_list(runtime)
    assert (record["bedtime"], record["wake"]) == ("2026-11-01T01:30:00-04:00",
                                                   "2026-11-01T07:00:00-05:00")
    assert record["present_minutes"] == 150  # 01:30 EDT to 03:00 EST


def test_the_simulated_clock_runs_through_the_repeated_hour() -> None:
    items, _ = run('repeat_every = "30m"\nmax_repeats = 10\n',
                   start="2026-10-24 12:00", present=("17:00-04:00",))
    assert ("Sun 02:00 +0100", S) in offsets(items)


def test_wall_moments_on_dst_days() -> None:
    # A time in the spring gap is the moment of the jump; one in the autumn overlap
    # is its first appearance.
    assert wall_moment(date(2026, 3, 29), time(2, 30),
                       BERLIN) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert wall_moment(date(2026, 10, 25), time(2, 30),
                       BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert wall_moment(date(2026, 3, 8), time(2, 15),
                       NEW_YORK) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_a_night_belongs_to_the_evening_it_starts() -> None:
    model = SleepWindowConfig.model_validate(
        {"days": {"fri": {"bedtime": "00:30"}, "mon": {"bedtime": "21:30", "wake": "05:30"}}})
    friday = night_for(date(2026, 3, 6), model.rule, BERLIN)
    assert friday.bedtime == datetime(2026, 3, 7, 0, 30, tzinfo=BERLIN)
    assert friday.wake == datetime(2026, 3, 7, 7, 0, tzinfo=BERLIN)
    # At 00:10 on Saturday, Friday's night is the current one (bedtime still ahead).
    assert current_night(datetime(2026, 3, 7, 0, 10, tzinfo=BERLIN), model.rule,
                         BERLIN) == friday
    monday = night_for(date(2026, 3, 2), model.rule, BERLIN)
    assert (monday.bedtime, monday.wake) == (datetime(2026, 3, 2, 21, 30, tzinfo=BERLIN),
                                             datetime(2026, 3, 3, 5, 30, tzinfo=BERLIN))


# --------------------------------------------------------------------------- restarts


class Person:
    """Stands in for ``ctx.activity``: at the screen or not."""

    def __init__(self, present: bool = True) -> None:
        self.here = present

    def present(self) -> bool:
        return self.here


class Harness:
    """The plugin with a real state store and journal and a simulated clock, started
    and stopped by hand, as the daemon does at a restart or a config reload."""

    def __init__(self, start: datetime, config: dict[str, Any] | None = None) -> None:
        self.clock = SimulatedScheduler(BERLIN, start)
        self.store = Store.memory()
        self.person = Person()
        self.fired: list[tuple[str, str, str]] = []
        self.config = SleepWindowConfig.model_validate(config or {})
        self.plugin: SleepWindowPlugin | None = None

    def _fire(self, plugin: str, nudge_id: str, title: str | None, body: str | None) -> None:
        self.fired.append((self.clock.now().strftime("%a %H:%M"), nudge_id, title or ""))
        assert self.plugin is not None
        # The engine would tell every plugin; this is the plugin's own share of it.
        self.plugin.nudged_on_nudge_shown(
            Nudge(plugin, NudgeSpec(nudge_id, title or "", body or "", Manual()),
                  self.clock.now()), self.clock.now(), self.ctx)

    def start(self) -> SleepWindowPlugin:
        self.plugin = SleepWindowPlugin()
        self.ctx = PluginContext(
            name=NAME, config=self.config, tz=BERLIN, log=structlog.get_logger(),
            _now=self.clock.now, _fire=self._fire, activity=self.person,
            state=State(self.store, NAME), journal=Journal(self.store, NAME, BERLIN),
            _timers=self.clock, configured=True)
        self.plugin.nudged_startup(self.ctx)
        return self.plugin

    def stop(self) -> None:
        assert self.plugin is not None
        self.plugin.nudged_shutdown(self.ctx)
        self.plugin = None

    def until(self, when: datetime) -> None:
        self.clock.run_until(when)

    def nights(self) -> list[dict[str, Any]]:
        return [e.data for e in Journal(self.store, NAME, BERLIN).entries("night")]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=BERLIN)


def test_a_restart_inside_the_night_keeps_its_count_of_repeats() -> None:
    h = Harness(at(2, 23, 10), {"max_repeats": 3})
    h.start()
    h.until(at(2, 23, 50))
    assert [f[:2] for f in h.fired] == [("Mon 23:20", "still-up"), ("Mon 23:40", "still-up")]
    h.stop()  # `systemctl --user restart nudged` at 23:50
    [record] = h.nights()
    assert (record["ended"], record["reminders"], record["present_minutes"]) == \
        ("shutdown", 2, 40)
    h.clock.run_until(at(2, 23, 55))
    assert h.fired[-1][0] == "Mon 23:40"  # the stopped plugin left no deadlines behind
    h.start()
    h.until(at(3, 12, 0))
    # One repeat left of three: 00:00, then nothing more that night.
    assert [f[:2] for f in h.fired[2:]] == [("Tue 00:00", "still-up")]
    assert [(r["ended"], r["reminders"]) for r in h.nights()] == [("shutdown", 2),
                                                                   ("wake", 3)]
    # The later record is the whole night: present from 23:10, minus the 5 minutes
    # nudged was not running.
    assert h.nights()[-1]["present_minutes"] == 40 + (7 * 60 + 5)
    assert h.nights()[-1]["last_present"] == "2026-03-03T07:00:00+01:00"


def test_a_night_interrupted_by_a_crash_is_recorded_at_the_next_start() -> None:
    h = Harness(at(2, 22, 30))
    h.start()
    h.until(at(2, 23, 30))
    h.person.here = False
    assert h.plugin is not None
    # nudged is killed at 23:30 (no shutdown) and started again the next afternoon.
    h.plugin = None
    h.clock = SimulatedScheduler(BERLIN, at(3, 15, 0))
    h.start()
    [record] = h.nights()
    assert (record["night"], record["ended"], record["reminders"], record["last_present"]) \
        == ("2026-03-02", "interrupted", 3, None)
    # Presence is only written when a stretch ends; the crash cut it short.
    assert record["present_in_window"] is False


def test_a_reload_before_bedtime_does_not_double_the_wind_down() -> None:
    h = Harness(at(2, 21, 0))
    h.start()
    h.until(at(2, 22, 30))
    h.stop()
    h.start()  # the config reloaded at 22:30
    h.until(at(3, 12, 0))
    assert [f[:2] for f in h.fired] == [
        ("Mon 22:00", "wind-down"), ("Mon 22:45", "wind-down"), ("Mon 23:00", "bedtime"),
        ("Mon 23:20", "still-up"), ("Mon 23:40", "still-up"), ("Tue 00:00", "still-up"),
        ("Tue 00:20", "still-up"), ("Tue 00:40", "still-up"), ("Tue 01:00", "still-up")]
    assert [r["ended"] for r in h.nights()] == ["wake"]  # the reload was before the window


def test_after_a_suspend_a_missed_bedtime_is_not_shown_late() -> None:
    # The lid closes at 22:50 and opens at 23:30: the deadlines that passed while the
    # machine slept run on resume, but "It's bedtime" half an hour late is not shown;
    # the repeats carry on from the next step.
    h = Harness(at(2, 22, 0))
    h.start()
    h.until(at(2, 22, 50))
    h.clock._now = at(2, 23, 30)  # asleep: the clock moved on, nothing ran
    h.until(at(3, 0, 5))
    assert [f[:2] for f in h.fired] == [
        ("Mon 22:00", "wind-down"), ("Mon 22:45", "wind-down"),
        ("Mon 23:40", "still-up"), ("Tue 00:00", "still-up")]


def test_not_tonight_answered_after_the_night_leaves_the_next_one_alone() -> None:
    h = Harness(at(2, 23, 0))
    plugin = h.start()
    h.until(at(3, 7, 1))
    late = Nudge(NAME, NudgeSpec("still-up", "", "", Manual()), at(3, 1, 0))
    plugin.nudged_on_response(late, Response.SKIP, at(3, 7, 1), h.ctx)
    h.until(at(3, 22, 1))
    assert h.fired[-1][:2] == ("Tue 22:00", "wind-down")
    tonight = Nudge(NAME, NudgeSpec("wind-down", "", "", Manual()), at(3, 22, 0))
    plugin.nudged_on_response(tonight, Response.SKIP, at(3, 22, 1), h.ctx)
    h.until(at(4, 12, 0))
    assert h.fired[-1][:2] == ("Tue 22:00", "wind-down")
    assert [r["skipped"] for r in h.nights()] == [False, True]


# --------------------------------------------------------------------------- config


def check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text))
    code = main(["config", "check", str(path)])
    out = capsys.readouterr()
    return code, (out.err + out.out).replace(str(path), "config.toml").strip()


@pytest.mark.parametrize(("text", "sentence"), [
    ('[plugins.sleep_window]\nwake = "07:00"\nbedtime = "25:00"\n',
     'config.toml:3: plugins.sleep_window.bedtime: "25:00" is not a time of day '
     '(use 24-hour "HH:MM", for example "22:30")'),
    ('[plugins.sleep_window]\n\n[plugins.sleep_window.days.fry]\nbedtime = "00:30"\n',
     "config.toml:3: plugins.sleep_window.days.fry: unknown key; did you mean 'fri'?"),
    ('[plugins.sleep_window.days.sat]\nbedtime = "00:30"\nwake = "9am"\n',
     'config.toml:3: plugins.sleep_window.days.sat.wake: "9am" is not a time of day '
     '(use 24-hour "HH:MM", for example "22:30")'),
    ('[plugins.sleep_window.days]\nsun = "22:00"\n',
     'config.toml:2: plugins.sleep_window.days.sun: expected a table, got "22:00"'),
    ('[plugins.sleep_window]\nbedtime = "23:00"\nwake = "23:00"\n',
     'config.toml:3: plugins.sleep_window.wake: bedtime and wake are both "23:00" '
     "(the night needs a length)"),
    ('[plugins.sleep_window.days.fri]\nwake = "23:00"\n',
     'config.toml:2: plugins.sleep_window.days.fri.wake: bedtime and wake are both '
     '"23:00" that night (the night needs a length)'),
    ('[plugins.sleep_window]\nwind_down = ["1h", "15 minuts"]\n',
     'config.toml:2: plugins.sleep_window.wind_down[1]: "15 minuts" is not a duration '
     '(try "15m")'),
    ('[plugins.sleep_window]\nwind_down = ["13h"]\n',
     'config.toml:2: plugins.sleep_window.wind_down: "13h" is too long before bedtime '
     '(at most "12h")'),
    ('[plugins.sleep_window]\nwind_down = ["15m", "15m"]\n',
     'config.toml:2: plugins.sleep_window.wind_down: "15m" is listed twice'),
    ('[plugins.sleep_window]\nrepeat_every = "1m"\n',
     'config.toml:2: plugins.sleep_window.repeat_every: "1m" is too often '
     '(at least "5m": more often would feel like nagging)'),
    ('[plugins.sleep_window]\nmax_repeats = -1\n',
     "config.toml:2: plugins.sleep_window.max_repeats: -1: "
     "input should be greater than or equal to 0"),
    ('[plugins.sleep_window]\nmax_repeats = "6"\n',
     'config.toml:2: plugins.sleep_window.max_repeats: expected a whole number, got "6"'),
    ('[plugins.sleep_window]\nbedtim = "23:00"\n',
     "config.toml:2: plugins.sleep_window.bedtim: unknown key; did you mean 'bedtime'?"),
])
def test_config_mistakes_are_one_sentence_with_file_and_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, sentence: str) -> None:
    code, said = check(tmp_path, text, capsys)
    assert (code, said) == (2, sentence)


def test_the_example_section_is_valid_and_names_every_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parent.parent / "plugins" / "sleep_window" / \
        "example.toml"
    text = example.read_text()
    code, _ = check(tmp_path, text, capsys)
    assert code == 0
    for key in SleepWindowConfig.model_fields:
        assert re.search(rf"^(# )?{key} = |^\[plugins\.sleep_window\.{key}\.", text,
                         re.MULTILINE), key
    # Its values for the main keys are the defaults ...
    loaded = load(text).settings.plugins["sleep_window"]
    assert SleepWindowConfig.model_validate(
        {k: v for k, v in loaded.items() if k != "days"}) == SleepWindowConfig()
    # ... and a day table left with its keys commented out is the usual night.
    model = SleepWindowConfig.model_validate(loaded)
    assert [model.rule(day) for day in range(7)] == [
        (time(23, 0), time(7, 0))] * 4 + [(time(0, 30), time(7, 0)),
                                          (time(0, 30), time(9, 0)), (time(23, 0), time(7, 0))]


# --------------------------------------------------------------------------- words


FORBIDDEN = re.compile(
    r"!!|\bshould\b|\bmust\b|\bfailed\b|\bagain you\b|\byou always\b|\byou never\b|"
    r"\bcure|\btreat|\bdepress|\btherap|\bmedic|\bdisorder|\binsomnia|\bhealth|\blazy\b|"
    r"\bwhy are you\b|\bstill awake\?|\bshame|\bguilt", re.IGNORECASE)


def every_shown_text() -> Iterator[str]:
    yield from words.every_text()
    items, _ = run("", days=2, present=("17:00-09:00",))
    for item in items:
        yield item.nudge.shown_title
        yield item.nudge.shown_body


def test_every_word_is_kind() -> None:
    texts = list(every_shown_text())
    assert len(texts) > 100
    for text in texts:
        assert not FORBIDDEN.search(text), text
        assert text.count("!") == 0, text
        assert text == text.strip() and "  " not in text, text
        assert not re.search(r"\b[A-Z]{3,}\b", text), text  # never shouting
        assert len(text) <= 120, text
    assert words.how_long(timedelta(minutes=60)) == "an hour"
    assert words.how_long(timedelta(minutes=90)) == "an hour and a half"
    assert words.how_long(timedelta(minutes=75)) == "an hour and 15 minutes"
    assert words.how_long(timedelta(minutes=30)) == "half an hour"
    assert words.how_long(timedelta(minutes=1)) == "a minute"


def test_three_wind_downs_say_three_different_things() -> None:
    items, _ = run('wind_down = ["90m", "30m", "5m"]\n', present=("17:00-23:01",))
    assert [(i.at.strftime("%H:%M"), i.nudge.shown_body) for i in items if i.nudge.key == W] \
        == [("21:30", "In an hour and a half. A good moment to dim the screen and start "
                      "winding down."),
            ("22:30", "In half an hour. A good moment to start wrapping up what you're doing."),
            ("22:55", "In 5 minutes. A good moment to find a stopping point and save your "
                      "work.")]


# --------------------------------------------------------------------------- the desktop


@pytest.mark.desktop
def test_a_wind_down_pops_up_on_the_desktop_and_thanks_is_recorded(
        desktop: DesktopStack, run_nudged: Callable[..., Nudged]) -> None:
    # Bedtime a few minutes ahead (configs take whole minutes), and a wind-down
    # reminder timed to come about ten seconds after nudged starts.
    now = datetime.now(BERLIN)
    bedtime = (now + timedelta(minutes=3)).replace(second=0, microsecond=0)
    before = int((bedtime - now - timedelta(seconds=10)).total_seconds())
    daemon = start_daemon(desktop, run_nudged, f"""
        [core]
        timezone = "Europe/Berlin"
        [plugins.sleep_window]
        bedtime = "{bedtime:%H:%M}"
        wake = "{bedtime + timedelta(hours=1):%H:%M}"
        wind_down = ["{before}s"]
    """)
    call = nudge_call(desktop, f"Bedtime is at {bedtime:%H:%M}", timeout=25)
    assert call.body.endswith("A good moment to dim the screen and start winding down.")
    assert call.labels == ["Thanks", "Not tonight"]
    desktop.dunst.wait_count("displayed", 1)

    desktop.press("Thanks")
    rows = daemon.wait_shown(lambda rows: bool(rows) and rows[0]["response"] is not None,
                             what="the answer in the store")
    assert [(r["plugin"], r["nudge_id"], r["title"], r["response"]) for r in rows] == [
        ("sleep_window", "wind-down", f"Bedtime is at {bedtime:%H:%M}", "done")]
    code, _took = daemon.terminate()
    assert code == 0 and "Traceback" not in daemon.log_text()


def test_without_its_table_the_plugin_keeps_quiet() -> None:
    from helpers import shown, simulate

    items, runtime = simulate('[core]\ntimezone = "Europe/Berlin"\n', days=2,
                              present=["08:00-23:59"])
    record = runtime.host.records["sleep_window"]
    assert (record.status.value, record.reason) == (
        "disabled", "opt-in: add a [plugins.sleep_window] table to turn it on")
    assert [key for _, key in shown(items) if key.startswith("sleep_window:")] == []
