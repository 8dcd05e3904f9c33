"""``nudged preview``: the real plugins through the real engine, on a simulated clock.

A simulated person is at the screen during the ``--present`` windows and answers
every nudge a minute after it appears (``--respond``), or never (``ignore``: the
nudge times out). Seven simulated days take a fraction of a second, so people can
see what a config will do before living with it, and tests check plugins over weeks.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from functools import partial
from pathlib import Path
from typing import Any

from nudged.activity.base import Focus
from nudged.activity.hub import ActivityHub
from nudged.config import LoadedConfig
from nudged.control import Control
from nudged.engine import Event, later
from nudged.errors import ConfigError
from nudged.humanize import Window
from nudged.models import Answer, Nudge, Response
from nudged.runtime import PluginSelection, Runtime
from nudged.scheduler import SimulatedScheduler

ANSWER_AFTER = timedelta(minutes=1)
#: How a simulated person answers: a Response or an Answer (a minute later), one with
#: a delay, ``(Response, delay)``, or None for "not at all". Tests press buttons this way.
Responder = Callable[
    [Nudge, datetime], "Response | Answer | tuple[Response | Answer, timedelta] | None"]
RESPONSES = {"done": Response.DONE, "snooze": Response.SNOOZE, "skip": Response.SKIP}


@dataclass
class PreviewItem:
    """One nudge as the simulated person met it (or why they did not)."""

    at: datetime
    nudge: Nudge
    shown: bool
    why: list[str] = field(default_factory=list)
    response: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(timespec="seconds"),
            "nudge": self.nudge.key,
            "title": self.nudge.shown_title,
            "body": self.nudge.shown_body,
            "shown": self.shown,
            "attempt": self.nudge.attempt,
            "why": self.why,
            "response": self.response,
        }


class _Capture:
    """Sink + recorder for the simulation: nothing leaves the process."""

    def __init__(self, scheduler: SimulatedScheduler, respond: str | Responder) -> None:
        self.scheduler = scheduler
        self.respond_with = respond
        self.items: list[PreviewItem] = []
        self.by_shown: dict[int, PreviewItem] = {}
        self.pending_why: dict[str, list[str]] = {}
        self._ids = itertools.count(1)
        self.runtime: Runtime | None = None

    # Sink
    def show(self, nudge: Nudge, shown_id: int) -> None:
        if callable(self.respond_with):
            answer = self.respond_with(nudge, self.scheduler.now())
        else:
            answer = RESPONSES.get(self.respond_with)
        if answer is None:
            return  # never answered: it times out
        response, after = answer if isinstance(answer, tuple) else (answer, ANSWER_AFTER)
        self.scheduler.call_at(
            later(self.scheduler.now(), after),
            lambda: self._answer(shown_id, response),
            key=f"answer:{shown_id}",
        )

    def _answer(self, shown_id: int, response: Response | Answer) -> None:
        assert self.runtime is not None
        self.runtime.engine.respond(shown_id, response)

    def withdraw(self, shown_id: int) -> None:
        pass

    # Recorder
    def record_shown(self, nudge: Nudge, at: datetime) -> int:
        shown_id = next(self._ids)
        item = PreviewItem(at, nudge, True, self.pending_why.pop(nudge.key, []))
        self.items.append(item)
        self.by_shown[shown_id] = item
        return shown_id

    def record_decision(self, nudge: Nudge, at: datetime, verdict: str, by: str, reason: str,
                        until: datetime | None) -> None:
        stamp = at.strftime("%H:%M")
        if verdict == "suppressed":
            why = [*self.pending_why.pop(nudge.key, []), f"{stamp} suppressed by {by}: {reason}"]
            self.items.append(PreviewItem(at, nudge, False, why))
            return
        # A hold (``until`` unknown) lasts until its condition ends: the person is
        # back, a pause ends, do-not-disturb is switched off.
        said = f"deferred by {by} until {until.strftime('%H:%M')}" if until else f"held by {by}"
        self.pending_why.setdefault(nudge.key, []).append(f"{stamp} {said}: {reason}")

    def record_response(self, shown_id: int, response: Response | Answer,
                        at: datetime) -> None:
        item = self.by_shown.get(shown_id)
        if item is not None:
            item.response = response.value


def presence_windows(texts: Sequence[str]) -> list[Window]:
    from nudged.humanize import parse_window

    return [parse_window(t) for t in texts]


def run(
    loaded: LoadedConfig,
    start: datetime,
    days: float,
    present: Sequence[Window],
    respond: str | Responder = "done",
    environ: Mapping[str, str] | None = None,
    selection: PluginSelection | None = None,
    activity: Sequence[ActivityRow] | None = None,
    controls: Sequence[tuple[datetime, str]] = (),
) -> tuple[list[PreviewItem], Runtime]:
    """Simulate ``days`` days from ``start``; returns what the person would have met.

    ``controls`` are the person's commands at given times, as they would type them
    after ``nudged``: ``"pause 1h"``, ``"resume"``, ``"snooze custom:walk 15m"``,
    ``"trigger walk"``, ``"trigger walk --force"``. They go through the same
    :class:`~nudged.control.Control` as the daemon's D-Bus interface.
    """
    import os

    tz = loaded.settings.core.tz()
    start = start.astimezone(tz) if start.tzinfo else start.replace(tzinfo=tz)
    end = start + timedelta(days=days)
    scheduler = SimulatedScheduler(tz, start)
    capture = _Capture(scheduler, respond)
    events: list[Event] = []
    runtime = Runtime(loaded, scheduler, capture, capture,
                      environ=environ if environ is not None else os.environ,
                      selection=selection, on_event=events.append)
    capture.runtime = runtime
    hub = runtime.activity

    def set_present(is_present: bool) -> None:
        hub.idle_changed("preview", not is_present, scheduler.now())

    async def simulate() -> None:
        await runtime.start()
        # The person's first state is reported once plugins have started.
        if activity is not None:
            _schedule_activity(scheduler, hub, activity, start)
        else:
            if not any(w.contains(start) for w in present):
                hub.idle_changed("preview", True, start)
            _schedule_presence(scheduler, set_present, present, start, end)
        control = Control(lambda: runtime, lambda n: [])
        for n, (at, command) in enumerate(controls):
            scheduler.call_at(at, partial(apply_control, control, command),
                              key=f"control:{n}")
        scheduler.run_until(end)
        await runtime.stop()

    asyncio.run(simulate())
    return capture.items, runtime


def apply_control(control: Control, command: str) -> None:
    """Run one of the person's commands (``"pause 1h"``) against ``control``."""
    from nudged.humanize import parse_duration

    verb, *rest = command.split()
    if verb == "pause" and len(rest) == 1:
        control.pause(parse_duration(rest[0]).total_seconds())
    elif verb == "resume" and not rest:
        control.resume()
    elif verb == "snooze" and len(rest) == 2:
        control.snooze(rest[0], parse_duration(rest[1]).total_seconds())
    elif verb == "trigger" and rest and set(rest[1:]) <= {"--force"}:
        control.trigger(rest[0], force="--force" in rest[1:])
    else:
        raise ValueError(f"not a command: {command!r}")


def _schedule_presence(scheduler: SimulatedScheduler, set_present: Any,
                       windows: Sequence[Window], start: datetime, end: datetime) -> None:
    """Presence changes at every window boundary inside the simulated span."""
    if not windows:
        return
    changes: list[datetime] = []
    day = start.date() - timedelta(days=1)
    while datetime.combine(day, time(0), start.tzinfo) <= end:
        for w in windows:
            if day.weekday() in w.days:
                s = datetime.combine(day, w.start, start.tzinfo)
                e = datetime.combine(day + timedelta(days=1) if w.end <= w.start else day,
                                     w.end, start.tzinfo)
                changes.extend([s, e])
        day += timedelta(days=1)
    for n, at in enumerate(sorted(set(changes))):
        if start < at <= end:
            present = any(w.contains(at) for w in windows)
            scheduler.call_at(at, partial(set_present, present), key=f"presence:{n}")


@dataclass(frozen=True)
class ActivityRow:
    """One row of an ``--activity`` CSV: the person at the screen with this in front."""

    start: datetime
    end: datetime
    focus: Focus


#: How an ``--activity`` file says whether the window fills the screen (any case).
FULLSCREEN_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False,
                    "0": False, "": False}


def read_activity(path: Path, tz: tzinfo) -> list[ActivityRow]:
    """Parse ``start,end,app,title[,url][,fullscreen]`` rows (local ``YYYY-MM-DD HH:MM``;
    ``fullscreen`` true/false, yes/no or 1/0, empty for false).

    Raises :class:`ConfigError` naming the file, line and column on bad input.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror})"]) from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in ("start", "end", "app", "title") if c not in header]
    if missing:
        raise ConfigError([f"{path}:1: the header must be start,end,app,title[,url]"
                           f"[,fullscreen]; missing {', '.join(missing)}"])
    rows: list[ActivityRow] = []
    problems: list[str] = []
    for row in reader:
        line = reader.line_num
        try:
            begin = _local(row["start"], tz)
            finish = _local(row["end"], tz)
        except ValueError as exc:
            problems.append(f"{path}:{line}: {exc}")
            continue
        if finish <= begin:
            problems.append(f"{path}:{line}: end {row['end']} is not after start {row['start']}")
            continue
        if rows and begin < rows[-1].end:
            problems.append(f"{path}:{line}: starts at {row['start']}, before the previous row "
                            "ends; rows must be in time order without overlaps")
            continue
        url = (row.get("url") or "").strip() or None
        word = (row.get("fullscreen") or "").strip()
        fullscreen = FULLSCREEN_WORDS.get(word.lower())
        if fullscreen is None:
            column = header.index("fullscreen") + 1
            problems.append(f'{path}:{line}:{column}: fullscreen "{word}" is neither true nor '
                            "false (write true, false, yes, no, 1 or 0, or leave it empty)")
            continue
        rows.append(ActivityRow(begin, finish, Focus(app=(row["app"] or "").strip(),
                                                     title=row["title"] or "", url=url,
                                                     fullscreen=fullscreen)))
    if problems:
        raise ConfigError(problems)
    return rows


def _local(text: str | None, tz: tzinfo) -> datetime:
    value = (text or "").strip()
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
    except ValueError:
        raise ValueError(f'"{value}" is not a local time (expected "YYYY-MM-DD HH:MM")') \
            from None


def _schedule_activity(scheduler: SimulatedScheduler, hub: ActivityHub,
                       rows: Sequence[ActivityRow], start: datetime) -> None:
    """Replay rows: present with that focus during each row, away in the gaps."""
    if not rows or rows[0].start > start:
        hub.idle_changed("preview", True, start)
    for n, row in enumerate(rows):
        def begin(row: ActivityRow = row) -> None:
            hub.focus_changed("preview", row.focus, row.start)
            hub.idle_changed("preview", False, row.start)

        scheduler.call_at(row.start, begin, key=f"activity-start:{n}")
        follows = n + 1 < len(rows) and rows[n + 1].start == row.end
        if not follows:
            scheduler.call_at(row.end, partial(hub.idle_changed, "preview", True, row.end),
                              key=f"activity-end:{n}")


def render_text(items: Sequence[PreviewItem], stream: Any) -> None:
    if not items:
        print("No nudges would be shown in this period.", file=stream)
        return
    last_day = None
    for item in items:
        day = item.at.strftime("%a %Y-%m-%d")
        if day != last_day:
            print(f"\n{day}", file=stream)
            last_day = day
        mark = "" if item.shown else "  (not shown)"
        answer = f"  → {item.response}" if item.response else ""
        print(f"  {item.at.strftime('%H:%M')}  {item.nudge.key:<24} {item.nudge.shown_title}"
              f"{mark}{answer}", file=stream)
        if item.nudge.shown_body:
            print(f"         {item.nudge.shown_body}", file=stream)
        for why in item.why:
            print(f"         · {why}", file=stream)
    shown = sum(1 for i in items if i.shown)
    print(f"\n{shown} nudges shown, {len(items) - shown} not shown.", file=stream)
