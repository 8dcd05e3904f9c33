"""The questions of a check-in: each answered with a whole number from 1 to 5.

A few questions have their own words (what 1 and 5 stand for); any other name the
person writes in ``questions`` works too, with plain "low" and "high". The scale is
the person's own: nudged never judges an answer, it only keeps it.

A question's name is also its command-line flag: ``sleep_quality`` is
``nudged checkin --sleep-quality 4``, and its key in the journal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The answers: 1, 2, 3, 4 and 5.
LOWEST, HIGHEST = 1, 5
SCALE = tuple(range(LOWEST, HIGHEST + 1))

#: Without a ``questions`` key.
DEFAULT_QUESTIONS = ("mood", "energy")
#: argparse keeps a question's flag value under this prefix and its name.
ANSWER_PREFIX = "answer_"

#: At most this many questions: a check-in is two taps, not a form.
MAX_QUESTIONS = 5
NAME = re.compile(r"[a-z][a-z0-9_]{0,29}\Z")
#: Names that are the command's own flags (or argparse's), so not free for a question.
RESERVED = frozenset({"note", "date", "config", "help"})


@dataclass(frozen=True)
class Question:
    """One question: its name (flag and journal key), and the words around it."""

    name: str
    #: "Mood": the start of the interactive line and of the notification title.
    label: str
    #: What 1 and 5 stand for: "low" and "good".
    low: str
    high: str

    @property
    def flag(self) -> str:
        """``--sleep-quality`` for ``sleep_quality``."""
        return "--" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        """Where argparse keeps the flag's value (prefixed, so no name can clash)."""
        return f"{ANSWER_PREFIX}{self.name}"

    @property
    def words(self) -> str:
        """The name inside a sentence: "mood", "sleep quality"."""
        return self.label.lower()

    @property
    def hint(self) -> str:
        """``1 = low, 5 = good``."""
        return f"{LOWEST} = {self.low}, {HIGHEST} = {self.high}"


KNOWN = {
    "mood": Question("mood", "Mood", "low", "good"),
    "energy": Question("energy", "Energy", "drained", "plenty"),
    "sleep_quality": Question("sleep_quality", "Sleep quality", "poor", "restful"),
    "anxiety": Question("anxiety", "Anxiety", "calm", "very anxious"),
}


def question(name: str) -> Question:
    """The question called ``name``: a known one, or a plain one for any other name."""
    known = KNOWN.get(name)
    if known is not None:
        return known
    return Question(name, name.replace("_", " ").capitalize(), "low", "high")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a question's name, or ``None`` when it can."""
    if name in RESERVED:
        return (f'"{name}" is one of the command\'s own options (--{name}); '
                "pick another name for the question")
    if not NAME.match(name):
        return (f'"{name}" is not a question name (lowercase letters, digits and "_", '
                f'starting with a letter, like "mood" or "sleep_quality")')
    return None


def parse_answer(text: str) -> int | None:
    """An answer as typed ("3", " 4 "), or ``None`` when it is not one of 1 to 5."""
    text = text.strip()
    if len(text) == 1 and text.isdigit() and int(text) in SCALE:
        return int(text)
    return None
