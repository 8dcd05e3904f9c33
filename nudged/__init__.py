"""nudged: gentle, plugin-based wellbeing nudges for the Linux desktop.

The public API for plugin authors is re-exported here. Names are imported lazily
so that ``nudged --help`` stays fast: importing :mod:`nudged` costs nothing until
a plugin actually touches ``nudged.NudgeSpec`` and friends.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
#: The plugin API this nudged offers. A plugin that needs a newer one says so with
#: ``nudged_api = N`` and gets the status ``needs-newer-nudged`` instead of being run.
#: 1: the first release of the hooks. 2: ``nudged_status``, ``Decision.hold``,
#: ``ctx.recheck()`` and ``ctx.desktop``. 3: answer buttons (``answer:<word>`` in
#: ``NudgeSpec.buttons``, ``Answer``). The history is in docs/hooks.md.
PLUGIN_API_VERSION = 3

_EXPORTS = {
    "hookimpl": "nudged.hookspecs",
    "PluginConfig": "nudged.context",
    "PluginContext": "nudged.context",
    "NudgeSpec": "nudged.models",
    "Nudge": "nudged.models",
    "At": "nudged.models",
    "Every": "nudged.models",
    "Manual": "nudged.models",
    "Decision": "nudged.models",
    "Response": "nudged.models",
    "Answer": "nudged.models",
    "NudgedError": "nudged.errors",
    "Focus": "nudged.activity.base",
    "Attribution": "nudged.activity.ledger",
    "ActivityChange": "nudged.models",
    "ConfigError": "nudged.errors",
}

__all__ = [
    "PLUGIN_API_VERSION",
    "ActivityChange",
    "Answer",
    "At",
    "Attribution",
    "ConfigError",
    "Decision",
    "Every",
    "Focus",
    "Manual",
    "Nudge",
    "NudgeSpec",
    "NudgedError",
    "PluginConfig",
    "PluginContext",
    "Response",
    "__version__",
    "hookimpl",
]

if TYPE_CHECKING:
    from nudged.activity.base import Focus
    from nudged.activity.ledger import Attribution
    from nudged.context import PluginConfig, PluginContext
    from nudged.errors import ConfigError, NudgedError
    from nudged.hookspecs import hookimpl
    from nudged.models import (
        ActivityChange,
        Answer,
        At,
        Decision,
        Every,
        Manual,
        Nudge,
        NudgeSpec,
        Response,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nudged' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
