"""The arithmetic of movement breaks: counting present time, and when a nudge may come.

Kept apart from the plugin (no ``ctx``, no clock of its own: every call carries its
time) so that the rules can be read, and tested, on their own.

The count
    :class:`PresenceCount` adds up present time in stretches. Leaving the screen
    closes a stretch; coming back opens a new one. An absence of at least
    ``break_length`` is a break and sets the count back to zero; a shorter one only
    pauses it (40 minutes present, 2 away, 10 present: 50 minutes). Two counts run
    side by side: time since the last *break* (what a natural break needs before it
    counts as one, and what the journal records) and time since the last *ask* (a
    nudge shown, or a snooze pressed), which is what the next nudge waits for.

When a nudge may come
    :func:`next_allowed` takes the moment the count would reach ``after`` and moves it
    to the first moment that is inside the window and, with ``at_minute``, on that
    minute of the hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from nudged.humanize import Window

ZERO = timedelta(0)
MINUTE = timedelta(minutes=1)
#: Window openings :func:`next_allowed` looks at before giving up (over a week's worth
#: for a window that opens once a day; the config check rules out windows that never
#: contain ``at_minute``, so this is a guard, not a limit anyone meets).
SEARCH_STEPS = 64


def align_to_minute(moment: datetime, minute: int, tz: tzinfo) -> datetime:
    """The first moment at or after ``moment`` that reads ``HH:<minute>:00`` locally.

    Walks whole minutes in UTC and reads each on the local clock, so a DST change
    in between (or a zone whose offset is not whole hours) cannot put it on the
    wrong minute.
    """
    utc = moment.astimezone(UTC)
    start = utc.replace(second=0, microsecond=0)
    if start < utc:
        start += MINUTE
    for step in range(24 * 60 + 1):
        candidate = start + step * MINUTE
        local = candidate.astimezone(tz)
        if local.minute == minute:
            return local
    raise AssertionError("unreachable: every hour has each minute")  # pragma: no cover


def next_allowed(earliest: datetime, tz: tzinfo, window: Window | None,
                 at_minute: int | None) -> datetime | None:
    """The first moment at or after ``earliest`` when a movement nudge may appear.

    Inside ``window`` (any time without one) and, with ``at_minute``, on that minute
    of the hour. ``None`` if there is no such moment in the next weeks (a window
    too short to hold that minute; the config model refuses those).
    """
    moment = earliest.astimezone(tz)
    for _ in range(SEARCH_STEPS):
        if at_minute is not None:
            moment = align_to_minute(moment, at_minute, tz)
        if window is None or window.contains(moment):
            return moment
        moment = window.next_start(moment)
    return None


def window_holds_minute(window: Window, minute: int) -> bool:
    """Whether some ``HH:<minute>`` falls inside ``window`` (checked on the wall clock)."""
    start = window.start.hour * 60 + window.start.minute
    end = window.end.hour * 60 + window.end.minute
    length = (end - start) % (24 * 60) or 24 * 60
    return any((start + offset) % 60 == minute for offset in range(min(length, 60)))


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC. Two times in the same ``ZoneInfo`` compare and subtract by
    their wall-clock fields, which is an hour off across the autumn DST change; in
    UTC they are just instants."""
    return moment.astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _parse(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return utc(moment) if moment.tzinfo is not None else None


@dataclass
class PresenceCount:
    """Present time since the last break and since the last ask, in stretches.

    ``stretch_start`` is set while the person is at the screen (the open stretch
    began there, or at the last ask or reset inside it); ``away_since`` while they
    are not. The banks hold the present time of closed stretches. Every instant is
    kept in UTC (see :func:`utc`), whatever zone the caller's times are in.
    """

    stretch_start: datetime | None = None
    away_since: datetime | None = None
    bank_break: timedelta = ZERO
    bank_ask: timedelta = ZERO
    #: When the count was last set back to zero (a break), if ever.
    reset_at: datetime | None = None

    # -- queries ----------------------------------------------------------------------
    @property
    def present(self) -> bool:
        return self.stretch_start is not None

    def _open(self, now: datetime) -> timedelta:
        if self.stretch_start is None:
            return ZERO
        return max(ZERO, utc(now) - self.stretch_start)

    def since_break(self, now: datetime) -> timedelta:
        """Present time since the last break (or since nudged started watching)."""
        return self.bank_break + self._open(now)

    def since_ask(self, now: datetime) -> timedelta:
        """Present time since the last nudge was shown or snoozed (or the last break)."""
        return self.bank_ask + self._open(now)

    def reaches(self, after: timedelta) -> datetime | None:
        """When ``since_ask`` reaches ``after`` if the person stays; None while away."""
        if self.stretch_start is None:
            return None
        return self.stretch_start + max(ZERO, after - self.bank_ask)

    # -- changes ----------------------------------------------------------------------
    def _close(self, at: datetime) -> None:
        """Move the open stretch up to ``at`` into the banks (a back-dated ``at`` that
        lies before the stretch start adds nothing)."""
        piece = self._open(at)
        self.bank_break += piece
        self.bank_ask += piece

    def left(self, at: datetime) -> None:
        """The person left the screen at ``at`` (idle back-dated, lock, sleep)."""
        if self.stretch_start is None:
            return
        at = utc(at)
        self._close(at)
        self.stretch_start = None
        self.away_since = at

    def came_back(self, at: datetime, break_length: timedelta) -> timedelta | None:
        """The person is back at ``at``. Returns how long they were away if that was a
        break (the count starts again from zero), or None if it only paused the count."""
        if self.stretch_start is not None:
            return None
        at = utc(at)
        away_since, self.away_since = self.away_since, None
        self.stretch_start = at
        if away_since is None:
            return None
        away = at - away_since
        if away >= break_length:
            self.bank_break = self.bank_ask = ZERO
            self.reset_at = at
            return away
        return None

    def asked(self, at: datetime) -> None:
        """A nudge was shown (or snoozed) at ``at``: the next one waits a full ``after``."""
        at = utc(at)
        if self.stretch_start is not None:
            self._close(at)
            self.stretch_start = max(self.stretch_start, at)
        self.bank_ask = ZERO

    def reset(self, at: datetime) -> None:
        """A break was taken ("Done"): both counts start again at ``at``."""
        at = utc(at)
        if self.stretch_start is not None:
            self.stretch_start = max(self.stretch_start, at)
        self.bank_break = self.bank_ask = ZERO
        self.reset_at = at

    def taken_break_while_away(self, now: datetime, break_length: timedelta) -> bool:
        """Whether the absence going on (as far as we know) has become a break by ``now``."""
        return self.away_since is not None and utc(now) - self.away_since >= break_length

    # -- persistence ------------------------------------------------------------------
    def snapshot(self, now: datetime) -> dict[str, Any]:
        """A JSON-able picture of the count as of ``now`` (for ``ctx.state``)."""
        return {
            "at": utc(now).isoformat(),
            "present": self.present,
            "since_break_s": self.since_break(now).total_seconds(),
            "since_ask_s": self.since_ask(now).total_seconds(),
            "away_since": _iso(self.away_since),
            "reset_at": _iso(self.reset_at),
        }

    @classmethod
    def restore(cls, saved: Any, now: datetime, present_since: datetime | None,
                break_length: timedelta) -> PresenceCount:
        """The count after a config reload or a restart.

        ``present_since`` is when the activity layer's present stretch began (None
        if the person is away now). A reload keeps the activity layer, so a stretch
        that began before the snapshot simply goes on. After a restart (or any gap
        we did not see), the time between the snapshot and the new stretch counts
        as an absence: a break if it is long enough, a pause if not.
        """
        count = cls()
        now = utc(now)
        present_since = None if present_since is None else utc(present_since)
        at = _parse(saved.get("at")) if isinstance(saved, dict) else None
        if at is None or at > now:
            # Nothing usable: start counting from what the activity layer says.
            count.stretch_start = present_since
            count.away_since = None if present_since is not None else now
            return count
        try:
            since_break = timedelta(seconds=float(saved.get("since_break_s", 0)))
            since_ask = timedelta(seconds=float(saved.get("since_ask_s", 0)))
        except (TypeError, ValueError):
            since_break = since_ask = ZERO
        count.bank_break, count.bank_ask = max(ZERO, since_break), max(ZERO, since_ask)
        count.reset_at = _parse(saved.get("reset_at"))
        was_present = bool(saved.get("present"))
        left = at if was_present else (_parse(saved.get("away_since")) or at)
        if present_since is None:
            count.away_since = left
            return count
        if was_present and present_since <= at:
            count.stretch_start = at  # the same stretch, counted up to ``at`` already
            return count
        count.away_since = left
        count.came_back(max(present_since, left), break_length)
        return count
