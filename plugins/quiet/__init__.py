"""``quiet``: quiet hours, as a filter on ``nudged_filter_nudge``.

```toml
[plugins.quiet]
hours = ["12:30-13:15", "mon-fri 16:00-16:30", "22:00-07:00"]
```

A nudge that comes due inside quiet hours is deferred to their end, not dropped
(it is dropped only if it has gone stale by then). Nudges registered with
``quiet_hours_apply = False`` (the sleep-window ones) pass through.
"""

from __future__ import annotations

from datetime import datetime

from nudged import Decision, Nudge, PluginConfig, PluginContext, hookimpl
from nudged.humanize import TimeWindow


class QuietConfig(PluginConfig):
    hours: tuple[TimeWindow, ...] = ()


class QuietHoursPlugin:
    @hookimpl
    def nudged_config_model(self) -> type[QuietConfig]:
        return QuietConfig

    @hookimpl
    def nudged_filter_nudge(self, nudge: Nudge, now: datetime,
                            ctx: PluginContext) -> Decision | None:
        if not nudge.spec.quiet_hours_apply:
            return None
        config: QuietConfig = ctx.config
        local = now.astimezone(ctx.tz)
        ends = []
        for window in config.hours:
            end = window.end_of_occurrence(local)
            if end is not None:
                ends.append((end, window))
        if not ends:
            return None
        end, window = max(ends, key=lambda pair: pair[0])
        # Overlapping or back-to-back windows: defer to the end of the last one.
        return Decision.defer(end, f"quiet hours {window}")
