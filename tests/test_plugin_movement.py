"""Movement breaks: Sam sits down at the screen, and after 50 minutes of it a kind
suggestion to get up comes along.

The stories run the real plugin through the real engine on a simulated clock
(``tests/helpers.simulate``): presence comes from ``present`` windows (gaps between
them are the person stepping away), from an ``--activity`` CSV, or from a small
helper plugin that locks the screen and suspends the machine the way logind reports
it. Each asserts exactly which nudges appear and when.
"""

from __future__ import annotations

import json
import re
import sqlite3
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog
from helpers import load, shown, simulate
from nudged_plugins.movement import MovementConfig, MovementPlugin
from nudged_plugins.movement.timing import (
    PresenceCount,
    align_to_minute,
    next_allowed,
    window_holds_minute,
)
from nudged_plugins.movement.words import (
    DEFAULT_SUGGESTIONS,
    GENTLE_TITLE,
    SPEC_BODY,
    SPEC_TITLE,
    TITLE,
    gentle_words,
    nudge_words,
)
from nudged_plugins.quiet import QuietHoursPlugin

from nudged import ActivityChange, Nudge, NudgeSpec, PluginContext, Response
from nudged.cli import main
from nudged.humanize import parse_window
from nudged.pluginstore import Journal, State
from nudged.preview import PreviewItem, read_activity, run
from nudged.runtime import PluginSelection, Runtime
from nudged.store import Store
from tests.test_daemon_desktop import desktop, nudge_call, run_nudged
from tests.test_daemon_service import Nudged, until, write_config
from tests.testbed import DesktopStack

__all__ = ["desktop", "run_nudged"]  # fixtures, imported to be used here

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
BREAK = "movement:break"

BASE = """
[core]
timezone = "Europe/Berlin"
max_per_hour = 10

[plugins.movement]
"""


def config(*lines: str, tz: str = "Europe/Berlin") -> str:
    return BASE.replace("Europe/Berlin", tz) + "\n".join(lines) + "\n"


def live(text: str = BASE, *, start: str = "2026-03-02 00:00", days: float = 1,
         present: Sequence[str] = ("09:00-12:00",), respond: str = "done",
         extra: dict[str, object] | None = None) -> tuple[list[PreviewItem], Runtime]:
    """A simulated stretch of days with only the movement plugin (and ``extra``)."""
    plugins: dict[str, object] = {"movement": MovementPlugin(), **(extra or {})}
    return simulate(text, start=start, days=days, present=present, respond=respond,
                    plugins=plugins, builtins=False)


def times(items: Sequence[PreviewItem]) -> list[str]:
    """"Mon 09:50" for each movement nudge shown."""
    return [when for when, key in shown(items) if key == BREAK]


def journal(runtime: Runtime) -> list[tuple[str, str, dict[str, Any]]]:
    """("Mon 09:40", how, other data) of every "break" entry, in order."""
    ctx = runtime.host.records["movement"].ctx
    assert ctx is not None
    return [(e.at.strftime("%a %H:%M"), e.data["how"],
             {k: v for k, v in e.data.items() if k != "how"})
            for e in ctx.journal.entries("break")]


# --------------------------------------------------------------------------- the count


def test_the_first_nudge_comes_exactly_50_minutes_after_sam_sits_down() -> None:
    items, runtime = live(present=["09:00-12:00"])
    # Done at 09:51 is a break: the count starts again there, so 10:41, then 11:32.
    assert times(items) == ["Mon 09:50", "Mon 10:41", "Mon 11:32"]
    assert [h for _, h, _ in journal(runtime)] == ["done", "done", "done"]


def test_a_six_minute_absence_is_a_break_and_the_count_starts_again() -> None:
    items, runtime = live(present=["09:00-09:40", "09:46-12:00"])
    assert times(items) == ["Mon 10:36", "Mon 11:27"]
    assert journal(runtime)[0] == ("Mon 09:40", "natural",
                                   {"away_minutes": 6, "present_minutes": 40})


def test_a_two_minute_absence_pauses_the_count_without_resetting_it() -> None:
    # 40 minutes present, 2 away, 10 present: 50 minutes, a nudge at 09:52.
    items, runtime = live(present=["09:00-09:40", "09:42-12:00"])
    assert times(items)[0] == "Mon 09:52"
    assert "natural" not in [h for _, h, _ in journal(runtime)]


def test_several_short_absences_add_up_to_nothing_but_pauses() -> None:
    items, _ = live(present=["09:00-09:20", "09:24-09:40", "09:44-10:30"])
    # 20 + 16 present, then 14 more from 09:44: 09:58.
    assert times(items)[0] == "Mon 09:58"


def test_the_exact_break_length_counts_as_a_break_and_one_minute_less_does_not() -> None:
    at_length, _ = live(config('break_length = "5m"'), present=["09:00-09:40", "09:45-12:00"])
    just_under, _ = live(config('break_length = "5m"'), present=["09:00-09:40", "09:44-12:00"])
    assert times(at_length)[0] == "Mon 10:35"
    assert times(just_under)[0] == "Mon 09:54"


def test_nothing_comes_while_sam_is_away_or_when_stretches_stay_short() -> None:
    # Forty minutes at a time, with lunch-length gaps: never 50 in a row.
    items, runtime = live(present=["09:00-09:40", "10:00-10:40", "11:00-11:40"])
    assert times(items) == []
    assert [(at, h) for at, h, _ in journal(runtime)] == [("Mon 09:40", "natural"),
                                                          ("Mon 10:40", "natural")]


def test_after_and_break_length_are_the_persons_own() -> None:
    items, _ = live(config('after = "25m"', 'break_length = "10m"'),
                    present=["09:00-09:20", "09:28-10:00"])
    # 8 minutes away is less than 10: a pause. 20 + 5 more: 09:33.
    assert times(items)[0] == "Mon 09:33"


@dataclass
class Person:
    """Locks the screen and suspends the machine at given times, reporting to the
    activity hub exactly as the logind source does (``ctx.activity`` is the hub)."""

    events: list[tuple[str, str, bool]]  # ("2026-03-02 09:30", "lock" | "sleep", on)

    def nudged_startup(self, ctx: PluginContext) -> None:
        for n, (when, kind, on) in enumerate(self.events):
            at = datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=ctx.tz)
            report = getattr(ctx.activity, f"{kind}_changed")
            ctx.call_at(at, lambda report=report, on=on, at=at: report("logind", on, at),
                        key=f"event:{n}")


def test_a_locked_screen_and_a_suspend_are_absences_like_idle() -> None:
    person = Person([
        ("2026-03-02 09:30", "lock", True), ("2026-03-02 09:33", "lock", False),  # a pause
        ("2026-03-02 10:30", "lock", True), ("2026-03-02 10:40", "lock", False),  # a break
        ("2026-03-02 11:50", "sleep", True), ("2026-03-02 12:10", "sleep", False),  # a break
    ])
    items, runtime = live(present=["09:00-14:00"], extra={"person": person})
    assert times(items) == ["Mon 09:53", "Mon 11:30", "Mon 13:00", "Mon 13:51"]
    assert [(at, h) for at, h, _ in journal(runtime)] == [
        ("Mon 09:54", "done"), ("Mon 10:30", "natural"), ("Mon 11:31", "done"),
        ("Mon 11:50", "natural"), ("Mon 13:01", "done"), ("Mon 13:52", "done"),
    ]


def test_an_activity_csv_replays_a_real_morning(tmp_path: Path) -> None:
    csv = tmp_path / "activity.csv"
    csv.write_text(textwrap.dedent("""\
        start,end,app,title
        2026-03-02 08:30,2026-03-02 09:00,thunderbird,Inbox
        2026-03-02 09:00,2026-03-02 09:25,code,report.py
        2026-03-02 09:27,2026-03-02 10:10,code,report.py
        2026-03-02 10:30,2026-03-02 12:00,firefox,Docs
    """))
    loaded = load(BASE)
    rows = read_activity(csv, BERLIN)
    items, _ = run(loaded, datetime(2026, 3, 2, 0, 0, tzinfo=BERLIN), 1, [], "skip",
                   environ={}, selection=PluginSelection(objects={"movement": MovementPlugin()},
                                                         discover=False),
                   activity=rows)
    # Present from 08:30 (the app switch at 09:00 is no absence): 50 minutes at 09:20.
    # Skipped, so 50 more present minutes from 09:20: 5 until 09:25, a 2-minute pause,
    # 45 from 09:27 would be 10:12, but Sam leaves at 10:10 for 20 minutes, a break:
    # 50 minutes from 10:30.
    assert times(items) == ["Mon 09:20", "Mon 11:20"]


# --------------------------------------------------------------------------- the answers


def test_skip_leaves_the_count_alone_and_the_next_nudge_comes_after_another_stretch() -> None:
    items, runtime = live(present=["09:00-12:00"], respond="skip")
    assert times(items) == ["Mon 09:50", "Mon 10:40", "Mon 11:30"]
    assert [h for _, h, _ in journal(runtime)] == ["skipped"] * 3


def test_an_unanswered_nudge_is_followed_by_the_next_one_in_its_time() -> None:
    items, runtime = live(present=["09:00-12:00"], respond="ignore")
    assert times(items) == ["Mon 09:50", "Mon 10:40", "Mon 11:30"]
    assert [i.response for i in items] == ["timed_out"] * 3
    assert journal(runtime) == []


def test_two_snoozes_in_a_row_soften_the_words_and_never_raise_the_voice() -> None:
    items, runtime = live(present=["09:00-11:00"], respond="snooze")
    seen = [(i.at.strftime("%H:%M"), i.nudge.shown_title, i.nudge.attempt, i.shown)
            for i in items]
    assert seen[:7] == [
        ("09:50", TITLE, 0, True),
        ("10:01", TITLE, 1, True),  # the first snooze: the same words
        ("10:12", TITLE, 2, False),  # the second: not again in the same words ...
        ("10:12", GENTLE_TITLE, 0, True),  # ... but in softer ones, at the same moment
        ("10:23", GENTLE_TITLE, 1, True),
        ("10:34", GENTLE_TITLE, 2, True),  # soft it stays
        ("10:45", GENTLE_TITLE, 3, True),
    ]
    assert items[2].why == ["10:12 suppressed by movement: snoozed twice: asked again in "
                            "gentler words"]
    first, gentle = items[0].nudge, items[3].nudge
    assert first.shown_body == ("You've been at the screen a while. "
                                "Stand up and roll your shoulders?")
    assert gentle.shown_body == ("No rush. Stand up and roll your shoulders, once you reach "
                                 "a good stopping point.")
    assert [h for _, h, _ in journal(runtime)][:3] == ["snoozed"] * 3
    # No fresh nudge pushes in while the snoozes go on: every one is this same break.
    assert {i.nudge.shown_body for i in items if i.shown} == {first.shown_body,
                                                              gentle.shown_body}


def test_a_break_taken_while_a_snooze_is_pending_drops_the_reask() -> None:
    # Snoozed at 09:51 (back at 10:01), but Sam walks off at 09:53 for ten minutes.
    items, runtime = live(present=["09:00-09:53", "10:03-12:00"], respond="snooze")
    assert shown(items)[:2] == [("Mon 09:50", BREAK), ("Mon 10:53", BREAK)]
    dropped = next(i for i in items if not i.shown)
    assert dropped.why[-1] == "10:03 suppressed by movement: a break was taken since it was asked"
    assert [(at, h) for at, h, _ in journal(runtime)][:2] == [("Mon 09:51", "snoozed"),
                                                              ("Mon 09:53", "natural")]


def test_suggestions_rotate_and_carry_on_from_one_day_to_the_next() -> None:
    items, _ = live(config('suggestions = ["Stretch your arms up high", '
                           '"Fill your water glass", "Walk down the hall and back."]'),
                    days=2, present=["09:00-11:00"])
    bodies = [i.nudge.shown_body for i in items if i.shown]
    assert [(i.at.strftime("%a %H:%M")) for i in items if i.shown] == [
        "Mon 09:50", "Mon 10:41", "Tue 09:50", "Tue 10:41"]
    assert bodies == [
        "You've been at the screen a while. Stretch your arms up high?",
        "You've been at the screen a while. Fill your water glass?",
        "You've been at the screen a while. Walk down the hall and back?",
        "You've been at the screen a while. Stretch your arms up high?",
    ]


def test_the_default_suggestions_are_the_three_from_the_issue() -> None:
    items, _ = live(present=["09:00-12:00"])
    assert [i.nudge.shown_body.split(". ", 1)[1] for i in items if i.shown] == [
        "Stand up and roll your shoulders?",
        "Walk to a window and look far away for a minute?",
        "Step outside for five minutes of daylight?",
    ]


# --------------------------------------------------------------------------- window


WORKDAYS = 'window = "mon-fri 09:00-18:00"'


def test_no_nudges_outside_the_window_and_none_at_the_weekend() -> None:
    # 2026-03-06 is a Friday. Sam is at the screen until 20:00 and over the weekend.
    items, _ = live(config(WORKDAYS), start="2026-03-06 00:00", days=3,
                    present=["13:00-20:00"])
    assert times(items) == ["Fri 13:50", "Fri 14:41", "Fri 15:32", "Fri 16:23", "Fri 17:14"]


def test_the_count_carries_into_the_window_an_early_start_is_asked_at_the_opening() -> None:
    early, _ = live(config(WORKDAYS), present=["07:30-11:00"])
    half, _ = live(config(WORKDAYS), present=["08:30-11:00"])
    # Since 07:30: 50 minutes by 08:20, outside; asked as the window opens at 09:00.
    assert times(early) == ["Mon 09:00", "Mon 09:51", "Mon 10:42"]
    # Since 08:30: 30 minutes gathered by 09:00, 50 at 09:20.
    assert times(half) == ["Mon 09:20", "Mon 10:11"]


def test_a_snooze_that_would_come_back_after_the_window_closed_is_dropped() -> None:
    items, _ = live(config(WORKDAYS), present=["17:00-19:00"], respond="snooze")
    assert times(items) == ["Mon 17:50"]
    [dropped] = [i for i in items if not i.shown]
    assert dropped.why == ["18:01 suppressed by movement: outside the movement window "
                           "mon-fri 09:00-18:00"]


# --------------------------------------------------------------------------- at_minute


def test_at_minute_asks_on_the_clock_only_once_the_stretch_is_long_enough() -> None:
    items, _ = live(config("at_minute = 50"), present=["09:10-13:00"])
    # 09:50 has only 40 minutes behind it: the first :50 with 50 is 10:50. Done at
    # 10:51, 59 minutes more by 11:50.
    assert times(items) == ["Mon 10:50", "Mon 11:50", "Mon 12:50"]


def test_at_minute_on_the_hour_exactly_when_presence_starts_at_ten_to() -> None:
    items, _ = live(config("at_minute = 50"), present=["09:00-11:00"])
    assert times(items) == ["Mon 09:50", "Mon 10:50"]


def test_at_minute_inside_a_window_and_after_a_natural_break() -> None:
    items, _ = live(config(WORKDAYS, "at_minute = 15"),
                    present=["07:00-12:00", "12:40-16:00"], respond="skip")
    # 09:00 opens the window with 2h gathered: the first :15 is 09:15. Skips keep the
    # hour; lunch resets; back 12:40, 50 minutes by 13:30, so 14:15.
    assert times(items) == ["Mon 09:15", "Mon 10:15", "Mon 11:15", "Mon 14:15", "Mon 15:15"]


def test_at_minute_across_the_spring_dst_night_in_berlin() -> None:
    items, _ = live(config("at_minute = 50"), start="2026-03-28 12:00",
                    present=["22:00-05:00"])
    # 02:50 does not exist that night (02:00 jumps to 03:00).
    assert times(items) == ["Sat 22:50", "Sat 23:50", "Sun 00:50", "Sun 01:50", "Sun 03:50",
                            "Sun 04:50"]


def test_present_time_across_the_autumn_dst_night_in_new_york() -> None:
    items, _ = live(config(tz="America/New_York"), start="2026-10-31 12:00",
                    present=["23:00-04:00"], respond="skip")
    at = [i.at for i in items if i.shown]
    # Every 50 present minutes, also through the hour that repeats (01:00-02:00).
    assert [t.strftime("%H:%M %Z") for t in at] == [
        "23:50 EDT", "00:40 EDT", "01:30 EDT", "01:20 EST", "02:10 EST", "03:00 EST",
        "03:50 EST"]
    utc = [t.astimezone(ZoneInfo("UTC")) for t in at]
    assert all(b - a == timedelta(minutes=50) for a, b in pairwise(utc))


# --------------------------------------------------------------------------- with others


def test_a_nudge_held_by_quiet_hours_is_dropped_if_sam_took_a_break_meanwhile() -> None:
    text = config() + '\n[plugins.quiet]\nhours = ["09:45-10:10"]\n'
    items, _ = live(text, present=["09:00-09:55", "10:05-12:00"],
                    extra={"quiet": QuietHoursPlugin()})
    # Due at 09:50 in quiet hours; by 10:10 Sam has had a ten-minute break. The count
    # started again at 10:05.
    assert times(items) == ["Mon 10:55", "Mon 11:46"]
    [dropped] = [i for i in items if not i.shown]
    assert dropped.why == [
        "09:50 deferred by quiet until 10:10: quiet hours 09:45-10:10",
        "10:10 suppressed by movement: a break was taken since it was asked",
    ]


def test_a_nudge_held_by_quiet_hours_still_comes_when_sam_stayed() -> None:
    text = config() + '\n[plugins.quiet]\nhours = ["09:45-10:10"]\n'
    items, _ = live(text, present=["09:00-12:00"], extra={"quiet": QuietHoursPlugin()})
    assert times(items) == ["Mon 10:10", "Mon 11:01", "Mon 11:52"]


# --------------------------------------------------------------------------- the arithmetic


def test_align_to_minute_walks_the_local_clock() -> None:
    at = datetime(2026, 3, 2, 9, 10, 30, tzinfo=BERLIN)
    assert align_to_minute(at, 50, BERLIN) == datetime(2026, 3, 2, 9, 50, tzinfo=BERLIN)
    assert align_to_minute(at.replace(minute=50, second=0), 50, BERLIN).hour == 9
    assert align_to_minute(at.replace(minute=50), 50, BERLIN).hour == 10  # 09:50:30 passed
    kolkata = ZoneInfo("Asia/Kolkata")  # +05:30: local :50 is UTC :20
    assert align_to_minute(datetime(2026, 3, 2, 9, 10, tzinfo=kolkata), 50,
                           kolkata).strftime("%H:%M") == "09:50"


def test_next_allowed_respects_windows_that_cross_midnight() -> None:
    night = parse_window("22:00-02:00")
    at = datetime(2026, 3, 2, 12, 0, tzinfo=BERLIN)
    assert next_allowed(at, BERLIN, night, None) == datetime(2026, 3, 2, 22, 0, tzinfo=BERLIN)
    assert next_allowed(at, BERLIN, night, 30) == datetime(2026, 3, 2, 22, 30, tzinfo=BERLIN)
    late = datetime(2026, 3, 3, 1, 45, tzinfo=BERLIN)
    assert next_allowed(late, BERLIN, night, 30) == datetime(2026, 3, 3, 22, 30, tzinfo=BERLIN)
    assert next_allowed(at, BERLIN, parse_window("09:00-09:30"), 50) is None
    assert window_holds_minute(parse_window("23:40-00:10"), 5)
    assert not window_holds_minute(parse_window("09:00-09:30"), 45)


def test_the_count_pauses_resets_and_splits_at_each_ask() -> None:
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN)
    m = timedelta(minutes=1)
    count = PresenceCount(stretch_start=t0)
    count.left(t0 + 40 * m)
    assert count.came_back(t0 + 42 * m, 5 * m) is None  # a pause
    assert count.reaches(50 * m) == t0 + 52 * m
    count.asked(t0 + 52 * m)
    assert count.since_break(t0 + 60 * m) == 58 * m
    assert count.since_ask(t0 + 60 * m) == 8 * m
    count.left(t0 + 60 * m)
    assert count.came_back(t0 + 70 * m, 5 * m) == 10 * m  # a break
    assert count.since_break(t0 + 71 * m) == m and count.reset_at == t0 + 70 * m
    # A back-dated departure that lies before the last split adds nothing negative.
    count.asked(t0 + 80 * m)
    count.left(t0 + 75 * m)
    assert count.since_ask(t0 + 90 * m) == timedelta(0)


# --------------------------------------------------------------------------- reload, restart


@dataclass
class FakeActivity:
    since: datetime | None  # present since, or None for away
    clock: Callable[[], datetime]

    def present(self) -> bool:
        return self.since is not None

    def continuous(self) -> timedelta:
        return timedelta(0) if self.since is None else self.clock() - self.since


@dataclass
class FakeTimers:
    pending: dict[str, tuple[datetime, Callable[[], None]]] = field(default_factory=dict)

    def call_at(self, when: datetime, callback: Callable[[], None], key: str) -> None:
        self.pending[key] = (when, callback)

    def cancel(self, key: str) -> None:
        self.pending.pop(key, None)


class Desk:
    """The movement plugin alone with a clock, a store and timers: what a reload or a
    restart looks like from the plugin's side (a new instance, the same store)."""

    def __init__(self, text: str = BASE) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN)
        self.store = Store.memory()
        self.config = load(text).settings.plugins.get("movement", {})
        self.fired: list[tuple[datetime, str | None, str | None]] = []
        self.timers = FakeTimers()
        self.activity = FakeActivity(self.now, lambda: self.now)
        self.plugin = self.start()

    def start(self) -> MovementPlugin:
        plugin = MovementPlugin()
        ctx = PluginContext(
            name="movement", config=MovementConfig.model_validate(self.config), tz=BERLIN,
            log=structlog.get_logger("test"), _now=lambda: self.now,
            _fire=lambda _p, _id, title, body: self.fired.append((self.now, title, body)),
            activity=self.activity, state=State(self.store, "movement"),
            journal=Journal(self.store, "movement", BERLIN), _timers=self.timers)
        plugin.nudged_startup(ctx)
        self.ctx = ctx
        return plugin

    def at(self, hhmm: str) -> datetime:
        hour, minute = map(int, hhmm.split(":"))
        self.now = self.now.replace(hour=hour, minute=minute)
        return self.now

    def presence(self, hhmm: str, present: bool) -> None:
        at = self.at(hhmm)
        self.activity.since = at if present else None
        self.plugin.nudged_on_activity(ActivityChange("presence", at, present), self.ctx)

    def deadline(self) -> str | None:
        pending = self.timers.pending.get("plugin:movement:break")
        return None if pending is None else pending[0].astimezone(BERLIN).strftime("%H:%M")

    def run_deadline(self) -> None:
        when, callback = self.timers.pending.pop("plugin:movement:break")
        self.now = when.astimezone(BERLIN)
        callback()

    def nudge(self) -> Nudge:
        _, title, body = self.fired[-1]
        spec = NudgeSpec(id="break", title=SPEC_TITLE, body=SPEC_BODY)
        return Nudge("movement", spec, self.now, title=title, body=body)

    def journal(self) -> list[str]:
        return [e.data["how"] for e in self.ctx.journal.entries("break")]


def test_a_config_reload_keeps_the_count_and_its_pauses() -> None:
    desk = Desk()
    desk.presence("09:30", False)
    desk.presence("09:32", True)  # a pause: 30 minutes so far
    desk.at("09:40")
    desk.plugin.nudged_shutdown(desk.ctx)
    assert desk.timers.pending == {}  # no timer left to the old instance
    desk.activity.since = desk.now.replace(minute=32)  # the hub keeps its stretch
    desk.plugin = desk.start()
    assert desk.deadline() == "09:52"


def test_a_restart_after_a_long_gap_starts_the_count_afresh_and_a_short_one_does_not() -> None:
    desk = Desk()
    desk.at("09:40")
    desk.plugin.nudged_shutdown(desk.ctx)
    desk.at("09:43")  # back after 3 minutes: a new activity hub, present since now
    desk.activity.since = desk.now
    desk.plugin = desk.start()
    assert desk.deadline() == "09:53"
    desk.at("10:00")
    desk.plugin.nudged_shutdown(desk.ctx)
    desk.at("10:30")
    desk.activity.since = desk.now
    desk.plugin = desk.start()
    assert desk.deadline() == "11:20"


def test_done_after_a_break_already_counted_is_not_journaled_twice() -> None:
    desk = Desk()
    desk.run_deadline()
    nudge = desk.nudge()
    desk.plugin.nudged_on_nudge_shown(nudge, desk.now, desk.ctx)
    desk.presence("09:51", False)
    desk.presence("09:58", True)  # the break, taken after the nudge appeared
    desk.plugin.nudged_on_response(nudge, Response.DONE, desk.at("09:59"), desk.ctx)
    assert desk.journal() == ["natural"]
    # Walking off right after "Done" is that same break, not another one.
    desk.run_deadline()
    assert desk.now.strftime("%H:%M") == "10:49"
    second = desk.nudge()
    desk.plugin.nudged_on_nudge_shown(second, desk.now, desk.ctx)
    desk.plugin.nudged_on_response(second, Response.DONE, desk.at("10:50"), desk.ctx)
    desk.presence("10:51", False)
    desk.presence("11:00", True)
    assert desk.journal() == ["natural", "done"]


def test_the_morning_arrival_and_the_end_of_the_day_are_not_breaks() -> None:
    items, runtime = live(days=2, present=["09:00-09:45", "17:00-17:40"])
    assert times(items) == []
    # Lunch-like gap the same day counts; the night does not, nor the first arrival.
    assert [(at, h) for at, h, _ in journal(runtime)] == [("Mon 09:45", "natural"),
                                                          ("Tue 09:45", "natural")]


# --------------------------------------------------------------------------- words


GUILT = re.compile(r"\b(should|must|failed|again you|you forgot|lazy|finally|"
                   r"still sitting|too long|cure|cures|treat|treats|treatment|"
                   r"depression|depressed|therapy|heal|healthy)\b", re.IGNORECASE)


def every_text() -> list[str]:
    texts = [SPEC_TITLE, SPEC_BODY]
    for suggestion in (*DEFAULT_SUGGESTIONS, "Stretch.", "Drink some water!"):
        texts += [*nudge_words(suggestion), *gentle_words(suggestion)]
    return texts


@pytest.mark.parametrize("text", every_text())
def test_the_words_are_kind(text: str) -> None:
    assert "!!" not in text and "!" not in text
    assert not GUILT.search(text), text
    assert "?." not in text and ".?" not in text and ".," not in text
    assert text == text.strip() and "  " not in text


def test_the_gentle_words_are_softer_not_louder() -> None:
    for suggestion in DEFAULT_SUGGESTIONS:
        title, body = gentle_words(suggestion)
        plain_title, _ = nudge_words(suggestion)
        assert title != plain_title and suggestion in body
        assert len(title) <= len(plain_title) + 5
        assert title.upper() != title and "now" not in body.lower().split()


# --------------------------------------------------------------------------- config errors


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str) -> tuple[int, str]:
    path = tmp_path / "config.toml"
    path.write_text('[core]\ntimezone = "Europe/Berlin"\n\n[plugins.movement]\n' + body + "\n")
    code = main(["config", "check", str(path)])
    out = capsys.readouterr()
    return code, (out.err + out.out).replace(str(path), "config.toml").strip()


@pytest.mark.parametrize(("body", "sentence"), [
    ('after = "50"',
     'config.toml:5: plugins.movement.after: "50" is not a duration (a number needs a unit: '
     'try "50m")'),
    ('after = "0s"',
     'config.toml:5: plugins.movement.after: "0s" is too short (it needs a length, like "50m")'),
    ("break_length = 5",
     'config.toml:5: plugins.movement.break_length: 5 is not a duration (a number needs a '
     'unit: try "5m")'),
    ('brake_length = "5m"',
     "config.toml:5: plugins.movement.brake_length: unknown key; did you mean 'break_length'?"),
    ('window = "mon-fri 9-18"',
     'config.toml:5: plugins.movement.window: "mon-fri 9-18" is not a time window: "9" is not '
     'a time of day (use 24-hour "HH:MM", for example "22:30")'),
    ("suggestions = []",
     'config.toml:5: plugins.movement.suggestions: needs at least one suggestion, like '
     '["Stand up and roll your shoulders"]'),
    ('suggestions = ["Stand up", " "]',
     'config.toml:5: plugins.movement.suggestions[1]: a suggestion needs some words, like '
     '"Stand up and roll your shoulders"'),
    ('suggestions = "Stand up"',
     'config.toml:5: plugins.movement.suggestions: "Stand up" is not a list of suggestions '
     '(put it in brackets: suggestions = ["Stand up"])'),
    ("at_minute = 60",
     "config.toml:5: plugins.movement.at_minute: 60 is not a minute of the hour (a number "
     "from 0 to 59, like at_minute = 50 for :50 each hour)"),
    ('at_minute = ":50"',
     'config.toml:5: plugins.movement.at_minute: ":50" is not a minute of the hour (a number '
     'from 0 to 59, like at_minute = 50 for :50 each hour)'),
    ('window = "09:00-09:30"\nat_minute = 50',
     'config.toml:6: plugins.movement.at_minute: 50 never falls inside the window '
     '"09:00-09:30" (no :50 in it; widen the window or pick another minute)'),
])
def test_invalid_values_end_in_the_config_error_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, sentence: str
) -> None:
    assert check(tmp_path, capsys, body) == (2, sentence)


def test_the_example_section_is_valid_and_names_every_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = (Path(__file__).resolve().parent.parent / "plugins" / "movement"
               / "example.toml").read_text()
    path = tmp_path / "config.toml"
    path.write_text(example.replace("# at_minute", "at_minute"))
    assert main(["config", "check", str(path)]) == 0, capsys.readouterr()
    for key in MovementConfig.model_fields:
        assert re.search(rf"^#? ?{key} = ", example, re.MULTILINE), key
    defaults = MovementConfig()
    assert (defaults.after, defaults.break_length, defaults.window, defaults.at_minute) == (
        timedelta(minutes=50), timedelta(minutes=5), None, None)
    assert defaults.suggestions == DEFAULT_SUGGESTIONS


def test_window_and_at_minute_parse_into_their_values() -> None:
    model = MovementConfig.model_validate({"window": "mon-fri 09:00-18:00", "at_minute": 0})
    assert model.window is not None and model.window.start == time(9, 0)
    assert model.at_minute == 0
    assert model.model_dump(mode="json")["window"] == "mon-fri 09:00-18:00"


# --------------------------------------------------------------------------- the desktop

DESKTOP_CONFIG = """
    [core]
    max_per_hour = 60
    snooze = "{snooze}"
    notification_timeout = "5m"

    [plugins.movement]
    after = "{after}"
    break_length = "1m"
    suggestions = ["Stand up and roll your shoulders"]
"""


def start_daemon(stack: DesktopStack, run_nudged: Callable[..., Nudged], *, after: str,
                 snooze: str) -> Nudged:
    env = stack.env()
    # Only this plugin: the other built-ins keep their own hours (a bedtime nudge
    # could turn up whatever time of day the test runs).
    env["NUDGED_DISABLE_PLUGINS"] = "sleep_window,social_contact"
    path = write_config(env, DESKTOP_CONFIG.format(after=after, snooze=snooze))
    return run_nudged(env, "--config", str(path))


def plugin_journal(daemon: Nudged) -> list[dict[str, Any]]:
    conn = sqlite3.connect(daemon.state_dir / "nudged.db", timeout=5)
    try:
        rows = conn.execute("SELECT data FROM plugin_journal WHERE plugin = 'movement' "
                            "AND kind = 'break' ORDER BY id").fetchall()
    finally:
        conn.close()
    return [json.loads(data) for (data,) in rows]


@pytest.mark.desktop
def test_on_the_desktop_the_break_nudge_arrives_and_done_is_recorded(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    # Sam has been at the (fresh) session since the daemon started: after 3 seconds
    # of presence the break nudge pops up.
    daemon = start_daemon(desktop, run_nudged, after="3s", snooze="10m")
    call = nudge_call(desktop, TITLE, timeout=20)
    assert call.body == "You've been at the screen a while. Stand up and roll your shoulders?"
    assert call.labels == ["Done", "Snooze 10 min", "Skip"]
    desktop.dunst.wait_count("displayed", 1)

    desktop.press("Done")
    rows = daemon.wait_shown(lambda rows: bool(rows) and rows[0]["response"] == "done",
                             what="Done in the store")
    assert (rows[0]["plugin"], rows[0]["nudge_id"], rows[0]["title"]) == (
        "movement", "break", TITLE)
    entries = until(lambda: plugin_journal(daemon) or None, 10, "the break in the journal",
                    daemon.diagnostics)
    assert entries[0]["how"] == "done"
    assert entries[0]["suggestion"] == "Stand up and roll your shoulders"


@pytest.mark.desktop
def test_on_the_desktop_two_snoozes_bring_the_same_break_in_softer_words(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    daemon = start_daemon(desktop, run_nudged, after="8s", snooze="2s")
    first = nudge_call(desktop, TITLE, timeout=25)
    since = desktop.monitor.mark()
    desktop.press("Snooze 2s")
    again = nudge_call(desktop, TITLE, since=since, timeout=10)
    assert again.body == first.body
    since = desktop.monitor.mark()
    desktop.press("Snooze 2s")
    gentle = nudge_call(desktop, GENTLE_TITLE, since=since, timeout=10)
    assert gentle.body == ("No rush. Stand up and roll your shoulders, once you reach a good "
                           "stopping point.")
    assert gentle.labels == first.labels
    desktop.press("Skip")
    rows = daemon.wait_shown(lambda rows: len(rows) >= 3 and rows[2]["response"] == "skip",
                             what="Skip on the softer nudge in the store")
    assert [(r["title"], r["attempt"], r["response"]) for r in rows[:3]] == [
        (TITLE, 0, "snooze"), (TITLE, 1, "snooze"), (GENTLE_TITLE, 0, "skip")]
    assert [e["how"] for e in plugin_journal(daemon)][:3] == ["snoozed", "snoozed", "skipped"]
