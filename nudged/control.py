"""What the person can ask of the running daemon: status, pause, snooze, trigger, next.

:class:`Control` is the daemon side of ``nudged status|pause|resume|snooze|trigger|
next``, independent of how the request arrives (the D-Bus interface in
:mod:`nudged.bus`, or a test calling it directly). Every answer is plain JSON data;
times are ISO 8601 in the configured time zone.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from nudged import __version__
from nudged.engine import elapsed, later
from nudged.humanize import format_duration
from nudged.models import Nudge, NudgeSpec

if TYPE_CHECKING:
    from nudged.runtime import Runtime

log = structlog.get_logger("nudged.control")

#: The longest pause nudged accepts: a pause is for "not now", not "never".
MAX_PAUSE = timedelta(days=7)


class ControlError(Exception):
    """A request that cannot be done, said in one sentence for the person."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "UnknownNudge" | "BadRequest"


@dataclass(frozen=True)
class Upcoming:
    at: datetime
    nudge: str  # "plugin:id"
    title: str
    why: str  # scheduled | deferred | snoozed | held
    by: str = ""

    def as_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {"at": _iso(self.at), "id": self.nudge, "title": self.title,
                                "why": self.why}
        if self.by:
            item["by"] = self.by
        return item


class Control:
    def __init__(self, runtime: Callable[[], Runtime | None],
                 upcoming_jobs: Callable[[int], list[tuple[datetime, str]]],
                 config_label: str = "") -> None:
        #: The current runtime (a config reload replaces it).
        self._runtime = runtime
        self._jobs = upcoming_jobs
        self.config_label = config_label
        self.started = datetime.now().astimezone()
        #: Called after anything that changes the status (the D-Bus signal); the
        #: daemon connects it to the engine's ``on_control``.
        self.on_change: list[Callable[[], None]] = []

    @property
    def runtime(self) -> Runtime:
        runtime = self._runtime()
        if runtime is None:
            raise ControlError("BadRequest", "nudged is still starting; ask again in a moment")
        return runtime

    def changed(self) -> None:
        for callback in self.on_change:
            try:
                callback()
            except Exception as exc:  # a listener never breaks a request
                log.warning("status listener failed", error=f"{type(exc).__name__}: {exc}")

    # -- questions ------------------------------------------------------------------
    def state(self) -> tuple[str, datetime | None]:
        engine = self.runtime.engine
        until = engine.paused_until
        now = self.runtime.scheduler.now()
        if until is not None and elapsed(now, until) > timedelta(0):
            return "paused", until.astimezone(self.runtime.scheduler.tz)
        return "running", None

    def status(self, next_count: int = 3) -> dict[str, Any]:
        runtime = self.runtime
        state, until = self.state()
        today = runtime.activity.today()
        plugins = []
        for row in runtime.statuses():
            item = {"name": row["name"], "status": row["status"], "reason": row["reason"]}
            facts = self._facts(row["name"])
            if facts:
                item["facts"] = facts
            plugins.append(item)
        return {
            "state": state,
            "paused_until": _iso(until) if until else None,
            "pid": os.getpid(),
            "version": __version__,
            "config": self.config_label,
            "plugins": plugins,
            "next": [u.as_json() for u in self.upcoming(next_count)],
            "held": [{"id": h.nudge.key, "title": h.nudge.shown_title, "by": h.by,
                      "reason": h.reason, "since": _iso(h.since)}
                     for h in runtime.engine.held()],
            "today": {
                "present_minutes": round(today.total.total_seconds() / 60, 1),
                "present": format_duration(timedelta(minutes=round(
                    today.total.total_seconds() / 60))),
                "counting": runtime.activity.counting,
            },
        }

    def _facts(self, name: str) -> dict[str, Any] | None:
        host = self.runtime.host
        record = host.records.get(name)
        if record is None or not record.active or record.ctx is None:
            return None  # not started (or it failed): nothing it says can be trusted
        try:
            facts = host.call_one(record, "nudged_status")
        except Exception as exc:
            log.warning("plugin status failed", plugin=name, error=f"{type(exc).__name__}: {exc}")
            return None
        return dict(facts) if isinstance(facts, dict) and facts else None

    def upcoming(self, n: int = 5) -> list[Upcoming]:
        """The next ``n`` nudges with the time each comes due, soonest first."""
        runtime = self.runtime
        tz = runtime.scheduler.tz
        items: list[Upcoming] = []
        for at, name in self._jobs(n):
            plugin, _, nudge_id = name.partition(":")
            spec = runtime.specs.get((plugin, nudge_id))
            items.append(Upcoming(at.astimezone(tz), name, spec.title if spec else name,
                                  "scheduled"))
        for pending in runtime.engine.upcoming():
            items.append(Upcoming(pending.at.astimezone(tz), pending.nudge.key,
                                  pending.nudge.shown_title, pending.why, pending.by))
        items.sort(key=lambda u: u.at)
        held = [Upcoming(h.since.astimezone(tz), h.nudge.key, h.nudge.shown_title, "held",
                         h.by) for h in runtime.engine.held()]
        # Held ones have no time: they come when their condition ends. Listed first.
        return (held + items)[:n]

    # -- requests -------------------------------------------------------------------
    def pause(self, seconds: float) -> datetime:
        if not 0 < seconds <= MAX_PAUSE.total_seconds():
            raise ControlError("BadRequest",
                               f"a pause is between a second and {MAX_PAUSE.days} days, "
                               f"not {format_duration(timedelta(seconds=seconds))}")
        runtime = self.runtime
        until = later(runtime.scheduler.now(), timedelta(seconds=seconds))
        runtime.engine.pause(until)
        return until

    def resume(self) -> bool:
        """End a pause; ``False`` if there was none."""
        engine = self.runtime.engine
        was = self.state()[0] == "paused"
        engine.resume()
        return was

    def snooze(self, name: str, seconds: float) -> datetime:
        if not 0 < seconds <= timedelta(days=1).total_seconds():
            raise ControlError("BadRequest", "a snooze is between a second and a day")
        runtime = self.runtime
        nudge = self._current(name)
        until = later(runtime.scheduler.now(), timedelta(seconds=seconds))
        runtime.engine.snooze_nudge(nudge, until)
        return until

    def trigger(self, name: str, force: bool = False) -> str:
        """Make a nudge due now; returns what became of it, in words."""
        runtime = self.runtime
        plugin, spec = self.find(name)
        events: list[Any] = []
        engine = runtime.engine
        previous = engine.on_event

        def capture(event: Any) -> None:
            events.append(event)
            if previous is not None:
                previous(event)

        engine.on_event = capture
        try:
            engine.trigger(Nudge(plugin, spec, runtime.scheduler.now()), force=force)
        finally:
            engine.on_event = previous
        mine = [e for e in events if e.nudge.spec is spec]
        if any(e.action == "shown" for e in mine):
            return "shown"
        if not mine:
            return "nothing happened"
        last = mine[-1]
        return f"{last.action} by {last.by}: {last.reason}"

    # -- finding nudges by name ------------------------------------------------------
    def find(self, name: str) -> tuple[str, NudgeSpec]:
        """A nudge by ``plugin:id``, or by ``id`` alone when only one plugin has it."""
        specs = self.runtime.specs
        if ":" in name:
            plugin, _, nudge_id = name.partition(":")
            spec = specs.get((plugin, nudge_id))
            if spec is not None:
                return plugin, spec
        else:
            matches = [(p, s) for (p, i), s in specs.items() if i == name]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                names = ", ".join(f"{p}:{s.id}" for p, s in matches)
                raise ControlError("UnknownNudge",
                                   f"{name!r} is the name of more than one nudge: {names}")
        known = sorted(f"{p}:{i}" for p, i in specs)
        by_id = {k.partition(":")[2]: k for k in known}
        close = difflib.get_close_matches(name, known, n=1) or [
            by_id[i] for i in difflib.get_close_matches(name, list(by_id), n=1)]
        hint = f"; did you mean {close[0]}?" if close else (
            "; `nudged next` lists them" if known else "; no plugin registered any")
        raise ControlError("UnknownNudge", f"there is no nudge named {name!r}{hint}")

    def _current(self, name: str) -> Nudge:
        """The live instance of a nudge (showing, held or deferred), else a fresh one."""
        plugin, spec = self.find(name)
        engine = self.runtime.engine
        key = f"{plugin}:{spec.id}"
        for showing in engine.outstanding().values():
            if showing.key == key:
                return showing
        for held in engine.held():
            if held.nudge.key == key:
                return held.nudge
        for pending in engine.upcoming():
            if pending.nudge.key == key:
                return pending.nudge
        return Nudge(plugin, spec, self.runtime.scheduler.now())


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")
