"""``social_media``: limits you set on social media, videos and news, kindly kept.

```toml
[plugins.social_media]
[plugins.social_media.categories.social]      # adds to the built-in "social"
sites = ["mastodon.online"]                   # domains; subdomains count too
titles = ["Lemmy"]                            # regular expressions on browser page titles
apps = ["org.telegram.desktop"]               # app ids / WM classes of native clients
[[plugins.social_media.limits]]
category = "social"
daily = "30m"
warn_before = "5m"
over_every = "10m"
[[plugins.social_media.limits]]
site = "youtube.com"
daily = "45m"
```

Endless scrolling quietly feeds comparison and fatigue, and a limit a person chose
for themselves is easier to keep with a friend who mentions the time. This plugin
tells; it never blocks, closes or hides anything.

Categories
    Three are built in (``social``, ``video``, ``news``; see
    :data:`.matching.BUILTIN_CATEGORIES`). A ``[plugins.social_media.categories.<name>]``
    table with a built-in name **adds** its ``sites``, ``titles`` and ``apps`` to the
    built-in ones; with ``replace = true`` it **replaces** them (``replace = true``
    and nothing else switches a built-in category off). Any other name is a new
    category. The person's entries come before the built-in ones, so adding
    ``youtube.com`` to ``social`` makes YouTube count as social rather than video.
    How a window is matched (app ids, then URLs, then browser titles) is described
    in :mod:`.matching`. Title patterns are regular expressions searched, ignoring
    case, in the page title of browser windows (the window title without the
    browser's name: "Home / X", not "Home / X - Google Chrome").

    Every focus change is classified (``nudged_classify_focus``), so ``nudged usage``
    shows present time per category and site, limits or not.

Limits
    Each ``[[plugins.social_media.limits]]`` names exactly one ``category`` or one
    ``site`` (a domain, with its subdomains), and a ``daily`` amount. Only present
    time with that category or site focused counts (idle, locked and asleep do not),
    per local day: at midnight every limit starts again. Then:

    * ``warn_before`` the limit (optional), a heads-up;
    * at the limit, a nudge;
    * then every ``over_every`` (default ``"10m"``) of further time on it, another.
      The time is counted on the category or site itself, not on the clock: the
      repeats stop when the focus moves elsewhere or the person leaves, and carry
      on where they were when they come back (10 minutes over after 3 away and 7
      back). A nudge that was held (quiet hours, the rate limit) is dropped if the
      person is no longer on it when it could be shown.

    The deadlines are computed from ``ctx.activity.today()``, which includes the
    stretch still open, and moved on every focus and presence change
    (``nudged_on_activity``) and at midnight, with ``ctx.call_at``: nothing polls.

"5 more minutes"
    The limit nudge and its repeats have two buttons: "OK" and "5 more minutes". The
    second is a grace the plugin grants: the next nudge comes after five more
    minutes on that category or site (counted the same way, so a break in between
    does not use them up), in words that say the five minutes are up, instead of
    after ``over_every``. Graces are counted per day across all limits (journal kind
    ``grace``, and ``ctx.state["today"]["graces"]`` for the status); after two in a
    day the button is no longer offered (the nudge is registered twice, with and
    without it). The button is the nudge's snooze, set to five minutes; nudged's
    own copy of the snoozed nudge is let go by this plugin's filter, since the
    plugin checks back itself at the right moment.

Memory
    ``ctx.state["today"]``: the day, graces used (and left), and per limit which
    nudges were given and when the next is due (in seconds of time on it), so a
    restart or a config reload on the same day neither repeats nor forgets them.
    ``ctx.journal`` kind ``limit``: every nudge fired (``limit``, ``stage`` =
    warning / limit / over / after_grace, ``used_minutes``); kind ``grace``: every
    "5 more minutes".
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from nudged import (
    ActivityChange,
    Attribution,
    Decision,
    Focus,
    Manual,
    Nudge,
    NudgeSpec,
    PluginConfig,
    PluginContext,
    Response,
    hookimpl,
)
from nudged.humanize import Duration, format_duration

from . import words
from .matching import (
    BUILTIN_CATEGORIES,
    SITE_NAMES,
    Match,
    Matcher,
    normalize_site,
    site_within,
)

__all__ = ["Category", "Limit", "SocialMediaConfig", "SocialMediaPlugin"]

ZERO = timedelta(0)
#: What "5 more minutes" grants, and how many graces a day.
GRACE = timedelta(minutes=5)
GRACES_PER_DAY = 2
#: A deadline may run this much early (timer rounding) and still count as reached.
EARLY = timedelta(seconds=1)
NAME_LIMIT = 40
_CATEGORY_NAME = re.compile(r"^[^\W][\w -]*$")


# --------------------------------------------------------------------------- config


def _shown(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _site(value: object) -> object:
    """Pydantic hook: a domain (``"reddit.com"``); a pasted URL is forgiven."""
    if not isinstance(value, str):
        raise ValueError(f'{_shown(value)} is not a site (write its domain in quotes, '
                         'like "reddit.com")')
    site = normalize_site(value)
    if site is None:
        raise ValueError(f'{_shown(value)} is not a site (write its domain, like "reddit.com")')
    return site


def _title_pattern(value: object) -> object:
    """Pydantic hook: a regular expression that compiles and does not match everything."""
    if not isinstance(value, str):
        raise ValueError(f'{_shown(value)} is not a title pattern (write a regular expression '
                         'in quotes, like "Reddit" or "/ X$")')
    try:
        pattern = re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"{_shown(value)} is not a regular expression ({exc}); write it like "
                         '"Reddit" or "/ X$", with a backslash before ( ) [ ] . * + ? | to '
                         "mean the character itself") from None
    if pattern.search("") is not None:
        raise ValueError(f"{_shown(value)} would match every title (write part of the title, "
                         'like "Reddit")')
    return value


def _app(value: object) -> object:
    """Pydantic hook: an app id or WM class, as ``nudged usage`` shows it."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{_shown(value)} is not an app id (write it as `nudged usage` shows "
                         'it, like "org.telegram.desktop")')
    return value.strip()


Site = Annotated[str, BeforeValidator(_site)]
TitlePattern = Annotated[str, BeforeValidator(_title_pattern)]
AppId = Annotated[str, BeforeValidator(_app)]


def _a_list(value: object, what: str, example: str) -> object:
    """A single string where a list belongs gets the brackets it needs."""
    if isinstance(value, str):
        raise ValueError(f"{_shown(value)} is not a list of {what} (put it in brackets: "
                         f"[{_shown(value)}])")
    if not isinstance(value, list | tuple):
        raise ValueError(f"{_shown(value)} is not a list of {what} (write them like {example})")
    return value


class Category(PluginConfig):
    """``[plugins.social_media.categories.<name>]``: what counts as that category."""

    sites: tuple[Site, ...] = ()
    titles: tuple[TitlePattern, ...] = ()
    apps: tuple[AppId, ...] = ()
    #: For a built-in name: replace its rules instead of adding to them.
    replace: bool = False

    @model_validator(mode="before")
    @classmethod
    def _no_extend(cls, data: object) -> object:
        """``extend`` is what people guess; adding is what a table does already."""
        if isinstance(data, dict) and "extend" in data:
            raise ValidationError.from_exception_data(cls.__name__, [InitErrorDetails(
                type=PydanticCustomError(
                    "extend", "is not needed: a table with a built-in category's name adds to "
                    "it already (write replace = true to replace it instead)"),
                loc=("extend",), input=data["extend"])])
        return data

    @field_validator("sites", "titles", "apps", mode="before")
    @classmethod
    def _lists(cls, value: object, info: ValidationInfo) -> object:
        examples = {"sites": '["reddit.com", "x.com"]', "titles": '["Reddit", "/ X$"]',
                    "apps": '["org.telegram.desktop"]'}
        return _a_list(value, str(info.field_name), examples[str(info.field_name)])


class Limit(PluginConfig):
    """``[[plugins.social_media.limits]]``: a daily amount for one category or site."""

    category: str | None = None
    site: Site | None = None
    daily: Duration
    warn_before: Duration | None = None
    over_every: Duration = timedelta(minutes=10)

    @field_validator("daily", "warn_before", "over_every")
    @classmethod
    def _positive(cls, value: timedelta | None, info: ValidationInfo) -> timedelta | None:
        examples = {"daily": '"30m"', "warn_before": '"5m"', "over_every": '"10m"'}
        if value is not None and value <= ZERO:
            raise ValueError(f'"{format_duration(value)}" is too short (it needs a length, '
                             f"like {examples[str(info.field_name)]})")
        return value

    @field_validator("warn_before")
    @classmethod
    def _before_the_limit(cls, value: timedelta | None, info: ValidationInfo
                          ) -> timedelta | None:
        daily = info.data.get("daily")
        if value is not None and isinstance(daily, timedelta) and value >= daily:
            raise ValueError(f'"{format_duration(value)}" is not shorter than daily '
                             f'("{format_duration(daily)}"): the heads-up comes that long '
                             "before the limit")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> Limit:
        if self.category is None and self.site is None:
            raise ValueError('names neither a category nor a site (add category = "social" '
                             'or site = "youtube.com")')
        if self.category is not None and self.site is not None:
            raise ValueError("names both a category and a site; a limit is for one of them "
                             "(write two [[plugins.social_media.limits]])")
        return self

    @property
    def key(self) -> str:
        """The category's name or the site's domain (names have no dots, domains do)."""
        return self.category if self.category is not None else str(self.site)


class SocialMediaConfig(PluginConfig):
    """``[plugins.social_media]``: categories to add or replace, and the limits."""

    categories: dict[str, Category] = Field(default_factory=dict)
    limits: tuple[Limit, ...] = ()

    @field_validator("limits", mode="before")
    @classmethod
    def _limits_list(cls, value: object) -> object:
        if isinstance(value, dict):
            raise ValueError("write each limit as its own [[plugins.social_media.limits]] "
                             "table (two pairs of brackets)")
        return value

    @model_validator(mode="after")
    def _references(self) -> SocialMediaConfig:
        """Category names are words; limits name known categories, one limit each.

        Raised with the location of the offending key, so the sentence points at
        its line (``limits[1].category``)."""
        problems: list[InitErrorDetails] = []

        def problem(loc: tuple[str | int, ...], kind: str, text: str, value: object,
                    **context: Any) -> None:
            problems.append(InitErrorDetails(type=PydanticCustomError(kind, text, context),
                                             loc=loc, input=value))

        names = set(BUILTIN_CATEGORIES)
        for name in self.categories:
            if len(name) <= NAME_LIMIT and _CATEGORY_NAME.match(name):
                names.add(name)
            else:
                problem(("categories", name), "category_name",
                        '{name} is not a category name (letters, digits, spaces, "-" and "_", '
                        'at most {limit} characters, like "games")', name,
                        name=_shown(name), limit=NAME_LIMIT)
        known = sorted(names)
        seen: dict[str, int] = {}
        for index, limit in enumerate(self.limits):
            if limit.category is not None and limit.category not in known:
                close = difflib.get_close_matches(limit.category, known, n=1)
                hint = (f"did you mean {_shown(close[0])}?" if close else
                        f"known: {', '.join(known)}; add "
                        f"[plugins.social_media.categories.{limit.category}] to make one")
                problem(("limits", index, "category"), "unknown_category",
                        "{name} is not a category ({hint})", limit.category,
                        name=_shown(limit.category), hint=hint)
                continue
            field = "category" if limit.category is not None else "site"
            if limit.key in seen:
                problem(("limits", index, field), "duplicate_limit",
                        "{name} already has a limit (limits[{first}]); one limit each",
                        limit.key, name=_shown(limit.key), first=seen[limit.key])
            else:
                seen[limit.key] = index
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Plan:
    """One limit as the plugin works with it."""

    key: str
    kind: str  # "category" | "site"
    daily: timedelta
    warn_before: timedelta | None
    over_every: timedelta
    label: str

    @classmethod
    def of(cls, limit: Limit) -> Plan:
        if limit.category is not None:
            return cls(limit.category, "category", limit.daily, limit.warn_before,
                       limit.over_every, words.category_label(limit.category))
        site = str(limit.site)
        return cls(site, "site", limit.daily, limit.warn_before, limit.over_every,
                   SITE_NAMES.get(site, site))

    @property
    def timer(self) -> str:
        return f"limit:{self.key}"

    def spec_id(self, stage: str) -> str:
        """``social/warning``, ``youtube.com/limit``, ``social/limit-last`` (no grace)."""
        return f"{self.key}/{stage}"

    def matches(self, found: Match | None) -> bool:
        if found is None:
            return False
        if self.kind == "category":
            return found.category == self.key
        return found.site is not None and site_within(found.site, self.key)


@dataclass
class Progress:
    """How far one limit got today."""

    warned: bool = False
    reached: bool = False
    #: Time on it at which the next over-limit nudge comes (once reached).
    next_over: timedelta | None = None
    #: The next one closes a "5 more minutes".
    after_grace: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"warned": self.warned, "reached": self.reached,
                "next_over_s": None if self.next_over is None else self.next_over.total_seconds(),
                "after_grace": self.after_grace}

    @classmethod
    def from_json(cls, data: Any) -> Progress:
        if not isinstance(data, dict):
            return cls()
        raw = data.get("next_over_s")
        next_over = timedelta(seconds=float(raw)) if isinstance(raw, int | float) else None
        return cls(bool(data.get("warned")), bool(data.get("reached")), next_over,
                   bool(data.get("after_grace")))


def build_matcher(config: SocialMediaConfig) -> Matcher:
    own = [(name, category.sites, category.titles, category.apps, category.replace)
           for name, category in config.categories.items()]
    sites = [str(limit.site) for limit in config.limits if limit.site is not None]
    return Matcher.build(BUILTIN_CATEGORIES, own, sites)


def _utc_plus(moment: datetime, span: timedelta) -> datetime:
    """``moment`` + ``span`` of real time (aware arithmetic in one zone is wall-clock
    arithmetic, an hour off across a DST change)."""
    return (moment.astimezone(UTC) + span).astimezone(moment.tzinfo)


def _minutes(span: timedelta) -> float:
    return round(span.total_seconds() / 60, 1)


# --------------------------------------------------------------------------- the plugin


class SocialMediaPlugin:
    """Classifies the focused window and keeps the person's daily limits.

    State lives on the instance (a config reload makes a new one); what a day has
    brought so far is mirrored to ``ctx.state`` at every change.
    """

    #: Limits are personal: it runs only when the config has a table for it.
    opt_in = True

    def __init__(self) -> None:
        self.ctx: PluginContext | None = None
        self.matcher: Matcher | None = None
        self.plans: dict[str, Plan] = {}
        self.day: date | None = None
        self.progress: dict[str, Progress] = {}
        self.graces = 0
        self._last: tuple[Focus, Match | None] | None = None

    # -- set-up -----------------------------------------------------------------------
    @hookimpl
    def nudged_config_model(self) -> type[SocialMediaConfig]:
        return SocialMediaConfig

    @hookimpl
    def nudged_startup(self, ctx: PluginContext) -> None:
        """Read the day so far from ``ctx.state`` and arm every limit and midnight."""
        self.ctx = ctx
        config = self._config
        self.matcher = build_matcher(config)
        self.plans = {limit.key: Plan.of(limit) for limit in config.limits}
        self._restore(ctx.now())
        self._arm_midnight()
        self._arm_all()

    @hookimpl
    def nudged_register_nudges(self, register: Callable[[NudgeSpec], None]) -> None:
        for plan in self.plans.values():
            if plan.warn_before is not None:
                register(NudgeSpec(id=plan.spec_id("warning"), title=words.SPEC_WARNING[0],
                                   body=words.SPEC_WARNING[1], schedule=Manual(),
                                   buttons=("done",), labels={"done": words.OK}))
            register(NudgeSpec(id=plan.spec_id("limit"), title=words.SPEC_LIMIT[0],
                               body=words.SPEC_LIMIT[1], schedule=Manual(),
                               buttons=("done", "snooze"),
                               labels={"done": words.OK, "snooze": words.GRACE},
                               snooze=GRACE))
            register(NudgeSpec(id=plan.spec_id("limit-last"), title=words.SPEC_LIMIT[0],
                               body=words.SPEC_LIMIT[1], schedule=Manual(),
                               buttons=("done",), labels={"done": words.OK}))

    @hookimpl
    def nudged_shutdown(self, ctx: PluginContext) -> None:
        """Keep the day for the next instance; leave no timer behind (a reload does not
        cancel plugin timers, and the new instance arms its own)."""
        if self.day is not None:
            self._save()
        for plan in self.plans.values():
            ctx.cancel(plan.timer)
        ctx.cancel("midnight")

    # -- what the focused window is ---------------------------------------------------
    @hookimpl
    def nudged_classify_focus(self, focus: Focus, ctx: PluginContext) -> Attribution | None:
        found = self._match(focus, ctx)
        if found is None:
            return None
        return Attribution(category=found.category, site=found.site)

    def _match(self, focus: Focus, ctx: PluginContext | None = None) -> Match | None:
        last = self._last
        if last is not None and last[0] == focus:
            return last[1]
        if self.matcher is None:
            config = (ctx or self._ctx).config
            self.matcher = build_matcher(config if isinstance(config, SocialMediaConfig)
                                         else SocialMediaConfig())
        found = self.matcher.match(focus.app, focus.title, focus.url)
        self._last = (focus, found)
        return found

    # -- activity ---------------------------------------------------------------------
    @hookimpl
    def nudged_on_activity(self, change: ActivityChange) -> None:
        """Focus or presence changed: every limit's deadline moves (or is dropped)."""
        self._arm_all()

    def _on(self, plan: Plan) -> bool:
        """The person is at the screen with this limit's category or site in front."""
        activity = self._ctx.activity
        if activity is None or not activity.present():
            return False
        focus = activity.focus()
        return focus is not None and plan.matches(self._match(focus))

    def _used(self, plan: Plan) -> timedelta:
        """Time on it today, the open stretch included."""
        activity = self._ctx.activity
        if activity is None:
            return ZERO
        usage = activity.today()
        if plan.kind == "category":
            return usage.by_category.get(plan.key, ZERO)
        return sum((amount for site, amount in usage.by_site.items()
                    if site_within(site, plan.key)), ZERO)

    # -- deadlines --------------------------------------------------------------------
    def _arm_all(self) -> None:
        self._roll(self._ctx.now())
        for plan in self.plans.values():
            self._arm(plan)

    def _arm(self, plan: Plan) -> None:
        """One pending deadline per limit, where today's total says; none while the
        person is away or elsewhere (the next change arms it again)."""
        ctx = self._ctx
        if not self._on(plan):
            ctx.cancel(plan.timer)
            return
        threshold = self._threshold(plan, self.progress[plan.key])
        remaining = max(ZERO, threshold - self._used(plan))
        ctx.call_at(_utc_plus(ctx.now(), remaining), partial(self._due, plan.key),
                    key=plan.timer)

    @staticmethod
    def _threshold(plan: Plan, progress: Progress) -> timedelta:
        if progress.reached:
            return (progress.next_over if progress.next_over is not None
                    else plan.daily + plan.over_every)
        if plan.warn_before is not None and not progress.warned:
            return plan.daily - plan.warn_before
        return plan.daily

    def _due(self, key: str) -> None:
        """A deadline: give the nudge that is due, if the person is still on it."""
        ctx = self._ctx
        plan = self.plans.get(key)
        if plan is None:
            return
        now = ctx.now()
        self._roll(now)
        if not self._on(plan):
            return
        used = self._used(plan)
        progress = self.progress[key]
        if not progress.reached:
            if used >= plan.daily - EARLY:
                progress.reached = progress.warned = True
                progress.next_over = max(used, plan.daily) + plan.over_every
                self._fire(plan, "limit", used, *words.limit_words(plan.label, plan.daily))
            elif (plan.warn_before is not None and not progress.warned
                  and used >= plan.daily - plan.warn_before - EARLY):
                progress.warned = True
                self._fire(plan, "warning", used,
                           *words.warning_words(plan.label, plan.daily, plan.warn_before))
        elif used >= (threshold := self._threshold(plan, progress)) - EARLY:
            stage = "after_grace" if progress.after_grace else "over"
            text = (words.after_grace_words(plan.label, used) if progress.after_grace
                    else words.over_words(plan.label, used, plan.daily))
            progress.after_grace = False
            progress.next_over = max(used, threshold) + plan.over_every
            self._fire(plan, stage, used, *text)
        self._save()
        self._arm(plan)

    def _fire(self, plan: Plan, stage: str, used: timedelta, title: str, body: str) -> None:
        ctx = self._ctx
        if stage == "warning":
            spec = "warning"
        else:
            spec = "limit" if self.graces < GRACES_PER_DAY else "limit-last"
        self._journal("limit", ctx.now(), limit=plan.key, stage=stage,
                      used_minutes=_minutes(used), daily_minutes=_minutes(plan.daily))
        ctx.fire(plan.spec_id(spec), title=title, body=body)

    # -- the day ----------------------------------------------------------------------
    def _roll(self, now: datetime) -> None:
        """A new local day: every limit and the graces start again."""
        today = now.astimezone(self._ctx.tz).date()
        if today == self.day:
            for key in self.plans:
                self.progress.setdefault(key, Progress())
            return
        self.day = today
        self.graces = 0
        self.progress = {key: Progress() for key in self.plans}
        self._save()

    def _arm_midnight(self) -> None:
        ctx = self._ctx
        today = ctx.now().astimezone(ctx.tz).date()
        midnight = datetime.combine(today + timedelta(days=1), time(0), ctx.tz)
        ctx.call_at(midnight, self._midnight, key="midnight")

    def _midnight(self) -> None:
        self._arm_midnight()
        self._arm_all()

    def _restore(self, now: datetime) -> None:
        state = self._ctx.state
        saved = state.get("today") if state is not None else None
        today = now.astimezone(self._ctx.tz).date()
        if isinstance(saved, dict) and saved.get("day") == today.isoformat():
            self.day = today
            graces = saved.get("graces")
            self.graces = graces if isinstance(graces, int) and graces >= 0 else 0
            limits = saved.get("limits")
            limits = limits if isinstance(limits, dict) else {}
            self.progress = {key: Progress.from_json(limits.get(key)) for key in self.plans}
        else:
            self._roll(now)

    def _journal(self, kind: str, at: datetime, **data: Any) -> None:
        journal = self._ctx.journal
        if journal is not None:
            journal.add(kind, at, **data)

    def _save(self) -> None:
        state = self._ctx.state
        if state is None or self.day is None:
            return
        state.set("today", {
            "day": self.day.isoformat(),
            "graces": self.graces,
            "graces_left": max(0, GRACES_PER_DAY - self.graces),
            "limits": {key: progress.as_json() for key, progress in self.progress.items()},
        })

    # -- the nudge on its way, and the answer -----------------------------------------
    def _own(self, nudge: Nudge, ctx: PluginContext) -> tuple[Plan, str] | None:
        if nudge.plugin != ctx.name:
            return None
        key, _, stage = nudge.spec.id.rpartition("/")
        plan = self.plans.get(key)
        return None if plan is None else (plan, stage)

    @hookimpl
    def nudged_status(self, ctx: PluginContext) -> dict[str, Any] | None:
        """For `nudged status`: graces used and left today, and each limit's minutes."""
        if self.day is None:
            return None
        self._roll(ctx.now())
        return {
            "graces_today": self.graces,
            "graces_left": max(0, GRACES_PER_DAY - self.graces),
            "today": {plan.label: f"{_minutes(self._used(plan))} of "
                      f"{_minutes(plan.daily)} min" for plan in self.plans.values()},
        }

    @hookimpl
    def nudged_filter_nudge(self, nudge: Nudge, now: datetime,
                            ctx: PluginContext) -> Decision | None:
        """Drop our own nudges that are no longer true; never says "allow", so quiet
        hours and the other filters still have their say."""
        own = self._own(nudge, ctx)
        if own is None:
            return None
        plan, stage = own
        if nudge.attempt > 0:
            if stage == "limit":
                return Decision.suppress(f"five more minutes on {plan.label}: the plugin "
                                         "checks back after them, counted on it, not on "
                                         "the clock")
            return Decision.suppress(f"snoozed; the plugin checks back itself, counted on "
                                     f"{plan.label}")
        if nudge.due_at.astimezone(ctx.tz).date() != now.astimezone(ctx.tz).date():
            return Decision.suppress("it was about yesterday")
        if not self._on(plan):
            return Decision.suppress(f"no longer on {plan.label}")
        return None

    @hookimpl
    def nudged_on_response(self, nudge: Nudge, response: Response, at: datetime,
                           ctx: PluginContext) -> None:
        """"5 more minutes": a grace, counted; the next nudge after five minutes on it."""
        own = self._own(nudge, ctx)
        if own is None or response is not Response.SNOOZE:
            return
        plan, stage = own
        self._roll(at)
        if stage != "limit" or nudge.due_at.astimezone(ctx.tz).date() != self.day:
            return
        self.graces += 1
        used = self._used(plan)
        progress = self.progress[plan.key]
        progress.reached = progress.warned = True
        progress.next_over = used + GRACE
        progress.after_grace = True
        self._journal("grace", at, limit=plan.key, count=self.graces,
                      used_minutes=_minutes(used))
        self._save()
        self._arm(plan)

    # -- helpers ----------------------------------------------------------------------
    @property
    def _ctx(self) -> PluginContext:
        assert self.ctx is not None, "the social_media plugin has not been started"
        return self.ctx

    @property
    def _config(self) -> SocialMediaConfig:
        config = self._ctx.config
        return config if isinstance(config, SocialMediaConfig) else SocialMediaConfig()


def _minutes(amount: timedelta) -> int:
    return int(amount.total_seconds() // 60)
