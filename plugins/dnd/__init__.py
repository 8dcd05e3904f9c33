"""``dnd``: no nudges while the desktop is in do-not-disturb.

```toml
[plugins.dnd]
# On by default; `enabled = false` turns it off.
sources = ["dunst", "notifications", "gnome", "mako"]  # which do-not-disturb switches count
mako_modes = ["do-not-disturb"]                        # mako modes that mean do-not-disturb
```

Do-not-disturb as the desktop knows it, whichever of these it has:

* ``dunst``: dunst is paused (``dunstctl set-paused true``, or a key bound to it);
* ``notifications``: the notification server says it is ``Inhibited`` (KDE Plasma's
  "Do not disturb", or an app inhibiting notifications there);
* ``gnome``: GNOME's "Do Not Disturb" (``org.gnome.desktop.notifications
  show-banners`` is off), in a GNOME session;
* ``mako``: mako is in one of ``mako_modes`` (``makoctl mode -a do-not-disturb``).

While any of them is on, every due nudge is held ("do-not-disturb is on (dunst is
paused)"), sleep-window ones too: do-not-disturb means do-not-disturb. When the last
one goes off, the held nudges come due again at once, once each; a nudge that went
stale meanwhile (a bedtime nudge from two hours ago) is dropped. A notification
server that quits or crashes takes its do-not-disturb with it.

Nothing polls. dunst and KDE announce their switch with ``PropertiesChanged`` on the
session bus; GNOME's setting is written through dconf, whose ``Notify`` signal names
the key (``gsettings get`` then reads it); mako has no signal for its modes, so the
plugin watches the calls that change them (see :mod:`.server`). A source the desktop
does not have is simply not used (said once in the log at debug level). In previews
and simulations (no desktop) the plugin has no opinion.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Literal

from pydantic import ValidationInfo, field_validator

from nudged import Decision, Nudge, PluginConfig, PluginContext, hookimpl
from nudged.dbus import TaskGroup, error_text

from .gnome import GnomeWatch
from .server import ServerWatch

if TYPE_CHECKING:
    from dbus_fast.aio import MessageBus

__all__ = ["SOURCES", "DndConfig", "DoNotDisturbPlugin"]

Source = Literal["dunst", "notifications", "gnome", "mako"]
#: Every source, in the order reasons name them.
SOURCES: tuple[Source, ...] = ("dunst", "notifications", "gnome", "mako")
#: What the watches may take together at shutdown (the daemon allows about a second
#: for all plugins).
STOP_TIMEOUT = 0.5


class DndConfig(PluginConfig):
    """``[plugins.dnd]``: every key has a default."""

    sources: tuple[Source, ...] = SOURCES
    mako_modes: tuple[str, ...] = ("do-not-disturb",)

    @field_validator("sources", "mako_modes", mode="before")
    @classmethod
    def _a_list(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            what = "sources" if info.field_name == "sources" else "modes"
            raise ValueError(f'"{value}" is not a list of {what} (put it in brackets: '
                             f'{info.field_name} = ["{value}"])')
        return value

    @field_validator("sources", mode="before")
    @classmethod
    def _known(cls, value: object) -> object:
        if isinstance(value, (list, tuple)):
            for name in value:
                if name not in SOURCES:
                    raise ValueError(f"{name!r} is not a do-not-disturb source; the sources "
                                     f"are {', '.join(SOURCES)}")
        return value

    @field_validator("mako_modes")
    @classmethod
    def _modes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not mode.strip() for mode in value):
            raise ValueError('a mode name cannot be empty (write it as `makoctl mode` '
                             'lists it, like "do-not-disturb")')
        return value


class DoNotDisturbPlugin:
    """Holds nudges while any watched source says do-not-disturb is on."""

    def __init__(self) -> None:
        #: source -> why it says do-not-disturb ("dunst is paused"), only while on.
        self.on: dict[str, str] = {}
        self.server: ServerWatch | None = None
        self.gnome: GnomeWatch | None = None
        self._ctx: PluginContext | None = None
        self._tasks: TaskGroup | None = None

    @hookimpl
    def nudged_config_model(self) -> type[DndConfig]:
        return DndConfig

    @hookimpl
    async def nudged_startup(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        if ctx.desktop is None:
            return  # a preview or a simulation: no desktop to ask
        bus = await ctx.desktop.session_bus()
        if bus is None:
            return  # the desktop said why, once
        config: DndConfig = ctx.config
        wanted = frozenset(config.sources)
        self._tasks = TaskGroup("dnd", self._task_failed)
        environ = ctx.desktop.environ
        if wanted & {"dunst", "notifications", "mako"}:
            server = ServerWatch(bus, environ, wanted, config.mako_modes, self.report,
                                 ctx.log, self._tasks)
            if await self._start(server, "the notification server"):
                self.server = server
        if "gnome" in wanted:
            gnome = GnomeWatch(bus, environ, self.report, ctx.log, self._tasks)
            if await self._start(gnome, "GNOME's setting"):
                self.gnome = gnome
        self._tasks.spawn(self._watch_bus(bus))

    async def _start(self, watch: ServerWatch | GnomeWatch, what: str) -> bool:
        """Start one watch; a failure is logged and that watch is simply not used."""
        assert self._ctx is not None
        try:
            return await watch.start()
        except Exception as exc:
            self._ctx.log.warning("cannot watch do-not-disturb", of=what, error=error_text(exc))
            await watch.stop()
            return False

    async def _watch_bus(self, bus: MessageBus) -> None:
        """The session bus went away: nothing can say do-not-disturb any more."""
        with contextlib.suppress(Exception):
            await asyncio.shield(bus.wait_for_disconnect())
        if self._ctx is not None and self._tasks is not None:
            self._ctx.log.warning("lost the session bus; do-not-disturb is no longer watched")
            for source in list(self.on):
                self.report(source, None)

    def _task_failed(self, exc: BaseException) -> None:
        if self._ctx is not None:
            self._ctx.log.warning("do-not-disturb question failed", error=error_text(exc))

    @hookimpl
    async def nudged_shutdown(self) -> None:
        tasks, self._tasks = self._tasks, None
        watches = [w for w in (self.server, self.gnome) if w is not None]
        self.server = self.gnome = None
        self._ctx = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(w.stop() for w in watches), return_exceptions=True),
                STOP_TIMEOUT)
        if tasks is not None:
            await tasks.cancel_all()

    def report(self, source: str, reason: str | None) -> None:
        """A source says do-not-disturb is on (with why) or off (``None``).

        The held nudges are let go when the last source goes off, not before: one
        still on would only hold them again.
        """
        ctx = self._ctx
        if self.on.get(source) == reason:
            return
        was_on = bool(self.on)
        if reason is None:
            del self.on[source]
        else:
            self.on[source] = reason
        if ctx is None:
            return  # shutting down
        if reason is not None:
            ctx.log.info("do-not-disturb is on", source=source, reason=reason)
        else:
            ctx.log.info("do-not-disturb is off", source=source)
        if was_on and not self.on:
            ctx.recheck()

    @hookimpl
    def nudged_filter_nudge(self, nudge: Nudge) -> Decision | None:
        if not self.on:
            return None
        reasons = [self.on[s] for s in SOURCES if s in self.on]
        return Decision.hold(f"do-not-disturb is on ({', '.join(reasons)})")
