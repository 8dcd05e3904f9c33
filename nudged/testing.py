"""Helpers for testing nudged plugins, shipped with nudged and loaded by pytest.

A plugin's tests should read like a day in someone's life::

    def test_a_glass_of_water_every_two_hours(nudged_simulate):
        sim = nudged_simulate('''
            [[plugins.custom.nudges]]
            id = "water"
            title = "Water"
            every = "2h"
        ''', days=1, present=["09:00-17:00"])
        assert sim.shown()[:2] == [("Mon 11:00", "custom:water"), ("Mon 13:00", "custom:water")]

``simulate`` runs the real plugins through the real engine on a simulated clock
(``nudged preview`` underneath): a simulated person is present in the given windows
or follows an activity timeline, answers each nudge the way ``respond`` says (a word,
or a function that presses buttons), and nothing leaves the process. The fixtures
give every test a private ``HOME`` and XDG folders.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nudged.pluginstore import Entry
    from nudged.preview import ActivityRow, PreviewItem, Responder
    from nudged.runtime import Runtime

import pytest

__all__ = ["Simulation", "nudged_home", "nudged_simulate", "simulate"]


@dataclass
class Simulation:
    """What the simulated person met: ``items`` (shown or not, with why)."""

    items: list[PreviewItem]
    runtime: Runtime

    def shown(self, fmt: str = "%a %H:%M") -> list[tuple[str, str]]:
        """``(local time, "plugin:id")`` of every nudge that was shown."""
        return [(i.at.strftime(fmt), i.nudge.key) for i in self.items if i.shown]

    def journal(self, plugin: str, kind: str | None = None) -> list[Entry]:
        """A plugin's journal entries (``ctx.journal``) after the simulation."""
        ctx = self.runtime.host.records[plugin].ctx
        return [] if ctx is None or ctx.journal is None else list(ctx.journal.entries(kind))

    def status(self, plugin: str) -> tuple[str, str]:
        record = self.runtime.host.records[plugin]
        return record.status.value, record.reason


def simulate(
    config: str,
    *,
    start: str = "2026-03-02 00:00",
    days: float = 1,
    present: Sequence[str] = ("08:00-23:00",),
    activity: Sequence[ActivityRow] | None = None,
    respond: str | Responder = "done",
    plugins: Mapping[str, object] | None = None,
    builtins: bool = True,
    controls: Sequence[tuple[str, str]] = (),
) -> Simulation:
    """Simulate ``days`` days of ``config`` (TOML text, dedented).

    ``plugins`` adds plugin objects by name (your plugin under test); ``builtins=False``
    leaves out every installed plugin, so only yours run. ``start`` is local time in
    the config's time zone (``[core] timezone``). ``respond`` is "done", "snooze",
    "skip", "ignore", or a function ``(nudge, now) -> Response | (Response, delay) |
    None``. ``controls`` are the person's commands as ``("YYYY-MM-DD HH:MM", "pause
    1h")`` pairs: pause, resume, snooze ID DURATION, trigger ID [--force].
    """
    from nudged import config as configmod
    from nudged.humanize import parse_window
    from nudged.preview import run
    from nudged.runtime import PluginSelection

    loaded = configmod.load_text(textwrap.dedent(config), None)
    tz = loaded.settings.core.tz()
    begin = datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
    selection = PluginSelection(objects=plugins or {}, discover=builtins)
    timed = [(datetime.strptime(at, "%Y-%m-%d %H:%M").replace(tzinfo=tz), command)
             for at, command in controls]
    items, runtime = run(loaded, begin, days, [parse_window(p) for p in present], respond,
                         environ={}, selection=selection, activity=activity, controls=timed)
    return Simulation(items, runtime)


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
def nudged_simulate(nudged_home: Path) -> Any:
    """:func:`simulate`, in a private home."""
    return simulate
