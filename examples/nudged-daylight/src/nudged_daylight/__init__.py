"""nudged-daylight: some daylight in the afternoon, after a morning at the screen.

Once a day, at ``after``, it suggests going outside, if the person was at the screen
for at least ``present_at_least`` of the ``morning``. docs/writing-plugins.md in
nudged's repository builds this plugin step by step.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pydantic import Field, ValidationInfo, field_validator

from nudged import Decision, Manual, NudgeSpec, PluginConfig, Response, hookimpl
from nudged.humanize import (
    TimeOfDay,
    TimeWindow,
    Window,
    format_duration,
    format_time,
    parse_window,
)

__all__ = ["DaylightConfig", "DaylightPlugin"]


class DaylightConfig(PluginConfig):
    """``[plugins.daylight]``: every key has a default, so no table is needed."""

    morning: TimeWindow = parse_window("08:00-12:00")
    present_at_least: float = Field(default=0.6, gt=0, le=1)
    after: TimeOfDay = time(13, 0)
    before: TimeOfDay = time(17, 0)

    @field_validator("morning")
    @classmethod
    def _one_day(cls, morning: Window) -> Window:
        if morning.crosses_midnight:
            raise ValueError(f'"{morning}" crosses midnight; a morning ends on the day it starts')
        return morning

    @field_validator("after")
    @classmethod
    def _after_the_morning(cls, after: time, info: ValidationInfo) -> time:
        morning = info.data.get("morning")
        if morning is not None and after < morning.end:
            raise ValueError(f'"{format_time(after)}" is before the morning ends '
                             f'({format_time(morning.end)}); make it {format_time(morning.end)} '
                             "or later")
        return after

    @field_validator("before")
    @classmethod
    def _after_after(cls, before: time, info: ValidationInfo) -> time:
        after = info.data.get("after")
        if after is not None and before <= after:
            raise ValueError(f'"{format_time(before)}" is not later than after '
                             f"({format_time(after)})")
        return before


def length(start: time, end: time) -> timedelta:
    """From one time of day to a later one."""
    return datetime.combine(date.min, end) - datetime.combine(date.min, start)


def present_today(ctx):
    """Seconds at the screen today, as nudged's activity ledger counts them."""
    return ctx.activity.today().total.total_seconds()


class DaylightPlugin:
    """Notes the present time at the start and the end of the morning, and suggests
    daylight at ``after`` when the morning was spent at the screen."""

    nudged_api = 2  # it implements nudged_status, which came with plugin API 2

    @hookimpl
    def nudged_config_model(self):
        return DaylightConfig

    @hookimpl
    def nudged_register_nudges(self, register, ctx):
        config = ctx.config
        register(NudgeSpec(
            id="outside",
            title="Some daylight?",
            body="You spent the morning at the screen. Ten minutes outside, "
                 "while it is light, will do you good.",
            schedule=Manual(),  # the plugin fires it: ctx.fire("outside")
            # Held while the person is away, until `before` at the latest.
            stale_after=length(config.after, config.before),
            labels={"done": "Going out", "skip": "Not today"},
        ))

    @hookimpl
    def nudged_startup(self, ctx):
        now = ctx.now()
        morning = ctx.config.morning.occurrence_containing(now)
        noted = ctx.state.get("morning", {})
        if morning is not None and noted.get("day") != morning[0].date().isoformat():
            # nudged was not running when this morning began: count from now on.
            self._morning_starts(ctx, morning[0])
        else:
            self._plan(ctx, now)

    def _plan(self, ctx, moment):
        """Arm the next deadline after `moment`: the morning's start or its end, and
        the suggestion when this day's morning has earned one."""
        config = ctx.config
        morning = config.morning.occurrence_containing(moment)
        if morning is None:
            start = config.morning.next_start(moment)
            ctx.call_at(start, lambda: self._morning_starts(ctx, start), key="morning")
        else:
            start, end = morning
            ctx.call_at(end, lambda: self._morning_ends(ctx, start, end), key="morning")
        noted = ctx.state.get("morning", {})
        today = moment.date().isoformat()
        if noted.get("day") == today and noted.get("earned") and not noted.get("suggested"):
            at = datetime.combine(moment.date(), config.after, tzinfo=ctx.tz)
            ctx.call_at(at, lambda: self._suggest(ctx), key="suggest")

    def _morning_starts(self, ctx, start):
        ctx.state.set("morning", {"day": start.date().isoformat(),
                                  "start": present_today(ctx)})
        self._plan(ctx, start)

    def _morning_ends(self, ctx, start, end):
        noted = ctx.state.get("morning", {})
        if noted.get("day") == start.date().isoformat():
            present = present_today(ctx) - noted["start"]
            share = present / (end - start).total_seconds()
            noted.update(present=present, earned=share >= ctx.config.present_at_least)
            ctx.state.set("morning", noted)
            ctx.journal.add("morning", end, minutes=round(present / 60),
                            earned=noted["earned"])
        self._plan(ctx, end)

    def _suggest(self, ctx):
        noted = ctx.state.get("morning", {})
        ctx.state.set("morning", {**noted, "suggested": True})
        ctx.fire("outside")

    @hookimpl
    def nudged_filter_nudge(self, nudge, now, ctx):
        # A snoozed suggestion comes back by itself: let it through only by daylight.
        after, before = ctx.config.after, ctx.config.before
        if nudge.plugin == ctx.name and not after <= now.astimezone(ctx.tz).time() < before:
            return Decision.suppress(f"only between {format_time(after)} and "
                                     f"{format_time(before)}")
        return None

    @hookimpl
    def nudged_on_response(self, nudge, response, at, ctx):
        if nudge.plugin == ctx.name and response is Response.DONE:
            ctx.journal.add("outside", at)

    @hookimpl
    def nudged_status(self, ctx):
        noted = ctx.state.get("morning", {})
        if noted.get("day") != ctx.now().date().isoformat() or "present" not in noted:
            return None  # this morning is not over yet
        minutes = timedelta(minutes=round(noted["present"] / 60))
        return {"morning_at_the_screen": format_duration(minutes),
                "suggested": noted.get("suggested", False)}
