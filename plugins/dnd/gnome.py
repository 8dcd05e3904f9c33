"""GNOME's do-not-disturb: ``org.gnome.desktop.notifications show-banners`` off.

GSettings keeps the key in dconf. Every write goes through dconf's writer service,
which then emits ``ca.desrt.dconf.Writer.Notify(prefix, changes, tag)`` on the session
bus, naming what changed: ``("/org/gnome/desktop/notifications/show-banners", [""])``
for the key itself, or a folder above it for a reset of many keys. The plugin listens
for that signal (no process of its own, no polling) and reads the value with
``gsettings get`` when it names the key, so the schema's default and the person's
value are resolved by GLib as GNOME itself resolves them.

Used only where ``gsettings`` exists and the schema is installed (the first ``gsettings
get`` answers), and not in a session that says it is another desktop: a GNOME
do-not-disturb left on from a GNOME session does nothing to a sway session, and must
not hold nudges there. With ``XDG_CURRENT_DESKTOP`` unset the setting is trusted.
A setting kept outside dconf (``GSETTINGS_BACKEND=memory`` or ``keyfile``) sends no
signal; only its value at start is seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Mapping
from typing import Any

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from nudged.dbus import TaskGroup, ask_bus, bus_call, match_rule

from .server import Report, Rereader

__all__ = ["GnomeWatch"]

SCHEMA = "org.gnome.desktop.notifications"
KEY = "show-banners"
DCONF_PATH = "/org/gnome/desktop/notifications/show-banners"
DCONF_IFACE = "ca.desrt.dconf.Writer"
NOTIFY_RULE = match_rule(type="signal", interface=DCONF_IFACE, member="Notify")
#: ``gsettings get`` reads a local file; it answers in milliseconds.
READ_TIMEOUT = 2.0
REASON = "GNOME notification banners are off"


def names_key(prefix: str, changes: list[str]) -> bool:
    """Whether a dconf ``Notify(prefix, changes)`` covers the show-banners key.

    Each change is a key or a folder (ending in ``/``) relative to ``prefix``; ``""``
    means the prefix itself."""
    for change in changes or [""]:
        path = prefix + change
        if path == DCONF_PATH or (path.endswith("/") and DCONF_PATH.startswith(path)):
            return True
    return False


def other_desktop(environ: Mapping[str, str]) -> str | None:
    """The desktop this session says it is, when that is not GNOME (else None)."""
    desktop = environ.get("XDG_CURRENT_DESKTOP", "").strip()
    if not desktop or "gnome" in desktop.lower().split(":"):
        return None
    return desktop


class GnomeWatch:
    def __init__(self, bus: MessageBus, environ: Mapping[str, str], report: Report,
                 log: Any, tasks: TaskGroup) -> None:
        self.bus = bus
        self.environ = environ
        self.report = report
        self.log = log
        self.gsettings: str | None = None
        self._rule: str | None = None
        self._failed = False
        self._reader = Rereader(tasks, self._read)

    async def start(self) -> bool:
        self.gsettings = shutil.which("gsettings", path=self.environ.get("PATH", os.defpath))
        if self.gsettings is None:
            self.log.debug("do-not-disturb source not offered", source="gnome",
                           reason="gsettings is not installed")
            return False
        desktop = other_desktop(self.environ)
        if desktop is not None:
            self.log.debug("do-not-disturb source not offered", source="gnome",
                           reason=f"this is a {desktop} session, not GNOME")
            return False
        # Listen first, then read: a change in between is read again.
        self.bus.add_message_handler(self._on_message)
        await bus_call(self.bus, ask_bus("AddMatch", NOTIFY_RULE), 1.0)
        self._rule = NOTIFY_RULE
        value, error = await self._get()
        if value is None:
            self.log.debug("do-not-disturb source not offered", source="gnome", reason=error)
            await self.stop()
            return False
        self.log.info("watching do-not-disturb", source="gnome")
        self.report("gnome", REASON if value is False else None)
        return True

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.bus.remove_message_handler(self._on_message)
        rule, self._rule = self._rule, None
        if rule is not None and self.bus.connected:
            with contextlib.suppress(Exception):
                await bus_call(self.bus, ask_bus("RemoveMatch", rule), 0.3)

    async def _get(self) -> tuple[bool | None, str]:
        """``gsettings get`` of the key: its value, or None and why not."""
        assert self.gsettings is not None
        try:
            proc = await asyncio.create_subprocess_exec(
                self.gsettings, "get", SCHEMA, KEY, env=dict(self.environ),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
        except OSError as exc:
            return None, f"cannot run gsettings: {exc}"
        try:
            out, err = await asyncio.wait_for(proc.communicate(), READ_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            return None, f"gsettings get did not answer within {READ_TIMEOUT:g}s"
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            raise
        text = out.decode(errors="replace").strip()
        if proc.returncode != 0 or text not in ("true", "false"):
            why = err.decode(errors="replace").strip() or text or f"exit {proc.returncode}"
            return None, f"gsettings get {SCHEMA} {KEY}: {why}"
        return text == "true", ""

    async def _read(self) -> None:
        value, error = await self._get()
        if value is None:
            if not self._failed:  # once: the next change tries again
                self.log.warning("cannot read GNOME's do-not-disturb; taken as off",
                                 error=error)
            self._failed = True
            self.report("gnome", None)
            return
        self._failed = False
        self.report("gnome", REASON if value is False else None)

    def _on_message(self, msg: Message) -> None:
        if (msg.message_type == MessageType.SIGNAL and msg.interface == DCONF_IFACE
                and msg.member == "Notify" and len(msg.body) >= 2
                and names_key(str(msg.body[0]), list(msg.body[1]))):
            self._reader.poke()
