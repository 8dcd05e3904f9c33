"""``checkin``: a short evening check-in, mood and energy from 1 to 5, kept locally.

```toml
[plugins.checkin]
at = "20:30"                    # when the day's one reminder comes
days = "mon-sun"                # on these days
questions = ["mood", "energy"]  # each answered 1 to 5
remind = true                   # false: no reminders, only `nudged checkin`
```

Noting how a day went, in two numbers, makes the slow changes of a long recovery
visible: the weeks that were better than they felt, the evenings that follow short
nights. So, once a day at ``at`` (only on ``days``), a gentle reminder asks how the
day was, and ``nudged checkin`` takes the answers at any time (see :mod:`.command`).

The reminder
    At most one a day, and none on a day that already has a check-in (answered
    before ``at`` from the terminal: no reminder that evening). It waits while the
    person is away, like any nudge, for up to :data:`STALE_AFTER`; later it is
    dropped, not carried into the next day. Its buttons, "OK" and "Not today", both
    just close it, as does dismissing it or leaving it: nothing comes back, and a
    day without a check-in is never mentioned, then or later.

    The answers are typed in a terminal for now: nudged's notifications offer only
    done / snooze / skip buttons, and the reply field needed for a note is missing on
    many desktops (dunst has none). Once nudged's notifications can carry answer
    buttons, the reminder becomes one notification per question with five buttons,
    answered where it appears; :func:`.days.record` is already the one way a
    check-in is written, whatever it comes from.

What is kept
    Journal entries of kind ``checkin`` (see :mod:`.days`): the day, the answers, an
    optional note, and where they came from; in nudged's own database, like
    everything else, never sent anywhere. A day ends at 04:00, so an answer after
    midnight is about the evening before. ``ctx.state`` ``reminder`` remembers the
    day of the last reminder shown and what became of it, for "one a day".

``nudged status`` shows ``checked_in_today``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any, Literal

from pydantic import StrictBool, field_validator

from nudged import (
    Answer,
    At,
    Decision,
    Nudge,
    NudgeSpec,
    PluginConfig,
    PluginContext,
    Response,
    hookimpl,
)
from nudged.desktop import NotificationServer
from nudged.humanize import DaySet, TimeOfDay

from . import command, words
from .days import checked_in, day_of, read, record
from .questions import (
    DEFAULT_QUESTIONS,
    MAX_QUESTIONS,
    SCALE,
    Question,
    name_problem,
    parse_answer,
    question,
)

__all__ = ["CheckinConfig", "CheckinPlugin"]

REMINDER = "reminder"
#: The follow-up questions of the notification flow: ``ask-energy``.
ASK = "ask-"
#: The five answer buttons, "1" to "5".
ANSWERS = tuple(f"answer:{n}" for n in SCALE)
#: The note after the answers, asked only where the server has a reply field.
NOTE = "note"
#: How late a reminder held while the person was away (or by quiet hours) may still
#: come; later it is dropped, since the evening has moved on.
STALE_AFTER = timedelta(hours=2)
#: ``ctx.state`` key: ``{"day": ISO date, "at": ISO time, "response": ... | None}``.
STATE_REMINDER = "reminder"


class CheckinConfig(PluginConfig):
    """``[plugins.checkin]``: every key has a default."""

    at: TimeOfDay = time(20, 30)
    days: DaySet = frozenset(range(7))
    questions: tuple[str, ...] = DEFAULT_QUESTIONS
    remind: StrictBool = True
    #: "notification": five buttons per question, one question after the other;
    #: "terminal": one reminder that points at `nudged checkin` (for desktops that
    #: show fewer buttons, like GNOME's three); "auto": the first where the
    #: notification server shows five buttons, else the second.
    answer_in: Literal["auto", "notification", "terminal"] = "auto"

    @field_validator("questions", mode="before")
    @classmethod
    def _questions(cls, value: object) -> object:
        example = '["mood", "energy"]'
        if isinstance(value, str):
            raise ValueError(f"{json.dumps(value)} is not a list of questions (put it in "
                             f"brackets: questions = [{json.dumps(value)}])")
        if not isinstance(value, list | tuple):
            raise ValueError(f"{value!r} is not a list of questions (write them like "
                             f"{example})")
        if not value:
            raise ValueError(f"needs at least one question, like {example}")
        seen: set[str] = set()
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"{json.dumps(item, default=str)} is not a question name "
                                 f'(write it in quotes, like "mood")')
            problem = name_problem(item)
            if problem is not None:
                raise ValueError(problem)
            if item in seen:
                raise ValueError(f'"{item}" is listed twice')
            seen.add(item)
        if len(value) > MAX_QUESTIONS:
            raise ValueError(f"{len(value)} questions are more than a check-in needs "
                             f"(at most {MAX_QUESTIONS}; two or three are plenty)")
        return tuple(value)

    def asked(self) -> list[Question]:
        return [question(name) for name in self.questions]


class CheckinPlugin:
    """The evening's one reminder, and ``nudged checkin``.

    Holds no copy of the check-ins: each decision reads the journal afresh, because
    ``nudged checkin`` writes it from another process while the daemon runs.
    """

    #: Runs only when the config has a table for it (see docs/hooks.md).
    opt_in = True

    def __init__(self) -> None:
        self.ctx: PluginContext | None = None
        #: Where the questions are answered: "notification" or "terminal".
        self.flow = "notification"
        #: The notification server has a reply field: a note is asked for there too.
        self.note_field = False

    # -- set-up -----------------------------------------------------------------------
    @hookimpl
    def nudged_config_model(self) -> type[CheckinConfig]:
        return CheckinConfig

    @hookimpl
    async def nudged_startup(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        config = _config(ctx)
        server = await ctx.desktop.notification_server() if ctx.desktop is not None else None
        self.flow = config.answer_in
        if self.flow == "auto":
            self.flow = choose_flow(ctx, server)
        self.note_field = (self.flow == "notification" and server is not None
                           and "inline-reply" in server.capabilities)

    @hookimpl
    def nudged_register_nudges(self, register: Callable[[NudgeSpec], None],
                               ctx: PluginContext) -> None:
        config = _config(ctx)
        if not config.remind:
            return
        schedule = At(times=(config.at,), days=config.days)
        if self.flow == "terminal":
            register(NudgeSpec(
                id=REMINDER,
                title=words.TITLE,
                body=words.reminder_body(config.asked()),
                schedule=schedule,
                stale_after=STALE_AFTER,
                buttons=("done", "skip"),
                labels=dict(words.LABELS),
            ))
            return
        first, *others = config.asked()
        register(NudgeSpec(id=REMINDER, title=words.TITLE, body=words.question_body(first),
                           schedule=schedule, stale_after=STALE_AFTER, buttons=ANSWERS))
        for q in others:  # fired one after the other, as each answer comes
            register(NudgeSpec(id=ASK + q.name, title=words.next_title(q),
                               body=words.question_body(q), stale_after=STALE_AFTER,
                               buttons=ANSWERS))
        if self.note_field:
            register(NudgeSpec(id=NOTE, title=words.NOTE_TITLE, body=words.NOTE_BODY,
                               stale_after=STALE_AFTER, buttons=("done",),
                               labels=dict(words.NOTE_LABELS), reply=words.NOTE_FIELD))

    @hookimpl
    def nudged_register_commands(self, register: Callable[..., None],
                                 ctx: PluginContext | None) -> None:
        """``nudged checkin``, with a flag for each configured question."""
        register("checkin", command.help_line(ctx), command.builder(command.flags_for(ctx)),
                 command.run)

    # -- the reminder -------------------------------------------------------------------
    @hookimpl
    def nudged_filter_nudge(self, nudge: Nudge, now: datetime,
                            ctx: PluginContext) -> Decision | None:
        """One reminder a day, and none once the day has a check-in.

        Never says "allow", so quiet hours and the other filters still have their say.
        """
        if nudge.plugin != ctx.name:
            return None
        day = day_of(now, ctx.tz)
        if nudge.spec.id.startswith(ASK):  # a question after the first: the same check-in
            today = read(ctx.journal, day, ctx.tz)
            if today is not None and nudge.spec.id.removeprefix(ASK) in today.answers:
                return Decision.suppress("already answered today")
            return None
        if nudge.spec.id == NOTE:  # after the answers: the same check-in
            today = read(ctx.journal, day, ctx.tz)
            if today is not None and today.note:
                return Decision.suppress("today's note is already there")
            return None
        if checked_in(ctx.journal, day, ctx.tz):
            return Decision.suppress("today's check-in is already noted")
        last = ctx.state.get(STATE_REMINDER) if ctx.state is not None else None
        if isinstance(last, dict) and last.get("day") == day.isoformat():
            return Decision.suppress("one check-in reminder a day, and today's was shown")
        return None

    @hookimpl
    def nudged_on_nudge_shown(self, nudge: Nudge, at: datetime, ctx: PluginContext) -> None:
        if nudge.plugin != ctx.name or ctx.state is None or nudge.spec.id != REMINDER:
            return
        ctx.state.set(STATE_REMINDER, {"day": day_of(at, ctx.tz).isoformat(),
                                       "at": at.isoformat(timespec="seconds"),
                                       "response": None})

    @hookimpl
    def nudged_on_response(self, nudge: Nudge, response: Response | Answer, at: datetime,
                           ctx: PluginContext) -> None:
        """An answer button: keep the answer and ask the next question. Anything else
        (dismissed, left): nothing more comes today; it is only remembered."""
        if nudge.plugin != ctx.name:
            return
        if isinstance(response, Answer):
            self._answered(nudge, response, at, ctx)
        if ctx.state is None or nudge.spec.id != REMINDER:
            return
        last = ctx.state.get(STATE_REMINDER)
        if isinstance(last, dict):
            ctx.state.set(STATE_REMINDER, {**last, "response": response.value})

    def _answered(self, nudge: Nudge, answer: Answer, at: datetime, ctx: PluginContext) -> None:
        if nudge.spec.id == NOTE:
            note = " ".join((answer.text or "").split())
            if answer.word == "reply" and note and ctx.journal is not None:
                record(ctx.journal, at, day_of(at, ctx.tz), ctx.tz, {}, note,
                       source="notification")
            return
        asked = _config(ctx).asked()
        name = asked[0].name if nudge.spec.id == REMINDER else nudge.spec.id.removeprefix(ASK)
        value = parse_answer(answer.word)
        if value is None or ctx.journal is None:
            return
        record(ctx.journal, at, day_of(at, ctx.tz), ctx.tz, {name: value}, None,
               source="notification")
        names = [q.name for q in asked]
        if name in names and names.index(name) + 1 < len(names):
            ctx.fire(ASK + names[names.index(name) + 1])
        elif name in names and self.note_field:
            ctx.fire(NOTE)

    # -- status ---------------------------------------------------------------------
    @hookimpl
    def nudged_status(self, ctx: PluginContext) -> dict[str, Any]:
        """``checked_in_today`` (one indexed read of today's journal entries)."""
        return {"checked_in_today": checked_in(ctx.journal, day_of(ctx.now(), ctx.tz), ctx.tz)}


def _config(ctx: PluginContext) -> CheckinConfig:
    config = ctx.config
    return config if isinstance(config, CheckinConfig) else CheckinConfig()


def choose_flow(ctx: PluginContext, server: NotificationServer | None) -> str:
    """"notification" where the person's notification server shows five buttons,
    "terminal" where it shows fewer (GNOME Shell: three) or there is none. Without a
    desktop (previews, tests) the buttons, as most servers show them."""
    if ctx.desktop is None:
        return "notification"
    flow = "notification" if server is not None and server.shows_buttons(len(ANSWERS)) \
        else "terminal"
    ctx.log.info("check-in answers", flow=flow,
                 server=server.name if server is not None else "none")
    return flow
