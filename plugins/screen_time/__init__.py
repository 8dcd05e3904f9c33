"""``screen_time``: a daily screen-time budget, and a word after a long unbroken stretch.

```toml
[plugins.screen_time]
daily = { "mon-fri" = "8h", "sat,sun" = "5h" }   # present time per day
warn_at = [0.75, 1.0]                            # fractions of the budget
over_every = "30m"                               # repeat while over budget and present
continuous = "2h"                                # present without a break of >= break_length
break_length = "5m"
```

What counts
    Present time only, as the activity layer's usage ledger has it for today
    (``ctx.activity.today().total``, which includes the stretch going on): idle, a
    locked screen and sleep add nothing. A day is the local calendar day; its budget
    is the one whose day set holds its weekday, and a day in none of them has no
    budget (only the continuous-session nudge).

When a budget nudge comes
    When today's present time reaches each fraction of the budget in ``warn_at``
    (0.75 of 8 hours: 6 hours), once a day per fraction, remembered in ``ctx.state``
    under the local date so a restart does not say it twice. Past the budget, one
    every ``over_every`` of present time after the previous over-budget nudge, while
    the person is at the screen: none while they are away, and when they come back
    the next one waits until they have been at the screen ``over_every`` since the
    last. Several steps reached at once (nudged started late in a long day) make one
    nudge, about where the person is now. "Quiet for today" on any of them ends that
    day's budget nudges. Midnight starts a new day: the total is zero again and the
    new day's budget applies, even in the middle of a stretch.

The continuous-session nudge
    After ``continuous`` of present time without a real break (an absence of at least
    ``break_length``; shorter ones pause the count), and again after each further
    ``continuous`` of the same session. A snoozed one is dropped if a break was taken
    meanwhile.

Deadlines, not polling
    Every presence change (``nudged_on_activity``) recomputes when the next step is
    reached from today's total and the time now, and moves one ``ctx.call_at``
    deadline for the budget, one for the session and one at the next local midnight.

The journal gets one entry of kind ``"day"`` when a day ends (``complete = true``) and
one at shutdown for the day in progress (``complete = false``; a later entry for the
same day supersedes it), with the day's present minutes, its budget, how many budget
nudges it had and whether the person asked for quiet.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError, ValidationInfo, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from nudged import (
    ActivityChange,
    Decision,
    Manual,
    Nudge,
    NudgeSpec,
    PluginConfig,
    PluginContext,
    Response,
    hookimpl,
)
from nudged.humanize import (
    Duration,
    HumanValueError,
    format_days,
    format_duration,
    parse_days,
    parse_duration,
)

from . import words
from .timing import (
    LIMIT,
    OVER,
    WARNING,
    ZERO,
    DayRecord,
    Session,
    Step,
    crossed,
    next_midnight,
    pending_steps,
    strongest,
    utc,
)

__all__ = ["ScreenTimeConfig", "ScreenTimePlugin"]

CONTINUOUS = "continuous"
BUDGET_NUDGES = (WARNING, LIMIT, OVER)
#: ``ctx.call_at`` keys.
BUDGET_DEADLINE, SESSION_DEADLINE, MIDNIGHT = "budget", "session", "midnight"
#: ``ctx.state`` keys.
DAY_STATE, SESSION_STATE = "day", "session"
#: A deadline may run this much early (timer rounding) and still count as reached.
EARLY = timedelta(seconds=1)
#: How long "15 more minutes" on the continuous-session nudge waits.
SESSION_SNOOZE = timedelta(minutes=15)
BUDGET_LABELS = {"done": "OK", "skip": "Quiet for today"}
SESSION_LABELS = {"done": "Taking a break", "snooze": "15 more minutes"}
#: The largest fraction of a budget ``warn_at`` may name.
MAX_FRACTION = 2.0
DEFAULT_DAILY = {"mon-fri": timedelta(hours=8), "sat,sun": timedelta(hours=5)}
DAILY_EXAMPLE = 'daily = { "mon-fri" = "8h", "sat,sun" = "5h" }'


# ------------------------------------------------------------------------------ config


def _error(message: str, loc: tuple[str | int, ...], value: object) -> ValidationError:
    """A validation error at ``loc`` below the field, so that the sentence names the
    key and line of the offending entry rather than the whole table."""
    # A template's "{...}" would be read as a placeholder; the message is final text.
    template = message.replace("{", "{{").replace("}", "}}")
    return ValidationError.from_exception_data("ScreenTimeConfig", [InitErrorDetails(
        type=PydanticCustomError("value_error", template), loc=loc, input=value)])


def _show(value: object) -> str:
    """A value as the person wrote it in TOML."""
    return json.dumps(value, default=str, ensure_ascii=False)


def _fraction(value: object) -> object:
    """Pydantic hook: a fraction of the budget is a number above 0 and at most 2."""
    hint = (f"a number above 0 and at most {MAX_FRACTION:g}: 0.75 is three quarters "
            "of the budget, 1.0 the budget itself")
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if 0 < number <= MAX_FRACTION:
            raise ValueError(f"{_show(value)} is not a fraction of the budget (write it "
                             f"without quotes: {number:g})")
        raise ValueError(f"{_show(value)} is not a fraction of the budget ({hint})")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{_show(value)} is not a fraction of the budget ({hint})")
    if not 0 < value <= MAX_FRACTION:
        raise ValueError(f"{_show(value)} is not a fraction of the budget ({hint})")
    return float(value)


Fraction = Annotated[float, BeforeValidator(_fraction)]


class ScreenTimeConfig(PluginConfig):
    """``[plugins.screen_time]``: every key has a default, so an empty table works."""

    daily: dict[str, Duration] = DEFAULT_DAILY
    warn_at: tuple[Fraction, ...] = (0.75, 1.0)
    over_every: Duration = timedelta(minutes=30)
    continuous: Duration = timedelta(hours=2)
    break_length: Duration = timedelta(minutes=5)

    @field_validator("daily", mode="before")
    @classmethod
    def _a_table(cls, value: object) -> object:
        """A table of day sets; one duration alone is a budget for every day."""
        if isinstance(value, str):
            try:
                parse_duration(value)
            except HumanValueError as error:
                raise ValueError(f"{error}; or a table of budgets: {DAILY_EXAMPLE}") \
                    from None
            return {"daily": value}
        if not isinstance(value, dict):
            raise ValueError(f"{_show(value)} is not a table of daily budgets (write them "
                             f"like {DAILY_EXAMPLE})")
        for key, text in value.items():
            # Checked here, where the budget is still the text the person wrote.
            try:
                budget = parse_duration(text) if isinstance(text, str) else None
            except HumanValueError:
                continue  # the Duration type explains it, at this key
            if budget is not None and budget <= ZERO:
                raise _error(f"{_show(text)} is too short (a daily budget needs a length, "
                             'like "8h")', (key,), text)
            if budget is not None and budget > timedelta(hours=24):
                raise _error(f"{_show(text)} is more than a day (a daily budget is at "
                             'most "24h")', (key,), text)
        return value

    @field_validator("daily")
    @classmethod
    def _days_and_budgets(cls, value: dict[str, timedelta]) -> dict[str, timedelta]:
        """Each key a day set, each budget a length within a day, each day once."""
        owner: dict[int, str] = {}
        for key, budget in value.items():
            try:
                days = parse_days(key)
            except HumanValueError as error:
                raise _error(str(error), (key,), key) from None
            if not ZERO < budget <= timedelta(hours=24):  # given as a timedelta in code
                raise _error(f"{_show(format_duration(budget))} is not a daily budget (it "
                             'needs a length of at most "24h", like "8h")', (key,), budget)
            shared = sorted(day for day in days if day in owner)
            if shared:
                raise _error(f"{_show(key)} overlaps {_show(owner[shared[0]])} on "
                             f"{format_days(shared)} (each day can have one budget)",
                             (key,), key)
            owner.update(dict.fromkeys(days, key))
        return value

    @field_validator("warn_at", mode="before")
    @classmethod
    def _a_list(cls, value: object) -> object:
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            raise ValueError(f"{_show(value)} is not a list of fractions (put it in "
                             f"brackets: warn_at = [{_show(value)}])")
        if not isinstance(value, list | tuple):
            raise ValueError(f"{_show(value)} is not a list of fractions (write them like "
                             "[0.75, 1.0])")
        return value

    @field_validator("warn_at")
    @classmethod
    def _in_order(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        fixed = sorted(set(value))
        shown = "[" + ", ".join(repr(f) for f in value) + "]"
        suggestion = "[" + ", ".join(repr(f) for f in fixed) + "]"
        if len(fixed) != len(value):
            twice = next(f for f in value if value.count(f) > 1)
            raise ValueError(f"{shown} names {twice!r} twice (each fraction once: "
                             f"{suggestion})")
        if list(value) != fixed:
            raise ValueError(f"{shown} is not in order (from small to large: {suggestion})")
        return value

    @field_validator("over_every", "continuous", "break_length")
    @classmethod
    def _positive(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        if value <= ZERO:
            example = {"over_every": "30m", "continuous": "2h"}.get(info.field_name or "",
                                                                   "5m")
            raise ValueError(f"{_show(format_duration(value))} is too short (it needs a "
                             f'length, like "{example}")')
        return value

    def budget_for(self, day: date) -> timedelta | None:
        """The budget of ``day``, or None when its weekday is in no day set."""
        for key, budget in self.daily.items():
            if day.weekday() in parse_days(key):
                return budget
        return None


# ------------------------------------------------------------------------------ plugin


class ScreenTimePlugin:
    """Watches today's present time against the day's budget, and the session's length.

    All state lives on the instance (a config reload makes a new one) and in
    ``ctx.state`` (``"day"``: today's record; ``"session"``: the count since the last
    real break), written at every change so that a reload or a restart carries on.
    """

    #: Runs only when the config has a table for it: a screen-time limit is personal.
    opt_in = True

    def __init__(self) -> None:
        self.ctx: PluginContext | None = None
        self.session = Session()
        self.record: DayRecord | None = None

    # -- set-up -----------------------------------------------------------------------
    @hookimpl
    def nudged_config_model(self) -> type[ScreenTimeConfig]:
        return ScreenTimeConfig

    @hookimpl
    def nudged_startup(self, ctx: PluginContext) -> None:
        """Pick up today's record and the session, finish a day left unfinished, arm."""
        self.ctx = ctx
        now = ctx.now()
        activity = ctx.activity
        present_since: datetime | None = now
        if activity is not None:
            present_since = now - activity.continuous() if activity.present() else None
        state = ctx.state
        saved_session = state.get(SESSION_STATE) if state is not None else None
        self.session = Session.restore(saved_session, now, present_since,
                                       self._config.break_length)
        self.record = DayRecord.restore(state.get(DAY_STATE) if state is not None else None)
        self._roll_day(now)
        self._look(now)
        self._save(now)
        self._arm()

    @hookimpl
    def nudged_register_nudges(self, register: Callable[[NudgeSpec], None]) -> None:
        for nudge_id, title, body in ((WARNING, words.WARNING_TITLE, words.WARNING_BODY),
                                      (LIMIT, words.LIMIT_TITLE, words.LIMIT_BODY),
                                      (OVER, words.OVER_TITLE, words.OVER_BODY)):
            register(NudgeSpec(id=nudge_id, title=title, body=body, schedule=Manual(),
                               buttons=("done", "skip"), labels=BUDGET_LABELS))
        register(NudgeSpec(id=CONTINUOUS, title=words.CONTINUOUS_TITLE,
                           body=words.CONTINUOUS_BODY, schedule=Manual(),
                           labels=SESSION_LABELS, snooze=SESSION_SNOOZE))

    @hookimpl
    def nudged_shutdown(self, ctx: PluginContext) -> None:
        """Journal the day so far, keep the counts, and leave no timer behind (a reload
        does not cancel plugin timers; the new instance arms its own)."""
        now = ctx.now()
        self._roll_day(now)
        self._look(now)
        record = self._record
        if ctx.journal is not None:
            ctx.journal.add("day", now, **self._day_entry(record, record.total,
                                                          complete=False))
        self._save(now)
        for key in (BUDGET_DEADLINE, SESSION_DEADLINE, MIDNIGHT):
            ctx.cancel(key)

    # -- presence ---------------------------------------------------------------------
    @hookimpl
    def nudged_on_activity(self, change: ActivityChange, ctx: PluginContext) -> None:
        """Leaving pauses everything; coming back recomputes every deadline."""
        if change.kind != "presence":
            return
        now = ctx.now()
        self._roll_day(now)
        if change.present:
            self.session.came_back(change.at, self._config.break_length)
        else:
            self.session.left(change.at)
        self._look(now)
        self._save(now)
        self._arm()

    # -- the day ----------------------------------------------------------------------
    def _roll_day(self, now: datetime) -> None:
        """Start a new record when the local date has changed, journaling the old day."""
        ctx = self._ctx
        today = now.astimezone(ctx.tz).date()
        record = self.record
        if record is not None and record.day == today:
            return
        if record is not None and record.day < today:
            end = next_midnight(datetime.combine(record.day, datetime.min.time(), ctx.tz),
                                ctx.tz)
            total = record.total
            if record.present and record.as_of is not None and self._counting():
                total += max(ZERO, min(utc(end), utc(now)) - record.as_of)
            if ctx.journal is not None:
                ctx.journal.add("day", end, **self._day_entry(record, total, complete=True))
        self.record = DayRecord(day=today)

    def _day_entry(self, record: DayRecord, total: timedelta, *, complete: bool
                   ) -> dict[str, Any]:
        budget = self._config.budget_for(record.day)
        return {
            "day": record.day.isoformat(),
            "present_minutes": _minutes(total),
            "budget_minutes": None if budget is None else _minutes(budget),
            "nudges": record.nudges,
            "quiet": record.quiet,
            "complete": complete,
        }

    def _midnight(self) -> None:
        now = self._ctx.now()
        self._roll_day(now)
        self._look(now)
        self._save(now)
        self._arm()

    # -- deadlines --------------------------------------------------------------------
    def _arm(self) -> None:
        """Put the three deadlines where today's total and the session say."""
        ctx = self._ctx
        now = ctx.now()
        ctx.call_at(next_midnight(now, ctx.tz), self._midnight, key=MIDNIGHT)
        self._arm_budget(now)
        self._arm_session()

    def _arm_budget(self, now: datetime) -> None:
        ctx = self._ctx
        step = self._steps(now)
        if step is None or not self._present():
            ctx.cancel(BUDGET_DEADLINE)
            return
        steps, total = step
        wait = max(ZERO, steps[0].total - total)
        ctx.call_at((utc(now) + wait).astimezone(ctx.tz), self._budget_due, key=BUDGET_DEADLINE)

    def _steps(self, now: datetime) -> tuple[list[Step], timedelta] | None:
        """Today's budget steps still to come and today's total, or None for no budget
        (a day without one, or quiet asked for)."""
        config = self._config
        record = self._record
        budget = config.budget_for(now.astimezone(self._ctx.tz).date())
        if budget is None or record.quiet:
            return None
        steps = pending_steps(budget, config.warn_at, record.fired, record.over_at,
                              config.over_every)
        return steps, self._total()

    def _budget_due(self) -> None:
        """Today's total reached a step (or several): one nudge, about where it is now."""
        ctx = self._ctx
        now = ctx.now()
        self._roll_day(now)
        self._look(now)
        found = self._steps(now)
        if found is None or not self._present():
            self._save(now)
            return
        steps, total = found
        reached = crossed(steps, total, EARLY)
        if not reached:
            self._arm_budget(now)
            return
        record = self._record
        budget = self._config.budget_for(record.day)
        assert budget is not None  # _steps found steps, so the day has a budget
        step = strongest(reached)
        record.fired.extend(s.fraction for s in reached if s.fraction is not None)
        if step.kind in (LIMIT, OVER):
            record.over_at = max(total, step.total)
        record.nudges += 1
        self._save(now)
        if step.kind == WARNING:
            title, body = words.warning_words(total, budget)
        elif step.kind == LIMIT:
            title, body = words.limit_words(budget)
        else:
            title, body = words.over_words(total, budget)
        ctx.fire(step.kind, title=title, body=body)
        self._arm_budget(now)

    def _arm_session(self) -> None:
        ctx = self._ctx
        when = self.session.reaches(self._config.continuous * (self.session.asked + 1))
        if when is None:
            ctx.cancel(SESSION_DEADLINE)
            return
        ctx.call_at(when.astimezone(ctx.tz), self._session_due, key=SESSION_DEADLINE)

    def _session_due(self) -> None:
        """The session reached the next multiple of ``continuous`` without a break."""
        ctx = self._ctx
        now = ctx.now()
        if not (self.session.present and self._present()):
            return  # the next presence change arms again
        config = self._config
        length = self.session.length(now)
        if length + EARLY < config.continuous * (self.session.asked + 1):
            self._arm_session()
            return
        self.session.ask(now, config.continuous, EARLY)
        self._save(now)
        if self._counting():  # without an idle source, uptime is not screen time
            title, body = words.continuous_words(length)
            ctx.fire(CONTINUOUS, title=title, body=body)
        self._arm_session()

    # -- the nudge on its way ---------------------------------------------------------
    @hookimpl
    def nudged_filter_nudge(self, nudge: Nudge, now: datetime,
                            ctx: PluginContext) -> Decision | None:
        """Drop our own nudges that are no longer true. Never says "allow", so quiet
        hours and other filters still have their say."""
        if nudge.plugin != ctx.name:
            return None
        if nudge.spec.id in BUDGET_NUDGES:
            if nudge.due_at.astimezone(ctx.tz).date() != now.astimezone(ctx.tz).date():
                return Decision.suppress("it was about another day's screen time")
            if self.record is not None and self.record.quiet:
                return Decision.suppress("quiet for today, as asked")
            return None
        if nudge.spec.id == CONTINUOUS:
            # A snoozed nudge comes back with a new ``due_at``: the ask is when it went out.
            session = self.session
            asked = session.asked_at if nudge.attempt > 0 and session.asked_at else nudge.due_at
            if session.taken_break_while_away(now, self._config.break_length) or \
                    session.broke_since(asked):
                return Decision.suppress("a break was taken since it was asked")
        return None

    @hookimpl
    def nudged_on_response(self, nudge: Nudge, response: Response, at: datetime,
                           ctx: PluginContext) -> None:
        """"Quiet for today" on a budget nudge ends that day's budget nudges."""
        if nudge.plugin != ctx.name or nudge.spec.id not in BUDGET_NUDGES:
            return
        if response is not Response.SKIP:
            return
        self._roll_day(at)
        if nudge.due_at.astimezone(ctx.tz).date() != self._record.day:
            return  # answered after midnight: about a day that is over
        self._record.quiet = True
        self._save(at)
        ctx.cancel(BUDGET_DEADLINE)

    # -- helpers ----------------------------------------------------------------------
    @property
    def _ctx(self) -> PluginContext:
        assert self.ctx is not None, "the screen_time plugin has not been started"
        return self.ctx

    @property
    def _config(self) -> ScreenTimeConfig:
        config = self._ctx.config
        return config if isinstance(config, ScreenTimeConfig) else ScreenTimeConfig()

    @property
    def _record(self) -> DayRecord:
        if self.record is None:
            self._roll_day(self._ctx.now())
        assert self.record is not None
        return self.record

    def _present(self) -> bool:
        activity = self._ctx.activity
        return activity is not None and bool(activity.present())

    def _counting(self) -> bool:
        """Whether present time is being counted: nudged can tell idle time. The hub's
        ``counting`` flag is not part of the documented ``ctx.activity`` yet."""
        return bool(getattr(self._ctx.activity, "counting", True))

    def _total(self) -> timedelta:
        activity = self._ctx.activity
        if activity is None:
            return ZERO
        total = activity.today().total
        return total if isinstance(total, timedelta) else ZERO

    def _look(self, now: datetime) -> None:
        """Note today's total as of ``now`` (told when the day ends)."""
        record = self._record
        record.total = self._total()
        record.as_of = utc(now)
        record.present = self._present()

    def _save(self, now: datetime) -> None:
        state = self._ctx.state
        if state is None:
            return
        state.set(SESSION_STATE, self.session.snapshot(now))
        if self.record is not None:
            state.set(DAY_STATE, self.record.snapshot())


def _minutes(span: timedelta) -> int:
    return max(0, round(span.total_seconds() / 60))
