"""Small frozen value types shared by the core, the plugins and the tests.

These are the words plugins speak: a :class:`NudgeSpec` says what a nudge is and
when it is due, a :class:`Nudge` is one due instance of it, a :class:`Decision`
is a filter's answer, and a :class:`Response` is what the person did.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta

from nudged.activity.base import Focus
from nudged.humanize import Window


@dataclass(frozen=True)
class At:
    """Fire at fixed local times of day, on the given weekdays (0 = Monday)."""

    times: tuple[time, ...]
    days: frozenset[int] = frozenset(range(7))


@dataclass(frozen=True)
class Every:
    """Fire at a fixed interval, optionally only inside a window.

    With a window, fire times are anchored to the window's start on each day it
    applies ("every 2h" inside "09:00-18:00" fires at 11:00, 13:00, 15:00, 17:00),
    so a restart of the daemon does not shift them.
    """

    interval: timedelta
    window: Window | None = None
    jitter: timedelta = timedelta(0)


@dataclass(frozen=True)
class Manual:
    """Never fires on its own: the plugin calls ``ctx.fire(nudge_id)`` itself."""


Schedule = At | Every | Manual


BUTTONS = ("done", "snooze", "skip")
#: A nudge's own answer button: ``answer:`` and a short word, like ``answer:3``.
ANSWER_PREFIX = "answer:"
ANSWER_BUTTON = re.compile(r"answer:[a-z0-9][a-z0-9_-]{0,19}\Z")


@dataclass(frozen=True)
class NudgeSpec:
    """What a plugin registers: one kind of nudge and when it is due.

    ``stale_after`` bounds how late a deferred or missed nudge may still be shown
    (a bedtime reminder from two hours ago is not). ``quiet_hours_apply = False``
    lets a nudge through quiet hours (the sleep-window nudges need that).
    """

    id: str
    title: str
    body: str
    schedule: Schedule = field(default_factory=Manual)
    stale_after: timedelta = timedelta(minutes=30)
    quiet_hours_apply: bool = True
    buttons: tuple[str, ...] = ("done", "snooze", "skip")
    #: Other words on the buttons, e.g. ``{"snooze": "Tomorrow"}``.
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: How long "snooze" waits for this nudge (None: ``[core] snooze``).
    snooze: timedelta | None = None
    #: A free-text field with this label, where the notification server has one
    #: ("inline-reply": KDE Plasma); the text comes back as ``Answer("reply", text)``.
    reply: str | None = None

    def __post_init__(self) -> None:
        unknown = [b for b in self.buttons if b not in BUTTONS and not ANSWER_BUTTON.match(b)]
        if unknown:
            raise ValueError(f"unknown button {unknown[0]!r}; buttons are {', '.join(BUTTONS)} "
                             "and answers like answer:3")
        if not self.id:
            raise ValueError("a nudge needs an id")
        odd = [name for name in self.labels if name not in self.buttons]
        if odd:
            raise ValueError(f"labels names {odd[0]!r}, which is not one of its buttons")


@dataclass(frozen=True)
class Nudge:
    """One due instance of a :class:`NudgeSpec`.

    ``due_at`` is when it came due; deferrals keep it (a snooze sets it to when the
    snooze ends), so the
    engine can tell how stale it has become. ``attempt`` counts snoozes.
    """

    plugin: str
    spec: NudgeSpec
    due_at: datetime
    attempt: int = 0
    title: str | None = None
    body: str | None = None

    @property
    def key(self) -> str:
        """``plugin:id``, the name people and logs use for a nudge."""
        return f"{self.plugin}:{self.spec.id}"

    @property
    def shown_title(self) -> str:
        return self.title if self.title is not None else self.spec.title

    @property
    def shown_body(self) -> str:
        return self.body if self.body is not None else self.spec.body

    def again(self) -> Nudge:
        """The same nudge, shown once more after a snooze."""
        return replace(self, attempt=self.attempt + 1)


class Verdict(enum.Enum):
    ALLOW = "allow"
    SUPPRESS = "suppress"
    DEFER = "defer"


@dataclass(frozen=True)
class Decision:
    """A filter's answer about a due nudge (``None`` from a filter = no opinion)."""

    verdict: Verdict
    reason: str = ""
    until: datetime | None = None

    @classmethod
    def allow(cls, reason: str = "") -> Decision:
        return cls(Verdict.ALLOW, reason)

    @classmethod
    def suppress(cls, reason: str) -> Decision:
        return cls(Verdict.SUPPRESS, reason)

    @classmethod
    def defer(cls, until: datetime, reason: str) -> Decision:
        """Show it at ``until`` instead (the end of quiet hours): a known end."""
        return cls(Verdict.DEFER, reason, until)

    @classmethod
    def hold(cls, reason: str) -> Decision:
        """Hold it until the condition ends, however long that takes (do-not-disturb,
        a fullscreen film). The plugin calls ``ctx.recheck()`` when the condition may
        have ended; the nudge then comes due again, once, unless it went stale."""
        return cls(Verdict.DEFER, reason, None)


class Response(enum.Enum):
    """What became of a shown nudge."""

    DONE = "done"
    SNOOZE = "snooze"
    SKIP = "skip"
    DISMISSED = "dismissed"
    TIMED_OUT = "timed_out"


@dataclass(frozen=True)
class Answer:
    """One of a nudge's own answer buttons was pressed: ``Answer("3")`` for the button
    ``"answer:3"``, or text was typed in its reply field: ``Answer("reply", text)``.
    ``nudged_on_response`` receives it as ``response``, in place of a
    :class:`Response`; ``value`` is the button (``"answer:3"``), as stored and shown
    (the text is not stored by nudged: the plugin keeps what it needs)."""

    word: str
    #: What the person typed, for ``Answer("reply", text)`` (see ``NudgeSpec.reply``).
    text: str | None = None

    @property
    def value(self) -> str:
        return f"{ANSWER_PREFIX}{self.word}"

    @classmethod
    def of(cls, button: str) -> Answer:
        """The answer of the button ``"answer:3"``."""
        return cls(button.removeprefix(ANSWER_PREFIX))


@dataclass(frozen=True)
class ActivityChange:
    """What ``nudged_on_activity`` receives."""

    kind: str  # "presence" | "focus"
    at: datetime
    present: bool
    focus: Focus | None = None
