"""Making a window fullscreen on a test desktop, as a video player does on F11.

xdotool 3.20160805 (Debian 12) has no ``windowstate``, and wmctrl is one more
package, so the EWMH request is sent with python-xlib: a ``_NET_WM_STATE``
ClientMessage to the root window, which the window manager (openbox) answers by
resizing the window and rewriting its ``_NET_WM_STATE`` property. On sway,
``swaymsg fullscreen`` does the same (``tests.testbed.Sway.swaymsg``).
"""

from __future__ import annotations

from typing import Any

from Xlib import X, Xatom
from Xlib import display as xdisplay
from Xlib.protocol import event as xevent

from tests.testbed import _wait_until

__all__ = ["is_fullscreen", "set_fullscreen"]

_REMOVE, _ADD = 0, 1
_SOURCE_APPLICATION = 1  # EWMH source indication: a normal application asks


def _state(display: Any, wid: int) -> list[int]:
    window = display.create_resource_object("window", wid)
    prop = window.get_full_property(display.intern_atom("_NET_WM_STATE"), Xatom.ATOM)
    return list(prop.value) if prop is not None else []


def is_fullscreen(display_name: str, wid: int) -> bool:
    """Whether the window manager lists window ``wid`` as fullscreen right now."""
    display = xdisplay.Display(display_name)
    try:
        return display.intern_atom("_NET_WM_STATE_FULLSCREEN") in _state(display, wid)
    finally:
        display.close()


def set_fullscreen(display_name: str, wid: int, on: bool, timeout: float = 10.0) -> None:
    """Ask the window manager to make ``wid`` fullscreen (or not) and wait until it has.

    Blocking: call it with ``asyncio.to_thread`` from a test whose loop runs a source.
    """
    display = xdisplay.Display(display_name)
    try:
        root = display.screen().root
        state = display.intern_atom("_NET_WM_STATE")
        fullscreen = display.intern_atom("_NET_WM_STATE_FULLSCREEN")
        message = xevent.ClientMessage(
            window=display.create_resource_object("window", wid), client_type=state,
            data=(32, [_ADD if on else _REMOVE, fullscreen, 0, _SOURCE_APPLICATION, 0]))
        root.send_event(message, event_mask=X.SubstructureRedirectMask
                        | X.SubstructureNotifyMask)
        display.flush()
        _wait_until(lambda: (fullscreen in _state(display, wid)) == on, timeout,
                    f"the window manager to {'add' if on else 'remove'} fullscreen on "
                    f"window {wid:#x}")
    finally:
        display.close()
