"""The rows every format shares: tidy daily tables for CSV, readable ones for people.

:func:`data_tables` is one tidy table per topic (a row per day, night, contact or
check-in; ISO dates, minutes as numbers, ``true``/``false``), for a clinician's
spreadsheet. :func:`reading_tables` lays the same facts out for HTML and Markdown:
a row per day for up to :data:`DAILY_UP_TO` days, a row per week beyond that (a
year of daily rows is not something anyone reads on paper).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import mean
from typing import Any, TypeVar

from nudged.report.facts import Facts, Target, day_text, minutes_text

#: Periods up to this many days get a row per day in HTML and Markdown.
DAILY_UP_TO = 62
#: At most this many categories and sites get a column (and a chart) of their own.
MAX_COLUMNS = 5
T = TypeVar("T")


@dataclass
class Table:
    name: str  # the topic, and the CSV file's name
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""


# --------------------------------------------------------------------------- tidy data


def _num(value: float | None) -> float | str:
    return "" if value is None else round(value, 1)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat(timespec="minutes")


def data_tables(facts: Facts) -> list[Table]:
    """One tidy table per topic, every day (or event) a row."""
    return [
        Table("summary", "Summary", ["sentence"], [[line] for line in facts.summary]),
        Table("nights", "Nights",
              ["night", "bedtime", "wake", "minutes_at_screen_in_window", "last_at_screen",
               "bedtime_kept", "reminders", "not_tonight"],
              [[n.night.isoformat(), _iso(n.bedtime), _iso(n.wake), n.present_minutes,
                _iso(n.last_present), _bool(n.kept), n.reminders, _bool(n.skipped)]
               for n in facts.nights]),
        Table("days", "Days",
              ["day", "present_minutes", "social_minutes", "video_minutes", "other_minutes",
               "budget_minutes", "over_budget"],
              [[d.day.isoformat(), _num(d.total), _num(d.social), _num(d.video),
                _num(d.other), _num(d.budget), _bool(d.over)] for d in facts.days]),
        Table("social_media", "Social media",
              ["day", "target", "kind", "minutes", "limit_minutes", "over_limit"],
              [[d.day.isoformat(), t.key, t.kind, _num(d.minutes), _num(d.limit),
                _bool(d.over)] for t in facts.targets for d in t.days]),
        Table("breaks", "Movement breaks",
              ["day", "taken", "natural", "done", "snoozed", "skipped"],
              [[b.day.isoformat(), b.taken, b.natural, b.done, b.snoozed, b.skipped]
               for b in facts.breaks]),
        Table("contacts", "Contacts", ["at", "day", "name", "how", "source"],
              [[_iso(c.at), c.at.date().isoformat(), c.name, c.how, c.source]
               for c in facts.contacts]),
        Table("people", "People", ["name", "every_days", "last_contact", "due_on",
                                   "overdue_days"],
              [[p.name, "" if p.every is None else round(p.every.total_seconds() / 86400, 1),
                _iso(p.last_contact), p.due_on.isoformat() if p.due_on else "",
                p.overdue_days] for p in facts.people]),
        Table("checkins", "Check-ins", ["at", "day", "mood", "energy", "note"],
              [[_iso(c.at), c.at.date().isoformat(), "" if c.mood is None else c.mood,
                "" if c.energy is None else c.energy, c.note or ""] for c in facts.checkins]),
    ]


# --------------------------------------------------------------------------- for reading


def weekly(facts: Facts) -> bool:
    return facts.period.length > DAILY_UP_TO


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def by_week(items: Iterable[T], day_of: Callable[[T], date]) -> list[tuple[date, list[T]]]:
    weeks: dict[date, list[T]] = defaultdict(list)
    for item in items:
        weeks[_monday(day_of(item))].append(item)
    return sorted(weeks.items())


def _week(monday: date) -> str:
    return f"week of {day_text(monday)}"


def _avg(values: Sequence[float]) -> str:
    return f"{mean(values):.1f}" if values else "–"


def _m(value: float | None) -> str:
    return "–" if value is None else minutes_text(value)


def _clock(moment: datetime | None) -> str:
    return "–" if moment is None else f"{moment:%H:%M}"


def reading_tables(facts: Facts) -> dict[str, Table]:
    """Per topic, the table people read under its chart (daily, or weekly when long)."""
    per_week = weekly(facts)
    tables: dict[str, Table] = {}
    if per_week:
        tables["nights"] = Table("nights", "Nights, by week",
                                 ["Week", "Nights recorded", "Bedtime kept",
                                  "At the screen after bedtime"],
                                 [[_week(w), len(ns), sum(n.kept for n in ns),
                                   minutes_text(sum(n.present_minutes for n in ns))]
                                  for w, ns in by_week(facts.nights, lambda n: n.night)])
        tables["days"] = Table("days", "Days, by week (average per day counted)",
                               ["Week", "Days", "At the screen", "Social media", "Videos",
                                "Other", "Over budget"],
                               [[_week(w), len(ds), minutes_text(mean(d.total for d in ds)),
                                 minutes_text(mean(d.social for d in ds)),
                                 minutes_text(mean(d.video for d in ds)),
                                 minutes_text(mean(d.other for d in ds)),
                                 f"{sum(d.over for d in ds)} of "
                                 f"{sum(d.budget is not None for d in ds)}"]
                                for w, ds in by_week(facts.days, lambda d: d.day)])
        targets = social_targets(facts)
        weeks = by_week(range(len(targets[0].days)) if targets else [],
                         lambda i: targets[0].days[i].day)
        rows = []
        for w, indexes in weeks:
            row: list[Any] = [_week(w)]
            for target in targets:
                ds = [target.days[i] for i in indexes]
                cell = f"{minutes_text(mean(d.minutes for d in ds))} a day"
                limited = [d for d in ds if d.limit is not None]
                if limited:
                    cell += f", over on {sum(d.over for d in limited)} of {len(limited)}"
                row.append(cell)
            rows.append(row)
        tables["social"] = Table("social", "Social media, by week (average per day counted)",
                                 ["Week", *(_heading(t) for t in targets)], rows)
        tables["breaks"] = Table("breaks", "Movement breaks, by week",
                                 ["Week", "Taken", "Of them natural", "Snoozed", "Skipped"],
                                 [[_week(w), sum(b.taken for b in bs),
                                   sum(b.natural for b in bs), sum(b.snoozed for b in bs),
                                   sum(b.skipped for b in bs)]
                                  for w, bs in by_week(facts.breaks, lambda b: b.day)])
        tables["checkins"] = Table("checkins", "Check-ins, by week",
                                   ["Week", "Check-ins", "Mood (average)",
                                    "Energy (average)"],
                                   [[_week(w), len(cs),
                                     _avg([c.mood for c in cs if c.mood is not None]),
                                     _avg([c.energy for c in cs if c.energy is not None])]
                                    for w, cs in by_week(facts.checkins, lambda c: c.at.date())])
        counts: dict[str, list[datetime]] = defaultdict(list)
        for contact in facts.contacts:
            counts[contact.name].append(contact.at)
        tables["contacts"] = Table("contacts", "Contacts in the period, by person",
                                   ["Who", "Times", "First", "Last"],
                                   [[name, len(ats), day_text(min(ats).date()),
                                     day_text(max(ats).date())]
                                    for name, ats in sorted(counts.items())])
    else:
        tables["nights"] = Table("nights", "Nights",
                                 ["Night", "Bedtime", "At the screen after bedtime",
                                  "Last at the screen", "Bedtime kept", "Reminders"],
                                 [[day_text(n.night), _clock(n.bedtime),
                                   minutes_text(n.present_minutes), _clock(n.last_present),
                                   "yes" if n.kept else "no",
                                   f"{n.reminders}" + (" (not tonight)" if n.skipped else "")]
                                  for n in facts.nights])
        tables["days"] = Table("days", "Days",
                               ["Day", "At the screen", "Social media", "Videos", "Other",
                                "Budget", "Over budget"],
                               [[day_text(d.day), minutes_text(d.total),
                                 minutes_text(d.social), minutes_text(d.video),
                                 minutes_text(d.other), _m(d.budget),
                                 "yes" if d.over else ("no" if d.budget is not None else "–")]
                                for d in facts.days])
        targets = social_targets(facts)
        tables["social"] = Table("social", "Social media",
                                 ["Day", *(_heading(t) for t in targets)],
                                 [[day_text(targets[0].days[i].day),
                                   *(minutes_text(t.days[i].minutes)
                                     + (" (over)" if t.days[i].over else "")
                                     for t in targets)]
                                  for i in range(len(targets[0].days) if targets else 0)])
        tables["breaks"] = Table("breaks", "Movement breaks",
                                 ["Day", "Taken", "Of them natural", "Snoozed", "Skipped"],
                                 [[day_text(b.day), b.taken, b.natural, b.snoozed, b.skipped]
                                  for b in facts.breaks])
        tables["checkins"] = Table("checkins", "Check-ins", ["When", "Mood", "Energy"],
                                   [[f"{day_text(c.at.date())} {c.at:%H:%M}",
                                     "–" if c.mood is None else c.mood,
                                     "–" if c.energy is None else c.energy]
                                    for c in facts.checkins])
        tables["contacts"] = Table("contacts", "Contacts in the period", ["When", "Who", "How"],
                                   [[f"{day_text(c.at.date())} {c.at:%H:%M}", c.name,
                                     c.how + (" (logged by hand)" if c.source == "cli" else "")]
                                    for c in facts.contacts])
    tables["people"] = Table("people", "Where everyone stands at the end of the period",
                             ["Who", "Every", "Last contact", "Due", "Overdue"],
                             [[p.name, _every(p.every),
                               _day(p.last_contact.date(), facts) if p.last_contact else "none",
                               _day(p.due_on, facts) if p.due_on else "–",
                               f"{p.overdue_days} day{'' if p.overdue_days == 1 else 's'}"
                               if p.overdue else "no"] for p in facts.people])
    tables["notes"] = Table("notes", "Notes from check-ins", ["When", "Note"],
                            [[f"{day_text(c.at.date())} {c.at:%H:%M}", c.note]
                             for c in facts.checkins if c.note])
    return tables


def _day(day: date, facts: Facts) -> str:
    """A day, with its year when that is not the year the period ends in."""
    return day_text(day, year=day.year != facts.period.end.year)


def social_targets(facts: Facts) -> list[Target]:
    """The categories and sites the social media table has a column for: every limit,
    then the other categories that had time, up to :data:`MAX_COLUMNS`."""
    targets = [t for t in facts.targets if t.limited]
    targets += [t for t in facts.targets
                if not t.limited and t.kind == "category" and any(d.minutes for d in t.days)]
    return targets[:MAX_COLUMNS]


def _heading(target: Target) -> str:
    limits = {d.limit for d in target.days if d.limit is not None}
    label = target.label
    if len(limits) == 1:
        return f"{label} (limit {minutes_text(limits.pop())})"
    return f"{label} (limit varies)" if limits else label


def _every(every: timedelta | None) -> str:
    if every is None:
        return "–"
    days = every.total_seconds() / 86400
    if days % 7 == 0:
        weeks = int(days // 7)
        return f"{weeks} week{'' if weeks == 1 else 's'}"
    return f"{days:g} day{'' if days == 1 else 's'}"
