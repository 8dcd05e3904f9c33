"""Small helpers for tests that simulate a person living with a config."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from nudged import config as configmod
from nudged.humanize import parse_window
from nudged.preview import PreviewItem, run
from nudged.runtime import PluginSelection, Runtime

BERLIN = ZoneInfo("Europe/Berlin")


def load(text: str) -> configmod.LoadedConfig:
    return configmod.load_text(textwrap.dedent(text), None)


def simulate(
    config_text: str,
    start: str = "2026-03-02 00:00",
    days: float = 1,
    present: Sequence[str] = ("08:00-23:00",),
    respond: str = "done",
    plugins: Mapping[str, object] | None = None,
    builtins: bool = True,
) -> tuple[list[PreviewItem], Runtime]:
    """Run ``days`` simulated days; ``plugins`` adds extra in-process plugin objects."""
    loaded = load(config_text)
    tz = loaded.settings.core.tz()
    begin = datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
    selection = PluginSelection(objects=plugins or {}, discover=builtins)
    return run(loaded, begin, days, [parse_window(p) for p in present], respond,
               environ={}, selection=selection)


def shown(items: Sequence[PreviewItem]) -> list[tuple[str, str]]:
    """(local "Mon HH:MM", plugin:id) of every nudge that was shown."""
    return [(i.at.strftime("%a %H:%M"), i.nudge.key) for i in items if i.shown]
