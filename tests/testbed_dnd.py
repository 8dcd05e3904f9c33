"""Do-not-disturb switches for the ``dnd`` plugin's stories, built on tests/testbed.py.

* :class:`Doorbell`: a single-file plugin whose one nudge comes due each time the test
  rings (a line into a FIFO the daemon reads), so a story decides exactly when.
* :func:`decisions`: what the daemon's store says was deferred or suppressed, and by whom
  (what ``nudged history`` shows).
* :class:`FakeNotificationServer`: a notification server with KDE's ``Inhibited``
  property and ``PropertiesChanged``, on a private bus (dbus-fast).
* :class:`Dconf`: the real dconf writer service and ``gsettings`` on a private bus and
  a private home: GNOME's do-not-disturb switch, minus GNOME.
* :class:`Mako`: the real mako on a headless :class:`~tests.testbed.Sway`, with
  ``makoctl``.

Debian packages: ``libglib2.0-bin gsettings-desktop-schemas dconf-service
dconf-gsettings-backend`` (GNOME), ``mako-notifier jq`` (mako; ``makoctl`` needs ``jq``
and ``busctl`` from ``systemd``), on top of testbed.py's.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusBool
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_property

from tests.testbed import (
    NOTIFICATIONS,
    NOTIFICATIONS_PATH,
    Sway,
    TestbedError,
    _log_tail,
    _name_owner,
    _require,
    _stop_process,
    _TempDir,
    _wait_until,
)

__all__ = [
    "DCONF_SERVICE",
    "GNOME_TOOLS",
    "MAKO_TOOLS",
    "Dconf",
    "Doorbell",
    "FakeNotificationServer",
    "Mako",
    "decisions",
    "require_gnome_tools",
    "require_mako_tools",
]

DCONF_SERVICE = "/usr/libexec/dconf-service"
#: what the GNOME story needs -> Debian package
GNOME_TOOLS: dict[str, str] = {
    "gsettings": "libglib2.0-bin",
    DCONF_SERVICE: "dconf-service",
    "/usr/share/glib-2.0/schemas/org.gnome.desktop.notifications.gschema.xml":
        "gsettings-desktop-schemas",
    "/usr/lib/*/gio/modules/libdconfsettings.so": "dconf-gsettings-backend",
}
#: what the mako story needs (besides sway) -> Debian package
MAKO_TOOLS: dict[str, str] = {"mako": "mako-notifier", "makoctl": "mako-notifier",
                              "jq": "jq", "busctl": "systemd"}


def _missing(tools: Mapping[str, str]) -> list[str]:
    """Debian packages of the ``tools`` (commands, or file patterns) not on this machine."""
    gone = [tool for tool in tools
            if (not glob.glob(tool) if tool.startswith("/") else shutil.which(tool) is None)]
    return sorted({tools[tool] for tool in gone})


def require_gnome_tools() -> None:
    """Skip when gsettings, dconf or the schema is missing; fail instead when CI=true."""
    _require(_missing(GNOME_TOOLS), "GNOME settings tools")


def require_mako_tools() -> None:
    """Skip when mako, makoctl, jq or busctl is missing; fail instead when CI=true."""
    _require(_missing(MAKO_TOOLS), "mako")


# --------------------------------------------------------------------------- the daemon

DOORBELL_PLUGIN = '''
    """Asks about posture each time the test rings: a line written into ./doorbell."""
    import asyncio
    import os
    from pathlib import Path

    from nudged import Manual, NudgeSpec

    BELL = Path(__file__).with_name("doorbell")


    def nudged_register_nudges(register):
        register(NudgeSpec(id="check", title="How are you sitting?",
                           body="Feet flat, shoulders down.", schedule=Manual()))


    async def nudged_startup(ctx):
        if not BELL.exists():
            os.mkfifo(BELL)
        fd = os.open(BELL, os.O_RDWR | os.O_NONBLOCK)  # never blocks the writer

        def rung():
            os.read(fd, 4096)
            ctx.fire("check")

        asyncio.get_running_loop().add_reader(fd, rung)
'''


class Doorbell:
    """The ``posture`` plugin above, installed into ``env``'s config folder."""

    TITLE = "How are you sitting?"

    def __init__(self, env: Mapping[str, str]) -> None:
        from tests.test_daemon_service import write_plugin

        self.path = write_plugin(env, "posture", DOORBELL_PLUGIN).with_name("doorbell")

    def ring(self, timeout: float = 10.0) -> None:
        """Make the posture nudge due now (once the daemon has started the plugin)."""
        _wait_until(self.path.exists, timeout, "the posture plugin's doorbell")
        with open(self.path, "w") as bell:
            bell.write("ring\n")


def decisions(state_dir: Path) -> list[dict[str, Any]]:
    """Rows of the daemon's ``decisions`` table, oldest first."""
    path = state_dir / "nudged.db"
    if not path.exists():
        return []
    conn = sqlite3.connect(path, timeout=5)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM decisions ORDER BY id")]
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


# --------------------------------------------------------------------------- KDE


class FakeNotificationServer(ServiceInterface):
    """``org.freedesktop.Notifications`` with KDE Plasma's ``Inhibited`` property.

    Plasma sends the new value in ``PropertiesChanged``; ``announce="invalidate"``
    plays a server that only says the value is stale.
    """

    def __init__(self) -> None:
        super().__init__(NOTIFICATIONS)
        self._inhibited = False
        self.bus: MessageBus | None = None

    @dbus_property(access=PropertyAccess.READ)
    def Inhibited(self) -> DBusBool:
        return self._inhibited

    def set_inhibited(self, inhibited: bool, announce: str = "value") -> None:
        self._inhibited = inhibited
        if announce == "value":
            self.emit_properties_changed({"Inhibited": inhibited})
        else:
            self.emit_properties_changed({}, ["Inhibited"])

    async def serve(self, address: str) -> FakeNotificationServer:
        self.bus = await MessageBus(bus_address=address).connect()
        self.bus.export(NOTIFICATIONS_PATH, self)
        await self.bus.request_name(NOTIFICATIONS)
        return self

    async def leave(self) -> None:
        """The server quits: its connection (and the name) leave the bus."""
        bus, self.bus = self.bus, None
        if bus is not None and bus.connected:
            bus.disconnect()
            await asyncio.wait_for(bus.wait_for_disconnect(), 5)


# --------------------------------------------------------------------------- GNOME


class Dconf:
    """dconf's writer service on a private bus, and ``gsettings`` in a private home."""

    def __init__(self, bus_address: str, tmpdir: Path | str | None = None) -> None:
        self._tmp = _TempDir(tmpdir, "nudged-dconf-")
        self.home = self._tmp.path / "home"
        self.log_path = self._tmp.path / "dconf.log"
        self.bus_address = bus_address
        self._proc: subprocess.Popen[bytes] | None = None

    def env(self, **extra: str) -> dict[str, str]:
        """What a GNOME session's programs (and nudged) would have."""
        return {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(self.home),
                "XDG_CONFIG_HOME": str(self.home / ".config"),
                "XDG_RUNTIME_DIR": str(self._tmp.path), "DBUS_SESSION_BUS_ADDRESS":
                self.bus_address, "LANG": "C.UTF-8", **extra}

    def start(self) -> Dconf:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen([DCONF_SERVICE], env=self.env(),
                                          stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        _wait_until(lambda: _name_owner(self.bus_address, "ca.desrt.dconf"), 10,
                    "dconf-service to own ca.desrt.dconf")
        return self

    def gsettings(self, *args: str) -> str:
        proc = subprocess.run(["gsettings", *args], env=self.env(), capture_output=True,
                              text=True, timeout=10)
        if proc.returncode != 0:
            raise TestbedError(f"gsettings {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def stop(self) -> None:
        _stop_process(self._proc)
        self._proc = None
        self._tmp.cleanup()

    def __enter__(self) -> Dconf:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- mako


class Mako:
    """The real mako on a headless sway, owning org.freedesktop.Notifications."""

    def __init__(self, sway: Sway, bus_address: str, tmpdir: Path | str | None = None) -> None:
        self.sway = sway
        self.bus_address = bus_address
        self._tmp = _TempDir(tmpdir, "nudged-mako-")
        self.log_path = self._tmp.path / "mako.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(self._tmp.path),
                "XDG_CONFIG_HOME": str(self._tmp.path / "config"),
                "XDG_RUNTIME_DIR": str(self.sway.runtime),
                "WAYLAND_DISPLAY": self.sway.wayland_display,
                "DBUS_SESSION_BUS_ADDRESS": self.bus_address, "LANG": "C.UTF-8"}

    def start(self) -> Mako:
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(["mako"], env=self.env(), stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=log)
        proc = self._proc

        def ready() -> str | None:
            if proc.poll() is not None:
                raise TestbedError(f"mako exited with {proc.returncode}\n"
                                   f"{_log_tail(self.log_path)}")
            return _name_owner(self.bus_address, NOTIFICATIONS)

        _wait_until(ready, 15, "mako to own org.freedesktop.Notifications")
        return self

    def makoctl(self, *args: str) -> list[str]:
        """``makoctl ARGS``; its output lines (``makoctl mode`` lists the modes)."""
        proc = subprocess.run(["makoctl", *args], env=self.env(), capture_output=True,
                              text=True, timeout=10)
        if proc.returncode != 0:
            raise TestbedError(f"makoctl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout.split()

    def stop(self) -> None:
        _stop_process(self._proc)
        self._proc = None

    def __enter__(self) -> Mako:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._tmp.cleanup()
