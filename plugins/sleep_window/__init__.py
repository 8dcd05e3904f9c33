"""``sleep_window``: a steady bedtime, kindly kept.

```toml
[plugins.sleep_window]
bedtime = "23:00"
wake = "07:00"
wind_down = ["60m", "15m"]     # reminders before bedtime
repeat_every = "20m"           # while still at the screen after bedtime
max_repeats = 6                # per night
[plugins.sleep_window.days.fri]  # optional per-day overrides (mon..sun), either key
bedtime = "00:30"
```

Consistent sleep and wake times are one of the few things that reliably give a low
stretch some structure, and the evening is when the screen makes it hardest. So:

* wind-down reminders at each ``wind_down`` offset before bedtime, if the person is
  at the screen right then (one missed while away is not shown later: it would be
  about a moment that has passed);
* at bedtime, and every ``repeat_every`` after it while they are still at the screen,
  a gentle nudge, at most ``max_repeats`` repeats a night. Nothing while idle, locked
  or asleep; when they come back inside the window the repeats carry on at the next
  step of the same rhythm (bedtime + n * ``repeat_every``). Quiet hours do not
  silence these;
* "Not tonight" on any of them ends that night's reminders;
* each night's record goes to the journal (kind ``night``) when the window ends, or
  at shutdown for a night in progress, for the report to chart.

A night belongs to the evening it starts: a bedtime before noon is after midnight
(Friday's "00:30" is Saturday 00:30). Every moment is computed from the wall clock of
the configured time zone, so DST nights are an hour shorter or longer (see
:mod:`.nights`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from nudged import (
    ActivityChange,
    Manual,
    Nudge,
    NudgeSpec,
    PluginConfig,
    PluginContext,
    Response,
    hookimpl,
)
from nudged.humanize import DAY_NAMES, Duration, TimeOfDay, format_duration, format_time

from . import words
from .nights import Night, current_night, following

__all__ = ["DayOverride", "SleepWindowConfig", "SleepWindowPlugin"]

#: A sleep nudge more than this late is about a moment that has passed: dropped.
STALE_AFTER = timedelta(minutes=10)
#: More often than this after bedtime would feel like nagging.
MIN_REPEAT = timedelta(minutes=5)
#: Further back than this, a "before bedtime" reminder would land in the morning.
MAX_WIND_DOWN = timedelta(hours=12)
STATE_KEY = "night"

WIND_DOWN, BEDTIME, STILL_UP = "wind-down", "bedtime", "still-up"


# ------------------------------------------------------------------------------ config


class DayOverride(PluginConfig):
    """One weekday's night when it differs from the usual: its bedtime, its wake, or both.

    An empty table is the usual night, so a config can list all seven days with their
    keys commented out and fill in only the ones that differ.
    """

    bedtime: TimeOfDay | None = None
    wake: TimeOfDay | None = None


class DayOverrides(PluginConfig):
    """``[plugins.sleep_window.days.<mon..sun>]``: the night that starts on that day."""

    mon: DayOverride | None = None
    tue: DayOverride | None = None
    wed: DayOverride | None = None
    thu: DayOverride | None = None
    fri: DayOverride | None = None
    sat: DayOverride | None = None
    sun: DayOverride | None = None


def _problem(model: type[PluginConfig], loc: tuple[str, ...], message: str,
             value: object) -> ValidationError:
    """A validation error at ``loc``, so the sentence names the exact key and line.

    A model validator's own errors would point at the whole table; the person should
    be sent to the ``wake`` (or ``bedtime``) line that makes the night empty.
    """
    return ValidationError.from_exception_data(model.__name__, [InitErrorDetails(
        type=PydanticCustomError("value_error", message), loc=loc, input=value)])


class SleepWindowConfig(PluginConfig):
    """``[plugins.sleep_window]``."""

    bedtime: TimeOfDay = time(23, 0)
    wake: TimeOfDay = time(7, 0)
    wind_down: tuple[Duration, ...] = (timedelta(minutes=60), timedelta(minutes=15))
    repeat_every: Duration = timedelta(minutes=20)
    max_repeats: Annotated[int, Field(ge=0, le=50, strict=True)] = 6
    days: DayOverrides = DayOverrides()

    @field_validator("wind_down")
    @classmethod
    def _before_bedtime(cls, value: tuple[timedelta, ...]) -> tuple[timedelta, ...]:
        seen: set[timedelta] = set()
        for offset in value:
            text = format_duration(offset)
            if offset <= timedelta(0):
                raise ValueError(f'"{text}" is not a time before bedtime (try "15m")')
            if offset > MAX_WIND_DOWN:
                raise ValueError(f'"{text}" is too long before bedtime (at most "12h")')
            if offset in seen:
                raise ValueError(f'"{text}" is listed twice')
            seen.add(offset)
        return tuple(sorted(value, reverse=True))  # earliest reminder first

    @field_validator("repeat_every")
    @classmethod
    def _not_too_often(cls, value: timedelta) -> timedelta:
        if value < MIN_REPEAT:
            raise ValueError(f'"{format_duration(value)}" is too often (at least "5m": '
                             "more often would feel like nagging)")
        return value

    @model_validator(mode="after")
    def _nights_have_a_length(self) -> SleepWindowConfig:
        if self.bedtime == self.wake:
            raise _problem(type(self), ("wake",),
                           f'bedtime and wake are both "{format_time(self.wake)}" '
                           "(the night needs a length)", format_time(self.wake))
        for name in DAY_NAMES:
            override: DayOverride | None = getattr(self.days, name)
            if override is None:
                continue
            bed, wake = override.bedtime or self.bedtime, override.wake or self.wake
            if bed == wake:
                key = "wake" if override.wake is not None else "bedtime"
                raise _problem(type(self), ("days", name, key),
                               f'bedtime and wake are both "{format_time(wake)}" '
                               "that night (the night needs a length)", format_time(wake))
        return self

    def rule(self, weekday: int) -> tuple[time, time]:
        """(bedtime, wake) for the night that starts on ``weekday`` (0 = Monday)."""
        override: DayOverride | None = getattr(self.days, DAY_NAMES[weekday])
        if override is None:
            return self.bedtime, self.wake
        return override.bedtime or self.bedtime, override.wake or self.wake


# ------------------------------------------------------------------------------ record


@dataclass
class NightRecord:
    """What this night has been like so far; kept in ``ctx.state`` across restarts."""

    night: str
    reminders: int = 0  # sleep nudges shown for this night (wind-down included)
    repeats: int = 0  # repeats after bedtime fired so far (counted against max_repeats)
    present_in_window: bool = False
    last_present: str | None = None  # UTC ISO: last moment at the screen in the window
    present_seconds: float = 0.0
    skipped: bool = False  # "Not tonight"
    watched: bool = False  # nudged ran at some moment inside the window
    recorded: bool = False  # a record was written for it (at a shutdown)
    bedtime: str = ""
    wake: str = ""

    @classmethod
    def restore(cls, saved: Any) -> NightRecord | None:
        if not isinstance(saved, dict):
            return None
        try:
            return cls(**saved)
        except TypeError:  # written by another version of this plugin
            return None


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _late(now: datetime, due: datetime) -> bool:
    """Whether a deadline runs so late that its nudge would be about a moment gone.

    A deadline that passed while the machine slept runs on resume; the engine's
    ``stale_after`` cannot catch it, since the nudge is only made due then.
    """
    return now - due > STALE_AFTER


def _local_iso(moment: datetime, ctx: PluginContext) -> str:
    return moment.astimezone(ctx.tz).isoformat(timespec="seconds")


# ------------------------------------------------------------------------------ plugin


class SleepWindowPlugin:
    """Wind-down, bedtime and still-up nudges around one sleep window a night.

    Everything is driven by deadlines (``ctx.call_at``): each wind-down, bedtime, the
    next repeat while the person is at the screen, and the wake-up that ends the
    night. Presence changes arrive through ``nudged_on_activity``; nothing polls.
    """

    #: Runs only when the config has a table for it (see docs/hooks.md).
    opt_in = True

    def __init__(self) -> None:
        self.ctx: PluginContext | None = None
        self.config: SleepWindowConfig | None = None
        self.night: Night | None = None
        self.record: NightRecord | None = None
        #: When the current stretch at the screen began (UTC), None while away.
        self.present_since: datetime | None = None
        #: The last step (bedtime + n * repeat_every) a repeat fired at, this night.
        self._last_step = 0
        self._keys: set[str] = set()

    # -- hooks ----------------------------------------------------------------------
    @hookimpl
    def nudged_config_model(self) -> type[SleepWindowConfig]:
        """The keys people write under ``[plugins.sleep_window]``."""
        return SleepWindowConfig

    @hookimpl
    def nudged_register_nudges(self, register: Callable[[NudgeSpec], None],
                               ctx: PluginContext) -> None:
        """Three manual nudges, fired by this plugin's own deadlines.

        Manual, because whether one is due depends on presence at that moment and on
        the night (per-day overrides, DST), which no fixed schedule can say. None is
        held by quiet hours: they usually cover exactly these hours. No snooze
        button: the next reminder of the evening already comes by itself.
        """
        config: SleepWindowConfig = ctx.config
        title, body = words.wind_down(config.bedtime, timedelta(hours=1), 0, 1)
        register(NudgeSpec(
            id=WIND_DOWN, title=title, body=body, schedule=Manual(),
            stale_after=STALE_AFTER, quiet_hours_apply=False,
            buttons=("done", "skip"), labels=words.WIND_DOWN_LABELS,
        ))
        title, body = words.bedtime(config.wake)
        register(NudgeSpec(
            id=BEDTIME, title=title, body=body, schedule=Manual(),
            stale_after=STALE_AFTER, quiet_hours_apply=False,
            buttons=("done", "skip"), labels=words.BEDTIME_LABELS,
        ))
        title, body = words.repeat(0, config.bedtime, config.wake)
        register(NudgeSpec(
            id=STILL_UP, title=title, body=body, schedule=Manual(),
            stale_after=min(STALE_AFTER, config.repeat_every / 2), quiet_hours_apply=False,
            buttons=("done", "skip"), labels=words.BEDTIME_LABELS,
        ))

    @hookimpl
    def nudged_startup(self, ctx: PluginContext) -> None:
        """Find the current night, carry on its counts after a restart, arm deadlines."""
        self.ctx = ctx
        self.config = ctx.config
        now = _utc(ctx.now())
        if ctx.activity is not None and ctx.activity.present():
            self.present_since = now
        night = current_night(now, self.config.rule, ctx.tz)
        saved = NightRecord.restore(ctx.state.get(STATE_KEY))
        if saved is not None and saved.night == night.day.isoformat():
            record = saved  # a restart inside the same night: counts carry on
        else:
            if saved is not None and saved.watched and not saved.recorded:
                self._write(saved, "interrupted")  # nudged stopped without a shutdown
            record = NightRecord(night.day.isoformat())
        self._begin(night, record, now)

    @hookimpl
    def nudged_on_activity(self, change: ActivityChange, ctx: PluginContext) -> None:
        """Leaving stops the repeats and notes the stretch; coming back resumes them."""
        if change.kind != "presence" or self.night is None:
            return
        now = self._catch_up()
        at = min(_utc(change.at), now)
        if change.present:
            if self.present_since is None:
                self.present_since = at
            self._arm_repeat(now)
        else:
            if self.present_since is not None:
                self._account(self.present_since, at)
                self.present_since = None
                self._save()
            self._cancel("repeat")

    @hookimpl
    def nudged_on_nudge_shown(self, nudge: Nudge, at: datetime, ctx: PluginContext) -> None:
        """Count what the person actually saw (a rate-limited nudge may never show)."""
        if nudge.plugin != ctx.name or self.record is None:
            return
        self._catch_up()
        self.record.reminders += 1
        self._save()

    @hookimpl
    def nudged_on_response(self, nudge: Nudge, response: Response, at: datetime,
                           ctx: PluginContext) -> None:
        """"Not tonight" ends the night's reminders: the person decides, once."""
        if nudge.plugin != ctx.name or self.record is None or response is not Response.SKIP:
            return
        self._catch_up()
        assert self.config is not None and self.night is not None
        if current_night(nudge.due_at, self.config.rule, ctx.tz) != self.night:
            return  # answered after that night ended: the coming night is untouched
        self.record.skipped = True
        self._save()
        for key in list(self._keys):
            if key != "wake":
                self._cancel(key)

    @hookimpl
    def nudged_shutdown(self, ctx: PluginContext) -> None:
        """Record a night in progress (the laptop shut down at 00:30 is worth knowing)
        and leave no deadlines behind for a config reload to trip over."""
        if self.night is None or self.record is None:
            return
        now = self._catch_up()
        for key in list(self._keys):  # a reload must not leave deadlines behind
            self._cancel(key)
        if self.night.contains(now):
            if self.present_since is not None:
                self._account(self.present_since, now)
                self.present_since = now
            self.record.watched = True
            self._write(self.record, "shutdown")
            self.record.recorded = True
        self._save()

    # -- the night --------------------------------------------------------------------
    def _begin(self, night: Night, record: NightRecord, now: datetime) -> None:
        """Make ``night`` the current one and arm its deadlines that are still ahead."""
        assert self.ctx is not None and self.config is not None
        self.night, self.record = night, record
        self._last_step = 0
        record.bedtime = night.bedtime.isoformat()
        record.wake = night.wake.isoformat()
        if night.contains(now):
            record.watched = True
        self._save()
        self._call_at(night.wake, "wake", self._on_wake)
        if record.skipped:
            return
        offsets = self.config.wind_down
        for position, before in enumerate(offsets):
            at = night.bedtime - before
            if at >= now:
                self._call_at(at, f"wind-{position}",
                              partial(self._on_wind_down, night, position, before))
        if night.bedtime >= now:
            self._call_at(night.bedtime, "bedtime", partial(self._on_bedtime, night))
        else:
            self._arm_repeat(now)

    def _catch_up(self) -> datetime:
        """Finish every night whose wake-up has passed (a deadline may come late, after
        a suspend, or after a presence change that arrived first); returns now in UTC."""
        assert self.ctx is not None and self.config is not None
        now = _utc(self.ctx.now())
        while self.night is not None and self.record is not None and now >= self.night.wake:
            night, record = self.night, self.record
            if self.present_since is not None:
                self._account(self.present_since, night.wake)
                self.present_since = max(self.present_since, night.wake)
            record.watched = True
            self._write(record, "wake")
            for key in list(self._keys):
                self._cancel(key)
            upcoming = following(night, self.config.rule, self.ctx.tz)
            self._begin(upcoming, NightRecord(upcoming.day.isoformat()), now)
        return now

    def _account(self, start: datetime, end: datetime) -> None:
        """Add a stretch at the screen to the night, clipped to its window."""
        assert self.night is not None and self.record is not None
        begin, finish = max(start, self.night.bedtime), min(end, self.night.wake)
        if finish <= begin:
            return
        record = self.record
        record.present_in_window = True
        record.present_seconds += (finish - begin).total_seconds()
        last = record.last_present
        if last is None or datetime.fromisoformat(last) < finish:
            record.last_present = finish.isoformat()

    # -- deadlines --------------------------------------------------------------------
    def _on_wind_down(self, night: Night, position: int, before: timedelta) -> None:
        self._keys.discard(f"wind-{position}")
        now = self._catch_up()
        if not self._tonight(night) or not self._present():
            return  # a wind-down missed while away is not shown later
        if _late(now, night.bedtime - before):
            return  # the deadline ran late (after a suspend): its moment has passed
        assert self.ctx is not None and self.config is not None
        local_bedtime = night.bedtime.astimezone(self.ctx.tz).time()
        title, body = words.wind_down(local_bedtime, before, position,
                                      len(self.config.wind_down))
        self.ctx.fire(WIND_DOWN, title=title, body=body)

    def _on_bedtime(self, night: Night) -> None:
        self._keys.discard("bedtime")
        now = self._catch_up()
        if not self._tonight(night):
            return
        assert self.ctx is not None and self.record is not None
        self.record.watched = True
        self._save()
        if self._present() and not _late(now, night.bedtime):
            title, body = words.bedtime(night.wake.astimezone(self.ctx.tz).time())
            self.ctx.fire(BEDTIME, title=title, body=body)
        self._arm_repeat(now)

    def _arm_repeat(self, now: datetime) -> None:
        """Arm the next repeat: bedtime + n * repeat_every, the first such step from now
        on that has not fired yet, if the person is here, inside the window, and the
        night's repeats are not used up."""
        assert self.config is not None
        night, record = self.night, self.record
        if night is None or record is None or record.skipped or not self._present():
            return
        if not night.contains(now) or record.repeats >= self.config.max_repeats:
            return
        every = self.config.repeat_every
        step = max(self._last_step + 1, math.ceil((now - night.bedtime) / every))
        at = night.bedtime + step * every
        if at < night.wake:
            self._call_at(at, "repeat", partial(self._on_repeat, night, step))

    def _on_repeat(self, night: Night, step: int) -> None:
        self._keys.discard("repeat")
        now = self._catch_up()
        if not self._tonight(night) or not self._present():
            return
        assert self.ctx is not None and self.config is not None and self.record is not None
        record = self.record
        if record.repeats >= self.config.max_repeats:
            return
        if _late(now, night.bedtime + step * self.config.repeat_every):
            self._arm_repeat(now)  # ran late (after a suspend): carry on from here
            return
        title, body = words.repeat(record.repeats,
                                   night.bedtime.astimezone(self.ctx.tz).time(),
                                   night.wake.astimezone(self.ctx.tz).time())
        record.repeats += 1
        self._last_step = step
        self._save()
        self.ctx.fire(STILL_UP, title=title, body=body)
        self._arm_repeat(now)

    def _on_wake(self) -> None:
        self._keys.discard("wake")
        self._catch_up()

    # -- small helpers ----------------------------------------------------------------
    def _tonight(self, night: Night) -> bool:
        """Whether a deadline armed for ``night`` still matters (not another night's,
        not after "Not tonight")."""
        return night == self.night and self.record is not None and not self.record.skipped

    def _present(self) -> bool:
        assert self.ctx is not None
        return bool(self.ctx.activity is not None and self.ctx.activity.present())

    def _call_at(self, when: datetime, key: str, callback: Callable[[], None]) -> None:
        assert self.ctx is not None
        self._keys.add(key)
        self.ctx.call_at(when.astimezone(self.ctx.tz), callback, key=key)

    def _cancel(self, key: str) -> None:
        assert self.ctx is not None
        self._keys.discard(key)
        self.ctx.cancel(key)

    def _save(self) -> None:
        assert self.ctx is not None
        if self.record is not None:
            self.ctx.state.set(STATE_KEY, asdict(self.record))

    def _write(self, record: NightRecord, ended: str) -> None:
        """The night's line in the journal; the report charts these.

        A night can have two lines (a shutdown inside it, then nudged running again
        until the wake-up): the later one is the whole night.
        """
        assert self.ctx is not None
        ctx = self.ctx
        bedtime = datetime.fromisoformat(record.bedtime)
        last = record.last_present
        ctx.journal.add(
            "night", bedtime.astimezone(ctx.tz),
            night=record.night,
            bedtime=_local_iso(bedtime, ctx),
            wake=_local_iso(datetime.fromisoformat(record.wake), ctx),
            present_in_window=record.present_in_window,
            last_present=None if last is None else _local_iso(datetime.fromisoformat(last), ctx),
            present_minutes=round(record.present_seconds / 60),
            reminders=record.reminders,
            skipped=record.skipped,
            ended=ended,
        )
