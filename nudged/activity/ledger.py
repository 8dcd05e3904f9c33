"""The usage ledger: present time, attributed and split at local midnight.

Segments come from :class:`~nudged.activity.presence.Presence`. Each is attributed
(app id, and a site or category when a plugin's rules match) and written to the
store, extending the previous row when it continues it. Titles are never written.
The presence machine is flushed on a heartbeat, so after a crash the ledger ends
at the last heartbeat: time is lost rather than invented.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

from nudged.activity.base import Focus


@dataclass(frozen=True)
class Attribution:
    """Where present time is counted. ``category`` and ``site`` come from plugin rules."""

    app: str | None = None
    category: str | None = None
    site: str | None = None


@dataclass
class Usage:
    """Present time for one day."""

    day: date
    total: timedelta = timedelta(0)
    by_app: dict[str, timedelta] = field(default_factory=lambda: defaultdict(timedelta))
    by_category: dict[str, timedelta] = field(default_factory=lambda: defaultdict(timedelta))
    by_site: dict[str, timedelta] = field(default_factory=lambda: defaultdict(timedelta))

    def add(self, attribution: Attribution, amount: timedelta) -> None:
        self.total += amount
        self.by_app[attribution.app or "(unknown)"] += amount
        if attribution.category:
            self.by_category[attribution.category] += amount
        if attribution.site:
            self.by_site[attribution.site] += amount

    def as_json(self) -> dict[str, object]:
        def mins(d: dict[str, timedelta]) -> dict[str, float]:
            return {k: round(v.total_seconds() / 60, 1)
                    for k, v in sorted(d.items(), key=lambda kv: -kv[1])}
        return {"day": self.day.isoformat(),
                "total_minutes": round(self.total.total_seconds() / 60, 1),
                "by_app": mins(self.by_app), "by_category": mins(self.by_category),
                "by_site": mins(self.by_site)}


class UsageStore(Protocol):
    def add_usage(self, day: str, start: datetime, end: datetime, app: str | None,
                  category: str | None, site: str | None) -> int: ...
    def extend_usage(self, row: int, start: datetime, end: datetime) -> None: ...
    def usage_totals(self, day: str) -> list[tuple[str | None, str | None, str | None, float]]: ...


def split_at_midnight(start: datetime, end: datetime, tz: tzinfo
                      ) -> list[tuple[date, datetime, datetime]]:
    """Pieces of [start, end) per local day, as (local date, UTC start, UTC end).

    The pieces are in UTC so that their lengths are real time: two datetimes of one
    zone subtract by wall clock in Python, which loses the extra hour of an autumn DST
    night (and invents one in spring).
    """
    pieces = []
    cursor = start.astimezone(UTC)
    end = end.astimezone(UTC)
    while cursor < end:
        local_day = cursor.astimezone(tz).date()
        next_midnight = datetime.combine(local_day + timedelta(days=1), time(0), tz)
        piece_end = min(end, next_midnight.astimezone(UTC))
        pieces.append((local_day, cursor, piece_end))
        cursor = piece_end
    return pieces


class UsageLedger:
    def __init__(self, store: UsageStore, tz: tzinfo,
                 classify: Callable[[Focus | None], Attribution] | None = None) -> None:
        self.store = store
        self.tz = tz
        self.classify = classify or (lambda f: Attribution(f.app if f else None))
        self._last: tuple[int, tuple[str, Attribution], datetime, datetime] | None = None

    def add_segment(self, start: datetime, end: datetime, focus: Focus | None) -> None:
        attribution = self.classify(focus)
        for day, piece_start, piece_end in split_at_midnight(start, end, self.tz):
            key = (day.isoformat(), attribution)
            last = self._last
            if last is not None and last[1] == key and last[3] == piece_start:
                self.store.extend_usage(last[0], last[2], piece_end)
                self._last = (last[0], key, last[2], piece_end)
            else:
                row = self.store.add_usage(key[0], piece_start, piece_end, attribution.app,
                                           attribution.category, attribution.site)
                self._last = (row, key, piece_start, piece_end)

    def day(self, day: date, open_segment: tuple[datetime, datetime, Focus | None] | None = None
            ) -> Usage:
        """Totals for a local day, plus the still-open segment when given."""
        usage = Usage(day)
        for app, category, site, seconds in self.store.usage_totals(day.isoformat()):
            usage.add(Attribution(app, category, site), timedelta(seconds=seconds))
        if open_segment is not None:
            start, end, focus = open_segment
            attribution = self.classify(focus)
            for piece_day, s, e in split_at_midnight(start, end, self.tz):
                if piece_day == day:
                    usage.add(attribution, e - s)
        return usage
