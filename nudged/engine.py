"""The decision path of a due nudge, with no I/O and an injected clock.

A due nudge goes: stale? -> person away? -> plugin filters (first answer wins)
-> global rate limit -> shown. A deferred nudge is shown later, never silently
dropped (unless it goes stale meanwhile). A response goes back to the store and to
the plugins; a snooze makes the nudge due again after the snooze delay.

The same engine drives the daemon and ``nudged preview``: only the clock, the
timers and the sink differ. Everything here runs on the one event loop thread.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from nudged.models import Decision, Nudge, Response, Verdict
from nudged.plugins import PluginHost

log = structlog.get_logger("nudged.engine")
HOUR = timedelta(hours=1)
MIN_DEFER = timedelta(seconds=1)
MERGE_WITHIN = timedelta(minutes=1)
PUNCTUAL = timedelta(seconds=5)


class Clock(Protocol):
    def now(self) -> datetime: ...


class Timers(Protocol):
    """One pending callback per key; a new ``call_at`` with the same key replaces it."""

    def call_at(self, when: datetime, callback: Callable[[], None], key: str) -> None: ...

    def cancel(self, key: str) -> None: ...


class Sink(Protocol):
    """Shows nudges to the person (desktop notification, terminal, or a test capture)."""

    def show(self, nudge: Nudge, shown_id: int) -> None: ...

    def withdraw(self, shown_id: int) -> None: ...


class Recorder(Protocol):
    """Remembers what happened (the SQLite store, or a list in previews)."""

    def record_shown(self, nudge: Nudge, at: datetime) -> int: ...

    def record_decision(
        self, nudge: Nudge, at: datetime, verdict: str, by: str, reason: str,
        until: datetime | None,
    ) -> None: ...

    def record_response(self, shown_id: int, response: Response, at: datetime) -> None: ...


@dataclass(frozen=True)
class Event:
    """What the engine did with a nudge; previews print these, tests read them."""

    at: datetime
    nudge: Nudge
    action: str  # shown | deferred | suppressed | response
    by: str = ""
    reason: str = ""
    until: datetime | None = None
    response: Response | None = None


class Engine:
    def __init__(
        self,
        host: PluginHost,
        clock: Clock,
        timers: Timers,
        sink: Sink,
        recorder: Recorder,
        *,
        max_per_hour: int = 4,
        snooze: timedelta = timedelta(minutes=10),
        notification_timeout: timedelta | None = timedelta(minutes=5),
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.host = host
        self.clock = clock
        self.timers = timers
        self.sink = sink
        self.recorder = recorder
        self.max_per_hour = max_per_hour
        self.snooze = snooze
        self.notification_timeout = notification_timeout
        self.on_event = on_event
        self.present = True
        self._recent: deque[datetime] = deque()
        self._away_queue: dict[str, Nudge] = {}
        self._outstanding: dict[int, Nudge] = {}
        self._latest_by_key: dict[str, int] = {}
        self._shown_at: dict[int, datetime] = {}

    # -- configuration --------------------------------------------------------------
    def seed_recent(self, shown_at: list[datetime]) -> None:
        """Start the rate limit from what the store says was shown in the last hour."""
        self._recent = deque(sorted(shown_at))

    # -- due nudges ---------------------------------------------------------------
    def due(self, nudge: Nudge) -> None:
        """A nudge came due (from the scheduler, a deferral, a snooze or ``ctx.fire``)."""
        now = self.clock.now()
        late = elapsed(nudge.due_at, now)
        if late > nudge.spec.stale_after:
            self._record(Event(now, nudge, "suppressed", "nudged", f"stale: due {_ago(late)} ago"))
            return
        if not self.present:
            # Held until the person is back; the newest of each nudge wins.
            self._away_queue[nudge.key] = nudge
            self._record(Event(now, nudge, "deferred", "presence", "the person is away"))
            return
        decided = self.host.call_first("nudged_filter_nudge", nudge=nudge, now=now)
        if decided is not None:
            by, decision = decided
            if not isinstance(decision, Decision):
                log.warning("filter returned something that is not a Decision",
                            plugin=by, value=repr(decision))
            elif decision.verdict is Verdict.SUPPRESS:
                self._record(Event(now, nudge, "suppressed", by, decision.reason))
                return
            elif decision.verdict is Verdict.DEFER:
                self._defer(nudge, now, decision.until, by, decision.reason)
                return
        if self._merges_with_showing(nudge, now):
            # The same nudge went up moments ago, and one of the two is late (held while
            # away or deferred, released just as the next occurrence came due): one is
            # enough. Punctual repeats still replace the old notification.
            self._record(Event(now, nudge, "suppressed", "nudged",
                               "the same nudge is already showing"))
            return
        limit_until = self._rate_limited_until(now)
        if limit_until is not None:
            self._defer(nudge, now, limit_until, "rate-limit",
                        f"{self.max_per_hour} nudges in the last hour already")
            return
        self._show(nudge, now)

    def _defer(self, nudge: Nudge, now: datetime, until: datetime | None, by: str,
               reason: str) -> None:
        if until is not None and until.tzinfo is None:
            until = until.replace(tzinfo=now.tzinfo)  # a naive time means local time
        when = until if until is not None and elapsed(now, until) > timedelta(0) \
            else later(now, MIN_DEFER)
        self._record(Event(now, nudge, "deferred", by, reason, until=when))
        self.timers.call_at(when, lambda: self.due(nudge), key=f"deferred:{nudge.key}")

    def _merges_with_showing(self, nudge: Nudge, now: datetime) -> bool:
        previous = self._latest_by_key.get(nudge.key)
        if previous is None or previous not in self._outstanding:
            return False
        shown_at = self._shown_at[previous]
        if elapsed(shown_at, now) >= MERGE_WITHIN:
            return False
        was_late = elapsed(self._outstanding[previous].due_at, shown_at) > PUNCTUAL
        is_late = elapsed(nudge.due_at, now) > PUNCTUAL
        return was_late or is_late

    def _rate_limited_until(self, now: datetime) -> datetime | None:
        while self._recent and elapsed(self._recent[0], now) >= HOUR:
            self._recent.popleft()
        if len(self._recent) >= self.max_per_hour:
            return later(self._recent[0], HOUR)
        return None

    def _show(self, nudge: Nudge, now: datetime) -> None:
        previous = self._latest_by_key.get(nudge.key)
        if previous is not None and previous in self._outstanding:
            # Shown again before an answer: the new one replaces the old notification.
            self.respond(previous, Response.TIMED_OUT, withdraw=False)
        shown_id = self.recorder.record_shown(nudge, now)
        self._recent.append(now)
        self._outstanding[shown_id] = nudge
        self._latest_by_key[nudge.key] = shown_id
        self._shown_at[shown_id] = now
        self._record(Event(now, nudge, "shown"))
        self.sink.show(nudge, shown_id)
        if self.notification_timeout is not None:
            self.timers.call_at(
                later(now, self.notification_timeout),
                lambda: self.respond(shown_id, Response.TIMED_OUT),
                key=f"timeout:{shown_id}",
            )
        self.host.call_each("nudged_on_nudge_shown", nudge=nudge, at=now)

    # -- responses ------------------------------------------------------------------
    def respond(self, shown_id: int, response: Response, *, withdraw: bool = True) -> None:
        """The person answered a shown nudge (or it timed out). Later answers are ignored."""
        nudge = self._outstanding.pop(shown_id, None)
        self._shown_at.pop(shown_id, None)
        if nudge is None:
            return
        now = self.clock.now()
        self.timers.cancel(f"timeout:{shown_id}")
        if response is Response.TIMED_OUT and withdraw:
            self.sink.withdraw(shown_id)
        self.recorder.record_response(shown_id, response, now)
        self._record(Event(now, nudge, "response", response=response))
        self.host.call_each("nudged_on_response", nudge=nudge, response=response, at=now)
        if response is Response.SNOOZE:
            delay = nudge.spec.snooze or self.snooze
            again = replace(nudge.again(), due_at=later(now, delay))
            self.timers.call_at(again.due_at, lambda: self.due(again),
                                key=f"snoozed:{nudge.key}")

    def outstanding(self) -> dict[int, Nudge]:
        return dict(self._outstanding)

    # -- presence -----------------------------------------------------------------
    def set_present(self, present: bool) -> None:
        """The person came back or left; nudges held while away come due now."""
        if present == self.present:
            return
        self.present = present
        if present:
            waiting, self._away_queue = self._away_queue, {}
            for nudge in waiting.values():
                self.due(nudge)

    def _record(self, event: Event) -> None:
        if event.action in ("deferred", "suppressed"):
            self.recorder.record_decision(
                event.nudge, event.at, event.action, event.by, event.reason, event.until
            )
        log.info(
            f"nudge {event.action}",
            nudge=event.nudge.key,
            **{k: v for k, v in (("by", event.by), ("reason", event.reason)) if v},
            **({"until": event.until.isoformat(timespec="seconds")} if event.until else {}),
            **({"response": event.response.value} if event.response else {}),
        )
        if self.on_event is not None:
            self.on_event(event)


def elapsed(start: datetime, end: datetime) -> timedelta:
    """Real time from ``start`` to ``end``. Subtracting two aware datetimes of one zone
    gives wall-clock time in Python, which is an hour off across a DST change."""
    return end.astimezone(UTC) - start.astimezone(UTC)


def later(at: datetime, delta: timedelta) -> datetime:
    """``at`` plus ``delta`` of real time, in ``at``'s zone (see :func:`elapsed`)."""
    return (at.astimezone(UTC) + delta).astimezone(at.tzinfo)


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    return f"{minutes // 60}h{minutes % 60:02d}m"
