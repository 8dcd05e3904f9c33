"""Suspend noticed after the fact, by comparing two clocks (for machines without logind).

Linux keeps two steady clocks: ``CLOCK_MONOTONIC`` stops while the machine is
suspended, ``CLOCK_BOOTTIME`` keeps counting. Between two looks, the difference of
their advances is exactly the time spent asleep. Looking once a minute is one
wake-up a minute, and needs neither D-Bus nor privileges, so this works on any
Linux (containers, elogind-less setups, BSD-style inits).

What it cannot know is *when* within the minute the machine woke: the timer runs on
the monotonic clock, so after a resume it fires once up to a minute of awake time
has passed. The source reports the sleep as ending at the moment it noticed and
starting ``slept`` seconds before: the length is exact, the position may be late
by up to ``interval``. logind's ``PrepareForSleep`` is exact, which is why this
source ranks below it.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from nudged.activity.base import (
    ActivitySink,
    ActivitySource,
    Capability,
    Health,
    Probe,
    Session,
)
from nudged.activity.common import utcnow

#: How often to compare the clocks (seconds of awake time).
CHECK_INTERVAL = 60.0
#: Below this the two clocks' difference is drift or a busy machine, not a suspend.
MIN_SLEEP = 5.0


def _monotonic() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def _boottime() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


@dataclass(frozen=True)
class Clocks:
    """The clocks the source reads; tests inject fakes to simulate a suspend."""

    monotonic: Callable[[], float] = field(default=_monotonic)
    boottime: Callable[[], float] = field(default=_boottime)
    now: Callable[[], datetime] = field(default=utcnow)


class ClockJumpSleepSource(ActivitySource):
    """SLEEP by clock comparison: reports a suspend after it happened, asleep then awake."""

    name: ClassVar[str] = "clock"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.SLEEP})
    priority: ClassVar[int] = 80
    priorities: ClassVar[Mapping[Capability, int]] = {Capability.SLEEP: 80}

    def __init__(
        self,
        session: Session,
        sink: ActivitySink,
        idle_after: timedelta,
        wanted: frozenset[Capability] | None = None,
        *,
        clocks: Clocks | None = None,
        interval: float = CHECK_INTERVAL,
        min_sleep: float = MIN_SLEEP,
    ) -> None:
        super().__init__(session, sink, idle_after, wanted)
        self.clocks = clocks or Clocks()
        self.interval = interval
        self.min_sleep = min_sleep
        self._timer: asyncio.TimerHandle | None = None
        self._boot = 0.0
        self._mono = 0.0

    @classmethod
    async def probe(cls, session: Session) -> Probe:
        if not sys.platform.startswith("linux") or not hasattr(time, "CLOCK_BOOTTIME"):
            return Probe.no("needs Linux's CLOCK_BOOTTIME to notice a suspend")
        return Probe.yes("suspend noticed within a minute by comparing clocks")

    async def start(self) -> None:
        """Take the baseline and arm the timer. Nothing to report: we are awake."""
        self._cancel()
        self._boot = self.clocks.boottime()
        self._mono = self.clocks.monotonic()
        self._arm()
        self.health = Health.RUNNING
        self.reason = f"comparing clocks every {self.interval:g}s"

    async def stop(self) -> None:
        self._cancel()
        if self.health is Health.RUNNING:
            self.health = Health.STOPPED

    def check(self) -> float | None:
        """Compare the clocks now; report and return the seconds slept, or None."""
        boot, mono = self.clocks.boottime(), self.clocks.monotonic()
        slept = (boot - self._boot) - (mono - self._mono)
        self._boot, self._mono = boot, mono
        if slept <= self.min_sleep:
            return None
        now = self.clocks.now()
        self.sink.sleep_changed(self.name, True, now - timedelta(seconds=slept))
        self.sink.sleep_changed(self.name, False, now)
        return slept

    def _tick(self) -> None:
        self._timer = None
        try:
            self.check()
        finally:
            if self.health is Health.RUNNING:
                self._arm()

    def _arm(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self.interval, self._tick)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
