"""When nudges come due. The only module that imports APScheduler.

Two schedulers share one set of triggers:

* :class:`NudgeScheduler` wraps APScheduler's asyncio scheduler for the daemon.
  Jobs coalesce and carry a misfire grace time equal to the nudge's ``stale_after``,
  so after a suspend or a clock jump each nudge fires at most once for what it
  missed, and not at all once it is stale.
* :class:`SimulatedScheduler` walks the same triggers on a simulated clock, so
  ``nudged preview`` and the tests can run weeks in a fraction of a second.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time as _time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from nudged.humanize import Window
from nudged.models import At, Every, Manual, NudgeSpec

log = structlog.get_logger("nudged.scheduler")
DueCallback = Callable[[datetime], None]


class WindowedIntervalTrigger(BaseTrigger):
    """Every ``interval`` inside each occurrence of ``window``, anchored to its start.

    "every 2h" inside "mon-fri 09:00-18:00" fires 11:00, 13:00, 15:00, 17:00 on
    weekdays, the same after any restart.
    """

    __slots__ = ("interval", "jitter", "timezone", "window")

    def __init__(self, interval: timedelta, window: Window, timezone: tzinfo,
                 jitter: float | None = None) -> None:
        self.interval = interval
        self.window = window
        self.timezone = timezone
        self.jitter = jitter

    def get_next_fire_time(self, previous_fire_time: datetime | None,
                           now: datetime) -> datetime | None:
        ref = now.astimezone(self.timezone)
        if previous_fire_time is not None:
            ref = max(ref, previous_fire_time.astimezone(self.timezone) + timedelta(microseconds=1))
        for _ in range(800):  # a window occurs at least once a week; 800 steps is years
            occurrence = self.window.occurrence_containing(ref)
            if occurrence is None:
                ref = self.window.next_start(ref)
                continue
            start, end = occurrence
            steps = max(1, math.ceil((ref - start) / self.interval))
            candidate = start + steps * self.interval
            if candidate < end:
                return self._apply_jitter(candidate, self.jitter, now)
            ref = self.window.next_start(end - timedelta(microseconds=1))
        return None

    def __str__(self) -> str:
        return f"every {self.interval} in {self.window}"


def build_trigger(spec: NudgeSpec, tz: tzinfo, anchor: datetime) -> BaseTrigger | None:
    """The APScheduler trigger for a spec's schedule (``None`` for manual nudges)."""
    schedule = spec.schedule
    if isinstance(schedule, Manual):
        return None
    if isinstance(schedule, At):
        days = ",".join(str(d) for d in sorted(schedule.days))
        crons = [
            CronTrigger(hour=t.hour, minute=t.minute, second=0, day_of_week=days, timezone=tz)
            for t in schedule.times
        ]
        return crons[0] if len(crons) == 1 else OrTrigger(crons)
    if isinstance(schedule, Every):
        jitter = schedule.jitter.total_seconds() or None
        if schedule.window is not None:
            return WindowedIntervalTrigger(schedule.interval, schedule.window, tz, jitter)
        return IntervalTrigger(
            seconds=max(1, int(schedule.interval.total_seconds())),
            start_date=anchor + schedule.interval,
            timezone=tz,
            jitter=jitter,
        )
    raise TypeError(f"unknown schedule {schedule!r}")


class NudgeScheduler:
    """APScheduler in the daemon's event loop: nudge jobs plus one-off timers."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self._scheduler = AsyncIOScheduler(
            timezone=tz, job_defaults={"coalesce": True, "max_instances": 1}
        )
        self._timer_callbacks: dict[str, Callable[[], None]] = {}

    # Clock
    def now(self) -> datetime:
        return datetime.now(self.tz)

    def add_nudge(self, plugin: str, spec: NudgeSpec, due: DueCallback) -> bool:
        trigger = build_trigger(spec, self.tz, self.now())
        if trigger is None:
            return False
        async def job() -> None:  # a coroutine, so APScheduler runs it on the loop thread
            due(self.now())

        self._scheduler.add_job(
            job,
            trigger=trigger,
            id=f"nudge:{plugin}:{spec.id}",
            name=f"{plugin}:{spec.id}",
            misfire_grace_time=max(1, int(spec.stale_after.total_seconds())),
            replace_existing=True,
        )
        return True

    def remove_nudges(self) -> None:
        for job in self._scheduler.get_jobs():
            if job.id.startswith("nudge:"):
                job.remove()

    # Timers
    def call_at(self, when: datetime, callback: Callable[[], None], key: str) -> None:
        async def job() -> None:
            callback()

        self._scheduler.add_job(
            job, trigger=DateTrigger(when, timezone=self.tz), id=f"timer:{key}",
            misfire_grace_time=None, replace_existing=True,
        )

    def cancel(self, key: str) -> None:
        job = self._scheduler.get_job(f"timer:{key}")
        if job is not None:
            job.remove()

    def cancel_prefix(self, prefix: str) -> None:
        """Forget every pending timer whose key starts with ``prefix``."""
        for job in self._scheduler.get_jobs():
            if job.id.startswith(f"timer:{prefix}"):
                job.remove()

    def upcoming(self, n: int = 5) -> list[tuple[datetime, str]]:
        jobs = [j for j in self._scheduler.get_jobs()
                if j.id.startswith("nudge:") and j.next_run_time]
        return sorted((j.next_run_time, j.name) for j in jobs)[:n]

    def start(self) -> None:
        self._scheduler.start()

    def wakeup(self) -> None:
        """Re-check due jobs now (after a suspend or a clock jump)."""
        self._scheduler.wakeup()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)


class ClockJumpWatch:
    """Notices a suspend or a wall-clock change and wakes the scheduler.

    asyncio timers run on the monotonic clock, which stops while the machine
    sleeps, so a timer armed before a suspend fires late. A cheap check once a
    minute compares wall-clock and monotonic progress; a jump of more than a few
    seconds wakes the scheduler so missed nudges coalesce at once. (The activity
    layer will also hear logind's PrepareForSleep; this covers machines without it.)
    """

    def __init__(self, loop: Any, on_jump: Callable[[float], None],
                 period: float = 60.0, tolerance: float = 5.0) -> None:
        self._loop = loop
        self._on_jump = on_jump
        self._period = period
        self._tolerance = tolerance
        self._handle: Any = None
        self._last = (_time.time(), _time.monotonic())

    def start(self) -> None:
        self._last = (_time.time(), _time.monotonic())
        self._handle = self._loop.call_later(self._period, self._check)

    def _check(self) -> None:
        wall, mono = _time.time(), _time.monotonic()
        jump = (wall - self._last[0]) - (mono - self._last[1])
        self._last = (wall, mono)
        if abs(jump) > self._tolerance:
            log.info("clock jump noticed", seconds=round(jump, 1))
            self._on_jump(jump)
        self._handle = self._loop.call_later(self._period, self._check)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()


class SimulatedScheduler:
    """The same triggers and timers on a simulated clock (``nudged preview``, tests).

    The queue and the clock are kept in UTC: two aware datetimes in one zone compare
    by wall clock in Python, which would stop the clock in the hour that repeats when
    daylight saving time ends.
    """

    def __init__(self, tz: tzinfo, start: datetime, seed: int = 0) -> None:
        self.tz = tz
        self._now = start.astimezone(UTC)
        self._queue: list[tuple[datetime, int, str, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._keys: dict[str, int] = {}
        random.seed(seed)  # jitter in APScheduler triggers uses the random module

    def now(self) -> datetime:
        return self._now.astimezone(self.tz)

    def _push(self, when: datetime, key: str, callback: Callable[[], None]) -> None:
        seq = next(self._seq)
        self._keys[key] = seq
        heapq.heappush(self._queue, (when.astimezone(UTC), seq, key, callback))

    def add_nudge(self, plugin: str, spec: NudgeSpec, due: DueCallback) -> bool:
        trigger = build_trigger(spec, self.tz, self.now())
        if trigger is None:
            return False
        key = f"nudge:{plugin}:{spec.id}"

        def fire_and_rearm(at: datetime) -> None:
            due(at)
            following = trigger.get_next_fire_time(at, at)
            if following is not None:
                self._push(following, key, lambda: fire_and_rearm(following))

        first = trigger.get_next_fire_time(None, self.now())
        if first is not None:
            self._push(first, key, lambda: fire_and_rearm(first))
        return True

    def call_at(self, when: datetime, callback: Callable[[], None], key: str) -> None:
        self._push(max(when.astimezone(UTC), self._now), f"timer:{key}", callback)

    def cancel(self, key: str) -> None:
        self._keys.pop(f"timer:{key}", None)

    def run_until(self, end: datetime) -> None:
        """Advance the clock, firing everything due up to ``end`` in time order."""
        end = end.astimezone(UTC)
        while self._queue and self._queue[0][0] <= end:
            when, seq, key, callback = heapq.heappop(self._queue)
            if self._keys.get(key) != seq:
                continue  # replaced or cancelled
            del self._keys[key]
            self._now = max(self._now, when)
            callback()
        self._now = max(self._now, end)
