"""``movement``: a break to move after a long stretch at the screen.

```toml
[plugins.movement]
after = "50m"                 # continuous present time before a break nudge
break_length = "5m"           # away at least this long is a break taken (natural break)
window = "mon-fri 09:00-18:00"  # when movement nudges may appear; omit for any time
suggestions = ["Stand up and roll your shoulders", "Walk to a window and look far away"]
at_minute = 50                # optional: nudges only at :50, still only after `after`
```

How the time is counted
    Present time comes from the activity layer (``nudged_on_activity``), never from
    the wall clock: idle, a locked screen and sleep all stop it, and their times are
    back-dated to when they really began. An absence of at least ``break_length`` is
    a break the person took without being asked: the count starts again from zero,
    and the break goes into the journal (``how = "natural"``). A shorter absence
    pauses the count without resetting it: 40 minutes present, 2 away, 10 present
    make 50. Every presence change moves the one pending deadline
    (``ctx.call_at``); nothing polls.

When a nudge comes
    When ``after`` of present time has gathered since the last break, or since the
    last nudge was shown or snoozed. Outside ``window`` no nudge appears, but the
    count carries on (the body does not know about windows): someone at the screen
    since 08:00 gets the first nudge at 09:00 when a 09:00 window opens. With
    ``at_minute``, only at that minute of the hour, and only once the count has
    reached ``after``: present from 09:10 with ``at_minute = 50`` means 10:50, since
    at 09:50 only 40 minutes have gathered.

The answers
    "Done" is a break: the count starts again (journal ``how = "done"``). "Snooze"
    is brought back by nudged after the snooze delay (``how = "snoozed"``); the next
    fresh nudge waits a full ``after`` from the snooze. The second snooze in a row
    brings back softer words, never louder ones. "Skip" changes nothing but the
    journal (``how = "skipped"``): the next nudge comes ``after`` from this one. A
    nudge that was waiting (snoozed, held while away, deferred by quiet hours) is
    dropped if a break was taken meanwhile, or if it would appear outside the window.

Each nudge names one suggestion, taking them in turn (kept across restarts); a
snoozed nudge keeps its suggestion.

The journal (kind ``"break"``, for the report's chart of breaks taken, snoozed and
skipped) gets one entry per answer and one per natural break. A natural break is
written when the person comes back, dated when they left, and only when it was a
break from something: at least ``break_length`` at the screen before it (so walking
off right after "Done" is not a second break, and the first arrival of the day is
no break), and back on the same day (the evening away is the end of a day). A
"Done" pressed after a natural break that followed the nudge is that same break and
is not written twice. Dismissed and timed-out nudges are not journaled; the
``shown`` table has them.

The softer words after two snoozes: nudged brings a snoozed nudge back in the words
it was shown with, so the plugin drops that third showing in its filter ("snoozed
twice: asked again in gentler words", visible in ``nudged preview``) and fires the
same nudge at once with the softer words.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationInfo, field_validator

from nudged import (
    ActivityChange,
    Decision,
    Manual,
    Nudge,
    NudgeSpec,
    PluginConfig,
    PluginContext,
    Response,
    hookimpl,
)
from nudged.humanize import Duration, TimeWindow, format_duration

from .timing import PresenceCount, next_allowed, utc, window_holds_minute
from .words import (
    DEFAULT_SUGGESTIONS,
    GENTLE_TITLE,
    SPEC_BODY,
    SPEC_TITLE,
    gentle_words,
    nudge_words,
)

__all__ = ["MovementConfig", "MovementPlugin"]

NUDGE_ID = "break"
#: The count's deadline and the softer re-ask, as ``ctx.call_at`` keys.
DEADLINE = "break"
REWORD = "reword"
#: A deadline may run this much early (timer rounding) and still count as reached.
EARLY = timedelta(seconds=1)
#: Snoozes in a row after which the words soften.
SOFTEN_AFTER = 2
SUGGESTION_MAX = 200


def _suggestion(value: object) -> object:
    """Pydantic hook: a suggestion is words the nudge can name, not an empty string."""
    if not isinstance(value, str):
        raise ValueError(f"{json.dumps(value, default=str)} is not a suggestion "
                         '(write it in quotes, like "Stand up and roll your shoulders")')
    text = " ".join(value.split())
    if not text.rstrip(".!?;:, "):
        raise ValueError('a suggestion needs some words, like "Stand up and roll your shoulders"')
    if len(text) > SUGGESTION_MAX:
        raise ValueError(f"a suggestion is at most {SUGGESTION_MAX} characters; "
                         "a notification has little room")
    return text


def _minute(value: object) -> object:
    """Pydantic hook: a minute of the hour, 0 to 59, written as a number."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 59:
        return value
    shown = json.dumps(value, default=str, ensure_ascii=False)  # as TOML writes it
    raise ValueError(f"{shown} is not a minute of the hour (a number from 0 to 59, "
                     "like at_minute = 50 for :50 each hour)")


Suggestion = Annotated[str, BeforeValidator(_suggestion)]
Minute = Annotated[int, BeforeValidator(_minute)]


class MovementConfig(PluginConfig):
    """``[plugins.movement]``: every key has a default, so the plugin works without one."""

    after: Duration = timedelta(minutes=50)
    break_length: Duration = timedelta(minutes=5)
    window: TimeWindow | None = None
    suggestions: tuple[Suggestion, ...] = DEFAULT_SUGGESTIONS
    at_minute: Minute | None = None

    @field_validator("after", "break_length")
    @classmethod
    def _positive(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        if value <= timedelta(0):
            example = '"50m"' if info.field_name == "after" else '"5m"'
            raise ValueError(f'"{format_duration(value)}" is too short '
                             f"(it needs a length, like {example})")
        return value

    @field_validator("suggestions", mode="before")
    @classmethod
    def _a_list(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError(f"{json.dumps(value)} is not a list of suggestions (put it in "
                             f"brackets: suggestions = [{json.dumps(value)}])")
        if not isinstance(value, list | tuple):
            raise ValueError(f"{value!r} is not a list of suggestions (write them like "
                             '["Stand up and roll your shoulders", "Walk to a window"])')
        return value

    @field_validator("suggestions")
    @classmethod
    def _some(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("needs at least one suggestion, like "
                             '["Stand up and roll your shoulders"]')
        return value

    @field_validator("at_minute")
    @classmethod
    def _fits_window(cls, value: int | None, info: ValidationInfo) -> int | None:
        window = info.data.get("window")
        if value is not None and window is not None and not window_holds_minute(window, value):
            raise ValueError(f"{value} never falls inside the window \"{window}\" "
                             f"(no :{value:02d} in it; widen the window or pick another minute)")
        return value


class MovementPlugin:
    """Counts present time and asks for a movement break once enough has gathered.

    All state lives on the instance (a config reload makes a new one); the count is
    also written to ``ctx.state`` at every change, so a reload or a restart picks it
    up where it was, and what happened goes to ``ctx.journal`` (kind ``"break"``).
    """

    #: Runs only when the config has a table for it (see docs/hooks.md).
    opt_in = True

    def __init__(self) -> None:
        self.ctx: PluginContext | None = None
        self.count = PresenceCount()
        #: The suggestion of the nudge being asked (kept through its snoozes).
        self.suggestion: str | None = None
        #: When the nudge was last shown, and last snoozed (in UTC, like every instant
        #: the plugin keeps: see :func:`.timing.utc`).
        self.shown_at: datetime | None = None
        self.snoozed_at: datetime | None = None
        #: When the last natural break was journaled (a "Done" right after it is the
        #: same break and is not journaled twice).
        self.natural_at: datetime | None = None

    # -- set-up -----------------------------------------------------------------------
    @hookimpl
    def nudged_config_model(self) -> type[MovementConfig]:
        return MovementConfig

    @hookimpl
    def nudged_startup(self, ctx: PluginContext) -> None:
        """Pick the count up from the activity layer and the last snapshot, and arm."""
        self.ctx = ctx
        config = self._config
        now = ctx.now()
        present_since: datetime | None = now
        if ctx.activity is not None:
            present_since = now - ctx.activity.continuous() if ctx.activity.present() else None
        saved = ctx.state.get("count") if ctx.state is not None else None
        self.count = PresenceCount.restore(saved, now, present_since, config.break_length)
        if ctx.state is not None:
            remembered = ctx.state.get("suggestion")
            self.suggestion = remembered if isinstance(remembered, str) else None
        self._arm()

    @hookimpl
    def nudged_register_nudges(self, register: Callable[[NudgeSpec], None]) -> None:
        register(NudgeSpec(id=NUDGE_ID, title=SPEC_TITLE, body=SPEC_BODY, schedule=Manual()))

    @hookimpl
    def nudged_shutdown(self, ctx: PluginContext) -> None:
        """Keep the count for the next instance and leave no timer behind (a reload does
        not cancel plugin timers; the new instance arms its own)."""
        self._save(ctx.now())
        ctx.cancel(DEADLINE)
        ctx.cancel(REWORD)

    # -- presence ---------------------------------------------------------------------
    @hookimpl
    def nudged_on_activity(self, change: ActivityChange, ctx: PluginContext) -> None:
        """Leaving pauses the count; coming back after ``break_length`` resets it."""
        if change.kind != "presence":
            return
        config = self._config
        if change.present:
            away_since = self.count.away_since
            before = self.count.bank_break
            away = self.count.came_back(change.at, config.break_length)
            if away is not None and away_since is not None:
                self._natural_break(away_since, change.at, before, away)
        else:
            self.count.left(change.at)
        self._save(ctx.now())
        self._arm()

    def _natural_break(self, began: datetime, ended: datetime, before: timedelta,
                       away: timedelta) -> None:
        """Journal a break taken without being asked.

        Only a break from something: after at least ``break_length`` at the screen
        (walking off right after pressing "Done" is that same break, and arriving in
        the morning is not a break), and back the same day (leaving in the evening
        and coming back next morning is the end of a day, not a break).
        """
        ctx = self._ctx
        tz = ctx.tz
        if before < self._config.break_length:
            return
        if began.astimezone(tz).date() != ended.astimezone(tz).date():
            return
        self.natural_at = utc(ended)
        ctx.journal.add("break", began, how="natural", away_minutes=_minutes(away),
                        present_minutes=_minutes(before))

    # -- the deadline -----------------------------------------------------------------
    def _arm(self) -> None:
        """Put the one pending deadline where the count says (or none while away)."""
        ctx = self._ctx
        config = self._config
        reaches = self.count.reaches(config.after)
        if reaches is None:
            ctx.cancel(DEADLINE)
            return
        when = next_allowed(reaches, ctx.tz, config.window, config.at_minute)
        if when is None:
            ctx.log.warning("no moment for a movement nudge in the coming weeks",
                            window=str(config.window), at_minute=config.at_minute)
            ctx.cancel(DEADLINE)
            return
        ctx.call_at(when, self._deadline, key=DEADLINE)

    def _deadline(self) -> None:
        """Enough present time has gathered: ask, naming the next suggestion."""
        ctx = self._ctx
        config = self._config
        now = ctx.now()
        here = self.count.present and (ctx.activity is None or ctx.activity.present())
        if not here:
            return  # the next presence change arms again
        reached = self.count.since_ask(now) >= config.after - EARLY
        if not reached or (config.window is not None and not config.window.contains(now)):
            self._arm()
            return
        suggestion = self._next_suggestion()
        title, body = nudge_words(suggestion)
        # Counted as asked now even if a filter holds it back, so that a nudge dropped
        # on the way (stale after quiet hours) is followed by the next one in time.
        self.count.asked(now)
        self._save(now)
        ctx.fire(NUDGE_ID, title=title, body=body)
        self._arm()

    def _next_suggestion(self) -> str:
        ctx = self._ctx
        suggestions = self._config.suggestions
        turn = ctx.state.get("turn", 0) if ctx.state is not None else 0
        turn = turn if isinstance(turn, int) and turn >= 0 else 0
        suggestion = suggestions[turn % len(suggestions)]
        self.suggestion = suggestion
        if ctx.state is not None:
            ctx.state.set("turn", (turn + 1) % len(suggestions))
            ctx.state.set("suggestion", suggestion)
        return suggestion

    # -- the nudge on its way -------------------------------------------------------
    @hookimpl
    def nudged_filter_nudge(self, nudge: Nudge, now: datetime,
                            ctx: PluginContext) -> Decision | None:
        """Drop our own nudges that are no longer true; soften a twice-snoozed one.

        Never says "allow", so quiet hours and other filters still have their say.
        """
        if nudge.plugin != ctx.name:
            return None
        config = self._config
        # nudged releases nudges held while away before it tells plugins the person
        # is back, so a break that is ending right now is seen here, not yet in the count.
        if self.count.taken_break_while_away(now, config.break_length):
            return Decision.suppress("a break was taken since it was asked")
        asked = self.snoozed_at if nudge.attempt > 0 else utc(nudge.due_at)
        reset = self.count.reset_at
        if asked is not None and reset is not None and asked < reset:
            return Decision.suppress("a break was taken since it was asked")
        if config.window is not None and not config.window.contains(now.astimezone(ctx.tz)):
            return Decision.suppress(f"outside the movement window {config.window}")
        if nudge.attempt >= SOFTEN_AFTER and nudge.title != GENTLE_TITLE:
            suggestion = self.suggestion or config.suggestions[0]
            ctx.call_at(now, lambda: self._reword(suggestion), key=REWORD)
            return Decision.suppress("snoozed twice: asked again in gentler words")
        return None

    def _reword(self, suggestion: str) -> None:
        title, body = gentle_words(suggestion)
        self._ctx.fire(NUDGE_ID, title=title, body=body)

    @hookimpl
    def nudged_on_nudge_shown(self, nudge: Nudge, at: datetime, ctx: PluginContext) -> None:
        """Shown: the next nudge waits a full ``after`` from here."""
        if nudge.plugin != ctx.name:
            return
        self.shown_at = utc(at)
        self.count.asked(at)
        self._save(at)
        self._arm()

    @hookimpl
    def nudged_on_response(self, nudge: Nudge, response: Response, at: datetime,
                           ctx: PluginContext) -> None:
        """Journal the answer; "Done" starts the count again, "Snooze" counts as asked."""
        if nudge.plugin != ctx.name:
            return
        details: dict[str, Any] = {
            "suggestion": self.suggestion,
            "attempt": nudge.attempt,
            "present_minutes": _minutes(self.count.since_break(at)),
        }
        if response is Response.DONE:
            already = (self.natural_at is not None and self.shown_at is not None
                       and self.natural_at >= self.shown_at)
            if not already:
                ctx.journal.add("break", at, how="done", **details)
            self.count.reset(at)
            self.snoozed_at = None
        elif response is Response.SNOOZE:
            ctx.journal.add("break", at, how="snoozed", **details)
            self.snoozed_at = utc(at)
            self.count.asked(at)
        elif response is Response.SKIP:
            ctx.journal.add("break", at, how="skipped", **details)
        else:
            return  # dismissed or timed out: the next nudge comes in its time
        self._save(at)
        self._arm()

    # -- helpers ----------------------------------------------------------------------
    @property
    def _ctx(self) -> PluginContext:
        assert self.ctx is not None, "the movement plugin has not been started"
        return self.ctx

    @property
    def _config(self) -> MovementConfig:
        config = self._ctx.config
        return config if isinstance(config, MovementConfig) else MovementConfig()

    def _save(self, now: datetime) -> None:
        if self._ctx.state is not None:
            self._ctx.state.set("count", self.count.snapshot(now))


def _minutes(span: timedelta) -> int:
    return max(0, round(span.total_seconds() / 60))
