"""Small helpers for tests that simulate a person living with a config.

They wrap :mod:`nudged.testing`, the helpers nudged ships for plugin authors, so the
built-in plugins' tests exercise them on every run.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from nudged import config as configmod
from nudged.preview import PreviewItem
from nudged.runtime import Runtime
from nudged.testing import simulate as _simulate

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
    sim = _simulate(config_text, start=start, days=days, present=present, respond=respond,
                    plugins=plugins, builtins=builtins)
    return sim.items, sim.runtime


def shown(items: Sequence[PreviewItem]) -> list[tuple[str, str]]:
    """(local "Mon HH:MM", plugin:id) of every nudge that was shown."""
    return [(i.at.strftime("%a %H:%M"), i.nudge.key) for i in items if i.shown]
