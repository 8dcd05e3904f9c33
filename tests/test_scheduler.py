"""After a suspend or a clock jump, each nudge fires at most once, and never when stale.

These run the daemon's real APScheduler-based scheduler on the asyncio loop, with
the wall clock replaced so that a laptop lid closed for hours takes no time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from nudged import NudgeSpec
from nudged.humanize import parse_window
from nudged.models import At, Every
from nudged.scheduler import ClockJumpWatch, NudgeScheduler, WindowedIntervalTrigger

BERLIN = ZoneInfo("Europe/Berlin")


class FakeClock:
    now_utc = datetime(2026, 3, 2, 8, 59, 58, tzinfo=UTC)


class FakeDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
        now = FakeClock.now_utc
        return now.astimezone(tz) if tz else now.replace(tzinfo=None)


@pytest.fixture
def fake_wall_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeClock]]:
    import apscheduler.executors.base
    import apscheduler.schedulers.base

    import nudged.scheduler

    FakeClock.now_utc = datetime(2026, 3, 2, 8, 59, 58, tzinfo=UTC)
    for module in (apscheduler.schedulers.base, apscheduler.executors.base, nudged.scheduler):
        monkeypatch.setattr(module, "datetime", FakeDatetime)
    yield FakeClock


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0.01)


def test_a_long_suspend_fires_a_missed_interval_nudge_once(
    fake_wall_clock: type[FakeClock],
) -> None:
    fired: list[datetime] = []

    async def scenario() -> None:
        scheduler = NudgeScheduler(BERLIN)
        spec = NudgeSpec("stretch", "Stretch", "", schedule=Every(timedelta(minutes=10)),
                         stale_after=timedelta(minutes=30))
        scheduler.add_nudge("custom", spec, fired.append)
        scheduler.start()
        # The lid closes; three hours later it opens: 18 occurrences were missed.
        fake_wall_clock.now_utc += timedelta(hours=3)
        scheduler.wakeup()
        await _settle()
        scheduler.shutdown()

    asyncio.run(scenario())
    assert len(fired) == 1


def test_a_fixed_time_missed_by_more_than_its_grace_is_not_shown(
    fake_wall_clock: type[FakeClock],
) -> None:
    fired: list[datetime] = []

    async def scenario() -> None:
        scheduler = NudgeScheduler(BERLIN)
        spec = NudgeSpec("lunch", "Lunch", "", schedule=At((time(10, 0),)),
                         stale_after=timedelta(minutes=30))
        scheduler.add_nudge("custom", spec, fired.append)
        scheduler.start()
        # 09:59:58 local; asleep until 11:00: the 10:00 nudge is an hour stale.
        fake_wall_clock.now_utc = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
        scheduler.wakeup()
        await _settle()
        missed_by_an_hour = list(fired)
        # Next day, it wakes at 10:10: ten minutes late is still worth a nudge.
        fake_wall_clock.now_utc = datetime(2026, 3, 3, 9, 10, tzinfo=UTC)
        scheduler.wakeup()
        await _settle()
        scheduler.shutdown()
        assert missed_by_an_hour == []

    asyncio.run(scenario())
    assert [f.astimezone(BERLIN).strftime("%d %H:%M") for f in fired] == ["03 10:10"]


def test_the_clock_jump_watch_notices_a_suspend(monkeypatch: pytest.MonkeyPatch) -> None:
    import nudged.scheduler as sched

    wall = [1000.0]
    mono = [50.0]
    monkeypatch.setattr(sched._time, "time", lambda: wall[0])
    monkeypatch.setattr(sched._time, "monotonic", lambda: mono[0])

    class Loop:
        def call_later(self, delay: float, fn: object) -> None:
            return None

    jumps: list[float] = []
    watch = ClockJumpWatch(Loop(), jumps.append)
    watch.start()
    wall[0] += 60
    mono[0] += 60
    watch._check()  # an ordinary minute
    wall[0] += 7200 + 60
    mono[0] += 60  # monotonic time stops while suspended
    watch._check()
    assert jumps == [7200.0]


def test_every_inside_a_window_is_anchored_to_the_window_start() -> None:
    trigger = WindowedIntervalTrigger(timedelta(minutes=90), parse_window("mon-fri 09:00-12:00"),
                                      BERLIN)
    now = datetime(2026, 3, 6, 11, 0, tzinfo=BERLIN)  # a Friday
    first = trigger.get_next_fire_time(None, now)
    assert first == datetime(2026, 3, 9, 10, 30, tzinfo=BERLIN)  # 12:00 is the end: Monday
    assert trigger.get_next_fire_time(first, first) == datetime(2026, 3, 10, 10, 30,
                                                                 tzinfo=BERLIN)
