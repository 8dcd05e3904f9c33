"""Real desktop components for tests: Xvfb, a private session bus, dunst, sd_notify.

Every server runs on a private address (``Xvfb -displayfd``, a bus listening in its own
temp dir), is stopped by its PID and has its temp dir removed. Nothing here uses a fixed
display number, the user's session bus or systemd.

Plain classes (usable from scripts and benchmarks)::

    with DesktopStack() as stack:
        env = stack.env()                 # for a nudged child process
        ...                               # send a notification with a "Snooze" button
        call = stack.monitor.wait_for(lambda c: c.summary == "Time to move")
        stack.press("Snooze")             # real dmenu-style pick in dunst -> ActionInvoked
        stack.dunst.restart()

pytest fixtures (the lead imports them into conftest.py): ``desktop_stack``,
``notify_socket``. ``desktop_stack`` skips when the binaries are missing, but fails when
the environment variable ``CI`` is ``true`` (CI installs them; a skip would hide a broken
install).

Debian packages: ``xvfb dbus-daemon dbus-bin dunst`` (``dbus`` pulls in both dbus
packages).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "DESKTOP_TOOLS",
    "BusMessage",
    "Datagram",
    "DesktopStack",
    "Dunst",
    "NotifyCall",
    "NotifyMonitor",
    "NotifySocket",
    "SessionBus",
    "TestbedError",
    "Xvfb",
    "desktop_stack",
    "have_desktop_tools",
    "missing_desktop_tools",
    "notify_socket",
    "parse_dbus_message",
    "require_desktop_tools",
]

NOTIFICATIONS = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"

#: binary -> Debian package providing it
DESKTOP_TOOLS: dict[str, str] = {
    "Xvfb": "xvfb",
    "dbus-daemon": "dbus-daemon",
    "dbus-send": "dbus-bin",
    "dbus-monitor": "dbus-bin",
    "dunst": "dunst",
    "dunstctl": "dunst",
}

POLL = 0.05  # seconds between polls

# Variables that would make a child talk to the developer's real desktop.
_FOREIGN_DESKTOP_VARS = (
    "WAYLAND_DISPLAY",
    "WAYLAND_SOCKET",
    "SWAYSOCK",
    "I3SOCK",
    "HYPRLAND_INSTANCE_SIGNATURE",
    "XDG_CURRENT_DESKTOP",
    "XDG_SESSION_DESKTOP",
    "DESKTOP_SESSION",
    "GNOME_SETUP_DISPLAY",
    "KDE_FULL_SESSION",
    "XAUTHORITY",
    "DBUS_STARTER_ADDRESS",
    "DBUS_STARTER_BUS_TYPE",
    "NOTIFY_SOCKET",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
    "INVOCATION_ID",
)


class TestbedError(RuntimeError):
    """A component of the testbed failed to start or to answer."""

    __test__ = False  # not a test class, despite the name


# --------------------------------------------------------------------------- helpers


def missing_desktop_tools() -> list[str]:
    """Binaries of :data:`DESKTOP_TOOLS` that are not on PATH."""
    return [tool for tool in DESKTOP_TOOLS if shutil.which(tool) is None]


def have_desktop_tools() -> bool:
    """True when Xvfb, dbus-daemon, dbus-send, dbus-monitor, dunst and dunstctl exist."""
    return not missing_desktop_tools()


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def require_desktop_tools() -> None:
    """Skip the calling test when tools are missing; fail instead when ``CI=true``."""
    missing = missing_desktop_tools()
    if not missing:
        return
    packages = sorted({DESKTOP_TOOLS[tool] for tool in missing})
    reason = (
        f"desktop test tools missing: {', '.join(missing)} "
        f"(apt-get install -y {' '.join(packages)})"
    )
    if _in_ci():
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def _wait_until(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = POLL
) -> Any:
    """Poll ``condition`` until it returns something truthy; TestbedError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TestbedError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def _read_line(fd: int, timeout: float, what: str, proc: subprocess.Popen[bytes]) -> str:
    """Read one line from a pipe, bounded by ``timeout``; fails early if proc exits."""
    data = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TestbedError(f"timed out after {timeout:g}s waiting for {what}")
        ready, _, _ = select.select([fd], [], [], min(remaining, POLL))
        if not ready:
            if proc.poll() is not None:
                raise TestbedError(f"{what}: process exited with {proc.returncode}")
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            raise TestbedError(f"{what}: pipe closed (exit code {proc.poll()})")
        data += chunk
    return data.split(b"\n", 1)[0].decode().strip()


def _stop_process(proc: subprocess.Popen[Any] | None, timeout: float = 5.0) -> None:
    """SIGTERM a process we started (by its PID), then SIGKILL after ``timeout``."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(timeout)


def _name_owner(address: str, name: str) -> str | None:
    """Unique name owning ``name`` on the bus at ``address`` (None: no owner)."""
    proc = subprocess.run(
        [
            "dbus-send",
            f"--bus={address}",
            "--print-reply=literal",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.GetNameOwner",
            f"string:{name}",
        ],
        capture_output=True,
        text=True,
        timeout=10,
    )
    if proc.returncode != 0:
        return None  # org.freedesktop.DBus.Error.NameHasNoOwner
    return proc.stdout.strip() or None


def _log_tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


class _TempDir:
    """A temp dir we own (removed on cleanup) or one the caller owns (kept)."""

    def __init__(self, path: Path | str | None, prefix: str) -> None:
        if path is None:
            self.path = Path(tempfile.mkdtemp(prefix=prefix))
            self.owned = True
        else:
            self.path = Path(path)
            self.path.mkdir(parents=True, exist_ok=True)
            self.owned = False

    def cleanup(self) -> None:
        if self.owned:
            shutil.rmtree(self.path, ignore_errors=True)


# --------------------------------------------------------------------------- session bus

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <!-- nudged testbed: a private session bus. No <standard_session_servicedirs/>:
       nothing is ever auto-activated (a killed dunst stays dead). -->
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <limit name="reply_timeout">60000</limit>
</busconfig>
"""


class SessionBus:
    """A private ``dbus-daemon`` with its own config (session type, no service dirs)."""

    def __init__(self, tmpdir: Path | str | None = None, start_timeout: float = 10.0) -> None:
        self._tmp = _TempDir(tmpdir, "nudged-bus-")
        self.dir = self._tmp.path
        self.config_path = self.dir / "bus.conf"
        self.start_timeout = start_timeout
        self.address = ""
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise TestbedError("session bus not started")
        return self._proc.pid

    def start(self) -> SessionBus:
        if self._proc is not None:
            return self
        self.config_path.write_text(_BUS_CONFIG.format(dir=self.dir))
        with open(self.dir / "dbus-daemon.log", "wb") as log:
            self._proc = subprocess.Popen(
                [
                    "dbus-daemon",
                    f"--config-file={self.config_path}",
                    "--nofork",
                    "--nopidfile",
                    "--print-address=1",
                ],
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        assert self._proc.stdout is not None
        try:
            self.address = _read_line(
                self._proc.stdout.fileno(), self.start_timeout, "dbus-daemon address", self._proc
            )
        except TestbedError as exc:
            self.stop()
            raise TestbedError(f"{exc}\n{_log_tail(self.dir / 'dbus-daemon.log')}") from exc
        return self

    def env(self) -> dict[str, str]:
        return {"DBUS_SESSION_BUS_ADDRESS": self.address}

    def name_owner(self, name: str) -> str | None:
        """Unique name owning ``name`` on this bus, or None."""
        return _name_owner(self.address, name)

    def has_owner(self, name: str) -> bool:
        return self.name_owner(name) is not None

    def stop(self) -> None:
        if self._proc is not None:
            _stop_process(self._proc)
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None
        self._tmp.cleanup()

    def __enter__(self) -> SessionBus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- Xvfb


class Xvfb:
    """``Xvfb -displayfd`` on a free display chosen by the server itself."""

    def __init__(
        self,
        screen: str = "1280x800x24",
        start_timeout: float = 15.0,
        tmpdir: Path | str | None = None,
    ) -> None:
        self.screen = screen
        self.start_timeout = start_timeout
        self._tmp = _TempDir(tmpdir, "nudged-xvfb-")
        self.display = ""
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise TestbedError("Xvfb not started")
        return self._proc.pid

    def start(self) -> Xvfb:
        if self._proc is not None:
            return self
        read_fd, write_fd = os.pipe()
        try:
            with open(self._tmp.path / "xvfb.log", "wb") as log:
                self._proc = subprocess.Popen(
                    [
                        "Xvfb",
                        "-displayfd",
                        str(write_fd),
                        "-screen",
                        "0",
                        self.screen,
                        "-nolisten",
                        "tcp",
                        "-noreset",
                    ],
                    pass_fds=(write_fd,),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            os.close(write_fd)
            write_fd = -1
            number = _read_line(read_fd, self.start_timeout, "Xvfb display number", self._proc)
        except TestbedError as exc:
            self.stop()
            raise TestbedError(f"{exc}\n{_log_tail(self._tmp.path / 'xvfb.log')}") from exc
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        self.display = f":{int(number)}"
        return self

    def env(self) -> dict[str, str]:
        return {"DISPLAY": self.display}

    def stop(self) -> None:
        if self._proc is not None:
            _stop_process(self._proc)
            self._proc = None
        self._tmp.cleanup()

    def __enter__(self) -> Xvfb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- dunst

# dunst pipes one line per action of every displayed notification into its "dmenu":
#   "#Snooze (Time to move) [2,b74e8f59-...]"   (label, summary, [id,action key])
#   "# (Time to move) [2,default]"               (the default action: empty label)
# and the last line has no trailing newline. The harness writes the wanted label
# (line 1) and optionally a notification id (line 2) into $DIR/pick before it asks
# dunst for the menu; the script records the menu and its choice for diagnostics.
_PICK_SCRIPT = """#!/bin/sh
# Written by tests/testbed.py: the "dmenu" of a test dunst.
dir='{dir}'
want=$(sed -n 1p "$dir/pick" 2>/dev/null)
nid=$(sed -n 2p "$dir/pick" 2>/dev/null)
cat > "$dir/menu.tmp"
chosen=""
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    "#$want ("*)
      if [ -z "$nid" ]; then chosen=$line; break; fi
      case "$line" in *" [$nid,"*"]") chosen=$line; break ;; esac ;;
  esac
done < "$dir/menu.tmp"
printf '%s\\n' "$chosen" > "$dir/picked.tmp"
mv "$dir/menu.tmp" "$dir/menu"
mv "$dir/picked.tmp" "$dir/picked"
[ -n "$chosen" ] && printf '%s\\n' "$chosen"
exit 0
"""

_DUNSTRC = """# Written by tests/testbed.py
[global]
    dmenu = {pick}
    # keep everything on screen until the test acts
    notification_limit = 0
    idle_threshold = 0
    history_length = 1000
    sticky_history = yes
    show_age_threshold = -1
    font = Monospace 8
    format = "<b>%s</b>\\n%b"
{extra_global}
[urgency_low]
    timeout = {timeout}
[urgency_normal]
    timeout = {timeout}
[urgency_critical]
    timeout = {timeout}
{extra}
"""


MENU_SETTLE = 0.2  # seconds after a menu answer before dunst accepts the next one
_MENU_REFUSED = "Context menu already running"


class Dunst:
    """A real dunst on a private bus and display, with a scriptable action menu.

    ``timeout`` is dunst's default timeout in seconds for every urgency (0 = stay until
    closed); a client's explicit ``expire_timeout`` still wins, as on a real desktop.
    """

    def __init__(
        self,
        bus_address: str,
        display: str,
        tmpdir: Path | str | None = None,
        *,
        timeout: int = 0,
        extra_global: str = "",
        extra_config: str = "",
        start_timeout: float = 15.0,
    ) -> None:
        self.bus_address = bus_address
        self.display = display
        self._tmp = _TempDir(tmpdir, "nudged-dunst-")
        self.dir = self._tmp.path
        self.config_home = self.dir / "cfg"
        self.config_path = self.config_home / "dunst" / "dunstrc"
        self.pick_script = self.dir / "pick.sh"
        self.pick_file = self.dir / "pick"
        self.log_path = self.dir / "dunst.log"
        self.timeout = timeout
        self.extra_global = extra_global
        self.extra_config = extra_config
        self.start_timeout = start_timeout
        self.owner: str | None = None  # unique bus name of the running dunst
        self._menu_free_at = 0.0
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle
    @property
    def pid(self) -> int:
        if self._proc is None:
            raise TestbedError("dunst not started")
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _write_config(self) -> None:
        if any(c.isspace() for c in str(self.pick_script)):
            raise TestbedError(f"dunst's dmenu path must not contain spaces: {self.pick_script}")
        self.pick_script.write_text(_PICK_SCRIPT.format(dir=self.dir))
        self.pick_script.chmod(0o755)
        self.pick_file.write_text("Done\n")
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            _DUNSTRC.format(
                pick=self.pick_script,
                timeout=self.timeout,
                extra_global=self.extra_global,
                extra=self.extra_config,
            )
        )

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _FOREIGN_DESKTOP_VARS}
        env.update(
            DISPLAY=self.display,
            DBUS_SESSION_BUS_ADDRESS=self.bus_address,
            XDG_CONFIG_HOME=str(self.config_home),
            XDG_SESSION_TYPE="x11",
        )
        return env

    def start(self) -> Dunst:
        if self.running:
            return self
        if not self.config_path.exists():
            self._write_config()
        with open(self.log_path, "ab") as log:
            log.write(f"--- start #{self.starts + 1}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                ["dunst", "-config", str(self.config_path)],
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        try:
            self.wait_ready()
        except BaseException:
            _stop_process(self._proc)
            self._proc = None
            raise
        return self

    def wait_ready(self, timeout: float | None = None) -> str:
        """Wait until dunst (this process) owns org.freedesktop.Notifications."""
        timeout = self.start_timeout if timeout is None else timeout

        def ready() -> str | None:
            if self._proc is None or self._proc.poll() is not None:
                code = None if self._proc is None else self._proc.returncode
                raise TestbedError(f"dunst exited ({code}):\n{_log_tail(self.log_path)}")
            return self._name_owner()

        self.owner = _wait_until(ready, timeout, "dunst to own org.freedesktop.Notifications")
        return self.owner

    def _name_owner(self) -> str | None:
        return _name_owner(self.bus_address, NOTIFICATIONS)

    def kill(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        """Stop dunst by its PID and wait until the bus name has vanished."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(sig)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout)
        self._proc = None
        self.owner = None
        _wait_until(
            lambda: self._name_owner() is None,
            timeout,
            "org.freedesktop.Notifications to vanish from the bus",
        )

    def restart(self, sig: int = signal.SIGTERM) -> str:
        """kill() then start(); returns the new unique bus name of dunst."""
        self.kill(sig)
        self.start()
        assert self.owner is not None
        return self.owner

    def stop(self) -> None:
        if self._proc is not None:
            _stop_process(self._proc)
            self._proc = None
        self._tmp.cleanup()

    def __enter__(self) -> Dunst:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control
    def ctl(self, *args: str, timeout: float = 10.0) -> str:
        """Run ``dunstctl ARGS`` against this dunst; returns stdout."""
        proc = subprocess.run(
            ["dunstctl", *args],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0:
            raise TestbedError(f"dunstctl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def count(self, kind: str = "displayed") -> int:
        """Number of notifications: ``displayed``, ``history`` or ``waiting``."""
        if kind not in ("displayed", "history", "waiting"):
            raise ValueError(f"unknown count kind {kind!r}")
        return int(self.ctl("count", kind).strip())

    def wait_count(self, kind: str, expected: int, timeout: float = 5.0) -> None:
        """Wait until ``count(kind) == expected``."""
        _wait_until(
            lambda: self.count(kind) == expected,
            timeout,
            f"dunstctl count {kind} == {expected}",
        )

    def history(self) -> list[dict[str, Any]]:
        """Closed notifications, newest first: dicts with summary, body, appname, id, ...

        dunst 1.9 has no urgency field here and lists only notifications that were
        closed (by timeout, the user or the client), never the ones still on screen.
        """
        raw = json.loads(self.ctl("history"))
        entries = raw.get("data", [[]])
        entries = entries[0] if entries else []
        return [{key: value.get("data") for key, value in entry.items()} for entry in entries]

    def close_all(self) -> None:
        self.ctl("close-all")

    def set_paused(self, paused: bool) -> None:
        self.ctl("set-paused", "true" if paused else "false")

    def press(
        self, label: str = "Done", nid: int | None = None, timeout: float = 5.0
    ) -> tuple[int, str]:
        """Pick the action labelled ``label`` in dunst's context menu, as a user would.

        dunst builds the menu from every displayed notification; ``nid`` restricts the
        choice to one notification id (the first matching line wins otherwise, which is
        the newest notification). ``label=""`` picks the default action (a click).
        Returns ``(notification id, action key)`` that dunst will send in
        ``ActionInvoked``. Raises LookupError when no such line is in the menu and
        TestbedError when dunst never ran the menu (e.g. nothing displayed).
        """
        # dunst 1.9 unlocks its menu 50 ms (a GLib timeout) after the dmenu answered;
        # a `dunstctl context` before that is refused ("Context menu already running").
        delay = self._menu_free_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        for name in ("picked", "menu", "picked.tmp", "menu.tmp"):
            (self.dir / name).unlink(missing_ok=True)
        tmp = self.dir / "pick.tmp"
        tmp.write_text(f"{label}\n{'' if nid is None else nid}\n")
        tmp.replace(self.pick_file)
        picked_path = self.dir / "picked"
        deadline = time.monotonic() + timeout
        refusals = self._log_count(_MENU_REFUSED)
        self.ctl("context")
        while not picked_path.exists():
            if time.monotonic() >= deadline:
                raise TestbedError(
                    f"timed out after {timeout:g}s waiting for dunst to run its dmenu "
                    f"script (dunst only opens the menu when a displayed notification has "
                    f"actions; displayed={self.count('displayed')})"
                )
            time.sleep(POLL)
            if self._log_count(_MENU_REFUSED) > refusals:  # still busy: ask again
                time.sleep(MENU_SETTLE)
                refusals = self._log_count(_MENU_REFUSED)
                self.ctl("context")
        self._menu_free_at = time.monotonic() + MENU_SETTLE
        chosen = picked_path.read_text().strip()
        if not chosen:
            menu = (self.dir / "menu").read_text(errors="replace")
            raise LookupError(f"no action {label!r} (nid={nid}) in dunst's menu:\n{menu}")
        inside = chosen[chosen.rindex("[") + 1 : chosen.rindex("]")]
        picked_id, _, action = inside.partition(",")
        return int(picked_id), action

    def _log_count(self, text: str) -> int:
        try:
            return self.log_path.read_text(errors="replace").count(text)
        except OSError:
            return 0

    def last_menu(self) -> str:
        """The menu lines dunst offered at the last press()."""
        path = self.dir / "menu"
        return path.read_text(errors="replace") if path.exists() else ""


# --------------------------------------------------------------------------- D-Bus wire

_FIXED = {
    "y": ("B", 1),
    "b": ("I", 4),
    "n": ("h", 2),
    "q": ("H", 2),
    "i": ("i", 4),
    "u": ("I", 4),
    "x": ("q", 8),
    "t": ("Q", 8),
    "d": ("d", 8),
    "h": ("I", 4),
}
_ALIGN = {"s": 4, "o": 4, "g": 1, "v": 1, "a": 4, "(": 8, "{": 8}
_MESSAGE_TYPES = {1: "method_call", 2: "method_return", 3: "error", 4: "signal"}
_HEADER_FIELDS = {
    1: "path",
    2: "interface",
    3: "member",
    4: "error_name",
    5: "reply_serial",
    6: "destination",
    7: "sender",
    8: "signature",
    9: "unix_fds",
}


def _type_end(sig: str, i: int) -> int:
    """Index just past the single complete type starting at ``sig[i]``."""
    c = sig[i]
    if c == "a":
        return _type_end(sig, i + 1)
    if c in "({":
        close = ")" if c == "(" else "}"
        j = i + 1
        while sig[j] != close:
            j = _type_end(sig, j)
        return j + 1
    return i + 1


def _split_signature(sig: str) -> list[str]:
    types, i = [], 0
    while i < len(sig):
        j = _type_end(sig, i)
        types.append(sig[i:j])
        i = j
    return types


class _WireReader:
    """Minimal D-Bus unmarshaller (spec: "Marshaling (Wire Format)")."""

    def __init__(self, data: bytes, little_endian: bool) -> None:
        self.data = data
        self.pos = 0
        self.endian = "<" if little_endian else ">"

    def align(self, n: int) -> None:
        self.pos += -self.pos % n

    def read(self, t: str) -> Any:
        c = t[0]
        if c in _FIXED:
            fmt, size = _FIXED[c]
            self.align(size)
            (value,) = struct.unpack_from(self.endian + fmt, self.data, self.pos)
            self.pos += size
            return bool(value) if c == "b" else value
        if c in "so":
            length = self.read("u")
            text = self.data[self.pos : self.pos + length].decode("utf-8", "replace")
            self.pos += length + 1
            return text
        if c == "g":
            length = self.data[self.pos]
            text = self.data[self.pos + 1 : self.pos + 1 + length].decode("ascii", "replace")
            self.pos += length + 2
            return text
        if c == "v":
            return self.read(self.read("g"))
        if c == "a":
            length = self.read("u")
            element = t[1:]
            self.align(_FIXED[element[0]][1] if element[0] in _FIXED else _ALIGN[element[0]])
            end = self.pos + length
            items = []
            while self.pos < end:
                items.append(self.read(element))
            return dict(items) if element[0] == "{" else items
        if c in "({":
            self.align(8)
            values = tuple(self.read(member) for member in _split_signature(t[1:-1]))
            return values
        raise ValueError(f"unsupported D-Bus type {t!r}")


@dataclass(frozen=True)
class BusMessage:
    """One D-Bus message seen by the monitor."""

    type: str  # method_call, method_return, error, signal
    serial: int
    sender: str | None
    destination: str | None
    path: str | None
    interface: str | None
    member: str | None
    error_name: str | None
    reply_serial: int | None
    signature: str
    args: tuple[Any, ...]
    time: float = 0.0


def parse_dbus_message(data: bytes, timestamp: float = 0.0) -> BusMessage:
    """Decode one complete D-Bus message (as written by ``dbus-monitor --pcap``)."""
    endian = chr(data[0])
    if endian not in "lB":
        raise ValueError(f"not a D-Bus message (endianness byte {data[0]!r})")
    reader = _WireReader(data, endian == "l")
    reader.pos = 1
    msg_type = reader.read("y")
    reader.read("y")  # flags
    reader.read("y")  # protocol version
    body_length = reader.read("u")
    serial = reader.read("u")
    fields = {_HEADER_FIELDS.get(code, str(code)): value for code, value in reader.read("a(yv)")}
    reader.align(8)
    signature = fields.get("signature", "")
    body = _WireReader(data[reader.pos : reader.pos + body_length], endian == "l")
    args = tuple(body.read(t) for t in _split_signature(signature))
    return BusMessage(
        type=_MESSAGE_TYPES.get(msg_type, str(msg_type)),
        serial=serial,
        sender=fields.get("sender"),
        destination=fields.get("destination"),
        path=fields.get("path"),
        interface=fields.get("interface"),
        member=fields.get("member"),
        error_name=fields.get("error_name"),
        reply_serial=fields.get("reply_serial"),
        signature=signature,
        args=args,
        time=timestamp,
    )


# --------------------------------------------------------------------------- monitor


@dataclass(frozen=True)
class NotifyCall:
    """An ``org.freedesktop.Notifications.Notify`` call seen on the bus."""

    app_name: str
    replaces_id: int
    app_icon: str
    summary: str
    body: str
    actions: tuple[tuple[str, str], ...]  # (key, label) pairs, "default" included
    hints: dict[str, Any]
    expire_timeout: int
    sender: str | None
    serial: int
    time: float
    id: int | None = None  # the id dunst returned (None until the reply was seen)
    error: str | None = None  # error name when the call failed (e.g. no server)

    @property
    def labels(self) -> list[str]:
        """Button labels, without the default (click) action."""
        return [label for key, label in self.actions if key != "default"]

    def action_key(self, label: str) -> str:
        for key, action_label in self.actions:
            if action_label == label and key != "default":
                return key
        raise KeyError(label)

    @property
    def urgency(self) -> int | None:
        value = self.hints.get("urgency")
        return None if value is None else int(value)


@dataclass
class _MonitorState:
    messages: list[BusMessage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ready: bool = False
    closed: bool = False


class NotifyMonitor:
    """``dbus-monitor --address ADDR --pcap`` on the Notifications interface.

    Records every Notify / CloseNotification call, the replies to them (so each
    :class:`NotifyCall` knows the id the server gave it), the signals ActionInvoked and
    NotificationClosed, and NameOwnerChanged of org.freedesktop.Notifications.

    The binary pcap stream is decoded with a small D-Bus unmarshaller: dbus-monitor's
    text output prints strings unescaped (quotes and newlines in a body make it
    ambiguous).
    """

    MATCH_RULES = (
        f"interface='{NOTIFICATIONS}'",
        "type='method_return'",
        "type='error'",
        "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
        f"member='NameOwnerChanged',arg0='{NOTIFICATIONS}'",
    )

    def __init__(self, address: str, start_timeout: float = 10.0) -> None:
        self.address = address
        self.start_timeout = start_timeout
        self._state = _MonitorState()
        self._lock = threading.Condition()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise TestbedError("monitor not started")
        return self._proc.pid

    def start(self) -> NotifyMonitor:
        if self._proc is not None:
            return self
        self._proc = subprocess.Popen(
            ["dbus-monitor", "--address", self.address, "--pcap", *self.MATCH_RULES],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        self._thread = threading.Thread(target=self._reader, name="NotifyMonitor", daemon=True)
        self._thread.start()
        # dbus-monitor's own NameAcquired/NameLost arrive once BecomeMonitor succeeded.
        with self._lock:
            ok = self._lock.wait_for(
                lambda: self._state.ready or self._state.closed, self.start_timeout
            )
        if not ok or not self._state.ready:
            _stop_process(self._proc)
            assert self._proc.stderr is not None
            stderr = self._proc.stderr.read()
            self.stop()
            raise TestbedError(f"dbus-monitor did not start: {stderr.decode(errors='replace')}")
        return self

    def _reader(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stream = self._proc.stdout
        try:
            header = stream.read(24)
            if len(header) < 24:
                return
            magic = struct.unpack("<I", header[:4])[0]
            if magic in (0xA1B2C3D4, 0xA1B23C4D):
                endian = "<"
            else:
                endian = ">"
                magic = struct.unpack(">I", header[:4])[0]
            nano = magic == 0xA1B23C4D
            while True:
                record = stream.read(16)
                if len(record) < 16:
                    return
                sec, frac, incl_len, _orig = struct.unpack(endian + "IIII", record)
                data = stream.read(incl_len)
                if len(data) < incl_len:
                    return
                stamp = sec + frac / (1e9 if nano else 1e6)
                try:
                    message = parse_dbus_message(data, stamp)
                except Exception as exc:  # keep monitoring; report in .errors
                    with self._lock:
                        self._state.errors.append(f"{exc!r}: {data[:64]!r}")
                    continue
                with self._lock:
                    self._state.ready = True
                    self._state.messages.append(message)
                    self._lock.notify_all()
        finally:
            with self._lock:
                self._state.closed = True
                self._lock.notify_all()

    def stop(self) -> None:
        if self._proc is not None:
            _stop_process(self._proc)
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._proc is not None:
            for pipe in (self._proc.stdout, self._proc.stderr):
                if pipe is not None:
                    pipe.close()
            self._proc = None

    def __enter__(self) -> NotifyMonitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- queries
    @property
    def errors(self) -> list[str]:
        with self._lock:
            return list(self._state.errors)

    def messages(self) -> list[BusMessage]:
        """Every captured message (including unrelated method returns)."""
        with self._lock:
            return list(self._state.messages)

    def mark(self) -> int:
        """A position in the message log; pass it as ``since`` to ignore older ones."""
        with self._lock:
            return len(self._state.messages)

    def _calls(self, member: str, since: int = 0) -> list[BusMessage]:
        return [
            m
            for m in self.messages()[since:]
            if m.type == "method_call" and m.interface == NOTIFICATIONS and m.member == member
        ]

    def notifies(self, since: int = 0) -> list[NotifyCall]:
        """All Notify calls so far, oldest first, with their returned ids if seen."""
        messages = self.messages()
        replies = {
            (m.destination, m.reply_serial): m
            for m in messages
            if m.type in ("method_return", "error") and m.reply_serial is not None
        }
        calls = []
        for m in messages[since:]:
            if not (m.type == "method_call" and m.interface == NOTIFICATIONS):
                continue
            # any hints signature: old clients send a{ss} instead of a{sv}
            if m.member != "Notify" or not m.signature.startswith("susssas") or len(m.args) != 8:
                continue
            app_name, replaces_id, icon, summary, body, actions, hints, expire = m.args
            reply = replies.get((m.sender, m.serial))
            calls.append(
                NotifyCall(
                    app_name=app_name,
                    replaces_id=replaces_id,
                    app_icon=icon,
                    summary=summary,
                    body=body,
                    actions=tuple(zip(actions[0::2], actions[1::2], strict=False)),
                    hints=dict(hints),
                    expire_timeout=expire,
                    sender=m.sender,
                    serial=m.serial,
                    time=m.time,
                    id=reply.args[0]
                    if reply is not None and reply.type == "method_return"
                    else None,
                    error=reply.error_name if reply is not None and reply.type == "error" else None,
                )
            )
        return calls

    def close_calls(self, since: int = 0) -> list[int]:
        """Ids passed to CloseNotification calls (a client withdrawing a nudge)."""
        return [m.args[0] for m in self._calls("CloseNotification", since) if m.args]

    def signals(self, member: str | None = None, since: int = 0) -> list[BusMessage]:
        """ActionInvoked / NotificationClosed / NameOwnerChanged signals seen."""
        return [
            m
            for m in self.messages()[since:]
            if m.type == "signal" and (member is None or m.member == member)
        ]

    def wait_message(
        self, predicate: Callable[[BusMessage], bool], timeout: float = 5.0, since: int = 0
    ) -> BusMessage:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for m in self._state.messages[since:]:
                    if predicate(m):
                        return m
                since = max(since, len(self._state.messages))
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._state.closed:
                    raise TestbedError(
                        f"no matching D-Bus message within {timeout:g}s "
                        f"(monitor {'exited' if self._state.closed else 'running'})"
                    )
                self._lock.wait(min(remaining, 0.5))

    def wait_for(
        self,
        predicate: Callable[[NotifyCall], bool] = lambda call: True,
        timeout: float = 5.0,
        since: int = 0,
    ) -> NotifyCall:
        """The first Notify call (from ``since`` on) matching ``predicate``.

        Waits a little longer (within ``timeout``) for the reply so that ``.id`` is
        set, unless the call failed (then ``.error`` is set).
        """
        deadline = time.monotonic() + timeout
        call: NotifyCall | None = None
        while True:
            if call is None:
                call = next((c for c in self.notifies(since) if predicate(c)), None)
            else:
                call = next(
                    c
                    for c in self.notifies(since)
                    if c.serial == call.serial and c.sender == call.sender
                )
            if call is not None and (call.id is not None or call.error is not None):
                return call
            if time.monotonic() >= deadline:
                if call is not None:
                    return call  # seen, but its reply is still missing
                seen = [(c.app_name, c.summary) for c in self.notifies(since)]
                raise TestbedError(f"no matching Notify call within {timeout:g}s; seen: {seen}")
            with self._lock:
                self._lock.wait(POLL)

    def wait_signal(
        self,
        member: str,
        predicate: Callable[[BusMessage], bool] = lambda m: True,
        timeout: float = 5.0,
        since: int = 0,
    ) -> BusMessage:
        return self.wait_message(
            lambda m: m.type == "signal" and m.member == member and predicate(m),
            timeout,
            since,
        )

    def wait_close_call(self, timeout: float = 5.0, since: int = 0) -> int:
        message = self.wait_message(
            lambda m: (
                m.type == "method_call"
                and m.interface == NOTIFICATIONS
                and m.member == "CloseNotification"
            ),
            timeout,
            since,
        )
        return int(message.args[0])


# --------------------------------------------------------------------------- stack


class DesktopStack:
    """Xvfb + private session bus + dunst + NotifyMonitor, torn down in reverse."""

    def __init__(
        self,
        tmpdir: Path | str | None = None,
        *,
        dunst_timeout: int = 0,
        dunst_extra_config: str = "",
    ) -> None:
        self._tmp = _TempDir(tmpdir, "nudged-desktop-")
        self.tmp = self._tmp.path
        self.home = self.tmp / "home"
        self.runtime_dir = self.tmp / "runtime"
        self.xvfb = Xvfb(tmpdir=self.tmp / "xvfb")
        self.bus = SessionBus(self.tmp / "bus")
        self._dunst: Dunst | None = None
        self._monitor: NotifyMonitor | None = None
        self._dunst_timeout = dunst_timeout
        self._dunst_extra = dunst_extra_config
        self._stack = contextlib.ExitStack()

    @property
    def dunst(self) -> Dunst:
        if self._dunst is None:
            raise TestbedError("DesktopStack not started")
        return self._dunst

    @property
    def monitor(self) -> NotifyMonitor:
        if self._monitor is None:
            raise TestbedError("DesktopStack not started")
        return self._monitor

    def start(self) -> DesktopStack:
        try:
            self._stack.enter_context(self.xvfb)
            self._stack.enter_context(self.bus)
            self._monitor = self._stack.enter_context(NotifyMonitor(self.bus.address))
            self._dunst = self._stack.enter_context(
                Dunst(
                    self.bus.address,
                    self.xvfb.display,
                    self.tmp / "dunst",
                    timeout=self._dunst_timeout,
                    extra_config=self._dunst_extra,
                )
            )
            for sub in ("config", "state", "data", "cache"):
                (self.home / sub).mkdir(parents=True, exist_ok=True)
            self.runtime_dir.mkdir(mode=0o700, exist_ok=True)
        except BaseException:
            self.stop()
            raise
        return self

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for a child process (the nudged daemon) on this desktop.

        Based on ``base`` (default: os.environ) without variables pointing at another
        desktop (WAYLAND_DISPLAY, NOTIFY_SOCKET, ...), with DISPLAY, the private
        DBUS_SESSION_BUS_ADDRESS and a fresh HOME / XDG_* tree under the stack's temp dir.
        """
        source = os.environ if base is None else base
        env = {k: v for k, v in source.items() if k not in _FOREIGN_DESKTOP_VARS}
        env.update(
            DISPLAY=self.xvfb.display,
            DBUS_SESSION_BUS_ADDRESS=self.bus.address,
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / "config"),
            XDG_STATE_HOME=str(self.home / "state"),
            XDG_DATA_HOME=str(self.home / "data"),
            XDG_CACHE_HOME=str(self.home / "cache"),
            XDG_RUNTIME_DIR=str(self.runtime_dir),
            XDG_SESSION_TYPE="x11",
        )
        return env

    def apply_env(self, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
        """Point this process at the stack (for in-process desktop-notifier)."""
        env = self.env()
        for name in _FOREIGN_DESKTOP_VARS:
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            if os.environ.get(name) != value:
                monkeypatch.setenv(name, value)
        return env

    def press(
        self, label: str = "Done", nid: int | None = None, timeout: float = 5.0
    ) -> BusMessage:
        """dunst.press() and wait until dunst emitted the matching ActionInvoked."""
        since = self.monitor.mark()
        picked_id, action = self.dunst.press(label, nid, timeout)
        return self.monitor.wait_signal(
            "ActionInvoked",
            lambda m: tuple(m.args) == (picked_id, action),
            timeout,
            since,
        )

    def stop(self) -> None:
        try:
            self._stack.close()
        finally:
            self._tmp.cleanup()

    def __enter__(self) -> DesktopStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- sd_notify


@dataclass(frozen=True)
class Datagram:
    text: str
    pid: int | None  # sender pid from SCM_CREDENTIALS (what systemd checks)


class NotifySocket:
    """A ``NOTIFY_SOCKET`` receiver: AF_UNIX SOCK_DGRAM bound at a temp path."""

    def __init__(self, tmpdir: Path | str | None = None) -> None:
        self._tmp = _TempDir(tmpdir, "nudged-notify-")
        self.path = str(self._tmp.path / "notify.sock")
        self._sock: socket.socket | None = None
        self._datagrams: list[Datagram] = []
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> NotifySocket:
        if self._sock is not None:
            return self
        if len(self.path.encode()) >= 108:
            raise TestbedError(f"socket path too long for AF_UNIX: {self.path}")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        sock.bind(self.path)
        sock.settimeout(POLL)
        self._sock = sock
        self._thread = threading.Thread(target=self._receive, name="NotifySocket", daemon=True)
        self._thread.start()
        return self

    def _receive(self) -> None:
        assert self._sock is not None
        creds_size = struct.calcsize("3i")
        while not self._stopping.is_set():
            try:
                data, ancdata, _flags, _addr = self._sock.recvmsg(
                    65536, socket.CMSG_SPACE(creds_size)
                )
            except TimeoutError:
                continue
            except OSError:
                return
            pid = None
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", payload[:creds_size])[0]
            with self._cond:
                self._datagrams.append(Datagram(data.decode("utf-8", "replace"), pid))
                self._cond.notify_all()

    def env(self) -> dict[str, str]:
        return {"NOTIFY_SOCKET": self.path}

    def datagrams(self) -> list[Datagram]:
        with self._cond:
            return list(self._datagrams)

    def messages(self) -> list[str]:
        """Every datagram received so far, decoded (e.g. "READY=1\\nSTATUS=...")."""
        return [d.text for d in self.datagrams()]

    def assignments(self) -> list[tuple[str, str]]:
        """All VAR=value lines of all datagrams, in order."""
        pairs = []
        for text in self.messages():
            for line in text.splitlines():
                name, sep, value = line.partition("=")
                if sep:
                    pairs.append((name, value))
        return pairs

    def wait_for(self, text: str, timeout: float = 10.0, since: int = 0) -> Datagram:
        """The first datagram (index >= ``since``) whose text contains ``text``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for datagram in self._datagrams[since:]:
                    if text in datagram.text:
                        return datagram
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [d.text for d in self._datagrams]
                    raise TestbedError(
                        f"no datagram containing {text!r} within {timeout:g}s; got {seen}"
                    )
                self._cond.wait(remaining)

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._tmp.cleanup()

    def __enter__(self) -> NotifySocket:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- fixtures


@contextlib.contextmanager
def desktop_stack_context(
    tmpdir: Path | str | None = None, **kwargs: Any
) -> Iterator[DesktopStack]:
    """``with desktop_stack_context() as stack:`` (checks the tools first)."""
    require_desktop_tools()
    with DesktopStack(tmpdir, **kwargs) as stack:
        yield stack


@pytest.fixture
def desktop_stack() -> Iterator[DesktopStack]:
    """A fresh Xvfb + session bus + dunst + monitor for one test.

    Skips when the binaries are missing; fails instead when CI=true.
    """
    with desktop_stack_context() as stack:
        yield stack


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    """An sd_notify receiver; give the daemon ``NOTIFY_SOCKET=notify_socket.path``."""
    with NotifySocket() as receiver:
        yield receiver


# --------------------------------------------------------------------------- X11 window manager

#: binary -> Debian package, for the X11 activity tests (focus, titles, idle)
X11_TOOLS: dict[str, str] = {
    "Xvfb": "xvfb",
    "openbox": "openbox",
    "xdotool": "xdotool",
    "xterm": "xterm",
    "xprop": "x11-utils",
}


def require_x11_tools() -> None:
    """Skip the calling test when Xvfb/openbox/xdotool/xterm/xprop are missing.

    Fails instead when ``CI=true``: CI installs them, and a skip would hide a broken
    install (as :func:`require_desktop_tools`).
    """
    missing = [tool for tool in X11_TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    packages = sorted({X11_TOOLS[tool] for tool in missing})
    reason = (
        f"X11 test tools missing: {', '.join(missing)} "
        f"(apt-get install -y {' '.join(packages)})"
    )
    if _in_ci():
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def x11_env(display: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for an X client on ``display`` only (UTF-8 locale for titles)."""
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if k not in _FOREIGN_DESKTOP_VARS}
    env.update(DISPLAY=display, LANG="C.UTF-8", LC_ALL="C.UTF-8")
    return env


def xdotool(display: str, *args: str, timeout: float = 10.0) -> str:
    """Run ``xdotool ARGS`` on ``display``; its stdout (TestbedError if it fails)."""
    try:
        proc = subprocess.run(
            ["xdotool", *args],
            env=x11_env(display),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise TestbedError(f"xdotool {' '.join(args)}: no answer within {timeout:g}s") from exc
    if proc.returncode != 0:
        raise TestbedError(f"xdotool {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def root_property(display: str, name: str) -> str:
    """``xprop -root NAME`` on ``display`` ("" when xprop fails)."""
    proc = subprocess.run(
        ["xprop", "-root", name],
        env=x11_env(display),
        capture_output=True,
        text=True,
        timeout=10,
    )
    return proc.stdout if proc.returncode == 0 else ""


@dataclass
class XWindow:
    """A top-level xterm window we started: its X id and process."""

    wid: int
    title: str
    wm_class: str
    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid


class Openbox:
    """``openbox --sm-disable`` on a display, ready once it publishes _NET_ACTIVE_WINDOW.

    Also starts the windows the person works with (``xterm -T TITLE -class CLASS``,
    which sets WM_CLASS and _NET_WM_PID like a browser would) and stops them with
    the window manager, each by its PID.
    """

    def __init__(
        self,
        display: str,
        tmpdir: Path | str | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        self.display = display
        self._tmp = _TempDir(tmpdir, "nudged-openbox-")
        self.start_timeout = start_timeout
        self.windows: list[XWindow] = []
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise TestbedError("openbox not started")
        return self._proc.pid

    def env(self) -> dict[str, str]:
        env = x11_env(self.display)
        env.update(HOME=str(self._tmp.path), XDG_CONFIG_HOME=str(self._tmp.path / "config"),
                   XDG_CACHE_HOME=str(self._tmp.path / "cache"))
        return env

    def start(self) -> Openbox:
        if self._proc is not None:
            return self
        with open(self._tmp.path / "openbox.log", "wb") as log:
            self._proc = subprocess.Popen(
                ["openbox", "--sm-disable"],
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

        def ready() -> bool:
            if self._proc is not None and self._proc.poll() is not None:
                raise TestbedError(
                    f"openbox exited with {self._proc.returncode}\n"
                    f"{_log_tail(self._tmp.path / 'openbox.log')}"
                )
            return "_NET_ACTIVE_WINDOW" in root_property(self.display, "_NET_SUPPORTED")

        try:
            _wait_until(ready, self.start_timeout, "openbox to publish _NET_ACTIVE_WINDOW")
        except BaseException:
            self.stop()
            raise
        return self

    def xterm(self, title: str, wm_class: str, timeout: float = 10.0) -> XWindow:
        """Open an xterm titled ``title`` with WM_CLASS class ``wm_class``; wait until mapped."""
        proc = subprocess.Popen(
            ["xterm", "-T", title, "-class", wm_class, "-e", "sleep", "120"],
            env=x11_env(self.display),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            out = xdotool(self.display, "search", "--sync", "--onlyvisible", "--pid",
                          str(proc.pid), timeout=timeout)
        except BaseException:
            _stop_process(proc)
            raise
        window = XWindow(int(out.split()[0]), title, wm_class, proc)
        self.windows.append(window)
        return window

    def close_window(self, window: XWindow) -> None:
        """End a window's process (the window vanishes)."""
        _stop_process(window.proc)
        if window in self.windows:
            self.windows.remove(window)

    def stop(self) -> None:
        for window in self.windows:
            _stop_process(window.proc)
        self.windows.clear()
        if self._proc is not None:
            _stop_process(self._proc)
            self._proc = None
        self._tmp.cleanup()

    def __enter__(self) -> Openbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- logind mock

#: The interpreter that has Debian's python3-dbusmock (and python3-gi / python3-dbus);
#: never the project venv.
DBUSMOCK_PYTHON = "/usr/bin/python3"
LOGIN1 = "org.freedesktop.login1"


def missing_logind_tools() -> list[str]:
    """What the logind tests need and this machine lacks (Debian package names)."""
    missing = []
    if shutil.which("dbus-daemon") is None or shutil.which("dbus-send") is None:
        missing.append("dbus")
    try:
        found = subprocess.run(
            [DBUSMOCK_PYTHON, "-c", "import dbusmock"], capture_output=True, timeout=20
        ).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        found = False
    if not found:
        missing.append("python3-dbusmock")
    return missing


def require_logind_tools() -> None:
    """Skip when dbus-daemon or python3-dbusmock is missing; fail instead when CI=true."""
    _require(missing_logind_tools(), "logind test tools")


def require_dbus_daemon() -> None:
    """Skip when dbus-daemon/dbus-send are missing (a private bus is all that is
    needed); fail instead when CI=true."""
    missing = [] if shutil.which("dbus-daemon") and shutil.which("dbus-send") else ["dbus"]
    _require(missing, "dbus-daemon")


def _require(missing_packages: list[str], what: str) -> None:
    if not missing_packages:
        return
    reason = f"{what} missing (apt-get install -y {' '.join(missing_packages)})"
    if _in_ci():
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


class LogindMock:
    """python-dbusmock's logind template on a private bus acting as the system bus.

    Start a :class:`SessionBus` first and pass its address. The mock has no sessions
    until a test adds one (``org.freedesktop.DBus.Mock.AddSession``). Two quirks of
    dbusmock 0.28.7: ``GetUser`` raises a TypeError until replaced with
    ``Mock.AddMethod``, and the introspection lacks ``PrepareForSleep``.
    """

    def __init__(
        self, bus_address: str, tmpdir: Path | str | None = None, start_timeout: float = 15.0
    ) -> None:
        self.bus_address = bus_address
        self._tmp = _TempDir(tmpdir, "nudged-logind-")
        self.log_path = self._tmp.path / "dbusmock.log"
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise TestbedError("logind mock not started")
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> LogindMock:
        if self.running:
            return self
        env = {k: v for k, v in os.environ.items() if k not in _FOREIGN_DESKTOP_VARS}
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus_address
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [DBUSMOCK_PYTHON, "-m", "dbusmock", "--system", "--template", "logind"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        proc = self._proc

        def ready() -> str | None:
            if proc.poll() is not None:
                raise TestbedError(
                    f"dbusmock exited ({proc.returncode}):\n{_log_tail(self.log_path)}"
                )
            return _name_owner(self.bus_address, LOGIN1)

        try:
            _wait_until(ready, self.start_timeout, f"{LOGIN1} on the private system bus")
        except BaseException:
            self.stop()
            raise
        return self

    def kill(self) -> None:
        """End the mock (SIGTERM by PID), as a crashing or restarting logind would."""
        _stop_process(self._proc)
        self._proc = None

    def stop(self) -> None:
        self.kill()
        self._tmp.cleanup()

    def __enter__(self) -> LogindMock:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ += [
    "LogindMock",
    "missing_logind_tools",
    "require_dbus_daemon",
    "require_logind_tools",
]


# --------------------------------------------------------------------------- activity sources
# Appended for the Mutter and ActivityWatch activity sources: a recording sink, a
# headless mutter (IdleMonitor + RemoteDesktop input), and a real aw-server in a venv
# of its own (cached across runs, keyed on the pinned requirements).

import asyncio  # noqa: E402
import fcntl  # noqa: E402
import hashlib  # noqa: E402
import pwd  # noqa: E402
import sys  # noqa: E402
import urllib.error  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402
from datetime import UTC, datetime  # noqa: E402


@dataclass(frozen=True)
class Report:
    """One report a source made to an :class:`ActivityRecorder`."""

    kind: str  # "idle", "lock", "sleep", "focus", "failed"
    source: str
    value: Any  # bool, Focus | None, or the failure reason
    at: datetime | None
    seen: datetime  # when the sink received it (UTC)


@dataclass
class ActivityRecorder:
    """An ActivitySink that records every report; stories await the ones they expect.

    Create it inside the running event loop (it holds an :class:`asyncio.Event`).
    """

    reports: list[Report] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def _record(self, kind: str, source: str, value: Any, at: datetime | None) -> None:
        self.reports.append(Report(kind, source, value, at, datetime.now(UTC)))
        self._changed.set()

    def idle_changed(self, source: str, idle: bool, at: datetime) -> None:
        self._record("idle", source, idle, at)

    def lock_changed(self, source: str, locked: bool, at: datetime) -> None:
        self._record("lock", source, locked, at)

    def sleep_changed(self, source: str, asleep: bool, at: datetime) -> None:
        self._record("sleep", source, asleep, at)

    def focus_changed(self, source: str, focus: Any, at: datetime) -> None:
        self._record("focus", source, focus, at)

    def source_failed(self, source: str, reason: str) -> None:
        self._record("failed", source, reason, None)

    def mark(self) -> int:
        return len(self.reports)

    def of(self, kind: str, since: int = 0) -> list[Report]:
        return [r for r in self.reports[since:] if r.kind == kind]

    def values(self, kind: str, since: int = 0) -> list[Any]:
        return [r.value for r in self.of(kind, since)]

    async def wait_for(
        self,
        kind: str,
        predicate: Callable[[Any], bool] = lambda value: True,
        since: int = 0,
        timeout: float = 5.0,
    ) -> Report:
        """The first ``kind`` report (index >= ``since``) whose value matches."""
        deadline = time.monotonic() + timeout
        while True:
            for report in self.reports[since:]:
                if report.kind == kind and predicate(report.value):
                    return report
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no matching {kind!r} report within {timeout:g}s; "
                    f"got {self.reports[since:]}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)


# -- headless mutter (TESTBEDS.md section 3)

MUTTER_IDLE_MONITOR = "org.gnome.Mutter.IdleMonitor"
MUTTER_REMOTE_DESKTOP = "org.gnome.Mutter.RemoteDesktop"

#: binary -> Debian package, for the Mutter idle tests
MUTTER_TOOLS: dict[str, str] = {
    "mutter": "mutter",
    "dbus-daemon": "dbus-daemon",
    "dbus-send": "dbus-bin",
}


def require_mutter() -> None:
    """Skip when mutter or dbus is missing; fail instead when ``CI=true``."""
    missing = [tool for tool in MUTTER_TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    packages = sorted({MUTTER_TOOLS[tool] for tool in missing})
    reason = (
        f"mutter test tools missing: {', '.join(missing)} "
        f"(apt-get install -y --no-install-recommends {' '.join(packages)})"
    )
    if _in_ci():
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


class HeadlessMutter:
    """``mutter --headless --wayland --no-x11`` on a private session bus.

    It gets its own ``XDG_RUNTIME_DIR`` (so its Wayland socket cannot clash), ``HOME``
    and XDG dirs, and an in-memory GSettings backend (no dconf writes). Ready once it
    owns ``org.gnome.Mutter.IdleMonitor`` on the bus.
    """

    def __init__(
        self, bus_address: str, tmpdir: Path | str | None = None, start_timeout: float = 20.0
    ) -> None:
        self.bus_address = bus_address
        self._tmp = _TempDir(tmpdir, "nudged-mutter-")
        self.dir = self._tmp.path
        self.log_path = self.dir / "mutter.log"
        self.start_timeout = start_timeout
        self.owner: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise TestbedError("mutter not started")
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def env(self) -> dict[str, str]:
        runtime = self.dir / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        home = self.dir / "home"
        env = {k: v for k, v in os.environ.items() if k not in _FOREIGN_DESKTOP_VARS}
        env.pop("DISPLAY", None)
        env.update(
            DBUS_SESSION_BUS_ADDRESS=self.bus_address,
            XDG_RUNTIME_DIR=str(runtime),
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            XDG_CACHE_HOME=str(home / ".cache"),
            GSETTINGS_BACKEND="memory",
        )
        return env

    def start(self) -> HeadlessMutter:
        if self.running:
            return self
        env = self.env()
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [
                    "mutter",
                    "--headless",
                    "--wayland",
                    "--no-x11",
                    "--virtual-monitor",
                    "1280x800",
                    "--wayland-display=wayland-nudged",
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        proc = self._proc

        def ready() -> str | None:
            if proc.poll() is not None:
                raise TestbedError(
                    f"mutter exited ({proc.returncode}):\n{_log_tail(self.log_path)}"
                )
            return _name_owner(self.bus_address, MUTTER_IDLE_MONITOR)

        try:
            self.owner = _wait_until(
                ready, self.start_timeout, f"mutter to own {MUTTER_IDLE_MONITOR}"
            )
        except BaseException:
            self.kill(signal.SIGKILL)
            raise
        return self

    def kill(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        """End mutter by its PID (SIGKILL: as if it crashed) and wait until it is reaped."""
        proc, self._proc = self._proc, None
        self.owner = None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)

    def stop(self) -> None:
        self.kill()
        self._tmp.cleanup()

    def __enter__(self) -> HeadlessMutter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MutterRemoteInput:
    """Real input through ``org.gnome.Mutter.RemoteDesktop``, from the event loop.

    Mutter ties a remote-desktop session to the connection that created it (and
    closes it when that client leaves the bus), so this keeps one dbus-fast
    connection open: ``async with MutterRemoteInput(addr) as rd: await rd.move()``.
    """

    def __init__(self, bus_address: str, timeout: float = 10.0) -> None:
        self.bus_address = bus_address
        self.timeout = timeout
        self.session_path = ""
        self._bus: Any = None

    async def _call(self, path: str, interface: str, member: str,
                    signature: str = "", body: list[Any] | None = None) -> list[Any]:
        from dbus_fast import Message, MessageType

        reply = await asyncio.wait_for(
            self._bus.call(Message(destination=MUTTER_REMOTE_DESKTOP, path=path,
                                   interface=interface, member=member,
                                   signature=signature, body=body or [])),
            self.timeout,
        )
        if reply is None or reply.message_type == MessageType.ERROR:
            detail = reply.body if reply is not None else "no reply"
            raise TestbedError(f"RemoteDesktop {member} failed: {detail}")
        return list(reply.body)

    async def __aenter__(self) -> MutterRemoteInput:
        from dbus_fast.aio import MessageBus

        self._bus = await asyncio.wait_for(
            MessageBus(bus_address=self.bus_address).connect(), self.timeout)
        try:
            (self.session_path,) = await self._call(
                "/org/gnome/Mutter/RemoteDesktop", MUTTER_REMOTE_DESKTOP, "CreateSession")
            await self._call(self.session_path, f"{MUTTER_REMOTE_DESKTOP}.Session", "Start")
        except BaseException:
            self._bus.disconnect()
            raise
        return self

    async def move(self, dx: float = 5.0, dy: float = 5.0) -> None:
        """Move the pointer: input, as far as mutter's idle monitor is concerned."""
        await self._call(self.session_path, f"{MUTTER_REMOTE_DESKTOP}.Session",
                         "NotifyPointerMotionRelative", "dd", [float(dx), float(dy)])

    async def __aexit__(self, *exc: object) -> None:
        if self._bus is None:
            return
        with contextlib.suppress(Exception):
            await self._call(self.session_path, f"{MUTTER_REMOTE_DESKTOP}.Session", "Stop")
        with contextlib.suppress(Exception):
            self._bus.disconnect()
        self._bus = None


# -- ActivityWatch's aw-server (TESTBEDS.md section 7)

#: aw-server 0.12.0 breaks with peewee 4 and Flask 2.3; pinned so the cache key is
#: stable. aw-client comes with aw-server anyway.
AW_REQUIREMENTS: tuple[str, ...] = ("aw-server==0.12.0", "aw-client", "peewee<4", "flask<2.3")
AW_INSTALL_TIMEOUT = 900.0


def _aw_cache_root() -> Path:
    """The real user's cache (not the per-test HOME the conftest fixture sets)."""
    try:
        home = Path(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        home = Path(tempfile.gettempdir())
    root = home / ".cache"
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".nudged-write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError:
        root = Path(tempfile.gettempdir())
    return root


def aw_server_venv() -> Path:
    """A venv with aw-server, built once and cached: ``~/.cache/nudged-test-aw-<key>``.

    The key hashes the requirements and this Python's version, so changing either
    builds a new one. A lock file serialises concurrent test runs, and a marker file
    written last tells a complete venv from one whose install was interrupted (that
    one is removed and built again). Raises TestbedError (with pip's output) when the
    install fails.
    """
    key = hashlib.sha256(
        "\n".join((*AW_REQUIREMENTS, sys.version.split()[0])).encode()
    ).hexdigest()[:12]
    root = _aw_cache_root()
    venv = root / f"nudged-test-aw-{key}"
    complete = venv / ".nudged-complete"
    if complete.exists():
        return venv
    with open(root / f"nudged-test-aw-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if complete.exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        log_path = root / f"nudged-test-aw-{key}.log"
        try:
            with open(log_path, "wb") as log:
                for cmd in (
                    [sys.executable, "-m", "venv", str(venv)],
                    [str(venv / "bin" / "python"), "-m", "pip", "install",
                     "--disable-pip-version-check", *AW_REQUIREMENTS],
                ):
                    log.write(f"$ {' '.join(cmd)}\n".encode())
                    log.flush()
                    done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL,
                                          timeout=AW_INSTALL_TIMEOUT)
                    if done.returncode != 0:
                        raise TestbedError(
                            f"{' '.join(cmd[:4])} failed ({done.returncode}):\n"
                            f"{_log_tail(log_path)}"
                        )
        except subprocess.TimeoutExpired as exc:
            shutil.rmtree(venv, ignore_errors=True)
            raise TestbedError(f"installing aw-server took over {exc.timeout:g}s") from exc
        except BaseException:
            shutil.rmtree(venv, ignore_errors=True)
            raise
        complete.write_text("\n".join(AW_REQUIREMENTS) + "\n")
    return venv


def require_aw_server() -> Path:
    """The aw-server venv; skip when it cannot be installed, fail instead when CI=true."""
    try:
        return aw_server_venv()
    except (TestbedError, OSError) as exc:
        reason = f"cannot install aw-server ({' '.join(AW_REQUIREMENTS)}): {exc}"
        if _in_ci():
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the caller retries if it gets taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class AwServer:
    """``aw-server --testing`` on 127.0.0.1 and a free port, with its own XDG dirs.

    Its REST API is driven with urllib; events go in with ``heartbeat`` (merged like
    a real watcher's) or ``insert``.
    """

    def __init__(self, venv: Path, tmpdir: Path | str | None = None,
                 start_timeout: float = 20.0) -> None:
        self.venv = venv
        self._tmp = _TempDir(tmpdir, "nudged-aw-")
        self.dir = self._tmp.path
        self.log_path = self.dir / "aw-server.log"
        self.start_timeout = start_timeout
        self.port = 0
        self.info: dict[str, Any] = {}
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hostname(self) -> str:
        """The hostname aw-server reports (what watchers put in bucket ids)."""
        return str(self.info.get("hostname", socket.gethostname()))

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise TestbedError("aw-server not started")
        return self._proc.pid

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _FOREIGN_DESKTOP_VARS}
        env.update(
            HOME=str(self.dir / "home"),
            XDG_DATA_HOME=str(self.dir / "data"),
            XDG_CONFIG_HOME=str(self.dir / "config"),
            XDG_CACHE_HOME=str(self.dir / "cache"),
            XDG_STATE_HOME=str(self.dir / "state"),
        )
        return env

    def start(self) -> AwServer:
        if self._proc is not None and self._proc.poll() is None:
            return self
        last: TestbedError | None = None
        for _attempt in range(3):  # a free port can be taken before aw-server binds it
            self.port = free_tcp_port()
            try:
                self._start_once()
                return self
            except TestbedError as exc:
                last = exc
                self.kill()
                if "in use" not in str(exc):
                    break
        assert last is not None
        raise last

    def _start_once(self) -> None:
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [str(self.venv / "bin" / "aw-server"), "--testing",
                 "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        proc = self._proc

        def ready() -> dict[str, Any] | None:
            if proc.poll() is not None:
                raise TestbedError(
                    f"aw-server exited ({proc.returncode}):\n{_log_tail(self.log_path)}"
                )
            try:
                return dict(self.get("/api/0/info", timeout=1.0))
            except (OSError, ValueError):
                return None

        self.info = _wait_until(ready, self.start_timeout, f"aw-server at {self.url}")

    # -- REST
    def request(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        with urllib.request.urlopen(req, timeout=timeout) as response:
            raw = response.read()
        return json.loads(raw) if raw.strip() else None

    def get(self, path: str, timeout: float = 10.0) -> Any:
        return self.request("GET", path, timeout=timeout)

    def create_bucket(self, bucket: str, type: str, hostname: str | None = None,
                      client: str = "nudged-test") -> None:
        self.request("POST", f"/api/0/buckets/{urllib.parse.quote(bucket)}",
                     {"client": client, "type": type, "hostname": hostname or self.hostname})

    def delete_bucket(self, bucket: str) -> None:
        self.request("DELETE", f"/api/0/buckets/{urllib.parse.quote(bucket)}?force=1")

    def heartbeat(self, bucket: str, data: Mapping[str, Any], at: datetime | None = None,
                  duration: float = 0.0, pulsetime: float = 5.0) -> None:
        """Send a heartbeat as a watcher does (same data within pulsetime: merged)."""
        event = {"timestamp": (at or datetime.now(UTC)).isoformat(), "duration": duration,
                 "data": dict(data)}
        self.request("POST", f"/api/0/buckets/{urllib.parse.quote(bucket)}/heartbeat"
                     f"?pulsetime={pulsetime:g}", event)

    def insert(self, bucket: str, data: Mapping[str, Any], at: datetime,
               duration: float = 0.0) -> None:
        event = {"timestamp": at.isoformat(), "duration": duration, "data": dict(data)}
        self.request("POST", f"/api/0/buckets/{urllib.parse.quote(bucket)}/events", [event])

    # -- lifecycle
    def kill(self) -> None:
        """End aw-server by its PID."""
        _stop_process(self._proc)
        self._proc = None

    def stop(self) -> None:
        self.kill()
        self._tmp.cleanup()

    def __enter__(self) -> AwServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ += [
    "AW_REQUIREMENTS",
    "MUTTER_TOOLS",
    "ActivityRecorder",
    "AwServer",
    "HeadlessMutter",
    "MutterRemoteInput",
    "Report",
    "aw_server_venv",
    "free_tcp_port",
    "require_aw_server",
    "require_mutter",
]


# --------------------------------------------------------------------------- Wayland compositors
# Appended for the Wayland, sway and Hyprland activity sources (TESTBEDS.md sections
# 4 and 5): a headless sway (run as uid 65534 when we are root: sway refuses root)
# with foot and xterm windows, and a headless KWin 5.27 from a copied binary.

import glob as _glob  # noqa: E402
import stat as _stat  # noqa: E402

#: binary -> Debian package, for the sway stories
SWAY_TOOLS: dict[str, str] = {
    "sway": "sway",
    "swaymsg": "sway",
    "foot": "foot",
    "Xwayland": "xwayland",
    "xterm": "xterm",
    "setpriv": "util-linux",
}
#: binary -> Debian package, for the KWin stories
KWIN_TOOLS: dict[str, str] = {"kwin_wayland": "kwin-wayland"}

#: The unprivileged user a root test runs sway and its clients as ("nobody").
NOBODY = 65534


def require_sway_tools() -> None:
    """Skip when sway, foot, Xwayland or xterm is missing; fail instead when CI=true."""
    missing = sorted({pkg for tool, pkg in SWAY_TOOLS.items() if shutil.which(tool) is None})
    _require(missing, "sway test tools")


def require_kwin_tools() -> None:
    """Skip when kwin_wayland is missing; fail instead when CI=true."""
    missing = sorted({pkg for tool, pkg in KWIN_TOOLS.items() if shutil.which(tool) is None})
    _require(missing, "KWin test tools")


def _clean_env(**extra: str) -> dict[str, str]:
    """A minimal environment: nothing that points at the developer's own session."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "LC_ALL": "C.UTF-8"}
    env.update(extra)
    return env


@dataclass
class SwayWindow:
    """A window we opened in sway: its sway container id and the client process."""

    con_id: int
    title: str
    app: str
    proc: subprocess.Popen[bytes]
    title_pipe: Path | None = None
    _writer: Any = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def set_title(self, title: str) -> None:
        """Make the program inside the window set a new title (an OSC 2 sequence).

        The shell in the window blocks reading a FIFO (no polling); each line we
        write becomes the window's title.
        """
        if self.title_pipe is None:
            raise TestbedError("this window was opened without a title pipe")
        if self._writer is None:
            self._writer = open(self.title_pipe, "w")  # noqa: SIM115 - kept open on purpose
        self._writer.write(title + "\n")
        self._writer.flush()
        self.title = title

    def close_pipe(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(OSError):
                self._writer.close()
            self._writer = None


class Sway:
    """A headless sway with its own runtime dir; the windows the person works with.

    As root, sway and every client run as uid 65534 (``setpriv``) in a runtime dir
    owned by that uid; the test process itself (root) can still connect to the
    sockets in it. As another user, everything runs as that user.
    """

    def __init__(self, tmpdir: Path | str | None = None, start_timeout: float = 20.0) -> None:
        self._tmp = _TempDir(tmpdir, "nudged-sway-")
        self.dir = self._tmp.path
        self.runtime = self.dir / "runtime"
        self.log_path = self.dir / "sway.log"
        self.start_timeout = start_timeout
        self.wayland_display = ""  # absolute path of the Wayland socket
        self.x_display = ""        # sway's Xwayland, e.g. ":5"
        self.swaysock = ""
        self.windows: list[SwayWindow] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._as_nobody = os.geteuid() == 0

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise TestbedError("sway not started")
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _user_cmd(self, argv: list[str]) -> list[str]:
        if not self._as_nobody:
            return argv
        return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv]

    def client_env(self, **extra: str) -> dict[str, str]:
        """Environment of a client of this sway (as its user)."""
        return _clean_env(HOME=str(self.runtime), XDG_RUNTIME_DIR=str(self.runtime),
                          WAYLAND_DISPLAY=self.wayland_display, **extra)

    def session_environ(self) -> dict[str, str]:
        """What nudged would find in its environment in this sway session."""
        return {"WAYLAND_DISPLAY": self.wayland_display, "XDG_RUNTIME_DIR": str(self.runtime),
                "SWAYSOCK": self.swaysock, "XDG_CURRENT_DESKTOP": "sway",
                "XDG_SESSION_TYPE": "wayland"}

    def start(self) -> Sway:
        if self._proc is not None:
            return self
        self.dir.chmod(0o711)  # sway (uid 65534) must read its config in here
        self.runtime.mkdir(mode=0o700)
        if self._as_nobody:
            os.chown(self.runtime, NOBODY, NOBODY)
        ready = self.runtime / "ready"
        config = self.dir / "config"
        config.write_text(
            "# Written by tests/testbed.py\n"
            "output HEADLESS-1 resolution 1280x800\n"
            "xwayland enable\n"
            # Tell the test the names sway chose, once it runs its config.
            "exec sh -c 'printf \"%s\\n%s\\n\" \"$WAYLAND_DISPLAY\" \"$DISPLAY\" "
            f"> {ready}.tmp && mv {ready}.tmp {ready}'\n")
        config.chmod(0o644)
        env = _clean_env(HOME=str(self.runtime), XDG_RUNTIME_DIR=str(self.runtime),
                         WLR_BACKENDS="headless", WLR_LIBINPUT_NO_DEVICES="1",
                         WLR_RENDERER="pixman")
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                self._user_cmd(["sway", "-c", str(config)]), env=env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        proc = self._proc

        def started() -> bool:
            if proc.poll() is not None:
                raise TestbedError(f"sway exited with {proc.returncode}\n"
                                   f"{_log_tail(self.log_path)}")
            return ready.exists() and bool(_glob.glob(str(self.runtime / "sway-ipc.*.sock")))

        try:
            _wait_until(started, self.start_timeout, "sway to run its config")
            wayland, x_display = [*ready.read_text().splitlines(), "", ""][:2]
            self.wayland_display = str(self.runtime / wayland)
            self.x_display = x_display
            self.swaysock = _glob.glob(str(self.runtime / "sway-ipc.*.sock"))[0]
            self.swaymsg("-t", "get_version")
        except BaseException:
            self.stop()
            raise
        return self

    def swaymsg(self, *args: str, timeout: float = 10.0) -> Any:
        """``swaymsg -r ARGS`` (raw JSON answer, parsed)."""
        try:
            proc = subprocess.run(["swaymsg", "-r", "-s", self.swaysock, *args],
                                  capture_output=True, text=True, timeout=timeout,
                                  env=_clean_env())
        except subprocess.TimeoutExpired as exc:
            raise TestbedError(f"swaymsg {' '.join(args)}: no answer in {timeout:g}s") from exc
        if proc.returncode != 0:
            raise TestbedError(f"swaymsg {' '.join(args)} failed: "
                               f"{proc.stderr.strip() or proc.stdout.strip()}")
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def views(self) -> list[dict[str, Any]]:
        """Every window in sway's tree (containers with a pid)."""
        found: list[dict[str, Any]] = []

        def walk(node: dict[str, Any]) -> None:
            if node.get("pid"):
                found.append(node)
            for child in node.get("nodes", []) + node.get("floating_nodes", []):
                walk(child)

        walk(self.swaymsg("-t", "get_tree"))
        return found

    def _window(self, argv: list[str], title: str, app: str, env: dict[str, str],
                timeout: float, title_pipe: Path | None = None) -> SwayWindow:
        proc = subprocess.Popen(self._user_cmd(argv), env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def mapped() -> dict[str, Any] | None:
            if proc.poll() is not None:
                raise TestbedError(f"{argv[0]} exited with {proc.returncode}")
            return next((v for v in self.views() if v.get("pid") == proc.pid
                         and v.get("name") == title), None)

        try:
            view = _wait_until(mapped, timeout, f"the {argv[0]} window {title!r}")
        except BaseException:
            _stop_process(proc)
            raise
        window = SwayWindow(int(view["id"]), title, app, proc, title_pipe)
        self.windows.append(window)
        return window

    def foot(self, title: str, app_id: str, settable_title: bool = False,
             timeout: float = 15.0) -> SwayWindow:
        """A native Wayland window (foot) with this title and app id; wait until mapped.

        With ``settable_title``, :meth:`SwayWindow.set_title` can change the title later.
        """
        if not settable_title:
            return self._window(["foot", "--title", title, "--app-id", app_id,
                                 "sleep", "300"], title, app_id, self.client_env(), timeout)
        pipe = self.runtime / f"title-{len(self.windows)}-{time.monotonic_ns()}"
        os.mkfifo(pipe, 0o600)
        if self._as_nobody:
            os.chown(pipe, NOBODY, NOBODY)
        script = ('while IFS= read -r t; do printf "\\033]2;%s\\007" "$t"; done < "$1"; '
                  "sleep 300")
        return self._window(["foot", "--title", title, "--app-id", app_id,
                             "sh", "-c", script, "sh", str(pipe)],
                            title, app_id, self.client_env(), timeout, pipe)

    def xterm(self, title: str, wm_class: str, timeout: float = 20.0) -> SwayWindow:
        """An X11 window (xterm, through sway's Xwayland) titled and classed like a browser.

        Keep ``title`` ASCII: xterm writes other titles only as a COMPOUND_TEXT
        ``WM_NAME``, which wlroots 0.15 ignores (the window would have no title).
        """
        if not self.x_display:
            raise TestbedError("sway started without Xwayland")
        env = self.client_env(DISPLAY=self.x_display)
        return self._window(["xterm", "-T", title, "-class", wm_class, "-e", "sleep", "300"],
                            title, wm_class, env, timeout)

    def close_window(self, window: SwayWindow) -> None:
        window.close_pipe()
        _stop_process(window.proc)
        if window in self.windows:
            self.windows.remove(window)

    def kill(self) -> None:
        """End sway abruptly (SIGKILL by PID), as a crash would; windows stay ours."""
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            self._proc.wait(10)

    def stop(self) -> None:
        for window in list(self.windows):
            self.close_window(window)
        if self._proc is not None:
            _stop_process(self._proc)
            self._proc = None
        self._tmp.cleanup()

    def __enter__(self) -> Sway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class KWin:
    """A headless KWin 5.27 (``--virtual``) on a socket in a runtime dir of its own.

    ``/usr/bin/kwin_wayland`` carries file capabilities that containers refuse to
    execute, so a copy (a plain copy drops them) under the same name is run.
    Without ``session``, no session bus: KWin complains in its log and works. With
    it, KWin gets a session bus of its own (and owns ``org.kde.KWin`` there) and
    Xwayland; a small program it starts writes Xwayland's display name to a file
    (``x_display``), so that X11 windows can be opened on it.
    """

    SOCKET = "wayland-kde"  # a fixed name is fine: the runtime dir is private

    def __init__(self, tmpdir: Path | str | None = None, start_timeout: float = 30.0,
                 *, session: bool = False) -> None:
        self._tmp = _TempDir(tmpdir, "nudged-kwin-")
        self.dir = self._tmp.path
        self.runtime = self.dir / "runtime"
        self.log_path = self.dir / "kwin.log"
        self.start_timeout = start_timeout
        self.wayland_display = str(self.runtime / self.SOCKET)
        self.with_session = session
        self.bus: SessionBus | None = None
        self.x_display = ""
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise TestbedError("KWin not started")
        return self._proc.pid

    def session_environ(self) -> dict[str, str]:
        env = {"WAYLAND_DISPLAY": self.wayland_display, "XDG_RUNTIME_DIR": str(self.runtime),
               "XDG_CURRENT_DESKTOP": "KDE", "XDG_SESSION_TYPE": "wayland"}
        if self.bus is not None:
            env["DBUS_SESSION_BUS_ADDRESS"] = self.bus.address
        return env

    def start(self) -> KWin:
        if self._proc is not None:
            return self
        source = shutil.which("kwin_wayland")
        if source is None:
            raise TestbedError("kwin_wayland is not installed")
        try:
            (self.dir / "bin").mkdir(exist_ok=True)
            binary = self.dir / "bin" / "kwin_wayland"
            shutil.copyfile(source, binary)
            binary.chmod(0o755)
            self.runtime.mkdir(mode=0o700, exist_ok=True)
            env = _clean_env(HOME=str(self.dir), XDG_RUNTIME_DIR=str(self.runtime),
                             XDG_CONFIG_HOME=str(self.dir / "config"),
                             XDG_CACHE_HOME=str(self.dir / "cache"),
                             XDG_DATA_HOME=str(self.dir / "data"))
            argv = [str(binary), "--virtual", "--no-lockscreen", "--no-kactivities",
                    "--socket", self.SOCKET, "--width", "1280", "--height", "800"]
            display_file = self.dir / "x-display"
            if self.with_session:
                self.bus = SessionBus(self.dir / "bus").start()
                env["DBUS_SESSION_BUS_ADDRESS"] = self.bus.address
                argv += ["--xwayland",
                         f"sh -c 'echo \"$DISPLAY\" > {display_file}.tmp && "
                         f"mv {display_file}.tmp {display_file} && exec sleep 100000'"]
            with open(self.log_path, "wb") as log:
                self._proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                              stdout=log, stderr=subprocess.STDOUT)
            proc = self._proc

            def ready() -> bool:
                if proc.poll() is not None:
                    raise TestbedError(f"kwin_wayland exited with {proc.returncode}\n"
                                       f"{_log_tail(self.log_path)}")
                if not self._listening():
                    return False
                return self.bus is None or (
                    display_file.exists()
                    and _name_owner(self.bus.address, "org.kde.KWin") is not None)

            what = "KWin, its Xwayland and org.kde.KWin" if self.with_session \
                else "KWin's Wayland socket"
            _wait_until(ready, self.start_timeout, what)
            if self.with_session:
                self.x_display = display_file.read_text().strip()
        except BaseException:
            self.stop()
            raise
        return self

    def _listening(self) -> bool:
        try:
            if not _stat.S_ISSOCK(os.stat(self.wayland_display).st_mode):
                return False
        except FileNotFoundError:
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            try:
                sock.connect(self.wayland_display)
            except OSError:
                return False
        return True

    def kill(self) -> None:
        """End KWin abruptly (SIGKILL by PID), as a crash would."""
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            self._proc.wait(10)

    def stop(self) -> None:
        if self._proc is not None:
            _stop_process(self._proc)
            self._proc = None
        if self.bus is not None:
            self.bus.stop()
            self.bus = None
        self._tmp.cleanup()

    def __enter__(self) -> KWin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ += [
    "KWIN_TOOLS",
    "NOBODY",
    "SWAY_TOOLS",
    "KWin",
    "Sway",
    "SwayWindow",
    "require_kwin_tools",
    "require_sway_tools",
]


# --------------------------------------------------------------------------- a person at the desk
# Appended for the end-to-end activity stories (tests/test_daemon_activity.py): a
# person who keeps touching the keyboard and mouse (xdotool from a thread), and a
# synchronous handle on the logind mock for a daemon running in another process.


class Typist:
    """A person at an X display: some input every ``interval`` seconds until stopped.

    Alternates ``xdotool mousemove_relative`` (+3/-3, so the pointer stays put on
    average) and ``xdotool key shift``, each real XTEST input that resets the
    server's idle counter and produces XInput2 raw events. Runs in a daemon thread;
    each xdotool call is bounded, and :meth:`stop` waits for the thread (bounded).
    """

    def __init__(self, display: str, interval: float = 1.0) -> None:
        self.display = display
        self.interval = interval
        #: wall-clock times (time.time()) right after each input was delivered
        self.inputs: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._count = 0

    def touch(self) -> float:
        """One input now; returns the wall-clock time just after it was delivered."""
        self._count += 1
        sign = "" if self._count % 2 else "-"
        args = (("key", "shift") if self._count % 4 == 0
                else ("mousemove_relative", "--", f"{sign}3", f"{sign}3"))
        xdotool(self.display, *args, timeout=5.0)
        at = time.time()
        self.inputs.append(at)
        return at

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.touch()
            except TestbedError as exc:  # keep going; the test sees the gap in .inputs
                self.errors.append(str(exc))
            self._stop.wait(self.interval)

    @property
    def active(self) -> bool:
        return self._thread is not None

    def start(self) -> float:
        """Start typing: the first input happens before this returns (its time)."""
        if self._thread is not None:
            raise TestbedError("already typing")
        first = self.touch()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="Typist", daemon=True)
        self._thread.start()
        return first

    def stop(self, timeout: float = 10.0) -> float:
        """Stop typing; returns the wall-clock time of the last input delivered."""
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise TestbedError(f"the typing thread did not stop within {timeout:g}s")
        if not self.inputs:
            raise TestbedError("no input was ever delivered")
        return self.inputs[-1]

    def __enter__(self) -> Typist:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self.stop()


class LogindControl:
    """Plays logind's part through the python-dbusmock API, synchronously.

    For stories where the daemon under test runs in another process: each call opens
    its own short connection to the private system bus (bounded by ``timeout``).
    Quirks of dbusmock 0.28.7 are handled as TESTBEDS.md section 6 says.
    """

    MOCK = "org.freedesktop.DBus.Mock"
    MANAGER_PATH = "/org/freedesktop/login1"
    MANAGER = "org.freedesktop.login1.Manager"
    SESSION = "org.freedesktop.login1.Session"
    USER = "org.freedesktop.login1.User"

    def __init__(self, bus_address: str, timeout: float = 10.0) -> None:
        self.bus_address = bus_address
        self.timeout = timeout

    def call(self, path: str, interface: str, member: str, signature: str = "",
             *body: Any) -> list[Any]:
        from dbus_fast import BusType, Message, MessageType
        from dbus_fast.aio import MessageBus

        async def go() -> list[Any]:
            bus = MessageBus(bus_address=self.bus_address, bus_type=BusType.SYSTEM)
            await asyncio.wait_for(bus.connect(), self.timeout)
            try:
                reply = await asyncio.wait_for(bus.call(Message(
                    destination=LOGIN1, path=path, interface=interface, member=member,
                    signature=signature, body=list(body))), self.timeout)
            finally:
                bus.disconnect()
            if reply is None or reply.message_type == MessageType.ERROR:
                detail = (reply.error_name, reply.body) if reply is not None else "no reply"
                raise TestbedError(f"{interface}.{member} failed: {detail}")
            return list(reply.body)

        return asyncio.run(go())

    def fix_get_user(self) -> None:
        """dbusmock 0.28.7's GetUser raises a TypeError; replace it."""
        self.call(self.MANAGER_PATH, self.MOCK, "AddMethod", "sssss", self.MANAGER,
                  "GetUser", "u", "o", 'ret = "/org/freedesktop/login1/user/%d" % args[0]')

    def add_session(self, session_id: str = "c1", uid: int | None = None) -> str:
        """A graphical session for ``uid`` (default: ours), made the user's Display."""
        from dbus_fast import Variant

        uid = os.getuid() if uid is None else uid
        path = str(self.call(self.MANAGER_PATH, self.MOCK, "AddSession", "ssusb",
                             session_id, "seat0", uid, "person", True)[0])
        # Properties.Set: dbusmock 0.28.7 cannot wrap a struct in UpdateProperties.
        self.call(f"/org/freedesktop/login1/user/{uid}", "org.freedesktop.DBus.Properties",
                  "Set", "ssv", self.USER, "Display", Variant("(so)", [session_id, path]))
        return path

    def set_locked_hint(self, session: str, locked: bool) -> None:
        """What a screen locker does: Session.SetLockedHint (PropertiesChanged)."""
        self.call(session, self.SESSION, "SetLockedHint", "b", locked)

    def prepare_for_sleep(self, start: bool) -> None:
        """logind's PrepareForSleep(start) signal: suspend (True), resume (False)."""
        from dbus_fast import Variant

        self.call(self.MANAGER_PATH, self.MOCK, "EmitSignal", "sssav", self.MANAGER,
                  "PrepareForSleep", "b", [Variant("b", start)])


__all__ += ["LogindControl", "Typist"]
