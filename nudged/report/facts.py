"""The facts of a report, per topic, gathered from the store as plain data.

Every number a report shows comes from here, in one pass over the store: the
renderers only lay out what :func:`gather` returns, and :func:`summarize` writes the
sentences at the top from the same facts. Where the facts come from:

* **nights**: ``sleep_window`` journal entries of kind ``night`` (one per night; a
  night with two lines, after a shutdown inside it, counts its later, whole line);
* **days**: the usage ledger (present time per local day, by category), with the
  budget ``screen_time`` recorded for that day in its ``day`` entry, else the budget
  the config gives that weekday;
* **social media**: the usage ledger per category and per limited site, with the
  limit ``social_media`` recorded that day (``limit`` entries), else the config's;
* **movement breaks**: ``movement`` ``break`` entries (natural, done, snoozed, skipped);
* **contacts**: ``social_contact`` ``contact`` entries, and who is overdue by the
  people and rhythms in the config;
* **check-ins**: ``checkin`` entries (:func:`read_checkin` is the one place that knows
  their shape).

Days are local calendar days in the configured time zone. Nothing here judges: the
summary states counts ("Bedtime kept on 4 of 7 nights."), never advice.
"""

from __future__ import annotations

import calendar
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from statistics import mean
from typing import Any, Protocol

from nudged.errors import ConfigError

#: The check-in plugin's journal: plugin name and kind, and the answers it records.
CHECKIN_PLUGIN, CHECKIN_KIND = "checkin", "checkin"
CHECKIN_SCALE = (1, 5)

#: The days chart splits present time into these categories and "other".
SPLIT = ("social", "video")
CATEGORY_LABELS = {"social": "social media", "video": "videos", "news": "news",
                   "other": "other"}
#: A night counts as bedtime kept when the screen had less than this inside its window.
KEPT_BELOW_MINUTES = 1
DEFAULT_LAST = "4w"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- the period


@dataclass(frozen=True)
class Period:
    """The local days a report covers, ``start`` to ``end`` inclusive, seen on ``today``."""

    start: date
    end: date
    today: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def future(self) -> bool:
        """Whether the period has not begun yet: nothing can be recorded for it."""
        return self.start > self.today

    @property
    def past_days(self) -> list[date]:
        """The days up to today: the ones that could have records."""
        return [d for d in self.days if d <= self.today]

    def span(self) -> str:
        """``"1 Nov 2026 to 28 Nov 2026"`` (or the one day)."""
        if self.start == self.end:
            return date_text(self.start)
        return f"{date_text(self.start)} to {date_text(self.end)}"

    def label(self) -> str:
        """``"1 Nov 2026 to 28 Nov 2026 (28 days)"``."""
        return f"{self.span()} ({self.length} day{'' if self.length == 1 else 's'})"


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LAST = re.compile(r"^\s*(\d{1,4})\s*([dwm])\s*$", re.IGNORECASE)
LAST_EXAMPLE = 'a number and d, w or m for days, weeks or months: "7d", "4w", "3m"'


def parse_day(text: str, option: str) -> date:
    """A ``YYYY-MM-DD`` date, or a :class:`ConfigError` sentence naming ``option``."""
    value = text.strip()
    try:
        if not _DATE.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError([f'{option}: "{text}" is not a date (expected YYYY-MM-DD, for '
                           'example "2026-03-01")']) from None


def months_before(day: date, months: int) -> date:
    """The same day of the month ``months`` earlier (the month's last day if shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    if year < 1:
        raise ValueError("before year 1")
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def parse_period(since: str | None, last: str | None, until: str | None,
                 today: date) -> Period:
    """The period from ``--since`` / ``--last`` / ``--until`` (default: the last 4 weeks).

    ``--last 7d`` is today and the six days before it; ``--last 3m`` starts the day
    after the same date three months back. Bad input is a :class:`ConfigError`.
    """
    if since is not None and last is not None:
        raise ConfigError(["--since and --last both say where the report starts; give one "
                           "of them"])
    end = parse_day(until, "--until") if until is not None else today
    if since is not None:
        start = parse_day(since, "--since")
        if until is None:
            end = max(end, start)  # a start after today: that day, which has no records
    else:
        text = last if last is not None else DEFAULT_LAST
        match = _LAST.match(text)
        if match is None or int(match.group(1)) == 0:
            raise ConfigError([f'--last: "{text}" is not a length of time ({LAST_EXAMPLE})'])
        count, unit = int(match.group(1)), match.group(2).lower()
        try:
            if unit == "m":
                start = months_before(end, count) + timedelta(days=1)
            else:
                start = end - timedelta(days=count * (7 if unit == "w" else 1) - 1)
        except (OverflowError, ValueError):
            raise ConfigError([f'--last: "{text}" reaches back too far']) from None
    if end < start:
        raise ConfigError([f"--until: {end.isoformat()} is before the start of the report "
                           f"({start.isoformat()})"])
    return Period(start, end, today)


# --------------------------------------------------------------------------- the setup


@dataclass(frozen=True)
class LimitSetup:
    """A social media limit from the config: a category or a site, minutes a day."""

    key: str
    kind: str  # "category" | "site"
    daily_minutes: float


@dataclass(frozen=True)
class PersonSetup:
    name: str
    every: timedelta


@dataclass
class Setup:
    """What the person's config says about budgets, limits and people, for the days the
    journals do not say it themselves."""

    budget_for: Callable[[date], float | None] | None = None
    limits: list[LimitSetup] = field(default_factory=list)
    people: list[PersonSetup] = field(default_factory=list)


def setup_from_configs(configs: Mapping[str, Any]) -> Setup:
    """A :class:`Setup` from plugins' config models by plugin name (``record.config``).

    Read by attribute, so the core needs no import of the plugins; a plugin that is
    off or has no config simply adds nothing.
    """
    setup = Setup()
    screen = configs.get("screen_time")
    budget_for = getattr(screen, "budget_for", None)
    if callable(budget_for):
        def minutes(day: date, _budget: Callable[[date], Any] = budget_for) -> float | None:
            found = _budget(day)
            return found.total_seconds() / 60 if isinstance(found, timedelta) else None
        setup.budget_for = minutes
    for limit in getattr(configs.get("social_media"), "limits", ()) or ():
        daily = getattr(limit, "daily", None)
        category, site = getattr(limit, "category", None), getattr(limit, "site", None)
        if isinstance(daily, timedelta) and (category or site):
            setup.limits.append(LimitSetup(str(category or site),
                                           "category" if category else "site",
                                           daily.total_seconds() / 60))
    for person in getattr(configs.get("social_contact"), "people", ()) or ():
        name, every = getattr(person, "name", None), getattr(person, "every", None)
        if isinstance(name, str) and isinstance(every, timedelta):
            setup.people.append(PersonSetup(name, every))
    return setup


# --------------------------------------------------------------------------- the facts


@dataclass(frozen=True)
class Night:
    """One night of the sleep window, as ``sleep_window`` recorded it (local times)."""

    night: date
    bedtime: datetime
    wake: datetime
    present_minutes: int
    last_present: datetime | None
    reminders: int
    skipped: bool

    @property
    def kept(self) -> bool:
        return self.present_minutes < KEPT_BELOW_MINUTES


@dataclass(frozen=True)
class Day:
    """Present time on one day, in minutes, by category, and the day's budget."""

    day: date
    social: float
    video: float
    other: float
    budget: float | None

    @property
    def total(self) -> float:
        return self.social + self.video + self.other

    @property
    def over(self) -> bool:
        return self.budget is not None and self.total > self.budget


@dataclass(frozen=True)
class TargetDay:
    day: date
    minutes: float
    limit: float | None

    @property
    def over(self) -> bool:
        return self.limit is not None and self.minutes > self.limit


@dataclass
class Target:
    """A social media category or a limited site: its minutes on every recorded day."""

    key: str
    kind: str  # "category" | "site"
    days: list[TargetDay] = field(default_factory=list)

    @property
    def label(self) -> str:
        return CATEGORY_LABELS.get(self.key, self.key.replace("_", " ")) \
            if self.kind == "category" else self.key

    @property
    def limited(self) -> bool:
        return any(d.limit is not None for d in self.days)


@dataclass(frozen=True)
class BreakDay:
    day: date
    natural: int = 0
    done: int = 0
    snoozed: int = 0
    skipped: int = 0

    @property
    def taken(self) -> int:
        return self.natural + self.done


@dataclass(frozen=True)
class Contact:
    at: datetime
    name: str
    how: str
    source: str


@dataclass(frozen=True)
class Standing:
    """Where one person stands at the end of the period."""

    name: str
    every: timedelta | None
    last_contact: datetime | None
    due_on: date | None
    overdue_days: int  # 0: not overdue

    @property
    def overdue(self) -> bool:
        return self.overdue_days > 0


@dataclass(frozen=True)
class Checkin:
    at: datetime
    mood: int | None
    energy: int | None
    note: str | None


@dataclass
class Facts:
    period: Period
    tz: str
    generated_at: datetime
    recorded_days: list[date] = field(default_factory=list)
    nights: list[Night] = field(default_factory=list)
    days: list[Day] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    breaks: list[BreakDay] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    people: list[Standing] = field(default_factory=list)
    checkins: list[Checkin] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.recorded_days


class ReportStore(Protocol):
    def usage_by_day(self, first: str, last: str
                     ) -> list[tuple[str, str | None, str | None, float]]: ...
    def journal_between(self, plugin: str, kind: str, start: datetime, end: datetime
                        ) -> list[tuple[datetime, str]]: ...
    def state_get(self, plugin: str, key: str) -> str | None: ...


def midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tz)


def _entries(store: ReportStore, plugin: str, kind: str, start: datetime, end: datetime
             ) -> Iterable[tuple[datetime, dict[str, Any]]]:
    for at, raw in store.journal_between(plugin, kind, start, end):
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        if isinstance(data, dict):
            yield at, data


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _time(value: Any, tz: tzinfo) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(tz)


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def read_checkin(data: Mapping[str, Any]) -> tuple[int | None, int | None, str | None]:
    """(mood, energy, note) of a check-in entry: ``{"answers": {"mood": 1-5, "energy":
    1-5}, "note": "..."}``. Anything missing or out of scale is None."""
    answers = data.get("answers")
    answers = answers if isinstance(answers, dict) else {}
    low, high = CHECKIN_SCALE

    def score(name: str) -> int | None:
        value = answers.get(name)
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return value if ok else None

    note = data.get("note")
    note = " ".join(note.split()) if isinstance(note, str) else ""
    return score("mood"), score("energy"), note or None


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def site_within(host: str, site: str) -> bool:
    """``host`` is ``site`` or one of its subdomains, as the social_media plugin counts."""
    return host == site or host.endswith("." + site)


def gather(store: ReportStore, period: Period, tz: tzinfo, setup: Setup | None = None,
           now: datetime | None = None) -> Facts:
    """Every topic's facts for ``period``, and the summary."""
    setup = setup or Setup()
    now = (now or datetime.now(tz)).astimezone(tz)
    facts = Facts(period, getattr(tz, "key", str(tz)), now)
    start_at, end_at = midnight(period.start, tz), midnight(period.end + timedelta(days=1), tz)
    if not period.future:
        facts.nights = _nights(store, period, tz, start_at, end_at)
        usage = _usage(store, period)
        facts.days = _days(store, period, tz, setup, usage, start_at, end_at)
        facts.targets = _targets(store, tz, setup, usage, start_at, end_at)
        facts.breaks = _breaks(store, tz, start_at, end_at)
        facts.contacts, facts.people = _contacts(store, period, tz, setup, now, start_at, end_at)
        facts.checkins = _checkins(store, tz, start_at, end_at)
    recorded = {n.night for n in facts.nights} | {d.day for d in facts.days}
    recorded |= {b.day for b in facts.breaks}
    recorded |= {c.at.date() for c in facts.contacts} | {c.at.date() for c in facts.checkins}
    facts.recorded_days = sorted(d for d in recorded if period.start <= d <= period.end)
    facts.summary = summarize(facts)
    return facts


def _nights(store: ReportStore, period: Period, tz: tzinfo, start_at: datetime,
            end_at: datetime) -> list[Night]:
    found: dict[date, Night] = {}
    # A night is dated by the evening it starts; its bedtime may be after midnight.
    for _at, data in _entries(store, "sleep_window", "night", start_at - timedelta(days=1),
                              end_at + timedelta(days=1)):
        night = _date(data.get("night"))
        bedtime, wake = _time(data.get("bedtime"), tz), _time(data.get("wake"), tz)
        if night is None or bedtime is None or wake is None:
            continue
        if not period.start <= night <= period.end:
            continue
        found[night] = Night(  # a later line for the same night is the whole night
            night=night, bedtime=bedtime, wake=wake,
            present_minutes=_int(data.get("present_minutes")),
            last_present=_time(data.get("last_present"), tz),
            reminders=_int(data.get("reminders")), skipped=data.get("skipped") is True)
    return [found[d] for d in sorted(found)]


Usage = dict[date, list[tuple[str | None, str | None, float]]]


def _usage(store: ReportStore, period: Period) -> Usage:
    usage: Usage = defaultdict(list)
    for day, category, site, seconds in store.usage_by_day(period.start.isoformat(),
                                                           period.end.isoformat()):
        parsed = _date(day)
        if parsed is not None:
            usage[parsed].append((category, site, float(seconds or 0.0)))
    return usage


def _days(store: ReportStore, period: Period, tz: tzinfo, setup: Setup, usage: Usage,
          start_at: datetime, end_at: datetime) -> list[Day]:
    recorded: dict[date, dict[str, Any]] = {}
    # A day's entry is written at its end (the next midnight) or at a shutdown in it.
    for _at, data in _entries(store, "screen_time", "day", start_at, end_at + timedelta(days=1)):
        day = _date(data.get("day"))
        if day is not None and period.start <= day <= period.end:
            recorded[day] = data  # a later entry for the same day supersedes
    days = []
    for day in sorted(set(usage) | set(recorded)):
        split = dict.fromkeys((*SPLIT, "other"), 0.0)
        for category, _site, seconds in usage.get(day, ()):
            split[category if category in SPLIT else "other"] += seconds / 60
        if day in recorded:
            raw = recorded[day].get("budget_minutes")
            budget = float(raw) if isinstance(raw, int | float) else None
        else:
            budget = setup.budget_for(day) if setup.budget_for else None
        days.append(Day(day, split["social"], split["video"], split["other"], budget))
    return days


def _targets(store: ReportStore, tz: tzinfo, setup: Setup, usage: Usage,
             start_at: datetime, end_at: datetime) -> list[Target]:
    recorded: dict[tuple[date, str], float] = {}
    for at, data in _entries(store, "social_media", "limit", start_at, end_at):
        key, daily = data.get("limit"), data.get("daily_minutes")
        if isinstance(key, str) and isinstance(daily, int | float):
            recorded[(at.astimezone(tz).date(), key)] = float(daily)
    kinds = {limit.key: limit.kind for limit in setup.limits}
    for _day, key in recorded:
        kinds.setdefault(key, "site" if "." in key else "category")  # the plugin's rule
    seen: dict[str, float] = defaultdict(float)
    for rows in usage.values():
        for category, _site, seconds in rows:
            if category:
                seen[category] += seconds
    for category in sorted(seen, key=lambda c: -seen[c]):
        kinds.setdefault(category, "category")
    configured = {limit.key: limit.daily_minutes for limit in setup.limits}
    targets = []
    for key, kind in kinds.items():
        target = Target(key, kind)
        for day in sorted(usage):
            seconds = sum(s for category, site, s in usage[day]
                          if (category == key if kind == "category"
                              else site is not None and site_within(site, key)))
            limit = recorded.get((day, key), configured.get(key))
            target.days.append(TargetDay(day, seconds / 60, limit))
        targets.append(target)
    return targets


def _breaks(store: ReportStore, tz: tzinfo, start_at: datetime, end_at: datetime
            ) -> list[BreakDay]:
    counts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for at, data in _entries(store, "movement", "break", start_at, end_at):
        how = data.get("how")
        if how in ("natural", "done", "snoozed", "skipped"):
            counts[at.astimezone(tz).date()][str(how)] += 1
    return [BreakDay(day, **counts[day]) for day in sorted(counts)]


def _contacts(store: ReportStore, period: Period, tz: tzinfo, setup: Setup, now: datetime,
              start_at: datetime, end_at: datetime) -> tuple[list[Contact], list[Standing]]:
    as_of_day = min(period.end, period.today)
    as_of = min(end_at, now) if period.end >= period.today else end_at
    contacts, latest = [], {}
    for at, data in _entries(store, "social_contact", "contact", EPOCH, as_of):
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            continue
        local = at.astimezone(tz)
        latest[_key(name)] = (name, local)
        if local >= start_at:
            how, source = data.get("how"), data.get("source")
            contacts.append(Contact(local, name, how if isinstance(how, str) else "",
                                    source if isinstance(source, str) else ""))
    try:
        first_seen = json.loads(store.state_get("social_contact", "first_seen") or "{}")
    except ValueError:
        first_seen = {}
    first_seen = first_seen if isinstance(first_seen, dict) else {}
    people, named = [], set()
    for person in setup.people:
        key = _key(person.name)
        named.add(key)
        last = latest.get(key, (None, None))[1]
        counting = last
        if counting is None:
            seen = _time(first_seen.get(key), tz)
            counting = seen if seen is not None and seen < as_of else None
        due_on = (counting + person.every).date() if counting is not None else None
        overdue = max(0, (as_of_day - due_on).days) if due_on is not None else 0
        people.append(Standing(person.name, person.every, last, due_on, overdue))
    for key, (name, last) in sorted(latest.items(), key=lambda kv: kv[1][0].casefold()):
        if key not in named:
            people.append(Standing(name, None, last, None, 0))
    return contacts, people


def _checkins(store: ReportStore, tz: tzinfo, start_at: datetime, end_at: datetime
              ) -> list[Checkin]:
    # The checkin plugin writes the whole day again when a day is answered twice (or
    # filled in the next morning with --date): the latest entry about a day is that
    # day's check-in, and ``day`` says which day it is about.
    by_day: dict[date, Checkin] = {}
    for at, data in _entries(store, CHECKIN_PLUGIN, CHECKIN_KIND, start_at, end_at):
        local = at.astimezone(tz)
        about = _day_of(data.get("day")) or local.date()
        mood, energy, note = read_checkin(data)
        if mood is not None or energy is not None or note:
            by_day[about] = Checkin(datetime.combine(about, local.time(), tz), mood, energy,
                                    note)
        else:
            by_day.pop(about, None)
    return [by_day[day] for day in sorted(by_day)]


def _day_of(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- words


def day_text(day: date, *, year: bool = False) -> str:
    """``"Mon 2 Mar"`` (``"Mon 2 Mar 2026"`` with ``year``)."""
    if year:
        return f"{day:%a} {day.day} {day:%b %Y}"
    return f"{day:%a} {day.day} {day:%b}"


def date_text(day: date) -> str:
    """``"2 Mar 2026"``."""
    return f"{day.day} {day:%b %Y}"


def minutes_text(minutes: float) -> str:
    """``"35 min"``, ``"4 h 05 min"``, ``"2 h"``: whole minutes, rounded."""
    whole = round(minutes)
    if whole < 60:
        return f"{whole} min"
    hours, rest = divmod(whole, 60)
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def _of(count: int, total: int, noun: str) -> str:
    return f"{count} of {total} {noun}{'' if total == 1 else 's'}"


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def summarize(facts: Facts) -> list[str]:
    """The plain-language summary: counts and what they are of, no judgement, no advice."""
    period = facts.period
    if period.future:
        return [f"This period, {period.span()}, has not begun yet: nothing is recorded "
                "for it."]
    lines = []
    past = len(period.past_days)
    if facts.empty:
        return [f"Nothing was recorded in this period, {period.span()}."]
    if len(facts.recorded_days) < past:
        lines.append(f"Something was recorded on {_of(len(facts.recorded_days), past, 'day')}; "
                     "on the others nudged was not running or not counting.")
    if facts.nights:
        kept = sum(n.kept for n in facts.nights)
        line = f"Bedtime kept on {_of(kept, len(facts.nights), 'night')}."
        late = [n for n in facts.nights if not n.kept]
        if late:
            spent = sum(n.present_minutes for n in late)
            line += (f" At the screen after bedtime on {len(late)} night"
                     f"{'' if len(late) == 1 else 's'}, {minutes_text(spent)} in all.")
        lines.append(line)
    if facts.days:
        average = mean(d.total for d in facts.days)
        line = (f"On average {minutes_text(average)} a day at the screen "
                f"({len(facts.days)} day{'' if len(facts.days) == 1 else 's'} counted).")
        budgeted = [d for d in facts.days if d.budget is not None]
        if budgeted:
            over = sum(d.over for d in budgeted)
            line += f" Screen time over its budget on {_of(over, len(budgeted), 'day')}."
        lines.append(line)
    for target in facts.targets:
        limited = [d for d in target.days if d.limit is not None]
        if limited:
            over = sum(d.over for d in limited)
            label = target.label
            label = label[:1].upper() + label[1:] if target.kind == "category" else label
            lines.append(f"{label} over its limit on {_of(over, len(limited), 'day')}.")
    if facts.breaks:
        taken = sum(b.taken for b in facts.breaks)
        natural = sum(b.natural for b in facts.breaks)
        snoozed = sum(b.snoozed for b in facts.breaks)
        skipped = sum(b.skipped for b in facts.breaks)
        lines.append(f"Movement breaks: {taken} taken ({natural} without a reminder), "
                     f"{snoozed} snoozed, {skipped} skipped.")
    if facts.contacts:
        names = {_key(c.name) for c in facts.contacts}
        lines.append(f"In touch {_times(len(facts.contacts))} with {len(names)} "
                     f"{'person' if len(names) == 1 else 'people'}.")
    overdue = [p for p in facts.people if p.overdue]
    if overdue:
        lines.append("Overdue at the end of the period: " + ", ".join(
            f"{p.name} (due {day_text(p.due_on, year=p.due_on.year != period.end.year)})"
            for p in overdue if p.due_on) + ".")
    if facts.checkins:
        days = len({c.at.date() for c in facts.checkins})
        line = f"Check-ins on {_of(days, past, 'day')}"
        moods = [c.mood for c in facts.checkins if c.mood is not None]
        energies = [c.energy for c in facts.checkins if c.energy is not None]
        scores = [f"{name} {mean(values):.1f}" for name, values in
                  (("mood", moods), ("energy", energies)) if values]
        if scores:
            line += f"; on average {' and '.join(scores)} (scale 1 to 5)"
        notes = sum(1 for c in facts.checkins if c.note)
        if notes:
            line += f"; {notes} note{'' if notes == 1 else 's'}"
        lines.append(line + ".")
    return lines
