"""Which night it is, and when its bedtime and wake-up really happen.

A night belongs to the evening it starts on: Friday's night may have its bedtime at
00:30 on Saturday. People write bedtimes as wall-clock times in their own time zone,
and twice a year a night is an hour shorter or longer, so every moment here is
computed from the wall clock of the configured time zone and then kept in UTC.

Why UTC inside: Python compares and subtracts two aware datetimes that share a
``ZoneInfo`` by their wall-clock fields, ignoring ``fold``. In the hour that repeats
in autumn, 02:40 (summer time) would then sort after 02:10 (winter time), although
it comes half an hour earlier. UTC has no such hour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

#: Bedtimes before noon are after midnight: they belong to the evening before.
NOON = time(12, 0)

#: (bedtime, wake) as wall-clock times for the night that starts on a weekday (0 = Monday).
Rule = Callable[[int], tuple[time, time]]


def wall_moment(day: date, at: time, tz: tzinfo) -> datetime:
    """The first moment the wall clock in ``tz`` reads ``at`` or later on ``day``, in UTC.

    On a spring-forward night a time inside the skipped hour never appears on the
    clock; the person's bedtime then comes when the clocks jump (02:30 in Berlin on
    the last Sunday of March is 03:00 summer time), not an hour later. On a
    fall-back night a time in the repeated hour is its first appearance.
    """
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # Inside a gap: with fold=1 the time is read with the later offset, giving an
    # instant before the jump; with fold=0 one after it. The jump lies in between.
    low = int(naive.replace(tzinfo=tz, fold=1).astimezone(UTC).timestamp())
    high = int(first.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


@dataclass(frozen=True)
class Night:
    """One night's sleep window: ``bedtime`` (inclusive) to ``wake`` (exclusive), in UTC."""

    day: date
    bedtime: datetime
    wake: datetime

    def contains(self, moment: datetime) -> bool:
        return self.bedtime <= moment < self.wake


def night_for(day: date, rule: Rule, tz: tzinfo) -> Night:
    """The night that starts on the evening of ``day``."""
    bed_clock, wake_clock = rule(day.weekday())
    bed_day = day + timedelta(days=1) if bed_clock < NOON else day
    wake_day = bed_day if wake_clock > bed_clock else bed_day + timedelta(days=1)
    bedtime = wall_moment(bed_day, bed_clock, tz)
    wake = wall_moment(wake_day, wake_clock, tz)
    if wake <= bedtime:  # both inside one skipped hour: a night still has a length
        wake = bedtime + timedelta(minutes=1)
    return Night(day, bedtime, wake)


def current_night(now: datetime, rule: Rule, tz: tzinfo) -> Night:
    """The night whose window has not ended yet at ``now``: the one running, or the next.

    Between one wake-up and the next bedtime this is the coming night, so its
    wind-down reminders belong to it.
    """
    today = now.astimezone(tz).date()
    moment = now.astimezone(UTC)
    for offset in range(-2, 3):
        night = night_for(today + timedelta(days=offset), rule, tz)
        if night.wake > moment:
            return night
    raise AssertionError("unreachable: tomorrow's night ends after now")  # pragma: no cover


def following(night: Night, rule: Rule, tz: tzinfo) -> Night:
    """The next night after ``night`` that ends later than it does."""
    for offset in range(1, 4):
        candidate = night_for(night.day + timedelta(days=offset), rule, tz)
        if candidate.wake > night.wake:
            return candidate
    raise AssertionError("unreachable: a night is at most a day long")  # pragma: no cover
