"""``nudged contact``: log a contact made away from the computer, list where people stand.

```
nudged contact log Mum                          # just now
nudged contact log "Aunt Jo" --when "2026-03-04 19:30"
nudged contact list [--json]
```

A call made from the phone, or a walk with a friend, counts just as much as one a
prompt led to: logging it restarts that person's clock, so no prompt asks about
someone the person has just seen. The daemon may be running meanwhile; this only
appends to the journal, which the daemon reads at its next decision.

Names match case-insensitively and may be typed without quotes (``contact log Aunt
Jo``). An unknown name, a bad ``--when`` or one in the future is a sentence on
stderr and exit code 2 (``nudged.ConfigError``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from nudged import ConfigError, PluginContext
from nudged.humanize import format_duration

from . import standing

TIME_FORMAT = "%Y-%m-%d %H:%M"
SHOWN_FORMAT = "%a %Y-%m-%d %H:%M"
#: --when may be this far ahead of the clock (a clock a little behind the phone's).
SLACK_SECONDS = 120


def build(parser: argparse.ArgumentParser) -> None:
    """``contact log NAME [--when ...]`` and ``contact list [--json]``."""
    sub = parser.add_subparsers(dest="contact_command", metavar="ACTION", required=True)
    log = sub.add_parser("log", help="record a contact made away from the computer")
    log.add_argument("name", nargs="+", metavar="NAME",
                     help="who (as in [[plugins.social_contact.people]]; case does not count)")
    log.add_argument("--when", metavar='"YYYY-MM-DD HH:MM"',
                     help="when it happened, local time (default: now)")
    show = sub.add_parser("list", help="each person, their last contact, and when they are due")
    show.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace, ctx: PluginContext) -> int:
    if args.contact_command == "log":
        return _log(" ".join(args.name), args.when, ctx)
    return _list(bool(args.json), ctx)


def _people(ctx: PluginContext) -> Sequence[Any]:
    return tuple(ctx.config.people) if ctx.config is not None else ()


def find(name: str, people: Sequence[Any]) -> Any:
    """The configured person called ``name`` (any case), or a ConfigError naming who is known."""
    key = standing.key_of(name)
    for person in people:
        if standing.key_of(person.name) == key:
            return person
    if not people:
        raise ConfigError([f'"{name}" is not someone nudged knows: nobody is configured yet '
                           "(add people under [[plugins.social_contact.people]] in config.toml)"])
    known = ", ".join(person.name for person in people)
    raise ConfigError([f'"{name}" is not one of your people (known: {known}); names are set '
                       "under [[plugins.social_contact.people]] in config.toml"])


def _when(text: str | None, ctx: PluginContext) -> datetime:
    now = ctx.now()
    if text is None:
        return now
    try:
        when = datetime.strptime(text.strip(), TIME_FORMAT).replace(tzinfo=ctx.tz)
    except ValueError:
        raise ConfigError([f'--when: "{text}" is not a date and time (expected '
                           '"YYYY-MM-DD HH:MM", for example "2026-03-02 18:30")']) from None
    if when.timestamp() > now.timestamp() + SLACK_SECONDS:
        raise ConfigError([f'--when: "{text}" is in the future; log a contact once it '
                           "has happened"])
    return when


def _log(name: str, when_text: str | None, ctx: PluginContext) -> int:
    person = find(name, _people(ctx))
    when = _when(when_text, ctx)
    ctx.journal.add(standing.KIND, when, name=person.name, how=person.how, source="cli")
    everyone = standing.read(_people(ctx), ctx.state, ctx.journal, ctx.tz, ctx.config.hours)
    mine = next(s for s in everyone if s.person is person)
    # A contact logged late can be older than one already there: the newest counts.
    due = mine.due_at
    print(f"Noted: you and {person.name} were in touch ({person.how}), "
          f"{when.strftime(SHOWN_FORMAT)}.")
    if due is not None:
        print(f"The next prompt about {person.name} can come from {due.strftime(SHOWN_FORMAT)}.")
    return 0


def _row(s: standing.Standing, now: datetime) -> dict[str, Any]:
    due = s.due_at
    return {
        "name": s.person.name,
        "how": s.person.how,
        "every": format_duration(s.person.every),
        "note": s.person.note,
        "last_contact": s.last_contact.isoformat(timespec="seconds") if s.last_contact else None,
        "last_source": s.last_source,
        "counting_from": (s.counting_from.isoformat(timespec="seconds")
                          if s.counting_from else None),
        "due": due.isoformat(timespec="seconds") if due else None,
        "due_now": s.due(now),
    }


def _list(as_json: bool, ctx: PluginContext) -> int:
    now = ctx.now()
    everyone = standing.read(_people(ctx), ctx.state, ctx.journal, ctx.tz, ctx.config.hours)
    rows = [_row(s, now) for s in everyone]
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("Nobody is configured yet: add people under [[plugins.social_contact.people]] "
              "in config.toml.")
        return 0
    width = max(len(s.person.name) for s in everyone)
    for s in everyone:
        last = (f"last contact {s.last_contact.strftime(SHOWN_FORMAT)}"
                if s.last_contact else "no contact logged yet")
        due = s.due_at
        if due is None:
            nxt = "counting starts when nudged runs"
        elif s.due(now):
            nxt = f"due now (since {due.strftime(SHOWN_FORMAT)})"
        else:
            nxt = f"next prompt from {due.strftime(SHOWN_FORMAT)}"
        print(f"{s.person.name:<{width}}  {s.person.how}, every "
              f"{format_duration(s.person.every)}; {last}; {nxt}")
    return 0
