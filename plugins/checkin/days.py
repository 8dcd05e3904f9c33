"""Check-ins in the journal: which day a moment counts for, reading a day, writing one.

Every check-in is a journal entry of kind ``checkin`` with the data::

    {"day": "2026-03-03", "answers": {"mood": 3, "energy": 4},
     "note": "walked to the shop" | null, "source": "cli"}

``at`` is when it was written (a day filled in later with ``--date`` keeps the moment
it was typed); ``day`` is the day it is about. Answering again about the same day
adds another entry holding the whole day, the earlier answers merged with the new
ones (a question answered again takes the new answer; a new note replaces the old
one). So **the latest entry for a day is that day's check-in, complete**: a report
needs nothing else. The journal only grows, so the earlier entries stay.

A day ends at :data:`DAY_ENDS` (04:00), not at midnight: a check-in typed at 00:40
is about the evening before, and it should not stand in for the next day's.

Read fresh every time: ``nudged checkin`` writes from another process while the
daemon runs, and the daemon must see a check-in at its next decision. Only the CLI
(and, one day, the notification's answer buttons) writes ``checkin`` entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Protocol

KIND = "checkin"
#: A check-in before this time belongs to the day before.
DAY_ENDS = time(4, 0)
NOTE_LIMIT = 500


class EntryLike(Protocol):
    kind: str
    at: datetime
    data: dict[str, Any]


class JournalLike(Protocol):
    """``ctx.journal``, as far as check-ins need it."""

    def add(self, kind: str, at: datetime, **data: Any) -> None: ...
    def entries(self, kind: str | None = None,
                since: datetime | None = None) -> list[Any]: ...


@dataclass(frozen=True)
class CheckIn:
    """One day's check-in: the answers given (any of the questions) and a note."""

    day: date
    answers: Mapping[str, int]
    note: str | None
    #: When the latest entry for the day was written.
    at: datetime


def day_of(moment: datetime, tz: tzinfo) -> date:
    """The day a moment counts for: its date, or the date before until 04:00."""
    local = moment.astimezone(tz)
    if local.time() < DAY_ENDS:
        return local.date() - timedelta(days=1)
    return local.date()


def _answers(raw: object) -> dict[str, int]:
    """The answers of an entry, leaving out anything that is not a name and 1 to 5."""
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items()
            if isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
            and 1 <= v <= 5}


def read(journal: JournalLike | None, day: date, tz: tzinfo) -> CheckIn | None:
    """The check-in for ``day``, or ``None`` when there is none (yet).

    Entries about a day are written on that day or later (a future day is refused),
    so only entries from the start of that day on are read.
    """
    if journal is None:
        return None
    wanted = day.isoformat()
    found: CheckIn | None = None
    since = datetime.combine(day, time(0), tz)
    for entry in journal.entries(KIND, since=since):
        data = entry.data if isinstance(entry.data, dict) else {}
        if data.get("day") != wanted:
            continue
        note = data.get("note")
        found = CheckIn(day, _answers(data.get("answers")),
                        note if isinstance(note, str) and note else None, entry.at)
    return found


def checked_in(journal: JournalLike | None, day: date, tz: tzinfo) -> bool:
    return read(journal, day, tz) is not None


def clean_note(text: str | None) -> str | None:
    """The note with its spaces tidied (line breaks kept), or ``None`` for an empty one."""
    if text is None:
        return None
    lines = [" ".join(line.split()) for line in text.strip().splitlines()]
    note = "\n".join(lines).strip()
    return note or None


def record(journal: JournalLike, at: datetime, day: date, tz: tzinfo,
           answers: Mapping[str, int], note: str | None,
           source: str) -> tuple[CheckIn, bool]:
    """Add what was answered about ``day``, merged with what was there before.

    Returns the day's check-in as it now stands, and whether there was one before.
    """
    before = read(journal, day, tz)
    merged = dict(before.answers) if before is not None else {}
    merged.update(answers)
    kept_note = note if note is not None else (before.note if before is not None else None)
    journal.add(KIND, at, day=day.isoformat(), answers=merged, note=kept_note, source=source)
    return CheckIn(day, merged, kept_note, at), before is not None
