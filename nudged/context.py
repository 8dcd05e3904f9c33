"""What a plugin gets to see of nudged: its own config, logger, clock and a way to fire."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from nudged.activity.hub import ActivityHub
    from nudged.desktop import Desktop
    from nudged.engine import Timers
    from nudged.pluginstore import Journal, State


class PluginConfig(BaseModel):
    """Base class for plugin config models: unknown keys are errors, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class PluginContext:
    """Handed to every hook as ``ctx``; one per plugin.

    ``fire(nudge_id, title=None, body=None)`` makes one of this plugin's registered
    nudges due now (for ``Manual`` schedules or plugin-computed deadlines); it goes
    through the filters and rate limit like any other nudge.
    """

    name: str
    config: Any
    tz: tzinfo
    log: Any
    _now: Callable[[], datetime]
    _fire: Callable[[str, str, str | None, str | None], None] = field(
        repr=False, default=lambda *a: None
    )
    #: present(), continuous(), today(), focus(): what nudged knows of the person.
    activity: ActivityHub | None = None
    #: get(key, default) / set(key, value): the plugin's small memory (JSON values).
    state: State | None = None
    #: add(kind, at, **data) / entries(kind, since): what happened, for reports.
    journal: Journal | None = None
    #: The config file has a ``[plugins.<name>]`` table for this plugin.
    configured: bool = False
    _timers: Timers | None = field(default=None, repr=False)
    #: The daemon's shared desktop connections (the session bus) for plugins that
    #: watch the desktop themselves; ``None`` in previews and tests without a desktop.
    desktop: Desktop | None = None
    _recheck: Callable[[str], None] = field(repr=False, default=lambda name: None)

    def now(self) -> datetime:
        """The current time in the configured time zone (simulated in previews and tests)."""
        return self._now()

    def fire(self, nudge_id: str, title: str | None = None, body: str | None = None) -> None:
        """Make this plugin's nudge ``nudge_id`` due now, optionally with other words."""
        self._fire(self.name, nudge_id, title, body)

    def recheck(self) -> None:
        """Say that a condition this plugin's filter held nudges for may have ended.

        Every nudge held by this plugin (``Decision.hold``) comes due again at once
        and goes through all the filters anew; one still held is simply held again.
        """
        self._recheck(self.name)

    def call_at(self, when: datetime, callback: Callable[[], None], key: str) -> None:
        """Run ``callback`` at ``when`` (a deadline, not a poll). One pending call per
        ``key``: calling again with the same key moves it. Survives suspend: a deadline
        that passed while asleep runs on resume."""
        if self._timers is None:
            raise RuntimeError("ctx.call_at is not available outside the daemon or a preview")
        self._timers.call_at(when, callback, key=f"plugin:{self.name}:{key}")

    def cancel(self, key: str) -> None:
        """Forget the pending ``call_at`` with this key, if any."""
        if self._timers is not None:
            self._timers.cancel(f"plugin:{self.name}:{key}")
