"""``custom``: nudges written entirely in the config file, no code needed.

```toml
[[plugins.custom.nudges]]
id = "water"
title = "A glass of water?"
body = "A few sips now keeps the afternoon headache away."
every = "2h"
window = "mon-fri 09:00-18:00"
```
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta
from typing import Annotated

from pydantic import Field, model_validator

from nudged import At, Every, NudgeSpec, PluginConfig, PluginContext, hookimpl
from nudged.humanize import DaySet, Duration, TimeOfDay, TimeWindow, Window

ID = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]


class CustomNudge(PluginConfig):
    """One nudge: give it either ``at`` (times of day) or ``every`` (an interval)."""

    id: ID
    title: Annotated[str, Field(min_length=1, max_length=120)]
    body: Annotated[str, Field(max_length=400)] = ""
    at: list[TimeOfDay] | None = None
    every: Duration | None = None
    days: DaySet = frozenset(range(7))
    window: TimeWindow | None = None
    jitter: Duration = timedelta(0)
    quiet_hours_apply: bool = True

    @model_validator(mode="after")
    def _one_schedule(self) -> CustomNudge:
        if (self.at is None) == (self.every is None):
            raise ValueError('give either at = ["10:30"] or every = "2h", not both or neither')
        if self.every is not None and self.every < timedelta(seconds=5):
            raise ValueError('every must be at least "5s"')
        if self.at is not None and not self.at:
            raise ValueError('at needs at least one time, like at = ["10:30"]')
        return self


class CustomConfig(PluginConfig):
    nudges: tuple[CustomNudge, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> CustomConfig:
        seen: set[str] = set()
        for nudge in self.nudges:
            if nudge.id in seen:
                raise ValueError(f"the id {nudge.id!r} is used by two nudges; ids must differ")
            seen.add(nudge.id)
        return self


ALL_DAYS = frozenset(range(7))
END_OF_DAY = time(23, 59, 59, 999999)


def _restrict(window: Window | None, days: frozenset[int]) -> Window | None:
    """Combine ``window`` and ``days`` into one window (``None`` = any time)."""
    if days == ALL_DAYS:
        return window
    if window is None:
        return Window(days=days, start=time(0, 0), end=END_OF_DAY)
    return Window(days=window.days & days, start=window.start, end=window.end)


class CustomPlugin:
    """Registers one :class:`NudgeSpec` per ``[[plugins.custom.nudges]]`` entry."""

    @hookimpl
    def nudged_config_model(self) -> type[CustomConfig]:
        return CustomConfig

    @hookimpl
    def nudged_register_nudges(self, register: Callable[[NudgeSpec], None],
                               ctx: PluginContext) -> None:
        config: CustomConfig = ctx.config
        for item in config.nudges:
            if item.at is not None:
                schedule: At | Every = At(times=tuple(item.at), days=item.days)
                stale = timedelta(minutes=30)
            else:
                assert item.every is not None
                window = _restrict(item.window, item.days)
                schedule = Every(interval=item.every, window=window, jitter=item.jitter)
                stale = min(timedelta(minutes=30), max(item.every, timedelta(seconds=30)))
            register(NudgeSpec(
                id=item.id, title=item.title, body=item.body,
                schedule=schedule, stale_after=stale,
                quiet_hours_apply=item.quiet_hours_apply,
            ))
