"""``dnd``: (being written)."""

from __future__ import annotations


class DoNotDisturbPlugin:
    pass
