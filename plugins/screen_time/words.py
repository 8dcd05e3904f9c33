"""What a screen-time nudge says.

Calm and factual, like a friend who glanced at the clock for you: how long, and
what the person set themselves, with no verdict attached. Hours at the screen easily
read like a score, so the words never compare, never count "again", never say what
the person ought to do: they hand over the number and leave the decision with them.
Nothing is locked, and the limit nudge says so.
"""

from __future__ import annotations

from datetime import timedelta

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)

WARNING_TITLE = "Screen time today"
OVER_TITLE = "Past today's screen time"
CONTINUOUS_TITLE = "Time for a screen break?"

#: The specs' own words, used only if a nudge is ever made due without words of its
#: own (every nudge the plugin fires says how long).
WARNING_BODY = "A note on how long you've been at the screen today."
LIMIT_TITLE = "That's your screen time for today"
LIMIT_BODY = "Nothing gets locked; it's your call. A good stopping point might be close."
OVER_BODY = "You're past the screen time you set for today. Wrap up when it suits you."
CONTINUOUS_BODY = ("You've been at the screen a good while without a break. A few minutes "
                   "away, and it will still be here when you're back.")


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


def spoken(span: timedelta) -> str:
    """``span`` the way a person says it: "6 hours", "7 hours 30 minutes", "45 minutes".

    Rounded to the minute (a deadline may run a moment early or late); under a minute
    (only with test-sized budgets) in seconds.
    """
    seconds = max(0, round(span.total_seconds()))
    if seconds < 60:
        return _count(seconds, "second")
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return _count(minutes, "minute")
    if not minutes:
        return _count(hours, "hour")
    return f"{_count(hours, 'hour')} {_count(minutes, 'minute')}"


def _whole_hours(span: timedelta) -> int | None:
    """The number of hours ``span`` says when spoken, if it is a whole number of them."""
    text = spoken(span)
    number, _, unit = text.partition(" ")
    return int(number) if unit in ("hour", "hours") else None


def _budget_note(total: timedelta, budget: timedelta) -> str:
    """"(your budget is 8)" after "6 hours", or the budget in full when the units differ."""
    if _whole_hours(total) is not None and _whole_hours(budget) is not None:
        return f"(your budget is {_whole_hours(budget)})"
    return f"(your budget is {spoken(budget)})"


def warning_words(total: timedelta, budget: timedelta) -> tuple[str, str]:
    """On the way to the budget: how long so far, and the budget."""
    return WARNING_TITLE, (f"You've been at the screen for {spoken(total)} today "
                           f"{_budget_note(total, budget)}.")


def limit_words(budget: timedelta) -> tuple[str, str]:
    """The budget is reached: said once, plainly, and nothing more is asked."""
    return f"That's your {spoken(budget)} of screen time for today", LIMIT_BODY


def over_words(total: timedelta, budget: timedelta) -> tuple[str, str]:
    """Past the budget, while still at the screen: the numbers, and the choice theirs."""
    return OVER_TITLE, (f"You've been at the screen for {spoken(total)} today "
                        f"{_budget_note(total, budget)}. Wrap up when it suits you.")


def continuous_words(length: timedelta) -> tuple[str, str]:
    """A long stretch without a real break."""
    return CONTINUOUS_TITLE, (f"You've been at the screen for {spoken(length)} without a "
                              "break. A few minutes away, and it will still be here when "
                              "you're back.")
