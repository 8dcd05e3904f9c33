"""What a movement nudge says.

A kind friend who noticed you have been sitting a while: one concrete thing to do,
put as a question, and no tally of minutes (a number of hours at the screen reads
like a score, and scores invite guilt). After two snoozes in a row the friend does
not raise their voice: the words get softer and leave the timing to the person.
"""

from __future__ import annotations

TITLE = "Time for a little movement"
#: After two snoozes in a row: still the same suggestion, with less push.
GENTLE_TITLE = "Whenever you're ready"

DEFAULT_SUGGESTIONS = (
    "Stand up and roll your shoulders",
    "Walk to a window and look far away for a minute",
    "Step outside for five minutes of daylight",
)

#: The spec's own words, used only if the nudge is ever made due without words of
#: its own (every nudge the plugin fires names a suggestion).
SPEC_TITLE = TITLE
SPEC_BODY = "You've been at the screen a while. Stand up and stretch for a minute?"


def _clause(suggestion: str) -> str:
    """The suggestion without its closing punctuation, so that we can add our own."""
    return suggestion.strip().rstrip(".!?;:, ").strip()


def nudge_words(suggestion: str) -> tuple[str, str]:
    """Title and body of a fresh nudge that names ``suggestion``."""
    return TITLE, f"You've been at the screen a while. {_clause(suggestion)}?"


def gentle_words(suggestion: str) -> tuple[str, str]:
    """Title and body once the person has snoozed twice in a row."""
    return GENTLE_TITLE, f"No rush. {_clause(suggestion)}, once you reach a good stopping point."
