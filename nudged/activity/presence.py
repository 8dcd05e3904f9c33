"""Presence: the person is at the screen when the session is not locked, the machine
is not asleep, and there has been input within the idle threshold.

A pure state machine with no clock of its own: every report carries its time, and
idle starts arrive back-dated to the last input, so the time between the last
keystroke and the idle watch firing is never counted as present. The machine
turns source reports into two streams:

* presence changes (``on_presence(present, at)``), which the engine uses to hold
  nudges while the person is away;
* attributed segments (``on_segment(start, end, focus)``): stretches of present time
  with the focused window, which the usage ledger stores and plugins query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from nudged.activity.base import Focus

PresenceListener = Callable[[bool, datetime], None]
SegmentListener = Callable[[datetime, datetime, Focus | None], None]
FocusListener = Callable[[Focus | None, datetime], None]


@dataclass
class PresenceState:
    idle: bool = False
    locked: bool = False
    asleep: bool = False
    focus: Focus | None = None

    @property
    def present(self) -> bool:
        return not (self.idle or self.locked or self.asleep)


@dataclass
class Presence:
    """Feed it source reports; it calls the listeners on every real change."""

    started: datetime
    state: PresenceState = field(default_factory=PresenceState)
    on_presence: list[PresenceListener] = field(default_factory=list)
    on_segment: list[SegmentListener] = field(default_factory=list)
    on_focus: list[FocusListener] = field(default_factory=list)
    present_since: datetime | None = None
    away_since: datetime | None = None
    #: When the current attributed stretch began (None while away).
    segment_start: datetime | None = None
    #: The last moment anything was reported; clamps back-dated reports so an
    #: interval is never closed before it was opened.
    last_event: datetime | None = None

    def __post_init__(self) -> None:
        self.last_event = self.started
        if self.state.present:
            self.present_since = self.started
            self.segment_start = self.started
        else:
            self.away_since = self.started

    # -- reports from sources ---------------------------------------------------------
    def idle_changed(self, source: str, idle: bool, at: datetime) -> None:
        self._apply(at, idle=idle)

    def lock_changed(self, source: str, locked: bool, at: datetime) -> None:
        self._apply(at, locked=locked)

    def sleep_changed(self, source: str, asleep: bool, at: datetime) -> None:
        if asleep:
            self._apply(at, asleep=True)
        else:
            # After a resume, the idle state is unknown until sources re-query it;
            # the person opening the lid counts as input.
            self._apply(at, asleep=False, idle=False)

    def focus_changed(self, source: str, focus: Focus | None, at: datetime) -> None:
        if focus == self.state.focus:
            return
        at = self._clamp(at)
        if self.state.present and self.segment_start is not None:
            self._close_segment(at)
            self.segment_start = at
        self.state.focus = focus
        for listener in self.on_focus:
            listener(focus, at)

    def source_failed(self, source: str, reason: str) -> None:
        """Failures are the manager's business; presence keeps its last known state."""

    # -- queries ----------------------------------------------------------------------
    @property
    def present(self) -> bool:
        return self.state.present

    def continuous(self, now: datetime) -> timedelta:
        """Present time since the last time the person was away (0 while away)."""
        if not self.state.present or self.present_since is None:
            return timedelta(0)
        return max(timedelta(0), now - self.present_since)

    def flush(self, now: datetime) -> None:
        """Close the open segment at ``now`` and start a new one (heartbeats, shutdown)."""
        now = self._clamp(now)
        if self.state.present and self.segment_start is not None and now > self.segment_start:
            self._close_segment(now)
            self.segment_start = now

    # -- internals --------------------------------------------------------------------
    def _clamp(self, at: datetime) -> datetime:
        if self.last_event is not None and at < self.last_event:
            at = self.last_event
        self.last_event = at
        return at

    def _apply(self, at: datetime, **changes: bool) -> None:
        was_present = self.state.present
        at = self._clamp(at)
        for name, value in changes.items():
            setattr(self.state, name, value)
        now_present = self.state.present
        if was_present == now_present:
            return
        if now_present:
            self.present_since = at
            self.away_since = None
            self.segment_start = at
        else:
            if self.segment_start is not None:
                self._close_segment(at)
            self.segment_start = None
            self.present_since = None
            self.away_since = at
        for listener in self.on_presence:
            listener(now_present, at)

    def _close_segment(self, end: datetime) -> None:
        start = self.segment_start
        if start is None or end <= start:
            return
        for listener in self.on_segment:
            listener(start, end, self.state.focus)
