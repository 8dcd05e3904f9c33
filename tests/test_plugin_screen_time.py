"""Screen time: Robin set themselves a daily budget of time at the screen, and nudged
tells them, calmly, as they near it, reach it and go past it, and suggests a break
after a long unbroken stretch.

The stories replay ``--activity`` CSV files (written in ``tmp_path``, read with
``nudged.preview.read_activity``) through the real plugin and engine on a simulated
clock: each row is Robin at the screen with that window in front, the gaps between
rows are Robin away. Each story asserts exactly which nudges appear and when.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import textwrap
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import load
from nudged_plugins.screen_time import (
    BUDGET_LABELS,
    SESSION_LABELS,
    ScreenTimeConfig,
    ScreenTimePlugin,
)
from nudged_plugins.screen_time import words as w
from nudged_plugins.screen_time.timing import (
    LIMIT,
    OVER,
    WARNING,
    DayRecord,
    Session,
    Step,
    crossed,
    pending_steps,
    strongest,
)

from nudged.activity.hub import ActivityHub
from nudged.cli import main
from nudged.preview import (
    ActivityRow,
    PreviewItem,
    _Capture,
    _schedule_activity,
    read_activity,
    run,
)
from nudged.runtime import PluginSelection, Runtime
from nudged.scheduler import SimulatedScheduler
from nudged.store import Store
from tests.test_daemon_activity import Desk, desk, isolated
from tests.test_daemon_service import Nudged, run_nudged, until, write_config

__all__ = ["desk", "run_nudged"]  # fixtures, imported to be used here

BERLIN = ZoneInfo("Europe/Berlin")
H, M = timedelta(hours=1), timedelta(minutes=1)

BASE = """
[core]
timezone = "Europe/Berlin"
max_per_hour = 30

[plugins.screen_time]
"""


def config(*lines: str) -> str:
    return BASE + "\n".join(lines) + "\n"


def csv_text(*rows: str) -> str:
    """An activity CSV: ``"2026-03-02 08:00, 12:00, code, report.py"`` rows, where the
    end may leave out the date when it is the start's (or ``+1 01:30`` for the next)."""
    lines = ["start,end,app,title"]
    for row in rows:
        start, end, app, title = (part.strip() for part in row.split(",", 3))
        day = start.split(" ")[0]
        if end.startswith("+1 "):
            end = (date.fromisoformat(day) + timedelta(days=1)).isoformat() + end[2:]
        elif " " not in end:
            end = f"{day} {end}"
        lines.append(f"{start},{end},{app},{title}")
    return "\n".join(lines) + "\n"


def replay(tmp_path: Path, text: str, *rows: str, start: str = "2026-03-02 00:00",
           days: float = 1, respond: str = "done") -> tuple[list[PreviewItem], Runtime]:
    """Robin's days from an activity CSV, with only the screen_time plugin."""
    path = tmp_path / "activity.csv"
    path.write_text(csv_text(*rows), encoding="utf-8")
    loaded = load(text)
    begin = datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=BERLIN)
    selection = PluginSelection(objects={"screen_time": ScreenTimePlugin()}, discover=False)
    return run(loaded, begin, days, [], respond, environ={}, selection=selection,
               activity=read_activity(path, BERLIN))


def seen(items: Sequence[PreviewItem]) -> list[tuple[str, str]]:
    """("Mon 15:00", nudge id) of every nudge shown."""
    return [(i.at.strftime("%a %H:%M"), i.nudge.spec.id) for i in items if i.shown]


def said(items: Sequence[PreviewItem]) -> list[tuple[str, str, str]]:
    """("Mon 15:00", title, body) of every nudge shown."""
    return [(i.at.strftime("%a %H:%M"), i.nudge.shown_title, i.nudge.shown_body)
            for i in items if i.shown]


def days_journal(runtime: Runtime) -> list[tuple[str, dict[str, Any]]]:
    ctx = runtime.host.records["screen_time"].ctx
    assert ctx is not None
    return [(e.at.strftime("%a %H:%M"), e.data) for e in ctx.journal.entries("day")]


#: Only the budget: the continuous-session nudge out of the way.
NO_SESSION = 'continuous = "20h"'


# --------------------------------------------------------------------------- the budget


def test_a_weekday_warning_at_six_hours_the_limit_at_eight_then_every_half_hour(
    tmp_path: Path,
) -> None:
    items, _ = replay(tmp_path, config(NO_SESSION),
                      "2026-03-02 08:00, 12:00, code, report.py",
                      "2026-03-02 13:00, 18:40, firefox, Docs")
    # 4 hours before lunch, 2 more after it: 6 hours at 15:00.
    assert said(items) == [
        ("Mon 15:00", "Screen time today",
         "You've been at the screen for 6 hours today (your budget is 8)."),
        ("Mon 17:00", "That's your 8 hours of screen time for today",
         "Nothing gets locked; it's your call. A good stopping point might be close."),
        ("Mon 17:30", "Past today's screen time",
         "You've been at the screen for 8 hours 30 minutes today (your budget is 8 hours). "
         "Wrap up when it suits you."),
        ("Mon 18:00", "Past today's screen time",
         "You've been at the screen for 9 hours today (your budget is 8). "
         "Wrap up when it suits you."),
        ("Mon 18:30", "Past today's screen time",
         "You've been at the screen for 9 hours 30 minutes today (your budget is 8 hours). "
         "Wrap up when it suits you."),
    ]
    assert [i.nudge.spec.id for i in items] == ["warning", "limit", "over", "over", "over"]


def test_budgets_follow_the_weekday_and_a_day_in_no_set_has_none(tmp_path: Path) -> None:
    # 2026-03-06 is a Friday: 2 hours on weekdays, 1 on Saturday, none on Sunday.
    text = config('daily = { "mon-fri" = "2h", "sat" = "1h" }', "warn_at = [1.0]",
                  'over_every = "3h"', NO_SESSION)
    items, _ = replay(tmp_path, text,
                      "2026-03-06 09:00, 12:00, code, report.py",
                      "2026-03-07 09:00, 12:00, firefox, Recipes",
                      "2026-03-08 09:00, 12:00, firefox, Recipes",
                      start="2026-03-06 00:00", days=3)
    assert said(items) == [
        ("Fri 11:00", "That's your 2 hours of screen time for today", w.LIMIT_BODY),
        ("Sat 10:00", "That's your 1 hour of screen time for today", w.LIMIT_BODY),
    ]


def test_one_duration_alone_is_the_budget_of_every_day(tmp_path: Path) -> None:
    text = config('daily = "1h"', "warn_at = [1.0]", 'over_every = "5h"', NO_SESSION)
    items, _ = replay(tmp_path, text,
                      "2026-03-07 09:00, 10:30, firefox, Recipes",
                      "2026-03-08 09:00, 10:30, firefox, Recipes",
                      start="2026-03-07 00:00", days=2)
    assert seen(items) == [("Sat 10:00", "limit"), ("Sun 10:00", "limit")]


def test_time_away_is_not_counted_and_an_app_switch_is_no_gap(tmp_path: Path) -> None:
    text = config('daily = { "daily" = "2h" }', "warn_at = [0.5, 1.0]", 'over_every = "5h"',
                  NO_SESSION)
    items, _ = replay(tmp_path, text,
                      "2026-03-02 09:00, 09:45, code, report.py",
                      "2026-03-02 10:30, 11:00, thunderbird, Inbox",
                      "2026-03-02 11:20, 11:50, code, report.py",
                      "2026-03-02 11:50, 12:30, firefox, Docs")
    # 45 minutes, then 15 after 10:30 make the hour; 45 + 30 + 45 (from 11:20) the two.
    assert seen(items) == [("Mon 10:45", "warning"), ("Mon 12:05", "limit")]
    assert items[0].nudge.shown_body == ("You've been at the screen for 1 hour today "
                                         "(your budget is 2).")


def test_over_budget_reminders_stop_while_robin_is_away_and_carry_on_after(
    tmp_path: Path,
) -> None:
    text = config('daily = "1h"', "warn_at = [1.0]", 'over_every = "15m"', NO_SESSION)
    items, _ = replay(tmp_path, text,
                      "2026-03-02 09:00, 09:40, code, report.py",
                      "2026-03-02 10:00, 10:45, code, report.py",
                      "2026-03-02 12:00, 12:30, firefox, Docs")
    # The hour at 10:20; reminders at 10:35, then Robin leaves at 10:45 with 10 of the
    # next 15 minutes behind them: nothing while away, the next 5 minutes after return.
    assert seen(items) == [("Mon 10:20", "limit"), ("Mon 10:35", "over"),
                           ("Mon 12:05", "over"), ("Mon 12:20", "over")]
    assert not [i for i in items if not i.shown]  # nothing was held or dropped either


def test_fractions_past_the_budget_and_repeats_take_turns(tmp_path: Path) -> None:
    text = config('daily = "2h"', "warn_at = [0.5, 1.0, 1.4]", 'over_every = "30m"',
                  NO_SESSION)
    items, _ = replay(tmp_path, text, "2026-03-02 09:00, 13:00, code, report.py")
    # 1.4 of 2 hours is 2h48, at 11:48 (between the reminders of 11:30 and 12:00); the
    # next comes half an hour after that one, not on the old rhythm.
    assert seen(items) == [("Mon 10:00", "warning"), ("Mon 11:00", "limit"),
                           ("Mon 11:30", "over"), ("Mon 11:48", "over"),
                           ("Mon 12:18", "over"), ("Mon 12:48", "over")]
    assert items[3].nudge.shown_body.startswith(
        "You've been at the screen for 2 hours 48 minutes today (your budget is 2 hours).")


def test_midnight_starts_a_new_day_even_in_the_middle_of_a_stretch(tmp_path: Path) -> None:
    text = config('daily = "1h"', "warn_at = [1.0]", 'over_every = "45m"', NO_SESSION)
    items, runtime = replay(tmp_path, text, "2026-03-02 22:00, +1 01:30, firefox, Film",
                            days=2)
    # Monday's reminder would be due at 00:30; it is Tuesday by then, with an hour to go.
    assert seen(items) == [("Mon 23:00", "limit"), ("Mon 23:45", "over"),
                           ("Tue 01:00", "limit")]
    assert days_journal(runtime) == [
        ("Tue 00:00", {"day": "2026-03-02", "present_minutes": 120, "budget_minutes": 60,
                       "nudges": 2, "quiet": False, "complete": True}),
        ("Wed 00:00", {"day": "2026-03-03", "present_minutes": 90, "budget_minutes": 60,
                       "nudges": 1, "quiet": False, "complete": True}),
        # The end of the preview is a shutdown: Wednesday so far (nothing).
        ("Wed 00:00", {"day": "2026-03-04", "present_minutes": 0, "budget_minutes": 60,
                       "nudges": 0, "quiet": False, "complete": False}),
    ]


def test_the_autumn_dst_night_counts_real_hours_not_wall_clock_ones(tmp_path: Path) -> None:
    # 2026-10-25 in Berlin: 03:00 comes twice. From 01:00 to 04:00 is four real hours.
    text = config('daily = "3h"', "warn_at = [1.0]", 'over_every = "30m"', NO_SESSION)
    items, runtime = replay(tmp_path, text, "2026-10-25 01:00, 04:00, firefox, Film",
                            start="2026-10-25 00:00")
    # Three real hours after 01:00 CEST is 03:00 CET, the second time the clock says 03:00.
    assert [(i.at.strftime("%H:%M %Z"), i.nudge.spec.id) for i in items if i.shown] == [
        ("03:00 CET", "limit"), ("03:30 CET", "over")]
    assert days_journal(runtime)[0][1]["present_minutes"] == 240


def test_quiet_for_today_ends_the_days_budget_nudges_but_not_the_next_days(
    tmp_path: Path,
) -> None:
    text = config('daily = "1h"', "warn_at = [0.5, 1.0]", 'over_every = "15m"', NO_SESSION)
    items, runtime = replay(tmp_path, text,
                            "2026-03-02 09:00, 11:00, code, report.py",
                            "2026-03-03 09:00, 11:00, code, report.py",
                            days=2, respond="skip")
    assert seen(items) == [("Mon 09:30", "warning"), ("Tue 09:30", "warning")]
    assert [i.response for i in items] == ["skip", "skip"]
    assert [(d["day"], d["quiet"], d["nudges"]) for _, d in days_journal(runtime)] == [
        ("2026-03-02", True, 1), ("2026-03-03", True, 1), ("2026-03-04", False, 0)]


def test_no_budget_nudges_on_a_day_without_a_budget_or_with_budgets_off(
    tmp_path: Path,
) -> None:
    items, _ = replay(tmp_path, config("daily = {}", NO_SESSION),
                      "2026-03-02 06:00, 23:00, code, report.py")
    assert seen(items) == []


# --------------------------------------------------------------------------- restarts


def live_span(store: Store, text: str, start: str, end: str, rows: Sequence[ActivityRow],
              plugins: dict[str, object]) -> tuple[list[PreviewItem], Runtime]:
    """One run of nudged from ``start`` to ``end`` (local times) over a store that
    outlives it, as the daemon's SQLite file does: the ledger, ``ctx.state`` and the
    journal carry over to the next run."""
    loaded = load(text)
    begin = datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=BERLIN)
    until_ = datetime.strptime(end, "%Y-%m-%d %H:%M").replace(tzinfo=BERLIN)
    scheduler = SimulatedScheduler(BERLIN, begin)
    capture = _Capture(scheduler, "done")
    runtime = Runtime(loaded, scheduler, capture, capture, environ={},
                      selection=PluginSelection(objects=plugins, discover=False),
                      activity=ActivityHub(scheduler.now, BERLIN, store))
    capture.runtime = runtime

    async def go() -> None:
        await runtime.start()
        _schedule_activity(scheduler, runtime.activity, rows, begin)
        scheduler.run_until(until_)
        runtime.activity.heartbeat()  # as the daemon does when it stops
        await runtime.stop()

    asyncio.run(go())
    return capture.items, runtime


def rows_of(tmp_path: Path, *rows: str) -> list[ActivityRow]:
    path = tmp_path / "rows.csv"
    path.write_text(csv_text(*rows), encoding="utf-8")
    return read_activity(path, BERLIN)


def test_a_restart_does_not_repeat_a_warning_and_keeps_the_rhythm(tmp_path: Path) -> None:
    store = Store.memory()
    text = config('daily = "4h"', "warn_at = [0.5, 1.0]", NO_SESSION)
    morning = rows_of(tmp_path, "2026-03-02 08:00, 10:30, code, report.py")
    first, _ = live_span(store, text, "2026-03-02 00:00", "2026-03-02 10:30", morning,
                         {"screen_time": ScreenTimePlugin()})
    assert seen(first) == [("Mon 10:00", "warning")]
    later = rows_of(tmp_path, "2026-03-02 10:32, 13:00, code, report.py")
    second, runtime = live_span(store, text, "2026-03-02 10:31", "2026-03-02 23:00", later,
                                {"screen_time": ScreenTimePlugin()})
    # 2h30 before the restart: the two hours are not said again; the limit at 4 hours.
    assert seen(second) == [("Mon 12:02", "limit"), ("Mon 12:32", "over")]
    assert [d["complete"] for _, d in days_journal(runtime)] == [False, False]


def test_starting_late_in_a_long_day_gives_one_nudge_about_now_not_a_burst(
    tmp_path: Path,
) -> None:
    store = Store.memory()
    text = config('daily = "2h"', "warn_at = [0.5, 1.0]", NO_SESSION)
    # nudged ran all morning without the plugin (the ledger has 2h30 of present time).
    morning = rows_of(tmp_path, "2026-03-02 08:00, 10:30, code, report.py")
    live_span(store, text, "2026-03-02 00:00", "2026-03-02 10:30", morning, {})
    later = rows_of(tmp_path, "2026-03-02 10:30, 11:10, code, report.py")
    items, _ = live_span(store, text, "2026-03-02 10:30", "2026-03-02 23:00", later,
                         {"screen_time": ScreenTimePlugin()})
    assert said(items) == [
        ("Mon 10:30", "Past today's screen time",
         "You've been at the screen for 2 hours 30 minutes today (your budget is 2 hours). "
         "Wrap up when it suits you."),
        ("Mon 11:00", "Past today's screen time",
         "You've been at the screen for 3 hours today (your budget is 2). "
         "Wrap up when it suits you."),
    ]


def test_a_restart_the_next_morning_finishes_yesterday_in_the_journal(tmp_path: Path) -> None:
    store = Store.memory()
    text = config('daily = "4h"', NO_SESSION)
    evening = rows_of(tmp_path, "2026-03-02 20:00, 21:30, firefox, Film")
    live_span(store, text, "2026-03-02 19:00", "2026-03-02 22:00", evening,
              {"screen_time": ScreenTimePlugin()})
    morning = rows_of(tmp_path, "2026-03-03 08:00, 08:30, code, report.py")
    _, runtime = live_span(store, text, "2026-03-03 07:00", "2026-03-03 09:00", morning,
                           {"screen_time": ScreenTimePlugin()})
    assert days_journal(runtime) == [
        ("Mon 22:00", {"day": "2026-03-02", "present_minutes": 90, "budget_minutes": 240,
                       "nudges": 0, "quiet": False, "complete": False}),
        ("Tue 00:00", {"day": "2026-03-02", "present_minutes": 90, "budget_minutes": 240,
                       "nudges": 0, "quiet": False, "complete": True}),
        ("Tue 09:00", {"day": "2026-03-03", "present_minutes": 30, "budget_minutes": 240,
                       "nudges": 0, "quiet": False, "complete": False}),
    ]


# --------------------------------------------------------------------------- the session


def test_a_continuous_session_nudge_after_two_hours_and_every_two_more(tmp_path: Path) -> None:
    items, _ = replay(tmp_path, config('daily = {}'),
                      "2026-03-02 08:00, 12:30, code, report.py")
    assert said(items) == [
        ("Mon 10:00", w.CONTINUOUS_TITLE, "You've been at the screen for 2 hours without a "
         "break. A few minutes away, and it will still be here when you're back."),
        ("Mon 12:00", w.CONTINUOUS_TITLE, "You've been at the screen for 4 hours without a "
         "break. A few minutes away, and it will still be here when you're back."),
    ]


def test_a_short_absence_pauses_the_session_and_a_real_break_starts_a_new_one(
    tmp_path: Path,
) -> None:
    items, _ = replay(tmp_path, config("daily = {}"),
                      # Monday: 3 minutes away is no break (1h + 57m + 3m more: 11:03).
                      "2026-03-02 09:00, 10:00, code, report.py",
                      "2026-03-02 10:03, 11:30, code, report.py",
                      # Tuesday: 5 minutes away is a break; two hours from 10:05.
                      "2026-03-03 09:00, 10:00, code, report.py",
                      "2026-03-03 10:05, 12:30, code, report.py",
                      days=2)
    assert seen(items) == [("Mon 11:03", "continuous"), ("Tue 12:05", "continuous")]


def test_a_snoozed_session_nudge_is_dropped_when_robin_took_a_break_meanwhile(
    tmp_path: Path,
) -> None:
    items, _ = replay(tmp_path, config("daily = {}"),
                      "2026-03-02 09:00, 11:05, code, report.py",
                      "2026-03-02 11:15, 12:00, code, report.py",
                      respond="snooze")
    # Snoozed at 11:01 for 15 minutes; Robin was away 11:05-11:15.
    assert seen(items) == [("Mon 11:00", "continuous")]
    dropped = [i for i in items if not i.shown]
    assert [(i.at.strftime("%H:%M"), i.why) for i in dropped] == [
        ("11:16", ["11:16 suppressed by screen_time: a break was taken since it was asked"])]


def test_a_snoozed_session_nudge_comes_back_when_robin_stays(tmp_path: Path) -> None:
    items, _ = replay(tmp_path, config("daily = {}"),
                      "2026-03-02 09:00, 11:40, code, report.py", respond="snooze")
    assert seen(items) == [("Mon 11:00", "continuous"), ("Mon 11:16", "continuous"),
                           ("Mon 11:32", "continuous")]
    assert [i.nudge.attempt for i in items if i.shown] == [0, 1, 2]
    # The third snooze ends at 11:48, after Robin left at 11:40: held while away, and
    # dropped once it is too late to matter rather than greeting Robin hours later.
    last = items[-1]
    assert (last.shown, last.nudge.attempt) == (False, 3)
    assert last.why == ["11:48 held by presence: the person is away",
                        "12:18 suppressed by nudged: stale: due 30m ago"]


def test_the_cli_preview_replays_an_activity_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    others = sorted({ep.name for ep in entry_points(group="nudged")} - {"screen_time"})
    monkeypatch.setenv("NUDGED_DISABLE_PLUGINS", ",".join(others))
    path = tmp_path / "config.toml"
    path.write_text(config('daily = "1h"', "warn_at = [1.0]", 'over_every = "2h"',
                           NO_SESSION))
    activity = tmp_path / "activity.csv"
    activity.write_text(csv_text("2026-03-02 09:00, 10:30, code, report.py"))
    code = main(["preview", "--config", str(path), "--activity", str(activity),
                 "--from", "2026-03-02 00:00", "--days", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "10:00  screen_time:limit" in out
    assert "That's your 1 hour of screen time for today" in out
    assert "1 nudges shown, 0 not shown." in out


# --------------------------------------------------------------------------- the arithmetic


def test_pending_steps_are_the_fractions_left_and_the_next_repeat() -> None:
    steps = pending_steps(8 * H, (0.75, 1.0), [], None, 30 * M)
    assert steps == [Step(6 * H, WARNING, 0.75), Step(8 * H, LIMIT, 1.0),
                     Step(8 * H + 30 * M, OVER)]
    steps = pending_steps(8 * H, (0.75, 1.0), [0.75, 1.0], 9 * H, 30 * M)
    assert steps == [Step(9 * H + 30 * M, OVER)]
    # Without 1.0 in warn_at the first reminder is over_every past the budget.
    assert pending_steps(2 * H, (0.5,), [0.5], None, 20 * M) == [Step(2 * H + 20 * M, OVER)]
    reached = crossed(pending_steps(2 * H, (0.5, 1.0), [], None, 30 * M), 2 * H + 30 * M)
    assert strongest(reached) == Step(2 * H + 30 * M, OVER)
    assert strongest([Step(H, OVER), Step(H, OVER, 1.5)]) == Step(H, OVER, 1.5)


def test_the_session_pauses_on_short_absences_and_restarts_on_breaks() -> None:
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN)
    session = Session()
    assert session.came_back(t0, 5 * M)  # the first arrival starts a session
    session.left(t0 + 60 * M)
    assert not session.came_back(t0 + 64 * M, 5 * M)
    assert session.length(t0 + 70 * M) == 66 * M
    assert session.reaches(2 * H) == t0 + 124 * M
    session.left(t0 + 80 * M)
    assert session.taken_break_while_away(t0 + 85 * M, 5 * M)
    assert session.came_back(t0 + 85 * M, 5 * M)
    assert session.length(t0 + 90 * M) == 5 * M and session.began == t0 + 85 * M


def test_the_session_survives_a_reload_and_a_short_restart_but_not_a_long_one() -> None:
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN)
    session = Session()
    session.came_back(t0, 5 * M)
    saved = json.loads(json.dumps(session.snapshot(t0 + 90 * M)))
    # A reload: the activity layer's stretch goes on.
    reloaded = Session.restore(saved, t0 + 91 * M, t0, 5 * M)
    assert reloaded.length(t0 + 100 * M) == 100 * M
    # A restart after 3 minutes: a pause.
    restarted = Session.restore(saved, t0 + 93 * M, t0 + 93 * M, 5 * M)
    assert restarted.length(t0 + 100 * M) == 97 * M
    # After 10 minutes: a break.
    fresh = Session.restore(saved, t0 + 100 * M, t0 + 100 * M, 5 * M)
    assert fresh.length(t0 + 110 * M) == 10 * M and fresh.asked == 0
    # Nothing usable kept: counted from the activity layer.
    assert Session.restore({"at": "yesterday"}, t0, t0, 5 * M).length(t0 + M) == M


def test_the_day_record_round_trips_through_json() -> None:
    record = DayRecord(date(2026, 3, 2), [0.75, 1.0], 8 * H + 30 * M, True, 3, 9 * H,
                       datetime(2026, 3, 2, 19, 0, tzinfo=BERLIN), True)
    back = DayRecord.restore(json.loads(json.dumps(record.snapshot())))
    assert back is not None
    assert (back.day, back.fired, back.over_at, back.quiet, back.nudges, back.total) == (
        record.day, record.fired, record.over_at, True, 3, record.total)
    assert back.present is False  # nobody watched while nudged was not running
    assert DayRecord.restore({"date": "soon"}) is None and DayRecord.restore(None) is None


# --------------------------------------------------------------------------- words


GUILT = re.compile(r"\b(should|must|failed|again|you forgot|too long|too much|lazy|"
                   r"addict\w*|waste\w*|cure|cures|treat|treats|treatment|depression|"
                   r"depressed|therapy|heal|healthy|only)\b", re.IGNORECASE)


def every_text() -> list[str]:
    texts = [w.WARNING_TITLE, w.WARNING_BODY, w.LIMIT_TITLE, w.LIMIT_BODY, w.OVER_TITLE,
             w.OVER_BODY, w.CONTINUOUS_TITLE, w.CONTINUOUS_BODY,
             *BUDGET_LABELS.values(), *SESSION_LABELS.values()]
    spans = [30 * timedelta(seconds=1), M, 45 * M, H, 90 * M, 6 * H, 8 * H, 9 * H + 59 * M]
    for total in spans:
        texts += [*w.continuous_words(total), *w.limit_words(total)]
        for budget in spans:
            texts += [*w.warning_words(total, budget), *w.over_words(total, budget)]
    return sorted(set(texts))


@pytest.mark.parametrize("text", every_text())
def test_the_words_are_calm_and_factual(text: str) -> None:
    assert "!" not in text
    assert not GUILT.search(text), text
    assert "?." not in text and ".?" not in text and ".." not in text
    assert text == text.strip() and "  " not in text
    assert text[0].isupper() or text[0].isdigit()
    assert text.upper() != text or text == "OK"


@pytest.mark.parametrize(("span", "text"), [
    (timedelta(seconds=30), "30 seconds"), (timedelta(seconds=1), "1 second"),
    (M, "1 minute"), (timedelta(seconds=59.6), "1 minute"), (45 * M, "45 minutes"),
    (H, "1 hour"), (6 * H, "6 hours"), (6 * H + 30 * M, "6 hours 30 minutes"),
    (H + M, "1 hour 1 minute"), (8 * H - timedelta(seconds=1), "8 hours"),
    (5 * H + 59 * M + 40 * timedelta(seconds=1), "6 hours"),
])
def test_durations_are_said_the_way_a_person_says_them(span: timedelta, text: str) -> None:
    assert w.spoken(span) == text


def test_the_budget_is_a_bare_number_only_when_both_are_whole_hours() -> None:
    assert w.warning_words(6 * H, 8 * H)[1] == ("You've been at the screen for 6 hours "
                                                "today (your budget is 8).")
    assert w.warning_words(6 * H, 7 * H + 30 * M)[1].endswith(
        "(your budget is 7 hours 30 minutes).")
    assert w.warning_words(45 * M, H)[1].endswith("45 minutes today (your budget is 1 hour).")


# --------------------------------------------------------------------------- config


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str) -> tuple[int, str]:
    path = tmp_path / "config.toml"
    path.write_text('[core]\ntimezone = "Europe/Berlin"\n\n[plugins.screen_time]\n' + body
                    + "\n")
    code = main(["config", "check", str(path)])
    out = capsys.readouterr()
    lines = [line for line in (out.err + out.out).splitlines()
             if "screen_time" in line or line.endswith(": OK")]
    return code, "\n".join(lines).replace(str(path), "config.toml").strip()


FRACTION_HINT = ("(a number above 0 and at most 2: 0.75 is three quarters of the budget, "
                 "1.0 the budget itself)")


@pytest.mark.parametrize(("body", "sentence"), [
    ('daily = { "mon-fri" = "0m" }',
     'config.toml:5: plugins.screen_time.daily.mon-fri: "0m" is too short (a daily budget '
     'needs a length, like "8h")'),
    ('daily = { "mon-fri" = "-2h" }',
     'config.toml:5: plugins.screen_time.daily.mon-fri: "-2h" is not a duration (a duration '
     'cannot be negative: try "2h")'),
    ('daily = { "mon-fri" = "25h" }',
     'config.toml:5: plugins.screen_time.daily.mon-fri: "25h" is more than a day (a daily '
     'budget is at most "24h")'),
    ('daily = { "mon-fri" = "8" }',
     'config.toml:5: plugins.screen_time.daily.mon-fri: "8" is not a duration (a number '
     'needs a unit: try "8m")'),
    ('daily = { "mon-fryday" = "8h" }',
     'config.toml:5: plugins.screen_time.daily.mon-fryday: "mon-fryday" is not a set of days '
     '(did you mean "mon-friday"? write days like "mon-fri", "sat,sun" or "daily")'),
    ('daily = { "mon-fri" = "8h", "fri-sun" = "5h" }',
     'config.toml:5: plugins.screen_time.daily.fri-sun: "fri-sun" overlaps "mon-fri" on fri '
     '(each day can have one budget)'),
    ('[plugins.screen_time.daily]\n"mon-fri" = "8h"\nweekends = "5h"\nsat = "3h"',
     'config.toml:8: plugins.screen_time.daily.sat: "sat" overlaps "weekends" on sat '
     '(each day can have one budget)'),
    ('daily = 8',
     'config.toml:5: plugins.screen_time.daily: 8 is not a table of daily budgets (write '
     'them like daily = { "mon-fri" = "8h", "sat,sun" = "5h" })'),
    ('daily = "6 hourz"',
     'config.toml:5: plugins.screen_time.daily: "6 hourz" is not a duration (try "6h"); or a '
     'table of budgets: daily = { "mon-fri" = "8h", "sat,sun" = "5h" }'),
    ("warn_at = [0.75, 3]",
     f"config.toml:5: plugins.screen_time.warn_at[1]: 3 is not a fraction of the budget "
     f"{FRACTION_HINT}"),
    ("warn_at = [0, 1]",
     f"config.toml:5: plugins.screen_time.warn_at[0]: 0 is not a fraction of the budget "
     f"{FRACTION_HINT}"),
    ("warn_at = [-0.5]",
     f"config.toml:5: plugins.screen_time.warn_at[0]: -0.5 is not a fraction of the budget "
     f"{FRACTION_HINT}"),
    ('warn_at = ["75%"]',
     f'config.toml:5: plugins.screen_time.warn_at[0]: "75%" is not a fraction of the budget '
     f"{FRACTION_HINT}"),
    ('warn_at = ["0.75"]',
     'config.toml:5: plugins.screen_time.warn_at[0]: "0.75" is not a fraction of the budget '
     '(write it without quotes: 0.75)'),
    ("warn_at = [1.0, 0.75]",
     "config.toml:5: plugins.screen_time.warn_at: [1.0, 0.75] is not in order (from small to "
     "large: [0.75, 1.0])"),
    ("warn_at = [0.5, 0.5, 1]",
     "config.toml:5: plugins.screen_time.warn_at: [0.5, 0.5, 1.0] names 0.5 twice (each "
     "fraction once: [0.5, 1.0])"),
    ("warn_at = 0.75",
     "config.toml:5: plugins.screen_time.warn_at: 0.75 is not a list of fractions (put it in "
     "brackets: warn_at = [0.75])"),
    ('over_every = "0m"',
     'config.toml:5: plugins.screen_time.over_every: "0s" is too short (it needs a length, '
     'like "30m")'),
    ('continuous = "-1h"',
     'config.toml:5: plugins.screen_time.continuous: "-1h" is not a duration (a duration '
     'cannot be negative: try "1h")'),
    ('break_length = "0s"',
     'config.toml:5: plugins.screen_time.break_length: "0s" is too short (it needs a length, '
     'like "5m")'),
    ('brake_length = "5m"',
     "config.toml:5: plugins.screen_time.brake_length: unknown key; did you mean "
     "'break_length'?"),
])
def test_invalid_values_end_in_the_config_error_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, sentence: str
) -> None:
    assert check(tmp_path, capsys, body) == (2, sentence)


def test_the_example_section_is_valid_and_names_every_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = (Path(__file__).resolve().parent.parent / "plugins" / "screen_time"
               / "example.toml").read_text()
    code, out = check(tmp_path, capsys, example.replace("[plugins.screen_time]\n", ""))
    assert code == 0, out
    for key in ScreenTimeConfig.model_fields:
        assert re.search(rf"^{key} = ", example, re.MULTILINE), key
    example_model = ScreenTimeConfig.model_validate(
        load(example).settings.plugins["screen_time"])
    assert example_model == ScreenTimeConfig()


def test_the_defaults_are_the_ones_from_the_issue() -> None:
    defaults = ScreenTimeConfig()
    assert defaults.daily == {"mon-fri": 8 * H, "sat,sun": 5 * H}
    assert defaults.warn_at == (0.75, 1.0)
    assert (defaults.over_every, defaults.continuous, defaults.break_length) == (
        30 * M, 2 * H, 5 * M)
    assert defaults.budget_for(date(2026, 3, 6)) == 8 * H  # a Friday
    assert defaults.budget_for(date(2026, 3, 7)) == 5 * H
    assert defaults.model_dump(mode="json") == {
        "daily": {"mon-fri": "8h", "sat,sun": "5h"}, "warn_at": [0.75, 1.0],
        "over_every": "30m", "continuous": "2h", "break_length": "5m"}


def test_the_plugin_is_opt_in_and_found_through_its_entry_point(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert ScreenTimePlugin.opt_in is True
    found = {ep.name: ep.value for ep in entry_points(group="nudged")}
    assert found["screen_time"] == "nudged_plugins.screen_time:ScreenTimePlugin"
    assert main(["plugins"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines()
                if line.startswith("screen_time"))
    assert "opt-in: add a [plugins.screen_time] table to turn it on" in line


# --------------------------------------------------------------------------- the desktop


DESKTOP_CONFIG = """
    [core]
    max_per_hour = 60
    notification_timeout = "5m"

    [plugins.screen_time]
    daily = "1m"
    warn_at = [0.25, 1.0]
    over_every = "10m"
    continuous = "2h"
"""


def plugin_journal(daemon: Nudged) -> list[dict[str, Any]]:
    conn = sqlite3.connect(daemon.state_dir / "nudged.db", timeout=5)
    try:
        rows = conn.execute("SELECT data FROM plugin_journal WHERE plugin = 'screen_time' "
                            "AND kind = 'day' ORDER BY id").fetchall()
    finally:
        conn.close()
    return [json.loads(data) for (data,) in rows]


@pytest.mark.desktop
def test_on_the_desktop_the_budget_notes_arrive_and_the_answers_are_recorded(
    desk: Desk, run_nudged: Callable[..., Nudged], tmp_path: Path
) -> None:
    env = isolated(desk.stack.env(), tmp_path)
    others = sorted({ep.name for ep in entry_points(group="nudged")} - {"screen_time"})
    env["NUDGED_DISABLE_PLUGINS"] = ",".join(others)
    path = write_config(env, textwrap.dedent(DESKTOP_CONFIG))
    desk.person.start()  # Robin is reading, scrolling now and then: present throughout
    daemon = run_nudged(env, "--config", str(path))
    daemon.wait_event("activity sources chosen", timeout=20)
    counting_from = time.time()  # present time is counted from here on

    # A quarter of the minute: the first note, with the budget's own buttons.
    warning = desk.wait_nudge(w.WARNING_TITLE, timeout=30)
    assert warning.body == ("You've been at the screen for 15 seconds today "
                            "(your budget is 1 minute).")
    assert warning.labels == ["OK", "Quiet for today"]
    desk.stack.dunst.wait_count("displayed", 1)
    desk.stack.press("OK", nid=warning.id)
    daemon.wait_shown(lambda rows: bool(rows) and rows[0]["response"] == "done",
                      what="OK on the warning in the store")

    # The whole minute: the limit, in dunst within a few seconds of it.
    limit = desk.wait_nudge("That's your 1 minute of screen time for today", timeout=75)
    took = limit.time - counting_from
    assert 55 <= took <= 70, f"the limit came {took:.1f}s after counting began"
    assert limit.body == w.LIMIT_BODY
    desk.stack.dunst.wait_count("displayed", 1)  # the warning went with its "OK"
    desk.stack.press("Quiet for today", nid=limit.id)
    rows = daemon.wait_shown(lambda rows: len(rows) == 2 and rows[1]["response"] == "skip",
                             what="Quiet for today on the limit in the store")
    assert [(r["plugin"], r["nudge_id"], r["response"]) for r in rows] == [
        ("screen_time", "warning", "done"), ("screen_time", "limit", "skip")]

    code, _took = daemon.terminate(within=3.0)
    desk.person.stop()
    assert code == 0, daemon.diagnostics()
    assert "Traceback" not in daemon.log_text()
    [day] = until(lambda: plugin_journal(daemon) or None, 5, "the day in the journal",
                  daemon.diagnostics)
    assert (day["budget_minutes"], day["nudges"], day["quiet"], day["complete"]) == (
        1, 2, True, False)
    assert day["present_minutes"] >= 1
