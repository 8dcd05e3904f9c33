"""The decision path of a due nudge, with no I/O and an injected clock.

A due nudge goes: stale? -> snoozed? -> paused? -> person away? -> plugin filters
(first answer wins) -> global rate limit -> shown. A deferred nudge is shown later,
never silently dropped (unless it goes stale meanwhile): either at a known time
(``Decision.defer``: the end of quiet hours, the rate limit) or, *held*, when the
condition that held it ends (the person comes back, a pause ends, a plugin's
``ctx.recheck()`` after do-not-disturb is switched off). Held nudges are kept one
per nudge, the newest winning, so a long hold releases each nudge once.

A response goes back to the store and to the plugins; a snooze (a button, or
``nudged snooze``) makes the nudge due again after the snooze delay. Pauses and
snoozes are remembered (``memory``: the SQLite store in the daemon) so they
outlive a restart.

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

from nudged.models import Answer, Decision, Nudge, Response, Verdict
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

    def record_response(self, shown_id: int, response: Response | Answer,
                        at: datetime) -> None: ...


class Memory(Protocol):
    """Where pauses and snoozes are kept across restarts (the SQLite store)."""

    def save_pause(self, until: datetime | None) -> None: ...

    def save_snooze(self, nudge: Nudge, until: datetime) -> None: ...

    def drop_snooze(self, key: str) -> None: ...


@dataclass(frozen=True)
class Held:
    """A nudge held until a condition ends; ``by`` is who holds it."""

    nudge: Nudge
    by: str
    reason: str
    since: datetime


@dataclass(frozen=True)
class Pending:
    """A nudge that will come due at a known time (deferred or snoozed)."""

    nudge: Nudge
    at: datetime
    why: str  # "deferred" | "snoozed"
    by: str = ""


@dataclass(frozen=True)
class Event:
    """What the engine did with a nudge; previews print these, tests read them."""

    at: datetime
    nudge: Nudge
    action: str  # shown | deferred | suppressed | forced | response
    by: str = ""
    reason: str = ""
    until: datetime | None = None
    response: Response | Answer | None = None


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
        #: Until when every nudge is held (``nudged pause``); ``None`` = running.
        self.paused_until: datetime | None = None
        self.memory: Memory | None = None
        #: Called after a pause, a resume or a snooze (the control interface's signal).
        self.on_control: list[Callable[[], None]] = []
        self._recent: deque[datetime] = deque()
        self._held: dict[str, Held] = {}
        self._pending: dict[str, Pending] = {}  # timer key -> what it brings
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
        if self.paused_until is not None:
            if elapsed(now, self.paused_until) > timedelta(0):
                local = self.paused_until.astimezone(now.tzinfo)
                self._hold(nudge, now, "pause", f"paused until {local:%H:%M}")
                return
            self.paused_until = None  # the pause ran out while nothing woke us
        if not self.present:
            self._hold(nudge, now, "presence", "the person is away")
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
            elif decision.verdict is Verdict.DEFER and decision.until is None:
                self._hold(nudge, now, by, decision.reason)
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
        self._arm(f"deferred:{nudge.key}", Pending(nudge, when, "deferred", by))

    def _arm(self, key: str, pending: Pending) -> None:
        """Make ``pending.nudge`` due at ``pending.at``, listed by :meth:`upcoming`."""
        self._pending[key] = pending

        def fire() -> None:
            self._pending.pop(key, None)
            if pending.why == "snoozed" and self.memory is not None:
                self.memory.drop_snooze(pending.nudge.key)
            self.due(pending.nudge)

        self.timers.call_at(pending.at, fire, key=key)

    def _disarm(self, key: str) -> None:
        self._pending.pop(key, None)
        self.timers.cancel(key)

    # -- holding until a condition ends ----------------------------------------------
    def _hold(self, nudge: Nudge, now: datetime, by: str, reason: str) -> None:
        """Keep ``nudge`` until ``by`` lets go (the newest of each nudge wins)."""
        previous = self._held.get(nudge.key)
        self._held[nudge.key] = Held(nudge, by, reason, now if previous is None
                                     else previous.since)
        self._record(Event(now, nudge, "deferred", by, reason))
        # A hold longer than the nudge stays useful drops it then (a bedtime nudge is
        # not shown two hours late), so `nudged status` never lists stale ones.
        stale_at = later(nudge.due_at, nudge.spec.stale_after + MIN_DEFER)
        self.timers.call_at(stale_at, lambda: self._expire(nudge.key, nudge),
                            key=f"held:{nudge.key}")

    def _expire(self, key: str, nudge: Nudge) -> None:
        held = self._held.get(key)
        if held is not None and held.nudge is nudge:
            del self._held[key]
            self.due(nudge)  # records it as stale

    def release(self, by: str | None = None) -> None:
        """Let go of the nudges ``by`` holds (all of them for ``None``): each comes due
        again now and goes through every check anew."""
        keys = [k for k, h in self._held.items() if by is None or h.by == by]
        for key in keys:
            held = self._held.pop(key)
            self.timers.cancel(f"held:{key}")
            self.due(held.nudge)

    def held(self) -> list[Held]:
        return sorted(self._held.values(), key=lambda h: h.since)

    # -- the person's controls: pause, snooze, trigger --------------------------------
    def pause(self, until: datetime) -> None:
        """Hold every nudge until ``until`` (or :meth:`resume`)."""
        self.paused_until = until
        if self.memory is not None:
            self.memory.save_pause(until)
        self.timers.call_at(until, self.resume, key="pause")
        log.info("paused", until=until.isoformat(timespec="seconds"))
        self._controls_changed()

    def resume(self) -> None:
        """End a pause; the nudges it held come due now (once each, unless stale)."""
        was = self.paused_until
        self.paused_until = None
        self.timers.cancel("pause")
        if self.memory is not None:
            self.memory.save_pause(None)
        if was is not None:
            log.info("resumed")
        self.release("pause")
        self._controls_changed()

    def _controls_changed(self) -> None:
        for callback in self.on_control:
            callback()

    def snooze_nudge(self, nudge: Nudge, until: datetime) -> None:
        """Not now: show ``nudge`` at ``until``. A showing copy is withdrawn (answered
        "snooze"), and a held or deferred one is folded into this one."""
        now = self.clock.now()
        for shown_id, showing in list(self._outstanding.items()):
            if showing.key == nudge.key:
                self._outstanding.pop(shown_id)
                self._shown_at.pop(shown_id, None)
                self.timers.cancel(f"timeout:{shown_id}")
                self.sink.withdraw(shown_id)
                self.recorder.record_response(shown_id, Response.SNOOZE, now)
                self._record(Event(now, showing, "response", response=Response.SNOOZE))
                self.host.call_each("nudged_on_response", nudge=showing,
                                    response=Response.SNOOZE, at=now)
        held = self._held.pop(nudge.key, None)
        if held is not None:
            self.timers.cancel(f"held:{nudge.key}")
        self._disarm(f"deferred:{nudge.key}")
        self._schedule_snoozed(replace(nudge.again(), due_at=until))

    def _schedule_snoozed(self, nudge: Nudge) -> None:
        if self.memory is not None:
            self.memory.save_snooze(nudge, nudge.due_at)
        self._arm(f"snoozed:{nudge.key}", Pending(nudge, nudge.due_at, "snoozed"))
        self._controls_changed()

    def restore_snooze(self, nudge: Nudge) -> None:
        """A snooze remembered from before a restart (its ``due_at`` is when it ends)."""
        self._arm(f"snoozed:{nudge.key}", Pending(nudge, nudge.due_at, "snoozed"))

    def trigger(self, nudge: Nudge, *, force: bool = False) -> None:
        """Make ``nudge`` due now, for trying a config: through every filter, or with
        ``force`` straight to the screen (no pause, presence, filter or rate limit)."""
        if not force:
            self.due(nudge)
            return
        now = self.clock.now()
        self._record(Event(now, nudge, "forced", "trigger", "nudged trigger --force"))
        self._show(nudge, now)

    def forget_pending(self) -> None:
        """Drop every deferral and snooze timer (a reload re-arms snoozes from memory)."""
        for key in list(self._pending):
            self._disarm(key)

    def upcoming(self) -> list[Pending]:
        """Deferred and snoozed nudges with the time each comes due."""
        return sorted(self._pending.values(), key=lambda p: p.at.astimezone(UTC))

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
    def respond(self, shown_id: int, response: Response | Answer, *,
                withdraw: bool = True) -> None:
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
            self._schedule_snoozed(replace(nudge.again(), due_at=later(now, delay)))

    def outstanding(self) -> dict[int, Nudge]:
        return dict(self._outstanding)

    # -- presence -----------------------------------------------------------------
    def set_present(self, present: bool) -> None:
        """The person came back or left; nudges held while away come due now."""
        if present == self.present:
            return
        self.present = present
        if present:
            self.release("presence")

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
