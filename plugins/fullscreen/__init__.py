"""``fullscreen``: no nudge over a fullscreen window (a film, a talk, a game).

```toml
[plugins.fullscreen]
ignore_apps = ["kitty", "code"]
```

While the focused window fills the screen, a due nudge is held, not dropped: it
comes once, within a moment of the window leaving fullscreen or the focus moving
to a window that is not fullscreen, unless it has gone stale by then (a nudge held
past its ``stale_after`` is dropped, as always). Nothing polls: the activity
sources report fullscreen with the focus (X11's ``_NET_WM_STATE_FULLSCREEN``,
sway's and Hyprland's IPC, wlroots' window list), and the focus change that ends
it asks nudged to look at the held nudges again (``ctx.recheck()``). Where no
source can tell (GNOME's Mutter source, ActivityWatch), no window counts as
fullscreen.

``ignore_apps``
    App ids (Wayland) or WM classes (X11), as ``nudged usage`` shows them, compared
    without regard to case, whose fullscreen does not hold nudges: a terminal or an
    editor someone keeps fullscreen all day. Default: none.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, field_validator

from nudged import (
    ActivityChange,
    Decision,
    Focus,
    Nudge,
    PluginConfig,
    PluginContext,
    hookimpl,
)


def _app_id(value: object) -> str:
    """Pydantic hook: an app id or WM class, as ``nudged usage`` shows it."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{json.dumps(value, default=str)} is not an app id (write it as "
                         '`nudged usage` shows it, like "kitty")')
    return value.strip()


AppId = Annotated[str, BeforeValidator(_app_id)]


class FullscreenConfig(PluginConfig):
    ignore_apps: tuple[AppId, ...] = ()

    @field_validator("ignore_apps", mode="before")
    @classmethod
    def _a_list(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError(f"{json.dumps(value)} is not a list of app ids (put it in "
                             f"brackets: ignore_apps = [{json.dumps(value)}])")
        if not isinstance(value, list | tuple):
            raise ValueError(f"{json.dumps(value, default=str)} is not a list of app ids "
                             '(write them like ignore_apps = ["kitty"])')
        return value


def app_name(app: str) -> str:
    """The app as a person reads it in a reason: "org.gnome.Totem" is "Totem"."""
    app = app.strip()
    if not app:
        return "the focused window"
    parts = app.split(".")
    # Reverse-DNS app ids (Flatpak, GNOME, KDE); "mpv" or "Firefox" stay as they are.
    return parts[-1] if len(parts) >= 3 and all(parts) else app


def holding(focus: Focus | None, config: FullscreenConfig) -> bool:
    """Whether ``focus`` is a fullscreen window whose fullscreen counts."""
    if focus is None or not focus.fullscreen:
        return False
    app = focus.app.strip().lower()
    return not any(app == ignored.lower() for ignored in config.ignore_apps)


class FullscreenPlugin:
    @hookimpl
    def nudged_config_model(self) -> type[FullscreenConfig]:
        return FullscreenConfig

    @hookimpl
    def nudged_filter_nudge(self, nudge: Nudge, now: datetime,
                            ctx: PluginContext) -> Decision | None:
        focus = ctx.activity.focus() if ctx.activity is not None else None
        if focus is None or not holding(focus, ctx.config):
            return None
        return Decision.hold(f"{app_name(focus.app)} is fullscreen")

    @hookimpl
    def nudged_on_activity(self, change: ActivityChange, ctx: PluginContext) -> None:
        # Every focus change that shows no counting fullscreen lets the held nudges
        # go through the filters again (cheap when none is held): that covers leaving
        # fullscreen, another window, nothing focused, and a held nudge from before a
        # config reload.
        if change.kind == "focus" and not holding(change.focus, ctx.config):
            ctx.recheck()
