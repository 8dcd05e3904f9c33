"""The arithmetic of screen time: where today's budget nudges fall, and the session count.

Kept apart from the plugin (no ``ctx``, no clock of its own: every call carries its
time) so that the rules can be read, and tested, on their own. Every instant is kept
in UTC: two times in one ``ZoneInfo`` subtract by their wall-clock fields, which is
an hour off across a DST change.

Budget steps
    A day's budget nudges are points in *present time today* (the usage ledger's
    total), not on the clock: a warning at each fraction of ``warn_at`` (0.75 of 8
    hours: when the total reaches 6 hours), and past the budget one every
    ``over_every`` of present time after the previous over-budget nudge (the one at
    the limit, a fraction above 1, or a repeat). Away time adds nothing to the total,
    so the repeats stop while the person is away and carry on where they were when
    they are back. :func:`pending_steps` lists what is still to come today;
    :func:`crossed` picks what a total has reached.

The session
    :class:`Session` counts present time since the last real break: an absence of at
    least ``break_length`` starts a new session; a shorter one pauses the count (1h50
    present, 3 minutes away, 10 more: 2 hours). The activity layer's own
    ``continuous()`` starts again after any absence, which is why the plugin counts
    for itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

ZERO = timedelta(0)

#: The kinds of budget nudge, which are also their nudge ids.
WARNING, LIMIT, OVER = "warning", "limit", "over"


def utc(moment: datetime) -> datetime:
    """``moment`` as a UTC instant (see the module docstring)."""
    return moment.astimezone(UTC)


def next_midnight(now: datetime, tz: tzinfo) -> datetime:
    """The start of the next local day after ``now``."""
    day = now.astimezone(tz).date() + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=tz)


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


def _seconds(value: Any) -> timedelta | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    return None


# ------------------------------------------------------------------------ budget steps


def kind_of(fraction: float) -> str:
    """Below the budget a warning, at it the limit, beyond it an over-budget nudge."""
    if fraction < 1:
        return WARNING
    return LIMIT if fraction == 1 else OVER


@dataclass(frozen=True)
class Step:
    """One budget nudge still to come today: when the present total reaches ``total``.

    ``fraction`` is the ``warn_at`` fraction it stands for, or None for an over-budget
    repeat.
    """

    total: timedelta
    kind: str
    fraction: float | None = None


def pending_steps(budget: timedelta, warn_at: Sequence[float], fired: Sequence[float],
                  over_at: timedelta | None, over_every: timedelta) -> list[Step]:
    """Today's budget nudges still to come, in order.

    Every fraction not yet warned about, and the next over-budget repeat:
    ``over_every`` after the last over-budget nudge (``over_at``, a present total), or
    after the budget itself when there has been none (with ``warn_at`` lacking 1.0
    the first reminder comes ``over_every`` past the budget).
    """
    steps = [Step(budget * fraction, kind_of(fraction), fraction)
             for fraction in warn_at if fraction not in fired]
    anchor = over_at if over_at is not None and over_at >= budget else budget
    steps.append(Step(anchor + over_every, OVER))
    return sorted(steps, key=lambda step: (step.total, step.fraction is None))


def crossed(steps: Sequence[Step], total: timedelta, early: timedelta = ZERO) -> list[Step]:
    """The steps ``total`` has reached (allowing a deadline to run ``early``)."""
    return [step for step in steps if step.total <= total + early]


def strongest(steps: Sequence[Step]) -> Step:
    """The one nudge to show for several steps reached at once (after a restart, or a
    day that began before nudged did): the furthest along, so that the words are
    about where the person is now. A fraction wins a tie with a repeat."""
    return max(steps, key=lambda step: (step.total, step.fraction is not None))


@dataclass
class DayRecord:
    """What happened with today's budget, kept in ``ctx.state`` under its local date
    so that a restart neither repeats a warning nor forgets the over-budget rhythm.

    ``total``, ``as_of`` and ``present`` are the last look at the ledger, from which
    the day's total is told when the day ends (see the plugin's ``_roll_day``).
    """

    day: date
    fired: list[float] = field(default_factory=list)
    over_at: timedelta | None = None
    quiet: bool = False
    nudges: int = 0
    total: timedelta = ZERO
    as_of: datetime | None = None
    present: bool = False

    def snapshot(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "fired": list(self.fired),
            "over_at_s": None if self.over_at is None else self.over_at.total_seconds(),
            "quiet": self.quiet,
            "nudges": self.nudges,
            "total_s": self.total.total_seconds(),
            "as_of": _iso(self.as_of),
            "present": self.present,
        }

    @classmethod
    def restore(cls, saved: Any) -> DayRecord | None:
        """The record kept by an earlier run, or None if there is none usable.

        ``present`` is not restored: nobody watched the screen while nudged was not
        running, so the total is not carried past ``as_of``.
        """
        if not isinstance(saved, dict):
            return None
        try:
            day = date.fromisoformat(str(saved.get("date")))
        except ValueError:
            return None
        fired = saved.get("fired")
        nudges = saved.get("nudges")
        return cls(
            day=day,
            fired=[float(f) for f in fired if isinstance(f, int | float)]
            if isinstance(fired, list) else [],
            over_at=_seconds(saved.get("over_at_s")),
            quiet=saved.get("quiet") is True,
            nudges=nudges if isinstance(nudges, int) and nudges >= 0 else 0,
            total=_seconds(saved.get("total_s")) or ZERO,
            as_of=_parse(saved.get("as_of")),
        )


# ----------------------------------------------------------------------------- session


@dataclass
class Session:
    """Present time since the last real break, in stretches.

    ``stretch_start`` is set while the person is at the screen, ``away_since`` while
    they are not; ``bank`` holds the present time of the closed stretches of this
    session. ``began`` is when the session started (after the last real break);
    ``asked`` counts the continuous-session nudges it has had, the last at ``asked_at``.
    """

    stretch_start: datetime | None = None
    away_since: datetime | None = None
    bank: timedelta = ZERO
    began: datetime | None = None
    asked: int = 0
    asked_at: datetime | None = None

    @property
    def present(self) -> bool:
        return self.stretch_start is not None

    def length(self, now: datetime) -> timedelta:
        """Present time in this session up to ``now``."""
        if self.stretch_start is None:
            return self.bank
        return self.bank + max(ZERO, utc(now) - self.stretch_start)

    def reaches(self, length: timedelta) -> datetime | None:
        """When the session reaches ``length`` if the person stays; None while away."""
        if self.stretch_start is None:
            return None
        return self.stretch_start + max(ZERO, length - self.bank)

    def left(self, at: datetime) -> None:
        """The person left at ``at`` (idle is back-dated to the last input)."""
        if self.stretch_start is None:
            return
        at = utc(at)
        self.bank += max(ZERO, at - self.stretch_start)
        self.stretch_start = None
        self.away_since = at

    def came_back(self, at: datetime, break_length: timedelta) -> bool:
        """The person is back at ``at``. True when the absence was a real break (or
        there was no session yet): a new session starts."""
        if self.stretch_start is not None:
            return False
        at = utc(at)
        away_since, self.away_since = self.away_since, None
        self.stretch_start = at
        if away_since is None or at - away_since >= break_length or self.began is None:
            self.bank, self.asked, self.began = ZERO, 0, at
            return True
        return False

    def ask(self, now: datetime, continuous: timedelta, early: timedelta = ZERO) -> None:
        """A continuous-session nudge goes out at ``now``: the next one is due at the
        next whole multiple of ``continuous``."""
        reached = int((self.length(now) + early) / continuous)
        self.asked = max(self.asked + 1, reached)
        self.asked_at = utc(now)

    def broke_since(self, moment: datetime) -> bool:
        """Whether a new session began (a real break ended) after ``moment``."""
        return self.began is not None and self.began > utc(moment)

    def taken_break_while_away(self, now: datetime, break_length: timedelta) -> bool:
        """Whether the absence going on has become a real break by ``now``."""
        return self.away_since is not None and utc(now) - self.away_since >= break_length

    def snapshot(self, now: datetime) -> dict[str, Any]:
        """A JSON-able picture of the session as of ``now`` (for ``ctx.state``)."""
        return {
            "at": utc(now).isoformat(),
            "present": self.present,
            "length_s": self.length(now).total_seconds(),
            "away_since": _iso(self.away_since),
            "began": _iso(self.began),
            "asked": self.asked,
            "asked_at": _iso(self.asked_at),
        }

    @classmethod
    def restore(cls, saved: Any, now: datetime, present_since: datetime | None,
                break_length: timedelta) -> Session:
        """The session after a config reload or a restart.

        ``present_since`` is when the activity layer's present stretch began (None if
        the person is away now). A reload keeps the activity layer, so a stretch that
        began before the snapshot simply goes on. After a restart, the time between
        the snapshot and the new stretch counts as an absence: a break if it is long
        enough, a pause if not.
        """
        now = utc(now)
        present_since = None if present_since is None else utc(present_since)
        session = cls()
        at = _parse(saved.get("at")) if isinstance(saved, dict) else None
        if not isinstance(saved, dict) or at is None or at > now:
            if present_since is None:
                session.away_since = now
            else:
                session.stretch_start = session.began = present_since
            return session
        session.bank = _seconds(saved.get("length_s")) or ZERO
        session.began = _parse(saved.get("began")) or at
        asked = saved.get("asked")
        session.asked = asked if isinstance(asked, int) and asked >= 0 else 0
        session.asked_at = _parse(saved.get("asked_at"))
        was_present = saved.get("present") is True
        left = at if was_present else (_parse(saved.get("away_since")) or at)
        session.away_since = left
        if present_since is None:
            return session
        if was_present and present_since <= at:
            session.away_since, session.stretch_start = None, at  # the same stretch
            return session
        session.came_back(max(present_since, left), break_length)
        return session
