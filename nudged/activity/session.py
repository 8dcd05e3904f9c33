"""Decide the session type first: on Wayland, X11 sources see only XWayland windows."""

from __future__ import annotations

import os
from collections.abc import Mapping

from nudged.activity.base import Session, SessionType


def detect(environ: Mapping[str, str] = os.environ) -> Session:
    declared = environ.get("XDG_SESSION_TYPE", "").lower()
    desktop = environ.get("XDG_CURRENT_DESKTOP", "").lower()
    if declared == "wayland" or (declared not in ("x11", "tty") and environ.get("WAYLAND_DISPLAY")):
        kind = SessionType.WAYLAND
    elif declared == "x11" or environ.get("DISPLAY"):
        kind = SessionType.X11
    else:
        kind = SessionType.UNKNOWN
    return Session(type=kind, desktop=desktop, environ=dict(environ))
