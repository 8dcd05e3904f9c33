"""What the sleep-window nudges say.

Kept apart from the timing so the words can be read (and reviewed for tone) in one
place. The person reading these is tired and may already feel bad about the hour:
every line names the time, offers one small next step, and never scolds. Repeats
vary a little so they do not feel mechanical, and none is louder than the first.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time, timedelta

from nudged.humanize import format_time

WIND_DOWN_TITLE = "Bedtime is at {bedtime}"
BEDTIME_TITLE = "It's bedtime"
BEDTIME_BODY = ("Saving what you're doing and closing the laptop now makes the {wake} "
                "wake-up easier.")

#: The wind-down suggestion by position: the earliest reminder, the ones in between,
#: and the last one before bedtime.
FIRST_STEP = "A good moment to dim the screen and start winding down."
MIDDLE_STEP = "A good moment to start wrapping up what you're doing."
LAST_STEP = "A good moment to find a stopping point and save your work."

#: Repeats while the person is still at the screen after bedtime, used in turn.
REPEATS: tuple[tuple[str, str], ...] = (
    ("It's past bedtime",
     "Bedtime was {bedtime}. Saving your work now is a good place to stop for the night."),
    ("A gentle reminder about bed",
     "Whatever is left will keep until the morning. Wake-up is at {wake}."),
    ("Time to rest",
     "Jotting down where you left off makes it easier to close the laptop and pick it "
     "up tomorrow."),
    ("Ready to call it a night?",
     "The screen can go dark now; everything will still be here at {wake}."),
)

#: Button words: "Not tonight" ends this night's reminders, no questions asked.
WIND_DOWN_LABELS = {"done": "Thanks", "skip": "Not tonight"}
BEDTIME_LABELS = {"done": "Going to bed", "skip": "Not tonight"}


def _minutes(count: int) -> str:
    return "a minute" if count == 1 else f"{count} minutes"


def _hours(count: int) -> str:
    return "an hour" if count == 1 else f"{count} hours"


def how_long(delta: timedelta) -> str:
    """A length of time the way a person says it: "an hour", "half an hour", "15 minutes"."""
    total = max(0, round(delta.total_seconds() / 60))
    hours, minutes = divmod(total, 60)
    if hours == 0:
        if minutes == 0:
            return "a moment"
        return "half an hour" if minutes == 30 else _minutes(minutes)
    if minutes == 0:
        return _hours(hours)
    if minutes == 30:
        return "an hour and a half" if hours == 1 else f"{hours} and a half hours"
    return f"{_hours(hours)} and {_minutes(minutes)}"


def wind_down(bedtime: time, before: timedelta, position: int, count: int) -> tuple[str, str]:
    """Title and body of the wind-down reminder ``before`` bedtime.

    ``position`` counts from the earliest reminder (0) to the last (``count - 1``); the
    first one suggests starting to wind down, the last one saving the work.
    """
    if position == 0:
        step = FIRST_STEP
    elif position == count - 1:
        step = LAST_STEP
    else:
        step = MIDDLE_STEP
    when = how_long(before)
    return (WIND_DOWN_TITLE.format(bedtime=format_time(bedtime)),
            f"In {when}. {step}")


def bedtime(wake: time) -> tuple[str, str]:
    """Title and body of the nudge at bedtime."""
    return BEDTIME_TITLE, BEDTIME_BODY.format(wake=format_time(wake))


def repeat(number: int, bedtime: time, wake: time) -> tuple[str, str]:
    """Title and body of the ``number``-th repeat after bedtime (0 for the first)."""
    title, body = REPEATS[number % len(REPEATS)]
    return title, body.format(bedtime=format_time(bedtime), wake=format_time(wake))


def every_text(bedtimes: tuple[time, ...] = (time(23, 0), time(0, 30), time(3, 0)),
               wakes: tuple[time, ...] = (time(7, 0), time(9, 0))) -> Iterator[str]:
    """Every title and body the plugin can show, for a few sample times (tone tests)."""
    offsets = [timedelta(minutes=m) for m in (1, 5, 15, 30, 45, 60, 75, 90, 120, 150, 720)]
    for bed in bedtimes:
        for count in (1, 2, 3):
            for position in range(count):
                for before in offsets:
                    yield from wind_down(bed, before, position, count)
        for wake in wakes:
            yield from bedtime(wake)
            for number in range(len(REPEATS)):
                yield from repeat(number, bed, wake)
    yield from WIND_DOWN_LABELS.values()
    yield from BEDTIME_LABELS.values()
