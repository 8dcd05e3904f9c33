"""A realistic stretch of a person's days in nudged's store, for report tests and the
benchmark. Deterministic for a given ``seed``.

The person works on weekdays (an editor and a browser, GitHub now and then), browses
in the evening (Reddit, YouTube, a newspaper), watches more videos at weekends, stays
up past bedtime on some nights (more often on Fridays and Saturdays), takes movement
breaks (by themselves, after a reminder, or not: snoozed, skipped), is in touch with
Mum about weekly, Jo every couple of weeks and Sam rarely (Sam is overdue at the end),
and checks in most evenings, sometimes with a note. Now and then nudged did not run:
a few stretches of several days (a holiday, a broken laptop) and single days.

Every row is written the way the daemon writes it: usage through
:meth:`Store.add_usage` (split at local midnight), journal entries with the fields
each plugin records (see the plugins' ``journal.add`` calls).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nudged.store import Store

TZ = ZoneInfo("Europe/Berlin")

#: The config the seeded person has: the report reads budgets, limits and people here.
CONFIG = """
[core]
timezone = "Europe/Berlin"

[plugins.screen_time]
daily = { "mon-fri" = "8h", "sat,sun" = "5h" }

[plugins.sleep_window]
bedtime = "23:00"
wake = "07:00"
[plugins.sleep_window.days.fri]
bedtime = "00:30"
[plugins.sleep_window.days.sat]
bedtime = "00:30"

[plugins.movement]
after = "50m"

[plugins.social_media]
[[plugins.social_media.limits]]
category = "social"
daily = "30m"
[[plugins.social_media.limits]]
site = "youtube.com"
daily = "45m"

[plugins.social_contact]
hours = "18:00-20:30"
[[plugins.social_contact.people]]
name = "Mum"
every = "7d"
how = "call"
[[plugins.social_contact.people]]
name = "Jo"
every = "14d"
how = "message"
[[plugins.social_contact.people]]
name = "Sam"
every = "30d"
how = "visit"
"""
#: What CONFIG says, for independent computations in tests.
BUDGET = {True: 480, False: 300}  # weekday?: minutes
SOCIAL_LIMIT, YOUTUBE_LIMIT = 30, 45
PEOPLE = {"Mum": 7, "Jo": 14, "Sam": 30}
#: In this stretch the person had asked screen_time for a smaller weekday budget; the
#: journal says so, the config (changed back since) does not.
SMALLER_BUDGET = 420

NOTES = ["Slept badly", "Walk with Jo, felt lighter", "Busy day at work", "Headache",
         "Quiet day", "Café with Mum", "Couldn't get started, then OK",
         '"Tired" - but went out', "=not a formula", "Saw the doctor"]


@dataclass
class Seeded:
    start: date
    end: date
    away: set[date] = field(default_factory=set)  # days nudged did not run
    smaller_budget: tuple[date, date] | None = None


def local(day: date, hour: float) -> datetime:
    """A local moment ``hour`` hours after midnight starting ``day`` (may pass 24)."""
    return datetime.combine(day, time(0), TZ) + timedelta(hours=hour)


def _usage(store: Store, start: datetime, minutes: float, app: str,
           category: str | None = None, site: str | None = None) -> datetime:
    """Present time from ``start``, split at local midnight as the ledger does; returns
    the end."""
    end = start + timedelta(minutes=minutes)
    cursor = start
    while cursor < end:
        day = cursor.astimezone(TZ).date()
        midnight = datetime.combine(day + timedelta(days=1), time(0), TZ)
        piece = min(end, midnight)
        store.add_usage(day.isoformat(), cursor.astimezone(UTC), piece.astimezone(UTC), app,
                        category, site)
        cursor = piece
    return end


def _journal(store: Store, plugin: str, kind: str, at: datetime, **data: Any) -> None:
    store.journal_add(plugin, kind, at, json.dumps(data, sort_keys=True, default=str))


def _iso(moment: datetime) -> str:
    return moment.astimezone(TZ).isoformat(timespec="seconds")


def seed(store: Store, end: date, days: int = 365, seed: int = 8) -> Seeded:
    """Fill ``store`` with ``days`` days ending on ``end`` (included)."""
    rng = random.Random(seed)
    start = end - timedelta(days=days - 1)
    world = Seeded(start, end)
    # Stretches without nudged: a holiday, a broken laptop; and single days.
    for length in (9, 5, 3):
        if days > 40:
            first = start + timedelta(days=rng.randrange(5, days - length - 20))
            world.away |= {first + timedelta(days=n) for n in range(length)}
    world.away |= {start + timedelta(days=rng.randrange(days)) for _ in range(days // 40)}
    if days >= 90:
        first = start + timedelta(days=days // 3)
        world.smaller_budget = (first, first + timedelta(days=27))
    conn = store._conn
    conn.execute("BEGIN")
    try:
        _fill(store, world, rng)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return world


def _fill(store: Store, world: Seeded, rng: random.Random) -> None:
    mood, energy = 3.0, 3.0
    contacts: list[tuple[datetime, str, str]] = []
    day = world.start
    while day <= world.end:
        weekday = day.weekday() < 5
        if day in world.away:
            day += timedelta(days=1)
            continue
        # -- the day's screen time ------------------------------------------------------
        if weekday:
            cursor = local(day, 9 + rng.random() * 0.5)
            for _block in range(2):
                for _piece in range(rng.randint(3, 6)):
                    if rng.random() < 0.25:
                        cursor = _usage(store, cursor, rng.uniform(5, 30), "firefox",
                                        site="github.com")
                    else:
                        cursor = _usage(store, cursor, rng.uniform(15, 55), "code")
                cursor = max(cursor + timedelta(minutes=45), local(day, 13.5))
        cursor = local(day, 19 + rng.random())
        social = rng.choice([5, 10, 15, 20, 25, 28, 35, 45, 60]) * (1.0 if weekday else 1.3)
        video = rng.choice([0, 10, 20, 30, 40, 50, 70]) * (1.0 if weekday else 1.6)
        cursor = _usage(store, cursor, social * 0.7, "firefox", "social", "reddit.com")
        if rng.random() < 0.4:
            cursor = _usage(store, cursor, rng.uniform(5, 20), "firefox", "news",
                            "theguardian.com")
        if video:
            site = "m.youtube.com" if rng.random() < 0.1 else "youtube.com"
            cursor = _usage(store, cursor, video, "firefox", "video", site)
        if rng.random() < 0.3:
            cursor = _usage(store, cursor, rng.uniform(10, 40), "firefox", "video",
                            "netflix.com")
        cursor = _usage(store, cursor, social * 0.3, "firefox", "social", "x.com")
        cursor = _usage(store, cursor, rng.uniform(5, 40), "org.gnome.Nautilus")
        # -- the night that starts this evening --------------------------------------------
        late_night = day.weekday() in (4, 5)
        bedtime = local(day, 24.5 if late_night else 23)
        wake = local(day + timedelta(days=1), 7)
        late = rng.random() < (0.4 if late_night else 0.2)
        present = 0
        last_present = None
        if late:
            present = rng.choice([4, 10, 15, 25, 40, 60, 95])
            after = bedtime + timedelta(minutes=rng.choice([0, 5, 10]))
            last_present = _usage(store, after, present, "firefox", "video", "youtube.com")
        elif cursor < bedtime - timedelta(minutes=20):
            _usage(store, cursor, rng.uniform(5, 20), "code")
        reminders = rng.randint(0, 2) + (rng.randint(1, 3) if late else 0)
        night = {"night": day.isoformat(), "bedtime": _iso(bedtime), "wake": _iso(wake),
                 "present_in_window": late, "reminders": reminders,
                 "skipped": late and rng.random() < 0.2}
        if late and rng.random() < 0.15:  # a shutdown inside the night, then the whole night
            _journal(store, "sleep_window", "night", bedtime, **night,
                     present_minutes=present // 2, ended="shutdown",
                     last_present=_iso(bedtime + timedelta(minutes=present // 2)))
        _journal(store, "sleep_window", "night", bedtime, **night, present_minutes=present,
                 ended="wake",
                 last_present=None if last_present is None else _iso(last_present))
        # -- movement breaks ----------------------------------------------------------------
        for _ in range(rng.randint(2, 7) if weekday else rng.randint(0, 2)):
            how = rng.choices(["natural", "done", "snoozed", "skipped"], [35, 40, 15, 10])[0]
            at = local(day, rng.uniform(9.5, 17.5))
            _journal(store, "movement", "break", at, how=how, present_minutes=50,
                     **({"away_minutes": 7} if how == "natural" else
                        {"suggestion": "Stand up and stretch", "attempt": 0}))
        # -- contacts ------------------------------------------------------------------
        for name, chance in (("Mum", 0.16), ("Jo", 0.07), ("Sam", 0.03)):
            if rng.random() < chance:
                how = {"Mum": "call", "Jo": "message", "Sam": "visit"}[name]
                contacts.append((local(day, rng.uniform(18, 20.5)), name, how))
        # -- a check-in ------------------------------------------------------------------
        mood = min(5.0, max(1.0, mood + rng.uniform(-0.8, 0.8)))
        energy = min(5.0, max(1.0, energy + rng.uniform(-0.9, 0.9)))
        if rng.random() < 0.85:
            data: dict[str, Any] = {"answers": {"mood": round(mood), "energy": round(energy)}}
            if rng.random() < 0.12:
                data["note"] = rng.choice(NOTES)
            _journal(store, "checkin", "checkin", local(day, rng.uniform(20.5, 21.5)), **data)
        # a few nudges shown and answered, and a decision, for the export
        for hour in (10.0, 15.0):
            conn = store._conn
            shown_at = local(day, hour).astimezone(UTC).isoformat(timespec="seconds")
            conn.execute("INSERT INTO shown (plugin, nudge_id, title, body, due_at, shown_at, "
                         "attempt, response, responded_at) VALUES ('movement', 'move', "
                         "'Time to move', 'Stand up', ?, ?, 0, 'done', ?)",
                         (shown_at, shown_at, shown_at))
        conn.execute("INSERT INTO decisions (plugin, nudge_id, at, verdict, decided_by, "
                     "reason) VALUES ('screen_time', 'warning', ?, 'deferred', 'quiet', "
                     "'quiet hours')", (local(day, 12.7).astimezone(UTC).isoformat(),))
        day += timedelta(days=1)
    # Sam: nobody has seen them for the last six weeks, so Sam is overdue at the end.
    contacts = [c for c in contacts
                if not (c[1] == "Sam" and c[0].date() > world.end - timedelta(days=42))]
    contacts.append((local(world.start, 19), "Alex", "call"))  # no longer in the config
    for at, name, how in sorted(contacts):
        _journal(store, "social_contact", "contact", at, name=name, how=how,
                 source="cli" if at.hour == 20 else "prompt")
    store.state_set("social_contact", "first_seen", json.dumps(
        {name.casefold(): _iso(local(world.start, 8)) for name in PEOPLE}))
    _days_and_limits(store, world)


def _days_and_limits(store: Store, world: Seeded) -> None:
    """screen_time's day entries and social_media's limit entries, from the usage."""
    rows = store._conn.execute(
        "SELECT day, category, site, sum(seconds) FROM usage GROUP BY day, category, site"
    ).fetchall()
    totals: dict[str, float] = {}
    social: dict[str, float] = {}
    youtube: dict[str, float] = {}
    for day, category, site, seconds in rows:
        totals[day] = totals.get(day, 0.0) + seconds / 60
        if category == "social":
            social[day] = social.get(day, 0.0) + seconds / 60
        if site in ("youtube.com", "m.youtube.com"):
            youtube[day] = youtube.get(day, 0.0) + seconds / 60
    for index, (text, total) in enumerate(sorted(totals.items())):
        day = date.fromisoformat(text)
        if index % 31 == 7:
            continue  # a day whose entry was lost (a crash): the config's budget applies
        weekday = day.weekday() < 5
        budget = BUDGET[weekday]
        low = world.smaller_budget
        if low is not None and weekday and low[0] <= day <= low[1]:
            budget = SMALLER_BUDGET
        midnight = datetime.combine(day + timedelta(days=1), time(0), TZ)
        if index % 17 == 3:  # a shutdown during the day first; the day's end supersedes it
            _journal(store, "screen_time", "day", midnight - timedelta(hours=3), day=text,
                     present_minutes=int(total // 2), budget_minutes=budget, nudges=0,
                     quiet=False, complete=False)
        _journal(store, "screen_time", "day", midnight, day=text,
                 present_minutes=int(total), budget_minutes=budget,
                 nudges=int(total > budget * 0.75) + int(total > budget), quiet=False,
                 complete=True)
        for key, used, daily in (("social", social.get(text, 0.0), SOCIAL_LIMIT),
                                 ("youtube.com", youtube.get(text, 0.0), YOUTUBE_LIMIT)):
            if used >= daily:
                _journal(store, "social_media", "limit", local(day, 21), limit=key,
                         stage="limit", used_minutes=daily, daily_minutes=daily)


def nudged_cli(*argv: str) -> int:
    """Run ``nudged ARGV`` as a person would type it: through ``nudged.cli.main`` once it
    has the report and data commands, else through the same argument parsers and the
    same error handling (one sentence on stderr, an exit code)."""
    import argparse
    import sys

    from nudged import cli, datacli
    from nudged.errors import NudgedError

    if "report" in cli.COMMANDS:
        return cli.main(list(argv))
    parser = argparse.ArgumentParser(prog="nudged")
    datacli.add_parsers(parser.add_subparsers(dest="command", metavar="COMMAND"))
    args = parser.parse_args(list(argv))
    try:
        return int(datacli.COMMANDS[args.command](args) or 0)
    except NudgedError as exc:
        print(f"nudged: {exc}", file=sys.stderr)
        return exc.exit_code
