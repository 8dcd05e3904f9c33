"""Presence and the usage ledger: only time really spent at the screen counts."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import load, shown

from nudged.activity.base import Focus
from nudged.activity.hub import ActivityHub
from nudged.activity.ledger import split_at_midnight
from nudged.cli import main
from nudged.preview import read_activity, run
from nudged.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
FIREFOX = Focus("Firefox", "Reddit - Dive into anything — Mozilla Firefox")
EDITOR = Focus("code", "notes.md - Visual Studio Code")


def at(hhmm: str, day: int = 2) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 3, day, h, m, tzinfo=BERLIN)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now_ = now

    def now(self) -> datetime:
        return self.now_


def a_hub(start: str = "09:00") -> tuple[ActivityHub, Clock, Store]:
    clock = Clock(at(start))
    store = Store.memory()
    return ActivityHub(clock.now, BERLIN, store), clock, store


def test_a_morning_at_the_screen_is_attributed_to_the_focused_apps() -> None:
    hub, clock, _ = a_hub()
    hub.focus_changed("x11", EDITOR, at("09:00"))
    hub.focus_changed("x11", FIREFOX, at("10:00"))
    # Idle watch fires at 10:50 for a 5 minute threshold: back-dated to 10:45.
    hub.idle_changed("x11", True, at("10:45"))
    hub.idle_changed("x11", False, at("11:30"))
    clock.now_ = at("12:00")
    usage = hub.today()
    assert usage.total == timedelta(hours=2, minutes=15)
    assert usage.by_app == {"code": timedelta(hours=1), "Firefox": timedelta(minutes=75)}
    assert hub.continuous() == timedelta(minutes=30)


def test_no_time_accrues_while_locked_or_asleep() -> None:
    hub, clock, _ = a_hub()
    hub.focus_changed("x11", EDITOR, at("09:00"))
    hub.lock_changed("logind", True, at("09:30"))
    hub.lock_changed("logind", False, at("10:00"))
    hub.sleep_changed("logind", True, at("10:15"))
    hub.sleep_changed("logind", False, at("13:15"))
    clock.now_ = at("13:30")
    assert hub.today().total == timedelta(minutes=30 + 15 + 15)
    assert hub.continuous() == timedelta(minutes=15)


def test_a_stretch_across_midnight_is_split_between_the_two_days() -> None:
    pieces = split_at_midnight(at("23:30"), at("01:15", day=3), BERLIN)
    assert [(d.isoformat(), e - s) for d, s, e in pieces] == [
        ("2026-03-02", timedelta(minutes=30)), ("2026-03-03", timedelta(minutes=75))]


def test_titles_never_reach_the_disk(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "nudged.db")
    clock = Clock(at("09:00"))
    hub = ActivityHub(clock.now, BERLIN, store)
    hub.focus_changed("x11", FIREFOX, at("09:00"))
    clock.now_ = at("09:40")
    hub.heartbeat()
    store.close()
    raw = (tmp_path / "nudged.db").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("nudged.db-*"))
    assert b"Dive into anything" not in raw
    rows = sqlite3.connect(tmp_path / "nudged.db").execute(
        "SELECT day, app, seconds FROM usage").fetchall()
    assert rows == [("2026-03-02", "Firefox", 2400.0)]


def test_heartbeats_extend_one_row_and_a_crash_loses_time_rather_than_inventing_it(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path / "nudged.db")
    clock = Clock(at("09:00"))
    hub = ActivityHub(clock.now, BERLIN, store)
    hub.focus_changed("x11", EDITOR, at("09:00"))
    for minutes in (5, 10, 15):
        clock.now_ = at("09:00") + timedelta(minutes=minutes)
        hub.heartbeat()
    # The daemon dies at 09:19 without a last heartbeat.
    store.close()
    rows = sqlite3.connect(tmp_path / "nudged.db").execute(
        "SELECT app, seconds FROM usage").fetchall()
    assert rows == [("code", 900.0)]


ACTIVITY = """start,end,app,title
2026-03-02 09:00,2026-03-02 10:10,code,notes.md - Visual Studio Code
2026-03-02 10:10,2026-03-02 10:40,Firefox,Reddit - Dive into anything — Mozilla Firefox
2026-03-02 13:00,2026-03-02 14:00,code,notes.md - Visual Studio Code
"""


def test_preview_replays_an_activity_file_through_presence(tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    path.write_text(ACTIVITY)
    loaded = load("""
        [core]
        timezone = "Europe/Berlin"
        [[plugins.custom.nudges]]
        id = "water"
        title = "Water"
        every = "30m"
        window = "09:00-18:00"
    """)
    rows = read_activity(path, BERLIN)
    items, runtime = run(loaded, at("00:00"), 1, [], activity=rows, environ={})
    # Present 09:00-10:40 and 13:00-14:00. Nudges due while away are held: the
    # 12:30 one is shown on return at 13:00 and the regular 13:00 one merges into it;
    # the earlier ones went stale. The person leaves at 14:00, as the next comes due.
    assert shown(items) == [("Mon 09:30", "custom:water"), ("Mon 10:00", "custom:water"),
                            ("Mon 10:30", "custom:water"), ("Mon 13:00", "custom:water"),
                            ("Mon 13:30", "custom:water")]
    merged = [i for i in items if not i.shown and i.at == at("13:00")]
    assert merged[0].why[-1] == "13:00 suppressed by nudged: the same nudge is already showing"
    usage = runtime.activity.ledger.day(at("00:00").date())
    assert usage.by_app == {"code": timedelta(minutes=130), "Firefox": timedelta(minutes=30)}


def test_a_bad_activity_file_names_the_line(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "day.csv"
    path.write_text(ACTIVITY + "2026-03-02 15:00,2026-03-02 14:30,code,x\n"
                    "yesterday,2026-03-02 16:00,code,x\n")
    config = tmp_path / "config.toml"
    config.write_text("")
    assert main(["preview", "--config", str(config), "--activity", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:5: end 2026-03-02 14:30 is not after start 2026-03-02 15:00" in err
    assert f'{path}:6: "yesterday" is not a local time (expected "YYYY-MM-DD HH:MM")' in err


def test_without_an_idle_source_uptime_is_not_counted_as_screen_time() -> None:
    hub, clock, _ = a_hub()
    hub.set_counting(False)  # what the daemon does until a source can tell idle time
    hub.focus_changed("ssh", EDITOR, at("09:00"))
    clock.now_ = at("11:00")
    assert hub.today().total == timedelta(0)
    hub.set_counting(True)  # an idle source took over at 11:00
    clock.now_ = at("11:30")
    assert hub.today().total == timedelta(minutes=30)
