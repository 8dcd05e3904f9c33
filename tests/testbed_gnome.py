"""GNOME Shell and KWin, headless, for the compositor-side focus sources.

* :class:`GnomeShell`: ``gnome-shell --headless --wayland`` (TESTBEDS.md section 10)
  with its own session bus, a python-dbusmock logind on a private "system" bus (GNOME
  Shell does not start without logind), a private ``HOME`` and the keyfile GSettings
  backend (so ``gsettings`` and ``nudged gnome-extension install`` in the test change
  what the shell reads at "login"). Windows are ``foot`` terminals (native Wayland
  clients) whose title a test can change; focus moves through ``org.gnome.Shell.Eval``
  (``--unsafe-mode``), since a new window does not take the focus by itself there.
* :class:`KWinSession`: ``kwin_wayland --virtual --xwayland`` (section 5) on a
  session bus of its own, so that KWin offers its scripting interface
  (``org.kde.KWin /Scripting``). Windows are xterms on KWin's Xwayland, titled and
  classed like browser windows, whose title a test can change; focus moves with
  ``xdotool windowactivate`` (KWin honours a pager's ``_NET_ACTIVE_WINDOW`` request).

Every process is ours, stopped by its PID; every folder is a fresh temp dir.

Debian packages: ``gnome-shell python3-dbusmock foot libglib2.0-bin`` for GNOME
(``--no-install-recommends``); ``kwin-wayland xwayland xterm xdotool`` for KWin.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.testbed import (
    KWin,
    LogindMock,
    SessionBus,
    TestbedError,
    _clean_env,
    _log_tail,
    _name_owner,
    _read_line,
    _require,
    _stop_process,
    _TempDir,
    _wait_until,
    missing_logind_tools,
)

__all__ = [
    "GNOME_TOOLS",
    "KWIN_SESSION_TOOLS",
    "GnomeShell",
    "KWinSession",
    "Window",
    "require_gnome_shell",
    "require_kwin_session",
]

#: binary -> Debian package, for the GNOME Shell stories
GNOME_TOOLS: dict[str, str] = {
    "gnome-shell": "gnome-shell",
    "gsettings": "libglib2.0-bin",
    "gdbus": "libglib2.0-bin",
    "foot": "foot",
    "dbus-daemon": "dbus-daemon",
    "dbus-send": "dbus-bin",
}
#: binary -> Debian package, for the KWin script stories
KWIN_SESSION_TOOLS: dict[str, str] = {
    "kwin_wayland": "kwin-wayland",
    "Xwayland": "xwayland",
    "xterm": "xterm",
    "xdotool": "xdotool",
    "dbus-daemon": "dbus-daemon",
    "dbus-send": "dbus-bin",
}

SHELL_NAME = "org.gnome.Shell"
NOTIFICATIONS = "org.freedesktop.Notifications"
#: GNOME Shell 43 leaves org.freedesktop.Notifications to a small gjs service that
#: the session bus starts on demand: our private bus may start that one, and no other.
NOTIFICATIONS_SERVICE = Path("/usr/share/dbus-1/services/org.gnome.Shell.Notifications.service")

_GNOME_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <!-- nudged testbed: GNOME Shell's private session bus. Only the services in
       {services} can be started on demand (GNOME Shell's notification service). -->
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir={dir}</listen>
  <servicedir>{services}</servicedir>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <limit name="reply_timeout">60000</limit>
</busconfig>
"""


class GnomeSessionBus(SessionBus):
    """A private session bus that may start GNOME Shell's notification service (and
    nothing else), with the GNOME session's environment for what it starts."""

    def __init__(self, tmpdir: Path, environ: dict[str, str],
                 start_timeout: float = 10.0) -> None:
        super().__init__(tmpdir, start_timeout)
        self.environ = environ
        self.services = self.dir / "services"

    def start(self) -> GnomeSessionBus:
        if self._proc is not None:
            return self
        self.services.mkdir(exist_ok=True)
        if NOTIFICATIONS_SERVICE.exists():
            shutil.copyfile(NOTIFICATIONS_SERVICE, self.services / NOTIFICATIONS_SERVICE.name)
        self.config_path.write_text(_GNOME_BUS_CONFIG.format(dir=self.dir,
                                                             services=self.services))
        with open(self.dir / "dbus-daemon.log", "wb") as log:
            self._proc = subprocess.Popen(
                ["dbus-daemon", f"--config-file={self.config_path}", "--nofork",
                 "--nopidfile", "--print-address=1"],
                stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                env=self.environ)
        assert self._proc.stdout is not None
        try:
            self.address = _read_line(self._proc.stdout.fileno(), self.start_timeout,
                                      "dbus-daemon address", self._proc)
        except TestbedError as exc:
            self.stop()
            raise TestbedError(f"{exc}\n{_log_tail(self.dir / 'dbus-daemon.log')}") from exc
        return self


def _missing(tools: dict[str, str]) -> list[str]:
    return sorted({pkg for tool, pkg in tools.items() if shutil.which(tool) is None})


def require_gnome_shell() -> None:
    """Skip when gnome-shell, foot, gsettings or python3-dbusmock is missing; fail
    instead when ``CI=true``."""
    missing = _missing(GNOME_TOOLS)
    if not missing:
        missing = [p for p in missing_logind_tools() if p != "dbus"]
    _require(missing, "GNOME Shell test tools")


def require_kwin_session() -> None:
    """Skip when kwin_wayland, Xwayland, xterm or xdotool is missing; fail instead when
    ``CI=true``."""
    _require(_missing(KWIN_SESSION_TOOLS), "KWin test tools")


def require_node() -> str:
    """The ``node`` binary (to check and run the extension's JavaScript), or skip; fail
    instead when ``CI=true``."""
    found = shutil.which("node")
    if found is None:
        _require(["nodejs"], "node")
    return found or "node"


@dataclass
class Window:
    """A window we opened: the client process and, if settable, its title FIFO."""

    title: str
    app: str
    proc: subprocess.Popen[bytes]
    title_pipe: Path | None = None
    _writer: Any = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def set_title(self, title: str) -> None:
        """Make the program in the window set a new title (an OSC 2 sequence): the
        shell inside blocks reading a FIFO; each line written becomes the title."""
        if self.title_pipe is None:
            raise TestbedError("this window was opened without a title pipe")
        if self._writer is None:
            self._writer = open(self.title_pipe, "w")  # noqa: SIM115 - kept open on purpose
        self._writer.write(title + "\n")
        self._writer.flush()
        self.title = title

    def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(OSError):
                self._writer.close()
            self._writer = None
        _stop_process(self.proc)


_TITLE_SCRIPT = ('while IFS= read -r t; do printf "\\033]2;%s\\007" "$t"; done < "$1"; '
                 "sleep 600")


def _title_pipe(folder: Path, n: int) -> Path:
    pipe = folder / f"title-{n}-{time.monotonic_ns()}"
    os.mkfifo(pipe, 0o600)
    return pipe


def _gdbus_string(text: str) -> str:
    """The string inside gdbus' ``(true, '...')`` answer (GVariant text form)."""
    found = re.match(r"^\((true|false), (['\"])(.*)\2\)$", text.strip(), re.S)
    if found is None:
        raise TestbedError(f"unexpected gdbus answer: {text!r}")
    if found.group(1) != "true":
        raise TestbedError(f"org.gnome.Shell.Eval failed: {found.group(3)}")
    value = found.group(3)
    return value.encode("latin-1", "backslashreplace").decode("unicode_escape") \
        if "\\" in value else value


# --------------------------------------------------------------------------- GNOME Shell


class GnomeShell:
    """A headless GNOME Shell 43+ with everything it needs, all private.

    Call :meth:`prepare` (buses, logind, folders), then set things up as a person
    would before logging in (``gsettings``, ``nudged gnome-extension install`` with
    :meth:`env`), then :meth:`start` ("log in"). :meth:`restart` is a log out and in.
    """

    WAYLAND = "wayland-nudged"  # a fixed name is fine: the runtime dir is private

    def __init__(self, tmpdir: Path | str | None = None, start_timeout: float = 60.0) -> None:
        self._tmp = _TempDir(tmpdir, "nudged-gnome-")
        self.dir = self._tmp.path
        self.home = self.dir / "home"
        self.runtime = self.dir / "runtime"
        self.log_path = self.dir / "gnome-shell.log"
        self.start_timeout = start_timeout
        self.session_bus: SessionBus | None = None
        self.system_bus: SessionBus | None = None
        self.logind: LogindMock | None = None
        self.windows: list[Window] = []
        self._proc: subprocess.Popen[bytes] | None = None

    # -- set-up
    def prepare(self) -> GnomeShell:
        if self.session_bus is not None:
            return self
        self.home.mkdir(exist_ok=True)
        self.runtime.mkdir(mode=0o700, exist_ok=True)
        try:
            self.system_bus = SessionBus(self.dir / "system-bus").start()
            self.logind = LogindMock(self.system_bus.address, self.dir / "logind").start()
            self.session_bus = GnomeSessionBus(self.dir / "session-bus",
                                               self._env(self.system_bus.address)).start()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def bus_address(self) -> str:
        if self.session_bus is None:
            raise TestbedError("GNOME Shell's buses are not prepared")
        return self.session_bus.address

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a program in this GNOME session (nudged, gsettings, ...)."""
        if self.session_bus is None or self.system_bus is None:
            raise TestbedError("GNOME Shell's buses are not prepared")
        return self._env(self.system_bus.address,
                         DBUS_SESSION_BUS_ADDRESS=self.session_bus.address, **extra)

    def _env(self, system_bus: str, **extra: str) -> dict[str, str]:
        return _clean_env(
            HOME=str(self.home),
            XDG_RUNTIME_DIR=str(self.runtime),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
            XDG_CACHE_HOME=str(self.home / ".cache"),
            XDG_STATE_HOME=str(self.home / ".local" / "state"),
            DBUS_SYSTEM_BUS_ADDRESS=system_bus,
            GSETTINGS_BACKEND="keyfile",
            XDG_CURRENT_DESKTOP="GNOME",
            XDG_SESSION_TYPE="wayland",
            WAYLAND_DISPLAY=self.WAYLAND,
            **extra,
        )

    def gsettings(self, *args: str) -> str:
        proc = subprocess.run(["gsettings", *args], env=self.env(), capture_output=True,
                              text=True, timeout=20)
        if proc.returncode != 0:
            raise TestbedError(f"gsettings {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout.strip()

    # -- the shell
    @property
    def pid(self) -> int:
        if self._proc is None:
            raise TestbedError("GNOME Shell not started")
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> GnomeShell:
        """Log in: start the shell and wait until it owns ``org.gnome.Shell``."""
        self.prepare()
        if self.running:
            return self
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                ["gnome-shell", "--unsafe-mode", "--headless", "--wayland", "--no-x11",
                 "--virtual-monitor", "1280x800", f"--wayland-display={self.WAYLAND}"],
                env=self.env(), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)
        proc = self._proc

        def ready() -> bool:
            if proc.poll() is not None:
                raise TestbedError(f"gnome-shell exited ({proc.returncode}):\n"
                                   f"{_log_tail(self.log_path, 4000)}")
            return self.has_owner(SHELL_NAME) and (self.runtime / self.WAYLAND).exists()

        try:
            _wait_until(ready, self.start_timeout, "GNOME Shell to own org.gnome.Shell")
            # The shell takes its name early; Eval answers once its UI is up.
            _wait_until(lambda: self._try_eval("1") == 1, self.start_timeout,
                        "GNOME Shell's Eval to answer")
        except BaseException:
            self.kill(signal.SIGKILL)
            raise
        return self

    def kill(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        """End the shell by its PID (SIGKILL: as if it crashed); its windows die with it."""
        proc, self._proc = self._proc, None
        for window in list(self.windows):
            self.close_window(window)
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

    def restart(self) -> GnomeShell:
        """Log out and back in (the shell reads its extensions anew)."""
        self.kill()
        return self.start()

    def stop(self) -> None:
        self.kill()
        for part in (self.logind, self.system_bus, self.session_bus):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.stop()
        self.logind = self.system_bus = self.session_bus = None
        self._tmp.cleanup()

    def __enter__(self) -> GnomeShell:
        return self.prepare()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_text(self) -> str:
        return _log_tail(self.log_path, 8000)

    # -- the bus
    def has_owner(self, name: str) -> bool:
        return _name_owner(self.bus_address, name) is not None

    def name_owner(self, name: str) -> str | None:
        return _name_owner(self.bus_address, name)

    def gdbus(self, *args: str, timeout: float = 20.0) -> str:
        proc = subprocess.run(["gdbus", "call", "--address", self.bus_address, *args],
                              env=self.env(), capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0:
            raise TestbedError(f"gdbus call {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def _try_eval(self, code: str) -> Any:
        try:
            return self.eval(code)
        except (TestbedError, subprocess.TimeoutExpired):
            return None

    def eval(self, code: str) -> Any:
        """``org.gnome.Shell.Eval`` (``--unsafe-mode``): the value of ``code`` (the shell
        sends it as JSON; None for undefined)."""
        answer = _gdbus_string(self.gdbus(
            "--dest", SHELL_NAME, "--object-path", "/org/gnome/Shell",
            "--method", "org.gnome.Shell.Eval", code))
        return json.loads(answer) if answer else None

    # -- windows
    def titles(self) -> list[str]:
        """The titles of every window the shell manages."""
        return list(self.eval("global.get_window_actors()"
                              ".map(a => a.meta_window.get_title() || '')"))

    def focused_title(self) -> str | None:
        title = self.eval("global.display.focus_window ? "
                          "global.display.focus_window.get_title() : null")
        return None if title is None else str(title)

    def foot(self, title: str, app_id: str, settable_title: bool = False,
             timeout: float = 20.0) -> Window:
        """A native Wayland window with this title and app id; wait until it is managed.

        With ``settable_title``, :meth:`Window.set_title` changes the title later.
        """
        pipe = _title_pipe(self.runtime, len(self.windows)) if settable_title else None
        inner = ["sh", "-c", _TITLE_SCRIPT, "sh", str(pipe)] if pipe else ["sleep", "600"]
        env = self.env()
        proc = subprocess.Popen(["foot", "--title", title, "--app-id", app_id, *inner],
                                env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        window = Window(title, app_id, proc, pipe)

        def mapped() -> bool:
            if proc.poll() is not None:
                raise TestbedError(f"foot exited with {proc.returncode}")
            return title in self.titles()

        try:
            _wait_until(mapped, timeout, f"the window {title!r}")
        except BaseException:
            window.close()
            raise
        self.windows.append(window)
        return window

    def focus(self, window: Window, timeout: float = 10.0) -> float:
        """Give ``window`` the focus (by its current title); when the shell says it has it."""
        code = ("(() => { const w = global.get_window_actors().map(a => a.meta_window)"
                f".find(w => w.get_title() === {_js_string(window.title)}); "
                "if (!w) return 'missing'; w.activate(global.get_current_time()); "
                "return 'ok'; })()")
        if self.eval(code) != "ok":
            raise TestbedError(f"no window titled {window.title!r}: {self.titles()}")
        _wait_until(lambda: self.focused_title() == window.title, timeout,
                    f"{window.title!r} to have the focus")
        return time.time()

    def close_window(self, window: Window) -> None:
        window.close()
        if window in self.windows:
            self.windows.remove(window)


def _js_string(text: str) -> str:
    return json.dumps(text)


# --------------------------------------------------------------------------- KWin


class KWinSession(KWin):
    """A headless KWin 5.27 with Xwayland on a session bus of its own (see
    :class:`tests.testbed.KWin`): xterms on its Xwayland display are the windows of
    the stories, and focus moves as a pager or a task bar moves it."""

    def __init__(self, tmpdir: Path | str | None = None, start_timeout: float = 30.0) -> None:
        super().__init__(tmpdir, start_timeout, session=True)
        self.windows: list[Window] = []

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def bus_address(self) -> str:
        if self.bus is None:
            raise TestbedError("KWin's session bus is not started")
        return self.bus.address

    def start(self) -> KWinSession:
        super().start()
        return self

    def xterm(self, title: str, wm_class: str, settable_title: bool = False,
              timeout: float = 20.0) -> Window:
        """An X11 window titled and classed like a browser window; wait until it is
        active (KWin gives a new window the focus)."""
        pipe = _title_pipe(self.dir, len(self.windows)) if settable_title else None
        inner = ["sh", "-c", _TITLE_SCRIPT, "sh", str(pipe)] if pipe else ["sleep", "600"]
        proc = subprocess.Popen(
            ["xterm", "-T", title, "-class", wm_class, "-e", *inner],
            env=_clean_env(HOME=str(self.dir), DISPLAY=self.x_display),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        window = Window(title, wm_class, proc, pipe)
        try:
            _wait_until(lambda: self._window_id(window) is not None, timeout,
                        f"the xterm {title!r}")
        except BaseException:
            window.close()
            raise
        self.windows.append(window)
        return window

    def _xdotool(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=10,
                              env=_clean_env(DISPLAY=self.x_display))

    def _window_id(self, window: Window) -> str | None:
        if window.proc.poll() is not None:
            raise TestbedError(f"xterm exited with {window.proc.returncode}")
        found = self._xdotool("search", "--pid", str(window.pid))
        ids = found.stdout.split()
        return ids[-1] if found.returncode == 0 and ids else None

    def focus(self, window: Window) -> float:
        """Ask KWin to activate ``window`` (as a pager or task bar does)."""
        wid = self._window_id(window)
        if wid is None:
            raise TestbedError(f"no X window for {window.title!r}")
        self._xdotool("windowactivate", wid)
        return time.time()

    def close_window(self, window: Window) -> None:
        window.close()
        if window in self.windows:
            self.windows.remove(window)

    def stop(self) -> None:
        for window in list(self.windows):
            self.close_window(window)
        super().stop()

    def __enter__(self) -> KWinSession:
        return self.start()

