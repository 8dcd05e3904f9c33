"""Human-friendly config values: durations, times of day, day sets and time windows.

Every plugin reads the same kinds of values from the same TOML file, so they are
parsed in exactly one place. A person who learned that ``every = "1h30m"`` works in
one plugin can rely on it in all of them, and every mistake is explained the same
way: a :class:`HumanValueError` whose message follows the key path in the config
loader's output, for example::

    config.toml:14: plugins.custom.nudges[0].every: "5 minuts" is not a duration (try "5m")

The module does no I/O and keeps no state. Each ``parse_*`` function has a
``format_*`` inverse (or ``str()`` for :class:`Window`) that gives back the canonical
text, so values written back out (``model_dump(mode="json")``, ``nudged config
show``) read like something a person would have typed.

The ``Duration``, ``TimeOfDay``, ``DaySet`` and ``TimeWindow`` annotated types plug
these parsers into pydantic models.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = [
    "DAY_NAMES",
    "DaySet",
    "Duration",
    "HumanValueError",
    "TimeOfDay",
    "TimeWindow",
    "Window",
    "format_days",
    "format_duration",
    "format_time",
    "parse_days",
    "parse_duration",
    "parse_time",
    "parse_window",
]


class HumanValueError(ValueError):
    """A config value a person wrote cannot be understood.

    The message is a sentence fragment that starts with the offending value and
    ends with a hint in parentheses, so that the config loader can put the file,
    line and key in front of it and print it unchanged.
    """


# Long values would swamp the line they are reported on; show the start only.
_QUOTE_LIMIT = 60


def _quote(text: str) -> str:
    """Quote ``text`` the way TOML writes a basic string, shortened if very long.

    Showing the value in the same quotes the person used in the file lets them
    search for it; escaping keeps stray quotes or control characters from
    breaking the message.
    """
    if len(text) > _QUOTE_LIMIT:
        text = text[: _QUOTE_LIMIT - 3] + "..."
    return json.dumps(text, ensure_ascii=False)


def _describe(value: object) -> str:
    """Name a non-text value as it would appear in a TOML file."""
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if value is None:
        return "nothing"
    return f"a {type(value).__name__}"


# --------------------------------------------------------------------------- durations

_SECONDS_PER_UNIT: dict[str, int] = {}
for _names, _seconds in (
    (("s", "sec", "secs", "second", "seconds"), 1),
    (("m", "min", "mins", "minute", "minutes"), 60),
    (("h", "hour", "hours"), 3600),
    (("d", "day", "days"), 86400),
    (("w", "week", "weeks"), 7 * 86400),
):
    for _name in _names:
        _SECONDS_PER_UNIT[_name] = _seconds

# The letter each unit is written with in canonical output and in hints.
_LETTER = {1: "s", 60: "m", 3600: "h", 86400: "d", 7 * 86400: "w"}
# After "1h30" the person most likely meant the next smaller unit.
_NEXT_SMALLER = {"w": "d", "d": "h", "h": "m", "m": "s"}

# Units we do not support and must not "correct" into a supported one by spelling
# alone: "5ms" is not a typo for "5m", and "3 months" is not "3 minutes".
_SUBSECOND_UNITS = frozenset(
    {"ms", "msec", "msecs", "us", "usec", "usecs", "ns", "nsec", "nsecs"}
    | {"millisecond", "milliseconds", "microsecond", "microseconds"}
    | {"nanosecond", "nanoseconds"}
)
_CALENDAR_UNITS = frozenset({"mo", "mos", "month", "months", "y", "yr", "yrs", "year", "years"})

_DURATION_EXAMPLE = 'for example "90s", "50m", "1h30m", "7d"'

# One "number unit" piece of a duration; pieces may be separated by spaces or a comma.
_DURATION_TOKEN = re.compile(
    r"(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<unit>[a-z]*)\s*,?\s*", re.ASCII
)

_MICROSECONDS_PER_SECOND = 1_000_000
_ONE_MICROSECOND = timedelta(microseconds=1)


def _duration_tokens(text: str) -> list[tuple[str, str]] | None:
    """Split lower-cased ``text`` into (number, unit) pairs, or None if it is not that shape."""
    tokens = []
    pos = 0
    while pos < len(text):
        match = _DURATION_TOKEN.match(text, pos)
        if match is None:
            return None
        tokens.append((match["num"], match["unit"]))
        pos = match.end()
    return tokens or None


def _sum_tokens(tokens: list[tuple[str, str]] | None) -> timedelta | None:
    """Add up (number, unit) pairs exactly; None if a unit is unknown or the sum overflows.

    Decimal arithmetic keeps "1.1h" at exactly 3960 seconds, which floats would not.
    """
    if tokens is None or any(unit not in _SECONDS_PER_UNIT for _, unit in tokens):
        return None
    total = sum(
        (Decimal(num) * _SECONDS_PER_UNIT[unit] * _MICROSECONDS_PER_SECOND for num, unit in tokens),
        Decimal(0),
    )
    try:
        return timedelta(microseconds=int(total.to_integral_value(rounding=ROUND_HALF_EVEN)))
    except (ArithmeticError, OverflowError):
        return None


def _guess_unit(word: str) -> str | None:
    """The canonical letter of the unit ``word`` was probably meant to be, if any."""
    if word in _SUBSECOND_UNITS or word in _CALENDAR_UNITS:
        return None
    close = difflib.get_close_matches(word, list(_SECONDS_PER_UNIT), n=1, cutoff=0.6)
    return _LETTER[_SECONDS_PER_UNIT[close[0]]] if close else None


def _duration_hint(text: str) -> str:
    """Guess what the person meant by a duration we could not read.

    ``text`` is the stripped, lower-cased value. The guess is written in the
    canonical short form so that it can be copied into the file as is.
    """
    generic = _DURATION_EXAMPLE
    if text.startswith("-"):
        positive = _sum_tokens(_duration_tokens(text[1:].strip()))
        if positive is None:
            return "a duration cannot be negative"
        return f'a duration cannot be negative: try "{format_duration(positive)}"'
    tokens = _duration_tokens(text)
    if tokens is None:
        return generic
    units = {unit for _, unit in tokens}
    if units & _CALENDAR_UNITS:
        return 'months and years vary in length: count days or weeks, for example "30d"'
    if units & _SUBSECOND_UNITS:
        return f"nudges are not that precise; {generic}"
    pieces = []
    missing_unit = False
    previous_letter: str | None = None
    for index, (num, unit) in enumerate(tokens):
        num = num.rstrip(".") or "0"
        if unit in _SECONDS_PER_UNIT:
            letter: str | None = _LETTER[_SECONDS_PER_UNIT[unit]]
        elif unit == "":
            missing_unit = True
            if index != len(tokens) - 1:
                letter = None  # "1 30m": no good guess for a number in the middle
            elif previous_letter is None:
                letter = "m"  # minutes are what nudge intervals are mostly counted in
            else:
                letter = _NEXT_SMALLER.get(previous_letter)
        else:
            letter = _guess_unit(unit)
        if letter is None:
            return generic
        pieces.append(num + letter)
        previous_letter = letter
    suggestion = "".join(pieces)
    if missing_unit:
        return f'a number needs a unit: try "{suggestion}"'
    return f'try "{suggestion}"'


def parse_duration(text: str) -> timedelta:
    """Read a length of time such as ``"90s"``, ``"1h30m"``, ``"1h 30m"`` or ``"1.5h"``.

    Units are s, m, h, d and w, or their long forms (``"5 minutes"``), in any
    case. A bare number is refused because nobody can tell whether ``"10"``
    means seconds or minutes, and a negative length means nothing for a nudge.
    Fractions are kept to the microsecond, which is far finer than anyone needs.
    """
    normal = text.strip().lower()
    tokens = _duration_tokens(normal)
    if tokens is None or any(unit not in _SECONDS_PER_UNIT for _, unit in tokens):
        raise HumanValueError(f"{_quote(text)} is not a duration ({_duration_hint(normal)})")
    result = _sum_tokens(tokens)
    if result is None:
        raise HumanValueError(
            f"{_quote(text)} is not a duration (that is far too long; {_DURATION_EXAMPLE})"
        )
    return result


def format_duration(td: timedelta) -> str:
    """Write ``td`` in the compact form :func:`parse_duration` reads back.

    Larger units come first and zero parts are left out (``"1h30m"``, ``"1m30s"``,
    ``"0s"``). Weeks are used only for whole weeks (``"2w"``, but ``"10d"``), since
    ``"1w3d"`` is harder to read than ``"10d"``.
    """
    micro = td // _ONE_MICROSECOND
    if micro < 0:
        raise ValueError(f"a negative duration has no text form: {td!r}")
    week = 7 * 86400 * _MICROSECONDS_PER_SECOND
    if micro and micro % week == 0:
        return f"{micro // week}w"
    seconds, micro = divmod(micro, _MICROSECONDS_PER_SECOND)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{n}{letter}" for n, letter in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    if micro:
        parts.append(f"{seconds}.{micro:06d}".rstrip("0") + "s")
    elif seconds:
        parts.append(f"{seconds}s")
    return "".join(parts) or "0s"


# ------------------------------------------------------------------------- times of day

_TIME_HINT = 'use 24-hour "HH:MM", for example "22:30"'
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})", re.ASCII)


def parse_time(text: str) -> time:
    """Read a wall-clock time written as 24-hour ``"HH:MM"`` (``"7:05"`` is fine too).

    Only one spelling is accepted so that ``"10.30"``, ``"10pm"`` or ``"24:00"``
    are pointed out instead of being guessed at; a wrong guess would move a
    bedtime nudge by twelve hours without anyone noticing.
    """
    match = _TIME.fullmatch(text.strip())
    if match is not None:
        hour, minute = int(match[1]), int(match[2])
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise HumanValueError(f"{_quote(text)} is not a time of day ({_TIME_HINT})")


def format_time(value: time) -> str:
    """Write a time of day as ``"HH:MM"``, the form :func:`parse_time` reads."""
    return f"{value.hour:02d}:{value.minute:02d}"


# --------------------------------------------------------------------------------- days

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ALL_DAYS = frozenset(range(7))
_DAY_ALIASES: dict[str, frozenset[int]] = {
    "daily": _ALL_DAYS,
    "every day": _ALL_DAYS,
    "everyday": _ALL_DAYS,
    "all": _ALL_DAYS,
    "weekdays": frozenset(range(5)),
    "weekday": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
    "weekend": frozenset({5, 6}),
}
_DAYS_EXAMPLE = 'write days like "mon-fri", "sat,sun" or "daily"'


def _day_index(word: str) -> int | None:
    """0 for "mon"/"monday"/"mond", ..., or None; any prefix of 3+ letters is unambiguous."""
    if len(word) >= 3:
        for index, full in enumerate(_FULL_DAY_NAMES):
            if full.startswith(word):
                return index
    return None


def _guess_day(word: str, *, aliases: bool) -> str | None:
    """The day name (or alias) ``word`` is probably a misspelling of, if any."""
    candidates = list(DAY_NAMES) + list(_FULL_DAY_NAMES)
    if aliases:
        candidates += [name for name in _DAY_ALIASES if " " not in name]
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return close[0] if close else None


def _day_range(first: int, last: int) -> frozenset[int]:
    """The days from ``first`` to ``last`` inclusive, wrapping past Sunday ("fri-mon")."""
    return frozenset((first + offset) % 7 for offset in range((last - first) % 7 + 1))


def _parse_day_item(item: str) -> tuple[frozenset[int] | None, str | None]:
    """Read one comma-separated piece of a day set.

    Returns the days (None if the piece is wrong) and the piece as it should be
    written: itself when right, a guessed correction, or None if there is no
    good guess.
    """
    if item in _DAY_ALIASES:
        return _DAY_ALIASES[item], item
    if "-" in item:
        ends = item.split("-")
        if len(ends) != 2 or not all(ends):
            return None, None
        first, last = (_day_index(end) for end in ends)
        if first is not None and last is not None:
            return _day_range(first, last), item
        guesses = [
            end if _day_index(end) is not None else _guess_day(end, aliases=False) for end in ends
        ]
        if None in guesses:
            return None, None
        return None, "-".join(str(guess) for guess in guesses)
    if " " in item:
        # "mon wed fri": probably a list written without commas.
        words = [
            word if _day_index(word) is not None else _guess_day(word, aliases=False)
            for word in item.split(" ")
        ]
        if None in words:
            return None, None
        return None, ",".join(str(word) for word in words)
    index = _day_index(item)
    if index is not None:
        return frozenset({index}), item
    return None, _guess_day(item, aliases=True)


def parse_days(text: str) -> frozenset[int]:
    """Read a set of weekdays (0 = Monday) such as ``"mon-fri"`` or ``"sat,sun"``.

    Accepts day names (``"mon"``, ``"monday"``), ranges that may wrap past Sunday
    (``"fri-mon"``), comma-separated lists of both (``"mon,wed-fri"``), and the
    words ``"daily"``, ``"every day"``, ``"all"``, ``"weekdays"`` and ``"weekends"``,
    in any case and with any spacing. A misspelled name gets a "did you mean".
    """
    normal = " ".join(text.lower().split())
    normal = re.sub(r" ?([,-]) ?", r"\1", normal)
    if normal in _DAY_ALIASES:
        return _DAY_ALIASES[normal]
    days: set[int] = set()
    corrections: list[str] = []
    wrong: list[str] = []
    correctable = True
    for item in normal.split(","):
        found, correction = _parse_day_item(item)
        if found is not None:
            days |= found
        else:
            wrong.append(item)
        if correction is None and item:  # an empty piece ("mon,,fri") is simply dropped
            correctable = False
        elif correction:
            corrections.append(correction)
    if not wrong:
        return frozenset(days)
    if correctable and corrections:
        hint = f'did you mean "{",".join(corrections)}"? {_DAYS_EXAMPLE}'
    elif wrong[0]:
        hint = f"unknown day {_quote(wrong[0])}; {_DAYS_EXAMPLE}"
    else:
        hint = _DAYS_EXAMPLE
    raise HumanValueError(f"{_quote(text)} is not a set of days ({hint})")


def format_days(days: Iterable[int]) -> str:
    """Write a day set compactly: ``"mon-fri"``, ``"sat,sun"``, ``"mon-sun"``.

    Runs of three or more days become ranges (wrapping past Sunday, like
    ``"fri-mon"``); shorter runs are listed, Monday first. The whole week is
    ``"mon-sun"`` so that it reads like the other ranges.
    """
    found = frozenset(days)
    if not found:
        raise ValueError("an empty set of days has no text form")
    if not found <= _ALL_DAYS:
        raise ValueError(f"days are numbered 0 (Monday) to 6 (Sunday), got {sorted(found)}")
    if found == _ALL_DAYS:
        return "mon-sun"
    pieces: list[tuple[int, str]] = []
    for first in sorted(found):
        if (first - 1) % 7 in found:
            continue  # not the start of a run
        length = 1
        while (first + length) % 7 in found:
            length += 1
        if length >= 3:
            pieces.append((first, f"{DAY_NAMES[first]}-{DAY_NAMES[(first + length - 1) % 7]}"))
        else:
            pieces += [((first + k) % 7, DAY_NAMES[(first + k) % 7]) for k in range(length)]
    return ",".join(text for _, text in sorted(pieces))


# ------------------------------------------------------------------------------ windows

_WINDOW_EXAMPLE = 'for example "mon-fri 09:00-18:00" or "22:00-07:00"'
_WINDOW_MAX_LENGTH = 200
_WINDOW = re.compile(
    r"(?P<days>.*?)\s*(?P<start>[0-9][^\s-]*)\s*-\s*(?P<end>[0-9][^\s-]*)", re.ASCII | re.DOTALL
)


@dataclass(frozen=True)
class Window:
    """A stretch of wall-clock time that repeats on some weekdays, like "mon-fri 09:00-18:00".

    A window whose end is not after its start crosses midnight and belongs to the
    day it starts on: "fri 23:00-01:00" runs from Friday 23:00 to Saturday 01:00,
    so it matters on Friday evening, not on Friday's early morning. Occurrences
    are half-open: the start is inside, the end is not.

    Datetimes are compared by their wall-clock fields, because a person means
    "22:00 where I am" whatever the offset happens to be that night.
    """

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        """Refuse windows that could never contain anything."""
        object.__setattr__(self, "days", frozenset(self.days))
        if not self.days or not self.days <= _ALL_DAYS:
            raise HumanValueError(
                f"{set(self.days) or '{}'} is not a set of days (a window needs at least one"
                " day, numbered 0 to 6 from Monday)"
            )
        if self.start == self.end:
            raise HumanValueError(
                f"{_quote(self._times_text())} is not a time window (a window needs a length)"
            )

    @property
    def crosses_midnight(self) -> bool:
        """Whether each occurrence ends on the day after it starts."""
        return self.end <= self.start

    def _times_text(self) -> str:
        return f"{format_time(self.start)}-{format_time(self.end)}"

    def __str__(self) -> str:
        """The canonical text form; the day part is left out when it is every day."""
        if self.days == _ALL_DAYS:
            return self._times_text()
        return f"{format_days(self.days)} {self._times_text()}"

    def _start_day(self, dt: datetime) -> date | None:
        """The date of the occurrence that contains ``dt``'s wall-clock time, if any."""
        now = dt.time().replace(tzinfo=None)
        today = dt.date()
        if not self.crosses_midnight:
            inside = self.start <= now < self.end
            return today if inside and today.weekday() in self.days else None
        if now >= self.start and today.weekday() in self.days:
            return today
        yesterday = today - timedelta(days=1)
        if now < self.end and yesterday.weekday() in self.days:
            return yesterday
        return None

    def _occurrence(self, day: date, dt: datetime) -> tuple[datetime, datetime]:
        end_day = day + timedelta(days=1) if self.crosses_midnight else day
        return (
            datetime.combine(day, self.start, tzinfo=dt.tzinfo),
            datetime.combine(end_day, self.end, tzinfo=dt.tzinfo),
        )

    def contains(self, dt: datetime) -> bool:
        """Whether ``dt`` (aware or naive local time) falls inside an occurrence."""
        return self._start_day(dt) is not None

    def occurrence_containing(self, dt: datetime) -> tuple[datetime, datetime] | None:
        """The (start, end) of the occurrence ``dt`` is in, in ``dt``'s tzinfo, or None."""
        day = self._start_day(dt)
        return None if day is None else self._occurrence(day, dt)

    def end_of_occurrence(self, dt: datetime) -> datetime | None:
        """When the occurrence ``dt`` is in ends, or None if ``dt`` is outside the window."""
        occurrence = self.occurrence_containing(dt)
        return None if occurrence is None else occurrence[1]

    def next_start(self, after: datetime) -> datetime:
        """The first occurrence start strictly after ``after``, in ``after``'s tzinfo.

        Within eight calendar days there is always one, since at least one
        weekday is in the window.
        """
        for offset in range(8):
            day = after.date() + timedelta(days=offset)
            if day.weekday() in self.days:
                start = datetime.combine(day, self.start, tzinfo=after.tzinfo)
                if start > after:
                    return start
        raise AssertionError("unreachable: a window has at least one day")  # pragma: no cover


def parse_window(text: str) -> Window:
    """Read a repeating window such as ``"mon-fri 09:00-18:00"`` or ``"22:00-07:00"``.

    The day part is optional (every day) and uses :func:`parse_days`; the times use
    :func:`parse_time`. An end before the start means the window crosses
    midnight. An end equal to the start is refused: it could mean an empty window
    or a whole day, and a whole day is better said by having no window at all.
    """
    # The pattern backtracks quadratically; no real window is anywhere near this long.
    match = _WINDOW.fullmatch(text.strip()) if len(text) <= _WINDOW_MAX_LENGTH else None
    if match is None:
        raise HumanValueError(f"{_quote(text)} is not a time window ({_WINDOW_EXAMPLE})")
    try:
        days = parse_days(match["days"]) if match["days"] else _ALL_DAYS
        start, end = parse_time(match["start"]), parse_time(match["end"])
    except HumanValueError as error:
        raise HumanValueError(f"{_quote(text)} is not a time window: {error}") from None
    if start == end:
        raise HumanValueError(
            f"{_quote(text)} is not a time window (a window needs a length: {_WINDOW_EXAMPLE})"
        )
    return Window(days, start, end)


# ------------------------------------------------------------------------ pydantic types


def _duration_value(value: object) -> object:
    """Pydantic hook: text goes through :func:`parse_duration`, numbers are refused.

    TOML has no duration type, so a bare ``every = 10`` is a number whose unit we
    would have to guess; it gets the same hint as the text ``"10"``.
    """
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise HumanValueError(
                f'"-{format_duration(-value)}" is not a duration (a duration cannot be negative)'
            )
        return value
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        hint = _duration_hint(str(value).lower())
        raise HumanValueError(f"{_describe(value)} is not a duration ({hint})")
    raise HumanValueError(f"{_describe(value)} is not a duration ({_DURATION_EXAMPLE})")


def _time_value(value: object) -> object:
    """Pydantic hook: text goes through :func:`parse_time`; a TOML local time is kept.

    TOML's unquoted ``start = 22:30:00`` arrives as a :class:`datetime.time`; it is
    accepted when it has no seconds and no offset, since our text form has neither.
    """
    if isinstance(value, time):
        if value.second or value.microsecond or value.tzinfo is not None:
            raise HumanValueError(
                f"{_quote(value.isoformat())} is not a time of day ({_TIME_HINT})"
            )
        return value
    if isinstance(value, str):
        return parse_time(value)
    raise HumanValueError(f"{_describe(value)} is not a time of day ({_TIME_HINT})")


def _days_value(value: object) -> object:
    """Pydantic hook: text goes through :func:`parse_days`; a list may mix names and 0-6."""
    if isinstance(value, str):
        return parse_days(value)
    if isinstance(value, list | tuple | set | frozenset) and value:
        days: set[int] = set()
        for item in value:
            if isinstance(item, str):
                days |= parse_days(item)
            elif isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 6:
                days.add(item)
            else:
                raise HumanValueError(
                    f'{_describe(item)} is not a day (use names like "mon" or 0-6, Monday first)'
                )
        return frozenset(days)
    raise HumanValueError(f"{_describe(value)} is not a set of days ({_DAYS_EXAMPLE})")


def _window_value(value: object) -> object:
    """Pydantic hook: text goes through :func:`parse_window`; a :class:`Window` is kept."""
    if isinstance(value, Window):
        return value
    if isinstance(value, str):
        return parse_window(value)
    raise HumanValueError(f"{_describe(value)} is not a time window ({_WINDOW_EXAMPLE})")


def _text_schema(*examples: str) -> WithJsonSchema:
    """JSON schema for a value that is written as text, whatever its Python type."""
    return WithJsonSchema({"type": "string", "examples": list(examples)})


def _serializer(to_text: Callable[[Any], str]) -> PlainSerializer:
    return PlainSerializer(to_text, return_type=str)


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration_value),
    _serializer(format_duration),
    _text_schema("90s", "50m", "1h30m", "7d"),
]
"""A length of time in a config model, written like ``"1h30m"``."""

TimeOfDay = Annotated[
    time,
    BeforeValidator(_time_value),
    _serializer(format_time),
    _text_schema("22:30", "07:05"),
]
"""A wall-clock time in a config model, written like ``"22:30"``."""

DaySet = Annotated[
    frozenset[int],
    BeforeValidator(_days_value),
    _serializer(format_days),
    _text_schema("mon-fri", "sat,sun", "daily"),
]
"""A set of weekdays (0 = Monday) in a config model, written like ``"mon-fri"``."""

TimeWindow = Annotated[
    Window,
    BeforeValidator(_window_value),
    _serializer(str),
    _text_schema("mon-fri 09:00-18:00", "22:00-07:00"),
]
"""A repeating window in a config model, written like ``"mon-fri 09:00-18:00"``."""
