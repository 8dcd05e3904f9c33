"""``camera``: no nudges while a camera is in use, as in a video call.

```toml
[plugins.camera]
devices = "/dev/video*"                    # which device nodes are cameras (a glob)
ignore_apps = ["pipewire", "wireplumber"]  # apps whose holding a camera does not count
```

Runs only when this table is in the config. While an app other than nudged holds a
camera open, every due nudge is held ("the camera is in use by zoom"); when the last
one lets go, the held nudges come due again, once each, within a couple of seconds
(a nudge that went stale meanwhile is dropped). Nothing polls: an inotify watch on
each device reports every open and close, ``/proc/PID/fd`` says who holds it then
(see :mod:`.watch`), and a camera plugged in later is watched as it appears.

``ignore_apps`` names processes as ``/proc/PID/comm`` (and ``ps -o comm``) shows them,
regardless of case. The default leaves out PipeWire's daemon and session manager: on
some desktops they keep every camera open all day, which would hold nudges forever.
An app that reaches the camera through PipeWire (GNOME Snapshot, a browser with its
PipeWire camera setting on) then goes unseen; if ``fuser -v /dev/video*`` shows
nothing while no camera is in use, ``ignore_apps = []`` sees those calls too.

Only the person's own processes can be read in ``/proc``; a system service holding
a camera is not seen. In previews and simulations (no desktop) the plugin has no
opinion. Where inotify or the devices' folder is unavailable, it says so once in the
log and has no opinion either.
"""

from __future__ import annotations

import asyncio
import json
import os

from pydantic import field_validator

from nudged import Decision, Nudge, PluginConfig, PluginContext, hookimpl

from .watch import CameraWatch

__all__ = ["CameraConfig", "CameraPlugin", "CameraWatch"]

WILDCARDS = "*?["


class CameraConfig(PluginConfig):
    """``[plugins.camera]``: every key has a default."""

    devices: str = "/dev/video*"
    ignore_apps: tuple[str, ...] = ("pipewire", "wireplumber")

    @field_validator("devices")
    @classmethod
    def _one_folder(cls, value: str) -> str:
        folder = os.path.dirname(value)
        if not os.path.isabs(value) or not os.path.basename(value):
            raise ValueError(f'"{value}" is not a full path to device nodes '
                             '(like "/dev/video*")')
        if any(char in folder for char in WILDCARDS):
            raise ValueError(f'"{value}": only the last part of the path may have wildcards '
                             '(like "/dev/video*")')
        return value

    @field_validator("ignore_apps", mode="before")
    @classmethod
    def _a_list(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError(f"{json.dumps(value)} is not a list of app names (put it in "
                             f"brackets: ignore_apps = [{json.dumps(value)}])")
        if not isinstance(value, list | tuple):
            raise ValueError(f"{value!r} is not a list of app names (write them like "
                             '["pipewire", "wireplumber"], or [] for none)')
        return value

    @field_validator("ignore_apps")
    @classmethod
    def _names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = tuple(name.strip() for name in value)
        if any(not name for name in names):
            raise ValueError('an app name cannot be empty (write it as ps shows it, '
                             'like "pipewire")')
        return names


def _listed(names: tuple[str, ...]) -> str:
    """``zoom``, ``zoom and obs``, ``zoom, obs and firefox``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


class CameraPlugin:
    # Opt-in: a table in the config turns it on.
    opt_in = True

    def __init__(self) -> None:
        self.watch: CameraWatch | None = None

    @hookimpl
    def nudged_config_model(self) -> type[CameraConfig]:
        return CameraConfig

    @hookimpl
    async def nudged_startup(self, ctx: PluginContext) -> None:
        if ctx.desktop is None:
            return  # a preview or a simulation: no camera to see
        config: CameraConfig = ctx.config
        watch = CameraWatch(config.devices, ignore=config.ignore_apps,
                            on_free=ctx.recheck, log=ctx.log)
        if watch.start(asyncio.get_running_loop()):
            self.watch = watch

    @hookimpl
    def nudged_shutdown(self) -> None:
        if self.watch is not None:
            self.watch.stop()
            self.watch = None

    @hookimpl
    def nudged_filter_nudge(self, nudge: Nudge) -> Decision | None:
        users = self.watch.users if self.watch is not None else ()
        if not users:
            return None
        return Decision.hold(f"the camera is in use by {_listed(users)}")
