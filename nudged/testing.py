"""Helpers for testing nudged plugins, shipped with nudged and loaded by pytest.

A plugin's tests should read like a day in someone's life::

    from nudged.testing import press

    def test_a_glass_of_water_every_two_hours(nudged_simulate):
        sim = nudged_simulate('''
            [[plugins.custom.nudges]]
            id = "water"
            title = "Water"
            every = "2h"
        ''', present=["09:00-17:00"], respond=press("snooze"))
        assert sim.shown()[:3] == [("Mon 10:00", "custom:water"),
                                   ("Mon 10:11", "custom:water"),  # snoozed at 10:01
                                   ("Mon 12:00", "custom:water")]
        assert sim.seen()[0].buttons == ("Done", "Snooze 10 min", "Skip")

:func:`simulate` runs real plugins through nudged's real engine (``nudged preview``
underneath), and is made of the pieces a plugin test needs:

* **a plugin host with chosen plugins only**: ``plugins={"name": YourPlugin()}``
  adds plugin objects, ``builtins=False`` leaves out every installed plugin (and
  single-file plugins) so only yours run; :func:`load_plugins` loads and configures
  plugins without running them, to test statuses and config errors;
* **a fake clock**: the simulation starts at ``start`` and runs ``days`` days in a
  fraction of a second; ``ctx.now()``, schedules and ``ctx.call_at`` deadlines all
  follow it, time zones and daylight saving time included;
* **a simulated person**: at the screen in the ``present`` windows, or following an
  ``activity`` timeline of :class:`AtScreen` rows (the app and window in front of
  them), and away otherwise, as the activity sources would report it;
* **a capturing notifier that presses buttons**: nothing reaches the desktop; each
  nudge is recorded with its words and buttons (:meth:`Simulation.seen`) and answered
  as ``respond`` says: one word for every nudge, :func:`press` for answers in turn, or
  a function of the nudge;
* **"run N simulated days, give me the nudges"**: :meth:`Simulation.shown`,
  :meth:`Simulation.seen`, and what the plugin kept (:meth:`Simulation.journal`,
  :meth:`Simulation.state`) and its status (:meth:`Simulation.status`).

The fixtures give every test a private ``HOME`` and XDG folders: ``nudged_home``,
``nudged_simulate`` (this :func:`simulate`) and ``nudged_load_plugins``
(:func:`load_plugins`). nudged's own built-in plugins are tested with these helpers.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nudged.models import Answer, Nudge, Response
    from nudged.plugins import PluginHost
    from nudged.pluginstore import Entry
    from nudged.preview import ActivityRow, PreviewItem, Responder
    from nudged.runtime import Runtime

import pytest

__all__ = [
    "AtScreen",
    "LoadedPlugins",
    "Seen",
    "Simulation",
    "load_plugins",
    "nudged_home",
    "nudged_load_plugins",
    "nudged_simulate",
    "press",
    "simulate",
]

#: What error messages call the simulated config file.
CONFIG_LABEL = Path("config.toml")
#: The answers a simulated person can give, as words.
ANSWER_WORDS = ("done", "snooze", "skip", "dismiss", "ignore")


# -- what the person saw ------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One notification as the simulated person saw it, and what they did with it."""

    #: When it appeared (in the config's time zone).
    at: datetime
    #: ``"plugin:id"``.
    key: str
    title: str
    body: str
    #: The button labels, as the desktop notification shows them:
    #: ``("Done", "Snooze 10 min", "Skip")``, or the spec's own ``labels``.
    buttons: tuple[str, ...]
    #: ``"done"``, ``"snooze"``, ``"skip"``, ``"dismissed"``, ``"timed_out"``, or
    #: ``None`` when the simulation ended before an answer.
    response: str | None
    #: How often this nudge had been snoozed before (0 the first time).
    attempt: int
    #: Why it waited before it appeared: ``"13:00 held by presence: ..."``.
    why: tuple[str, ...] = ()

    @property
    def when(self) -> str:
        """``"Mon 13:00"``: the day and time it appeared."""
        return self.at.strftime("%a %H:%M")


def _labels(nudge: Nudge, snooze: timedelta) -> tuple[str, ...]:
    from nudged.notify import button_labels

    return tuple(label for _, label in button_labels(nudge, snooze))


@dataclass
class Simulation:
    """What happened in a simulation. ``items`` has every nudge that came due, shown or
    not, with why (the lines ``nudged preview`` prints); ``runtime`` is the nudged that
    ran (its plugin host is ``runtime.host``)."""

    items: list[PreviewItem]
    runtime: Runtime

    def shown(self, fmt: str = "%a %H:%M") -> list[tuple[str, str]]:
        """``(local time, "plugin:id")`` of every nudge that was shown, in order."""
        return [(i.at.strftime(fmt), i.nudge.key) for i in self.items if i.shown]

    def seen(self, which: str | None = None) -> list[Seen]:
        """Every notification shown, with its words, buttons and the answer it got.

        ``which`` narrows it to one plugin (``"daylight"``) or one nudge
        (``"daylight:outside"``).
        """
        snooze = self.runtime.engine.snooze
        return [
            Seen(i.at, i.nudge.key, i.nudge.shown_title, i.nudge.shown_body,
                 _labels(i.nudge, snooze), i.response, i.nudge.attempt, tuple(i.why))
            for i in self.items
            if i.shown and which in (None, i.nudge.key, i.nudge.plugin)
        ]

    def not_shown(self) -> list[tuple[str, str, list[str]]]:
        """``(local time, "plugin:id", why)`` of every nudge that came due but was
        dropped: suppressed by a filter, or stale after waiting too long."""
        return [(i.at.strftime("%a %H:%M"), i.nudge.key, i.why)
                for i in self.items if not i.shown]

    def journal(self, plugin: str, kind: str | None = None) -> list[Entry]:
        """A plugin's journal entries (``ctx.journal``) after the simulation: each has
        ``kind``, ``at`` and ``data``."""
        ctx = self.runtime.host.records[plugin].ctx
        return [] if ctx is None or ctx.journal is None else list(ctx.journal.entries(kind))

    def state(self, plugin: str, key: str, default: Any = None) -> Any:
        """A value the plugin kept in ``ctx.state``, as it was at the end."""
        ctx = self.runtime.host.records[plugin].ctx
        return default if ctx is None or ctx.state is None else ctx.state.get(key, default)

    def status(self, plugin: str) -> tuple[str, str]:
        """``(status, reason)`` of a plugin at the end: ``("ok", "")`` when all went
        well (see the statuses in docs/hooks.md)."""
        return _status(self.runtime.host, plugin)

    def facts(self, plugin: str) -> Any:
        """What the plugin's ``nudged_status`` says at the end of the simulation, as
        ``nudged status`` would show it (``None``: nothing to add). Exceptions propagate."""
        _status(self.runtime.host, plugin)  # a clear error for a plugin that is not there
        return self.runtime.host.call_one(self.runtime.host.records[plugin], "nudged_status")


def _environ() -> dict[str, str]:
    """The environment nudged sees in a test: where single-file plugins are (the
    ``nudged_home`` fixture's config folder), and no ``NUDGED_*`` settings."""
    return {k: v for k, v in os.environ.items() if k == "XDG_CONFIG_HOME"}


def _status(host: PluginHost, plugin: str) -> tuple[str, str]:
    record = host.records.get(plugin)
    if record is None:
        found = ", ".join(sorted(host.records)) or "none"
        raise KeyError(f"no plugin named {plugin!r} was loaded (found: {found}); is it "
                       "installed (pip install -e .), or passed as plugins={name: object}?")
    status = record.status.value
    return ("ok" if status == "loaded" else status), record.reason


# -- how the person answers ---------------------------------------------------------


def _answer(word: str | Response | Answer) -> Response | Answer | None:
    from nudged.models import ANSWER_BUTTON, Answer, Response

    if isinstance(word, Response | Answer):
        return word
    if ANSWER_BUTTON.match(word):
        return Answer.of(word)  # one of the nudge's own answer buttons, "answer:3"
    responses = {"done": Response.DONE, "snooze": Response.SNOOZE, "skip": Response.SKIP,
                 "dismiss": Response.DISMISSED, "ignore": None}
    if word not in responses:
        raise ValueError(f"{word!r} is not an answer (say {', '.join(ANSWER_WORDS)})")
    return responses[word]


def press(*answers: str | Response | Answer, then: str | Response | Answer = "done",
          after: timedelta = timedelta(minutes=1)) -> Responder:
    """A simulated person who answers the nudges in the order they appear: the first
    with the first answer, the second with the second, and every later one with
    ``then``, each ``after`` it appeared.

    An answer is a button (``"done"``, ``"snooze"``, ``"skip"``), ``"dismiss"``
    (closed without a button) or ``"ignore"`` (never answered: it times out after
    ``[core] notification_timeout``), one of the nudge's own answer buttons
    (``"answer:3"``), or a :class:`nudged.Response` or :class:`nudged.Answer`. Pass the result as
    ``respond=``: ``simulate(..., respond=press("snooze", "done", then="ignore"))``.
    """
    queue = [_answer(a) for a in answers]
    rest = _answer(then)

    def respond(nudge: Nudge, now: datetime) -> tuple[Response | Answer, timedelta] | None:
        answer = queue.pop(0) if queue else rest
        return None if answer is None else (answer, after)

    return respond


# -- where the person is ------------------------------------------------------------


@dataclass(frozen=True)
class AtScreen:
    """The simulated person at the screen from ``start`` to ``end``, with ``app`` (and
    a window ``title``, a ``url``, a ``fullscreen`` window) in front of them.

    Times are local: ``"2026-03-02 09:00"``, or ``"09:00"`` on the simulation's first
    day. A timeline is a list of them in time order; the person is away in the gaps.
    ``simulate(..., activity=[AtScreen("09:00", "12:00", "code", "report.py")])``.
    """

    start: str | datetime
    end: str | datetime
    app: str = ""
    title: str = ""
    url: str | None = None
    fullscreen: bool = False


def _local(value: str | datetime, first_day: date, tz: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(tz) if value.tzinfo else value.replace(tzinfo=tz)
    for fmt in ("%Y-%m-%d %H:%M", "%H:%M"):
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        if fmt == "%H:%M":
            parsed = datetime.combine(first_day, parsed.time())
        return parsed.replace(tzinfo=tz)
    raise ValueError(f'"{value}" is not a local time (write "YYYY-MM-DD HH:MM" or "HH:MM")')


def _timeline(rows: Sequence[AtScreen | ActivityRow], first_day: date,
              tz: tzinfo) -> list[ActivityRow]:
    from nudged.activity.base import Focus
    from nudged.preview import ActivityRow

    out: list[ActivityRow] = []
    for row in rows:
        if isinstance(row, AtScreen):
            start, end = _local(row.start, first_day, tz), _local(row.end, first_day, tz)
            if end <= start:
                raise ValueError(f"{row}: the end is not after the start")
            row = ActivityRow(start, end, Focus(app=row.app, title=row.title, url=row.url,
                                                fullscreen=row.fullscreen))
        if out and row.start < out[-1].end:
            raise ValueError(f"{row} starts before the row before it ends; a timeline is "
                             "in time order, without overlaps")
        out.append(row)
    return out


# -- running plugins ------------------------------------------------------------------


def simulate(
    config: str,
    *,
    start: str = "2026-03-02 00:00",
    days: float = 1,
    present: Sequence[str] = ("08:00-23:00",),
    activity: Sequence[AtScreen | ActivityRow] | None = None,
    respond: str | Responder = "done",
    plugins: Mapping[str, object] | None = None,
    builtins: bool = True,
    controls: Sequence[tuple[str, str]] = (),
) -> Simulation:
    """Simulate ``days`` days of ``config`` (TOML text, dedented) and return what
    happened.

    ``start`` is local time (``"YYYY-MM-DD HH:MM"``) in the config's time zone
    (``[core] timezone``, else the machine's); the default is a Monday at midnight.
    ``present`` are the windows in which the person is at the screen
    (``"mon-fri 09:00-17:00"``), unless ``activity`` gives a timeline of
    :class:`AtScreen` rows instead. ``respond`` is how the person answers each nudge:
    ``"done"``, ``"snooze"``, ``"skip"``, ``"dismiss"``, ``"ignore"``, :func:`press`,
    or a function ``(nudge, now) -> Response | (Response, delay) | None``.
    ``plugins`` adds plugin objects by name (your plugin under test); ``builtins=False``
    leaves out every installed plugin, so only yours run. ``controls`` are the
    person's commands as ``("YYYY-MM-DD HH:MM", "pause 1h")`` pairs: ``pause D``,
    ``resume``, ``snooze ID D``, ``trigger ID [--force]``.
    """
    from nudged import config as configmod
    from nudged.humanize import parse_window
    from nudged.preview import run
    from nudged.runtime import PluginSelection

    loaded = configmod.load_text(textwrap.dedent(config), CONFIG_LABEL)
    tz = loaded.settings.core.tz()
    begin = datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
    selection = PluginSelection(objects=plugins or {}, discover=builtins)
    timed = [(datetime.strptime(at, "%Y-%m-%d %H:%M").replace(tzinfo=tz), command)
             for at, command in controls]
    rows = None if activity is None else _timeline(activity, begin.date(), tz)
    answer: Responder = press(then=respond) if isinstance(respond, str) else respond
    items, runtime = run(loaded, begin, days, [parse_window(p) for p in present], answer,
                         environ=_environ(), selection=selection, activity=rows,
                         controls=timed)
    return Simulation(items, runtime)


@dataclass
class LoadedPlugins:
    """Plugins loaded and configured, not started: what ``nudged plugins`` and
    ``nudged config check`` would say."""

    host: PluginHost
    #: Every sentence ``nudged config check`` would print (empty: the config is OK).
    problems: list[str]

    def status(self, plugin: str) -> tuple[str, str]:
        """``(status, reason)``, as ``nudged plugins`` shows it: ``("ok", "")``,
        ``("config-error", "config.toml:3: plugins.water.every: ...")``."""
        return _status(self.host, plugin)

    def config(self, plugin: str) -> Any:
        """The plugin's validated config (an instance of its config model), or ``None``."""
        self.status(plugin)  # a clear error for a plugin that is not there
        return self.host.records[plugin].config


def load_plugins(config: str = "", *, plugins: Mapping[str, object] | None = None,
                 builtins: bool = True) -> LoadedPlugins:
    """Discover, load and configure plugins with ``config`` (TOML text, dedented), the
    way nudged does at start, without running them.

    ``plugins`` and ``builtins`` choose the plugins as for :func:`simulate`; with
    ``builtins=True`` installed plugins (entry points) and single files in the
    config folder are found, so a test can check that an installed plugin is seen.
    """
    from nudged import config as configmod
    from nudged.runtime import PluginSelection, build_host, config_problems

    loaded = configmod.load_text(textwrap.dedent(config), CONFIG_LABEL)
    host, unknown = build_host(loaded, _environ(),
                               PluginSelection(objects=plugins or {}, discover=builtins))
    return LoadedPlugins(host, config_problems(host, unknown))


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture
def nudged_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private HOME with its own XDG config and state folders; no NUDGED_* settings."""
    home = tmp_path / "nudged-home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    for var in list(os.environ):
        if var.startswith("NUDGED_"):
            monkeypatch.delenv(var)
    yield home


@pytest.fixture
def nudged_simulate(nudged_home: Path) -> Callable[..., Simulation]:
    """:func:`simulate`, in a private home."""
    return simulate


@pytest.fixture
def nudged_load_plugins(nudged_home: Path) -> Callable[..., LoadedPlugins]:
    """:func:`load_plugins`, in a private home."""
    return load_plugins
