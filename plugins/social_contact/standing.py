"""Where each person stands: last contact, when their clock started, when they are due.

Read fresh from ``ctx.state`` and ``ctx.journal`` every time it is needed, never
cached: ``nudged contact log`` writes the journal from another process while the
daemon runs, and the daemon must see that contact at its next decision.

What is kept, and by whom:

* journal ``contact`` entries (``name``, ``how``, ``source`` = ``"prompt"`` or
  ``"cli"``): every contact, written by the daemon ("Done") and by the CLI;
* state ``first_seen``: ``{name key: ISO time}``, when nudged first ran with that
  person configured; it stands in for a last contact until there is one, so that
  nobody is due on the first day;
* state ``answers``: ``{name key: {"response": ..., "at": ISO time}}``, the latest
  answer to a prompt about that person ("tomorrow", "skip", "dismissed",
  "timed_out"; "done" too, though a contact supersedes it). An answer older than the
  last contact no longer counts;
* state ``last_prompt``: ``{"day": ISO date, "name": key, "at": ISO time}``, the last
  prompt shown, for "at most one a day".

Only the daemon writes state; the CLI only appends to the journal. So the two never
overwrite each other's values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Protocol

from nudged.humanize import Window

KIND = "contact"
FIRST_SEEN = "first_seen"
ANSWERS = "answers"
LAST_PROMPT = "last_prompt"


class PersonLike(Protocol):
    """What this module needs of a configured person (the ``Person`` config model)."""

    name: str
    every: timedelta
    how: str
    note: str | None


def key_of(name: str) -> str:
    """The key a person is stored and matched under: names match case-insensitively."""
    return " ".join(name.split()).casefold()


def parse_time(text: Any, tz: tzinfo) -> datetime | None:
    """An ISO time from state, in ``tz``; None for anything unreadable (old or hand-edited)."""
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(tz)


@dataclass(frozen=True)
class Standing:
    """One person's position, as of one read of state and journal."""

    person: PersonLike
    index: int  # position in the config: the tie-breaker, so ties read in the person's order
    last_contact: datetime | None
    last_source: str | None
    first_seen: datetime | None
    #: The latest answer to a prompt since the last contact ("tomorrow", "skip", ...).
    answer: str | None
    answered_at: datetime | None
    #: When a prompt about this person may first appear: the start of ``hours`` on the
    #: day ``every`` runs out (None while the clock has not started).
    due_at: datetime | None

    @property
    def key(self) -> str:
        return key_of(self.person.name)

    @property
    def counting_from(self) -> datetime | None:
        """The last contact; before any, the moment nudged first saw this person."""
        return self.last_contact if self.last_contact is not None else self.first_seen

    def due(self, now: datetime) -> bool:
        """Whether a prompt about this person may appear at ``now``."""
        return self.due_at is not None and self.due_at.timestamp() <= now.timestamp()


def first_start_on(hours: Window, day: date, tz: tzinfo) -> datetime:
    """The first start of ``hours`` on ``day`` or, if ``hours`` skips that day, after it."""
    midnight = datetime.combine(day, time(0), tzinfo=tz)
    return hours.next_start(midnight - timedelta(microseconds=1))


def read(people: Sequence[PersonLike], state: Any, journal: Any, tz: tzinfo,
         hours: Window) -> list[Standing]:
    """Every configured person's standing, from the current state and journal.

    Due-ness is counted in days: "every 7d" after a call on Monday at 19:40 means the
    prompt may come next Monday from the start of ``hours``, not only after 19:40,
    which might be after the person has left the screen for the evening.
    """
    first_seen = state.get(FIRST_SEEN, {}) or {}
    answers = state.get(ANSWERS, {}) or {}
    latest: dict[str, tuple[datetime, str | None]] = {}
    for entry in journal.entries(kind=KIND):
        name = entry.data.get("name")
        if not isinstance(name, str):
            continue
        key = key_of(name)
        if key not in latest or entry.at.timestamp() >= latest[key][0].timestamp():
            source = entry.data.get("source")
            latest[key] = (entry.at.astimezone(tz), source if isinstance(source, str) else None)
    found = []
    for index, person in enumerate(people):
        key = key_of(person.name)
        last, source = latest.get(key, (None, None))
        answer = answers.get(key) if isinstance(answers.get(key), dict) else None
        response = answer.get("response") if answer else None
        answered_at = parse_time(answer.get("at"), tz) if answer else None
        if answered_at is None or (last is not None and answered_at <= last):
            response, answered_at = None, None  # a contact since then settles it
        seen = parse_time(first_seen.get(key), tz)
        start = last if last is not None else seen
        due_at = None
        if start is not None:
            due_at = first_start_on(hours, (start + person.every).date(), tz)
        found.append(Standing(
            person=person, index=index, last_contact=last, last_source=source,
            first_seen=seen, answer=response if isinstance(response, str) else None,
            answered_at=answered_at, due_at=due_at,
        ))
    return found


def rank(candidates: Sequence[Standing]) -> list[Standing]:
    """Who to ask first among people who are due.

    Someone "Tomorrow" was chosen for comes first (that was a promise); then everyone
    not skipped, longest past due first (ties in the order of the config); people who
    were skipped go last, the longest-ago skip first, so that "Skip" moves on to the
    next person and several skipped people take turns.
    """
    def order(s: Standing) -> tuple[int, float, float, int]:
        group = {"tomorrow": 0, "skip": 2}.get(s.answer or "", 1)
        skipped = s.answered_at.timestamp() if group == 2 and s.answered_at else 0.0
        due = s.due_at.timestamp() if s.due_at else 0.0
        return (group, skipped, due, s.index)

    return sorted(candidates, key=order)


def skipped_on(standing: Standing, day: date, day_of: Callable[[datetime], date]) -> bool:
    """Whether a prompt about this person was skipped on ``day`` (then not again that day)."""
    return (standing.answer == "skip" and standing.answered_at is not None
            and day_of(standing.answered_at) == day)
