"""``camera``: (being written)."""

from __future__ import annotations


class CameraPlugin:
    pass
