"""One error hierarchy, so the CLI can turn any of them into a sentence.

Every error a person can cause (a bad config, a foreign database file, a broken
plugin) is a :class:`NudgedError`. The CLI prints ``str(error)`` and exits non-zero;
it never shows a traceback for these.
"""

from __future__ import annotations


class NudgedError(Exception):
    """Base class: the message is a complete sentence meant for a person."""

    exit_code = 1


class ConfigError(NudgedError):
    """The configuration cannot be used. Holds one line per problem."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class PluginError(NudgedError):
    """A plugin cannot be loaded, configured or started."""


class StoreError(NudgedError):
    """The state database cannot be opened or written safely."""

    exit_code = 3
