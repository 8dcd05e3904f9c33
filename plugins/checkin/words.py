"""What the check-in says: the evening reminder, the questions, the confirmations.

A friend asking how the day was: once, lightly, with the way to answer right there,
and a word that a day without an answer is fine. No tallies of days missed, no
streaks, nothing about what an answer means: the numbers are the person's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from .days import DAY_ENDS, NOTE_LIMIT, CheckIn
from .questions import HIGHEST, LOWEST, Question

TITLE = "How was today?"
#: The reminder's buttons: both just close it; neither brings it back.
LABELS = {"done": "OK", "skip": "Not today"}
COMMAND = "nudged checkin"
DAY_ENDS_TEXT = f"{DAY_ENDS:%H:%M}"


def listing(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def reminder_body(questions: Sequence[Question]) -> str:
    """The reminder's body when the answer is typed in a terminal."""
    asked = listing([q.words for q in questions])
    return (f"If you like, note your {asked} from {LOWEST} to {HIGHEST}: run {COMMAND} "
            "in a terminal. Skipping a day is fine too.")


def question_body(q: Question) -> str:
    """A question of the notification flow: ``Mood: 1 = low, 5 = good.``"""
    return f"{q.label}: {q.hint}."


#: The note after the last answer, where the notification server has a reply field.
NOTE_TITLE = "Anything to add?"
NOTE_BODY = "A few words for your notes, if you like."
NOTE_FIELD = "A note"
NOTE_LABELS = {"done": "No, thanks"}


def next_title(q: Question) -> str:
    """``And your energy?``"""
    return f"And your {q.words}?"


def day_words(day: date, today: date) -> str:
    """``today (Wed 4 Mar)``, ``yesterday (Tue 3 Mar)``, ``Mon 2 Mar``."""
    shown = f"{day:%a} {day.day} {day:%b}"
    if day == today:
        return f"today ({shown})"
    if day == today - timedelta(days=1):
        return f"yesterday ({shown})"
    return shown


def answers_words(answers: Mapping[str, int], questions: Sequence[Question]) -> list[str]:
    """``["mood 3", "energy 4"]``: the configured questions first, in their order,
    then any answers to questions no longer configured."""
    order = [q.name for q in questions]
    names = [n for n in order if n in answers] + sorted(n for n in answers if n not in order)
    words = {q.name: q.words for q in questions}
    return [f"{words.get(n, n.replace('_', ' '))} {answers[n]}" for n in names]


def confirmation(checkin: CheckIn, updated: bool, today: date,
                 questions: Sequence[Question]) -> str:
    """One line saying what is now kept for the day:
    ``Noted for today (Wed 4 Mar): mood 3 and energy 4, with your note.``"""
    said = listing(answers_words(checkin.answers, questions))
    if checkin.note:
        said = f"{said}, with your note" if said else "your note"
    when = day_words(checkin.day, today)
    if updated:
        return f"Updated {when}: {said}."
    return f"Noted for {when}: {said}."


NOTHING = "Nothing noted, and that is fine."


def ask_header(day: date, today: date) -> str:
    """``How was today? Each from 1 to 5; press Enter to leave one out.``"""
    when = "today" if day == today else day_words(day, today)
    return f"How was {when}? Each from {LOWEST} to {HIGHEST}; press Enter to leave one out."


def ask_line(q: Question) -> str:
    """``Mood (1 = low, 5 = good): ``."""
    return f"{q.label} ({q.hint}): "


ASK_AGAIN = f"  A number from {LOWEST} to {HIGHEST}, please, or Enter to leave it out."
ASK_NOTE = "A few words, if you like (Enter to leave out): "


def note_too_long(length: int) -> str:
    return (f"a note is at most {NOTE_LIMIT} characters, and this one has {length}; "
            "a shorter one, please")
