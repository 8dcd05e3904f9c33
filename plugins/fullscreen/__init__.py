"""``fullscreen``: (being written)."""

from __future__ import annotations


class FullscreenPlugin:
    pass
