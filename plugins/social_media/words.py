"""What a social-media nudge says.

A friend who keeps an eye on the clock because you asked them to: it names the time
and the limit you set, and leaves the choice with you. It tells; it never locks,
counts against you, or makes scrolling a failing. No exclamation marks, no "should".
"""

from __future__ import annotations

from datetime import timedelta

#: How built-in categories are named in a sentence ("30 minutes of social media today").
CATEGORY_LABELS = {"social": "social media", "video": "videos", "news": "news"}

OK = "OK"
GRACE = "5 more minutes"

#: The specs' own words, used only if a nudge were ever made due without words of
#: its own (every nudge the plugin fires has them).
SPEC_WARNING = ("Nearly at your limit", "A few minutes left of the time you set for today.")
SPEC_LIMIT = ("At the limit you set", "A good moment to put it down?")


def category_label(name: str) -> str:
    """``"social"`` -> ``"social media"``; a category of the person's own by its name,
    with ``_`` and ``-`` read as spaces (``"short_videos"`` -> ``"short videos"``)."""
    return CATEGORY_LABELS.get(name, " ".join(name.replace("_", " ").replace("-", " ").split()))


def amount(span: timedelta) -> str:
    """``"30 minutes"``, ``"1 hour 15 minutes"``, ``"45 seconds"``: whole minutes from
    a minute on (rounded), so a nudge never reads like a stopwatch."""
    seconds = max(0, round(span.total_seconds()))
    if seconds < 60:
        return _unit(seconds, "second")
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return _unit(minutes, "minute")
    if not minutes:
        return _unit(hours, "hour")
    return f"{_unit(hours, 'hour')} {_unit(minutes, 'minute')}"


def _unit(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def warning_words(label: str, daily: timedelta, left: timedelta) -> tuple[str, str]:
    """A heads-up ``left`` before the limit."""
    return (f"{amount(left)} left for {label} today",
            f"You set {amount(daily)} for {label} today. "
            "A good moment to look for a stopping point.")


def limit_words(label: str, daily: timedelta) -> tuple[str, str]:
    """At the limit."""
    return (f"{amount(daily)} of {label} today",
            "That's the limit you set. A good moment to put it down?")


def over_words(label: str, used: timedelta, daily: timedelta) -> tuple[str, str]:
    """Every ``over_every`` past the limit, while still on it."""
    return (f"{amount(used)} of {label} today",
            f"That's past the {amount(daily)} you set. Just letting you know; "
            "what you do next is up to you.")


def after_grace_words(label: str, used: timedelta) -> tuple[str, str]:
    """When the five more minutes the person asked for are up."""
    return ("Those five minutes are up",
            f"{amount(used)} of {label} today. A good moment to put it down?")
