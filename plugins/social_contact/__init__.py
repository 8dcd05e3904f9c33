"""``social_contact``: now and then, a gentle prompt to get in touch with someone.

```toml
[plugins.social_contact]
hours = "18:00-20:30"          # when contact prompts may appear
[[plugins.social_contact.people]]
name = "Mum"
every = "7d"
how = "call"                   # call | message | visit | anything you write
note = "ask about the garden"
```

Contact with people is one of the things that help most when low mood lingers, and
one of the first to fade. So, at most once a day and only inside ``hours``, nudged
asks about the one person who has waited longest past their ``every``, and names
the others who are also due in one short line.

When the prompt appears: at the start of ``hours`` if the person is at the screen;
otherwise as soon as they come back inside ``hours`` (``nudged_on_activity``). A
person is due on the day their ``every`` runs out, from the start of that day's
``hours`` (a call on Monday at 19:40 with ``every = "7d"`` makes next Monday's
prompt possible from 18:00, not only from 19:40). The prompt is a ``Manual`` nudge
per person, fired by the plugin with fresh words each time (``ctx.fire``), at moments
planned with ``ctx.call_at``, never polled.

Clocks: each person's clock starts the first time nudged runs with them in the
config (kept in ``ctx.state``), so the first start never brings everyone at once; a
logged contact restarts it.

Buttons:

* **Done** logs the contact (journal kind ``contact``, ``source = "prompt"``) and so
  restarts that person's clock.
* **Tomorrow** asks about the same person again at the start of the next day's
  ``hours``, with fresh words, ahead of anyone else. (It is the nudge's snooze, set to
  a day; the engine's own copy of the snoozed nudge is then let go by this plugin's
  filter, because the plugin asks again itself at a better moment.)
* **Skip** logs nothing; that person is not asked about again that day, and goes to
  the back of the line: the next prompt is about someone else who is due, if anyone
  is. Several skipped people take turns, the longest-ago skip first.

A dismissed or unanswered prompt changes nothing; the next day's prompt follows the
usual order.

Commands: ``nudged contact log NAME [--when "YYYY-MM-DD HH:MM"]`` records a contact
made away from the computer, ``nudged contact list [--json]`` shows where everyone
stands (see :mod:`.command`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

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
from nudged.humanize import Duration, TimeWindow, Window, format_duration, parse_window

from . import standing, words
from .command import build as build_command
from .command import run as run_command

__all__ = ["Person", "SocialContactConfig", "SocialContactPlugin"]

NAME_LIMIT = 60
HOW_LIMIT = 60
NOTE_LIMIT = 200
#: Prompts come at most once a day, so a shorter rhythm could not be kept.
SHORTEST_EVERY = timedelta(days=1)
#: How late a fired prompt may still be shown (held, deferred by quiet hours or the
#: rate limit); after that the plugin looks again, in case it was dropped.
STALE_AFTER = timedelta(minutes=30)
RETRY_AFTER = STALE_AFTER + timedelta(minutes=1)
#: The "Tomorrow" button is the nudge's snooze.
TOMORROW = timedelta(days=1)

ANSWER_OF = {
    Response.DONE: "done",
    Response.SNOOZE: "tomorrow",
    Response.SKIP: "skip",
    Response.DISMISSED: "dismissed",
    Response.TIMED_OUT: "timed_out",
}


# --------------------------------------------------------------------------- config


class Person(PluginConfig):
    """One person to stay in touch with (``[[plugins.social_contact.people]]``)."""

    name: str
    every: Duration = timedelta(days=7)
    how: str = "message"
    note: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        name = " ".join(value.split())
        if not name:
            raise ValueError(f'"{value}" is not a name (each person needs one, like '
                             'name = "Mum")')
        if len(name) > NAME_LIMIT:
            raise ValueError(f'"{name[:20]}..." is too long for a name (at most {NAME_LIMIT} '
                             "characters)")
        return name

    @field_validator("every")
    @classmethod
    def _every(cls, value: timedelta) -> timedelta:
        if value < SHORTEST_EVERY:
            raise ValueError(f'"{format_duration(value)}" is shorter than a day (contact '
                             'prompts come at most once a day; try "1d" or longer)')
        return value

    @field_validator("how")
    @classmethod
    def _how(cls, value: str) -> str:
        how = " ".join(value.split())
        if not how:
            raise ValueError(f'"{value}" says no way to get in touch (try "call", "message", '
                             '"visit", or your own words)')
        if len(how) > HOW_LIMIT:
            raise ValueError(f'"{how[:20]}..." is too long (at most {HOW_LIMIT} characters)')
        return how

    @field_validator("note")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        if value is None:
            return None
        note = " ".join(value.split())
        if len(note) > NOTE_LIMIT:
            raise ValueError(f'"{note[:20]}..." is too long for a note (at most {NOTE_LIMIT} '
                             "characters)")
        return note or None


class SocialContactConfig(PluginConfig):
    """``[plugins.social_contact]``."""

    hours: TimeWindow = parse_window("18:00-20:30")
    people: tuple[Person, ...] = ()

    @model_validator(mode="after")
    def _unique_names(self) -> SocialContactConfig:
        """Two people with one name (ignoring case) could not be told apart by
        ``nudged contact log``. The error points at the second one's ``name`` line."""
        seen: dict[str, int] = {}
        problems = []
        for index, person in enumerate(self.people):
            key = standing.key_of(person.name)
            if key in seen:
                first = seen[key]
                problems.append(InitErrorDetails(
                    type=PydanticCustomError(
                        "duplicate_name",
                        '"{name}" is already the name of people[{first}]; each person needs '
                        "their own name (case does not count)",
                        {"name": person.name, "first": first},
                    ),
                    loc=("people", index, "name"),
                    input=person.name,
                ))
            else:
                seen[key] = index
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


def spec_ids(people: tuple[Person, ...]) -> list[str]:
    """A nudge id per person, from the name ("Aunt Jo" -> "contact-aunt-jo").

    Unique within the plugin even when two names write the same way once reduced to
    letters and digits, so each person's prompts are told apart in the store.
    """
    ids: list[str] = []
    for person in people:
        slug = re.sub(r"[\W_]+", "-", person.name.casefold()).strip("-") or "person"
        candidate, n = f"contact-{slug}", 2
        while candidate in ids:
            candidate, n = f"contact-{slug}-{n}", n + 1
        ids.append(candidate)
    return ids


# --------------------------------------------------------------------------- plugin


class SocialContactPlugin:
    """Decides once a day, inside ``hours``, whether to ask about one person.

    Holds no copy of contacts or answers: every decision reads ``ctx.state`` and
    ``ctx.journal`` afresh, because ``nudged contact log`` may write to them from
    another process at any time.
    """

    def __init__(self) -> None:
        #: nudge id -> the person it asks about; filled when nudges are registered.
        self._people: dict[str, Person] = {}

    # -- configuration --------------------------------------------------------------
    @hookimpl
    def nudged_config_model(self) -> type[SocialContactConfig]:
        return SocialContactConfig

    @hookimpl
    def nudged_startup(self, ctx: PluginContext) -> None:
        """Start the clock of everyone nudged has not seen before, at this moment."""
        config: SocialContactConfig = ctx.config
        seen = dict(ctx.state.get(standing.FIRST_SEEN, {}) or {})
        now = ctx.now().isoformat(timespec="seconds")
        added = False
        for person in config.people:
            key = standing.key_of(person.name)
            if key not in seen:
                seen[key] = now
                added = True
        if added:
            ctx.state.set(standing.FIRST_SEEN, seen)

    @hookimpl
    def nudged_register_nudges(self, register: Callable[[NudgeSpec], None],
                               ctx: PluginContext) -> None:
        """One ``Manual`` nudge per person, then the first look at who is due."""
        config: SocialContactConfig = ctx.config
        for person, nudge_id in zip(config.people, spec_ids(config.people), strict=True):
            self._people[nudge_id] = person
            register(NudgeSpec(
                id=nudge_id,
                title=words.title(person.name, person.how),
                body=words.body(person.how, person.note),
                schedule=Manual(),
                stale_after=STALE_AFTER,
                labels={"snooze": "Tomorrow"},
                snooze=TOMORROW,
            ))
        if self._people:
            self._plan(ctx, ctx.now())

    @hookimpl
    def nudged_register_commands(self, register: Callable[..., None]) -> None:
        register("contact", "log a contact made away from the computer, or list people",
                 build_command, run_command)

    # -- time -----------------------------------------------------------------------
    @staticmethod
    def _hours(ctx: PluginContext) -> Window:
        hours: Window = ctx.config.hours
        return hours

    def _day_of(self, ctx: PluginContext, moment: datetime) -> date:
        """The day a moment counts for: the day its ``hours`` occurrence started
        (an evening window that runs past midnight belongs to the evening)."""
        local = moment.astimezone(ctx.tz)
        occurrence = self._hours(ctx).occurrence_containing(local)
        return occurrence[0].date() if occurrence else local.date()

    def _shown_on(self, ctx: PluginContext, day: date) -> bool:
        last = ctx.state.get(standing.LAST_PROMPT) or {}
        return isinstance(last, dict) and last.get("day") == day.isoformat()

    def _plan(self, ctx: PluginContext, when: datetime) -> None:
        """The next look at who is due (one pending look; a new plan replaces it)."""
        ctx.call_at(when, lambda: self._look(ctx), key="look")

    # -- deciding -------------------------------------------------------------------
    def _look(self, ctx: PluginContext) -> None:
        """Timer callback: errors are logged here, since nothing above would catch them."""
        try:
            self._decide(ctx)
        except Exception:
            ctx.log.exception("could not decide about a contact prompt")
            self._plan(ctx, self._hours(ctx).next_start(ctx.now()))

    def _decide(self, ctx: PluginContext) -> None:
        """Ask about the person most past due, if this is the moment; else plan the next look."""
        config: SocialContactConfig = ctx.config
        now = ctx.now()
        hours = self._hours(ctx)
        occurrence = hours.occurrence_containing(now)
        next_start = hours.next_start(now)
        if occurrence is None:
            self._plan(ctx, next_start)
            return
        day = occurrence[0].date()
        if self._shown_on(ctx, day):
            self._plan(ctx, next_start)
            return
        if ctx.activity is not None and not ctx.activity.present():
            # Away: nudged_on_activity looks again when they are back inside hours.
            self._plan(ctx, next_start)
            return
        everyone = standing.read(config.people, ctx.state, ctx.journal, ctx.tz, hours)

        def day_of(moment: datetime) -> date:
            return self._day_of(ctx, moment)

        due = standing.rank([s for s in everyone
                             if s.due(now) and not standing.skipped_on(s, day, day_of)])
        if not due:
            # Due times are starts of ``hours``: nobody can become due before the next.
            self._plan(ctx, next_start)
            return
        chosen, others = due[0], due[1:]
        nudge_id = self._id_of(chosen.person)
        person = chosen.person
        # Look again if the prompt is never shown (dropped by another plugin's filter
        # or gone stale); once it is shown, nudged_on_nudge_shown plans tomorrow.
        self._plan(ctx, now + RETRY_AFTER)
        ctx.fire(nudge_id, title=words.title(person.name, person.how),
                 body=words.body(person.how, person.note, [o.person.name for o in others]))

    def _id_of(self, person: Any) -> str:
        return next(i for i, p in self._people.items() if p is person)

    # -- what happened ----------------------------------------------------------------
    @hookimpl
    def nudged_filter_nudge(self, nudge: Nudge, now: datetime,
                            ctx: PluginContext) -> Decision | None:
        """Keep this plugin's prompts to their promises: one a day, inside ``hours``."""
        if nudge.plugin != ctx.name:
            return None
        if nudge.attempt > 0:
            # The engine's copy of a prompt answered "Tomorrow": the plugin asks
            # again itself, with fresh words, when the next day's hours begin.
            return Decision.suppress('after "Tomorrow" the prompt is asked afresh when '
                                     "the hours begin")
        hours = self._hours(ctx)
        if not hours.contains(now.astimezone(ctx.tz)):
            return Decision.suppress(f"outside the hours for contact prompts ({hours})")
        if self._shown_on(ctx, self._day_of(ctx, now)):
            return Decision.suppress("one contact prompt a day, and today's was shown")
        return None

    @hookimpl
    def nudged_on_nudge_shown(self, nudge: Nudge, at: datetime, ctx: PluginContext) -> None:
        """Remember today's prompt, and plan the next look for the next day's hours."""
        if nudge.plugin != ctx.name or nudge.spec.id not in self._people:
            return
        person = self._people[nudge.spec.id]
        ctx.state.set(standing.LAST_PROMPT, {
            "day": self._day_of(ctx, at).isoformat(),
            "name": standing.key_of(person.name),
            "at": at.isoformat(timespec="seconds"),
        })
        self._plan(ctx, self._hours(ctx).next_start(at.astimezone(ctx.tz)))

    @hookimpl
    def nudged_on_response(self, nudge: Nudge, response: Response, at: datetime,
                           ctx: PluginContext) -> None:
        """Done logs the contact; every answer is remembered for tomorrow's order."""
        if nudge.plugin != ctx.name or nudge.spec.id not in self._people:
            return
        person = self._people[nudge.spec.id]
        key = standing.key_of(person.name)
        if response is Response.DONE:
            ctx.journal.add(standing.KIND, at, name=person.name, how=person.how,
                            source="prompt")
        answers = dict(ctx.state.get(standing.ANSWERS, {}) or {})
        answers[key] = {"response": ANSWER_OF[response], "at": at.isoformat(timespec="seconds")}
        ctx.state.set(standing.ANSWERS, answers)

    @hookimpl
    def nudged_on_activity(self, change: ActivityChange, ctx: PluginContext) -> None:
        """Back at the screen inside ``hours`` with no prompt yet today: look now."""
        if change.kind != "presence" or not change.present or not self._people:
            return
        now = ctx.now()
        if not self._hours(ctx).contains(now):
            return
        if self._shown_on(ctx, self._day_of(ctx, now)):
            return
        self._plan(ctx, now)
