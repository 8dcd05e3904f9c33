"""``nudged checkin``: note how the day was, any time, from a terminal.

```
nudged checkin --mood 3 --energy 4 [--note "walked to the shop"]
nudged checkin                       # asks, one line per question; Enter leaves one out
nudged checkin --date yesterday --mood 2
```

One flag per configured question (``sleep_quality`` is ``--sleep-quality``), each a
whole number from 1 to 5. Without any of them (and without ``--note``) it asks on
the terminal, one line per question and one for a note; Enter leaves one out, and
leaving them all out notes nothing. ``--date`` says which day it is about: ``today``
(the default; until 04:00 that is still the evening before), ``yesterday`` or
``YYYY-MM-DD``, never a day still ahead.

Answering again about the same day updates that day (see :mod:`.days`). A bad value
is one sentence on stderr and exit code 2 (``nudged.ConfigError``). The daemon may
be running meanwhile: this only appends to the journal, which the daemon reads at
its next decision, so a check-in before the evening's reminder means no reminder.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import date, timedelta

from nudged import ConfigError, PluginContext

from . import words
from .days import NOTE_LIMIT, clean_note, day_of, record
from .questions import (
    ANSWER_PREFIX,
    DEFAULT_QUESTIONS,
    HIGHEST,
    KNOWN,
    LOWEST,
    Question,
    parse_answer,
    question,
)


def questions_of(ctx: PluginContext | None) -> list[Question]:
    """The configured questions (the defaults when there is no config)."""
    names = getattr(getattr(ctx, "config", None), "questions", None) or DEFAULT_QUESTIONS
    return [question(name) for name in names]


def flags_for(ctx: PluginContext | None) -> list[Question]:
    """The questions whose flags ``--help`` shows: the configured ones.

    Without a ``ctx`` (nudged 0.1.0 hands ``nudged_register_commands`` none, though
    docs/hooks.md promises one), every known question; :func:`run`, which does get
    the plugin's context, turns away the ones not configured, and a question of the
    person's own naming is then asked interactively only.
    """
    if ctx is None or getattr(ctx, "config", None) is None:
        return list(KNOWN.values())
    return questions_of(ctx)


def help_line(ctx: PluginContext | None) -> str:
    """What ``nudged --help`` says about the command."""
    if ctx is None or getattr(ctx, "config", None) is None:
        return f"note how today was (your check-in questions, {LOWEST} to {HIGHEST})"
    asked = words.listing([q.words for q in questions_of(ctx)])
    return f"note how today was ({asked}, {LOWEST} to {HIGHEST})"


def builder(questions: Sequence[Question]) -> Callable[[argparse.ArgumentParser], None]:
    """The command's arguments: a flag per question, ``--note`` and ``--date``.

    The known questions that are not configured get a flag too, left out of
    ``--help``, so that ``--anxiety 2`` without "anxiety" in ``questions`` is answered
    with a sentence saying so (from :func:`run`), not argparse's "unrecognized"."""

    def build(parser: argparse.ArgumentParser) -> None:
        for q in questions:
            parser.add_argument(q.flag, dest=q.dest, metavar="N", help=f"{q.label}: {q.hint}")
        shown = {q.name for q in questions}
        for q in KNOWN.values():
            if q.name not in shown:
                parser.add_argument(q.flag, dest=q.dest, metavar="N", help=argparse.SUPPRESS)
        parser.add_argument("--note", metavar="TEXT", help="a few words about the day")
        parser.add_argument("--date", metavar="YYYY-MM-DD",
                            help='the day it is about: "today" (the default), "yesterday" '
                                 "or a date")

    return build


def _day(text: str | None, today: date, calendar_today: date, problems: list[str]) -> date:
    if text is None or text.strip().lower() == "today":
        return today
    if text.strip().lower() == "yesterday":
        return today - timedelta(days=1)
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        problems.append(f'--date: "{text}" is not a date (write YYYY-MM-DD, "today" or '
                        '"yesterday")')
        return today
    if day > today:
        late = (f"; until {words.DAY_ENDS_TEXT} the evening before still counts as today"
                if calendar_today != today else "")
        problems.append(f"--date: {day.isoformat()} is after today ({today.isoformat()}{late}); "
                        "a check-in is about today or a day before it")
    return day


def _read(prompt: str) -> str | None:
    """One line from the terminal (or whatever stdin is), or ``None`` at its end."""
    print(prompt, end="", flush=True)
    try:
        line = sys.stdin.readline()
    except (OSError, ValueError):  # no stdin at all (closed, or not readable)
        line = ""
    if not line:
        print()
        return None
    if not _interactive():
        print()  # what was read from a pipe does not echo: end the prompt's line
    return line.rstrip("\n")


def _interactive() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def ask(questions: Sequence[Question], day: date,
        today: date) -> tuple[dict[str, int], str | None]:
    """Ask each question on its own line, then for a note; Enter leaves one out."""
    print(words.ask_header(day, today))
    answers: dict[str, int] = {}
    for q in questions:
        while True:
            line = _read(words.ask_line(q))
            if line is None:
                return answers, None
            if not line.strip():
                break
            value = parse_answer(line)
            if value is not None:
                answers[q.name] = value
                break
            print(words.ASK_AGAIN)
    while True:
        line = _read(words.ASK_NOTE)
        note = clean_note(line)
        if note is None or len(note) <= NOTE_LIMIT:
            return answers, note
        print(f"  {words.note_too_long(len(note)).capitalize()}, or Enter to leave it out.")


def run(args: argparse.Namespace, ctx: PluginContext) -> int:
    questions = questions_of(ctx)
    now = ctx.now()
    today = day_of(now, ctx.tz)
    problems: list[str] = []
    day = _day(args.date, today, now.astimezone(ctx.tz).date(), problems)
    answers: dict[str, int] = {}
    configured = {q.name for q in questions}
    given = {dest.removeprefix(ANSWER_PREFIX): text for dest, text in vars(args).items()
             if dest.startswith(ANSWER_PREFIX) and text is not None}
    for q in questions:
        text = given.get(q.name)
        if text is None:
            continue
        value = parse_answer(text)
        if value is None:
            problems.append(f'{q.flag}: "{text}" is not a number from {LOWEST} to {HIGHEST} '
                            f"({q.hint})")
        else:
            answers[q.name] = value
    for name in sorted(set(given) - configured):
        asked = words.listing([q.name for q in questions])
        problems.append(f"{question(name).flag}: {name} is not one of your check-in questions "
                        f"({asked}; see questions under [plugins.checkin] in config.toml)")
    note = clean_note(args.note)
    if note is not None and len(note) > NOTE_LIMIT:
        problems.append(f"--note: {words.note_too_long(len(note))}")
    if problems:
        raise ConfigError(problems)
    if not answers and args.note is None:
        try:
            answers, note = ask(questions, day, today)
        except KeyboardInterrupt:  # Ctrl-C: leave without keeping anything
            print(f"\n{words.NOTHING}")
            return 130
    if not answers and note is None:
        print(words.NOTHING)
        return 0
    if ctx.journal is None:  # never so for a command nudged runs; a clear word if it were
        raise ConfigError(["nowhere to keep the check-in (nudged's state database is not open)"])
    checkin, updated = record(ctx.journal, now, day, ctx.tz, answers, note, source="cli")
    print(words.confirmation(checkin, updated, today, questions))
    return 0
