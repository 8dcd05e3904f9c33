"""nudged as a systemd user service: the real ``nudged run`` in a child process.

systemd is not running here, so the tests play its part: they install the unit with
``nudged service install``, lint it with ``systemd-analyze --user verify``, start its
``ExecStart`` command line with ``NOTIFY_SOCKET`` pointing at a socket of ours, read the
sd_notify datagrams systemd would read, and send the signals ``systemctl reload`` and
``systemctl stop`` send. The daemon stores what it shows in a real SQLite file.

This module also holds the small runner (:class:`Nudged`) that
``tests/test_daemon_desktop.py`` uses.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests import testbed
from tests.testbed import DesktopStack, NotifySocket

REPO = Path(__file__).resolve().parent.parent
_BESIDE = Path(sys.executable).parent / "nudged"
#: how this environment's nudged is started (the console script beside this Python)
NUDGED: list[str] = [str(_BESIDE)] if _BESIDE.exists() else [sys.executable, "-m", "nudged"]

# Anything that would let a child reach a real desktop, systemd, or a user's settings.
_NOT_INHERITED = (
    "DISPLAY",
    "DBUS_SESSION_BUS_ADDRESS",
    *testbed._FOREIGN_DESKTOP_VARS,
)

desktop_stack = testbed.desktop_stack
notify_socket = testbed.notify_socket
T = TypeVar("T")


# --------------------------------------------------------------------------- helpers


def logfmt(line: str) -> dict[str, str]:
    """One key=value log line of the daemon (structlog's logfmt) as a dict."""
    fields = {}
    for key, raw in re.findall(r'([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)', line):
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), raw[1:-1])
        fields[key] = raw
    return fields


def until(condition: Callable[[], T | None], timeout: float, what: str,
          diagnostics: Callable[[], str] = lambda: "") -> T:
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"waited {timeout:g}s for {what}\n{diagnostics()}", pytrace=False)
        time.sleep(0.05)


def private_env(home: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment with no desktop at all and a fresh home under ``home``."""
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items()
           if k not in _NOT_INHERITED and not k.startswith("NUDGED_")}
    runtime = home / "runtime"
    runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_RUNTIME_DIR=str(runtime),
    )
    return env


def write_config(env: Mapping[str, str], text: str) -> Path:
    """Write ``$XDG_CONFIG_HOME/nudged/config.toml`` (the default place)."""
    path = Path(env["XDG_CONFIG_HOME"]) / "nudged" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def write_plugin(env: Mapping[str, str], name: str, code: str) -> Path:
    """A single-file plugin in ``$XDG_CONFIG_HOME/nudged/plugins/``."""
    path = Path(env["XDG_CONFIG_HOME"]) / "nudged" / "plugins" / f"{name}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return path


def nudged_cli(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NUDGED, *args], env=dict(env), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


class Nudged:
    """``nudged run`` as a child process; stdout (the terminal) and stderr (the log,
    key=value lines since it is not a tty) go to files that tests read at any time."""

    def __init__(self, env: Mapping[str, str], args: list[str], workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.out_path = workdir / "stdout.txt"
        self.log_path = workdir / "stderr.log"
        self.state_dir = Path(env["XDG_STATE_HOME"]) / "nudged"
        self.argv = args
        with open(self.out_path, "wb") as out, open(self.log_path, "wb") as err:
            self.proc = subprocess.Popen(args, env=dict(env), stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err, cwd=workdir)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    # -- what it said
    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log(self) -> list[dict[str, str]]:
        """Every complete log line so far, parsed."""
        text = self.log_text()
        return [logfmt(line) for line in text[: text.rfind("\n") + 1].splitlines()
                if line.startswith("event=")]

    def events(self, event: str, **fields: str) -> list[dict[str, str]]:
        return [e for e in self.log() if e.get("event") == event
                and all(e.get(k) == v for k, v in fields.items())]

    def diagnostics(self) -> str:
        state = "running" if self.alive() else f"exited with {self.proc.returncode}"
        return (f"nudged ({state}) log:\n{self.log_text()[-4000:]}\n"
                f"stdout:\n{self.stdout()[-2000:]}")

    def wait_event(self, event: str, timeout: float = 10.0, since: int = 0,
                   **fields: str) -> dict[str, str]:
        """The first log entry (from the ``since``-th match on) with this event and fields."""
        def found() -> dict[str, str] | None:
            matches = self.events(event, **fields)[since:]
            if matches:
                return matches[0]
            if not self.alive():
                pytest.fail(f"nudged exited while we waited for {event!r}\n"
                            f"{self.diagnostics()}", pytrace=False)
            return None

        return until(found, timeout, f"log event {event!r} {fields}", self.diagnostics)

    def wait_stdout(self, text: str, timeout: float = 10.0) -> None:
        until(lambda: text in self.stdout(), timeout, f"{text!r} on nudged's stdout",
              self.diagnostics)

    # -- what it stored
    def shown(self, db: str = "nudged.db") -> list[dict[str, Any]]:
        """Rows of the ``shown`` table, oldest first ([] before the file exists)."""
        path = self.state_dir / db
        if not path.exists():
            return []
        conn = sqlite3.connect(path, timeout=5)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute("SELECT * FROM shown ORDER BY id")]
        except sqlite3.OperationalError:  # not created yet
            return []
        finally:
            conn.close()

    def wait_shown(self, predicate: Callable[[list[dict[str, Any]]], bool],
                   timeout: float = 10.0, what: str = "a row in the store") -> list[dict[str, Any]]:
        def check() -> list[dict[str, Any]] | None:
            rows = self.shown()
            return rows if predicate(rows) else None

        return until(check, timeout, what, lambda: f"rows: {self.shown()}\n{self.diagnostics()}")

    # -- signals
    def send(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def terminate(self, within: float = 2.0) -> tuple[int, float]:
        """SIGTERM, as ``systemctl stop`` sends; returns (exit code, seconds it took)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(within)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"nudged did not exit within {within:g}s of SIGTERM\n"
                        f"{self.diagnostics()}", pytrace=False)
        return code, time.monotonic() - started

    def kill(self) -> None:
        """Cleanup: SIGTERM by PID, SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def run_nudged(tmp_path: Path) -> Iterator[Callable[..., Nudged]]:
    """``run_nudged(env, "--config", path)`` starts ``nudged run``; every daemon started
    is stopped when the test ends, whatever happened. ``command=[...]`` replaces the
    whole command line (an ExecStart)."""
    started: list[Nudged] = []

    def start(env: Mapping[str, str], *args: str, command: list[str] | None = None) -> Nudged:
        argv = command if command is not None else [*NUDGED, "run", *args]
        daemon = Nudged(env, argv, tmp_path / f"nudged-{len(started) + 1}")
        started.append(daemon)
        return daemon

    try:
        yield start
    finally:
        for daemon in started:
            daemon.kill()


def require_systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        reason = "systemd-analyze missing (apt-get install -y systemd)"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    return found


def systemd_verify(unit: Path, runtime_dir: Path) -> str:
    """``systemd-analyze --user verify``: everything it says (it exits 0 on warnings)."""
    runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime_dir)}
    proc = subprocess.run([require_systemd_analyze(), "--user", "verify", str(unit)],
                          env=env, capture_output=True, text=True, timeout=60)
    return (proc.stdout + proc.stderr + ("" if proc.returncode == 0 else
                                         f"(exit code {proc.returncode})")).strip()


def unit_values(text: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"{key}=")]


# --------------------------------------------------------------------------- the unit


def test_service_install_writes_a_unit_that_systemd_accepts(tmp_path: Path) -> None:
    # Sam runs `nudged service install` from the virtualenv nudged lives in.
    env = private_env(tmp_path / "home")
    first = nudged_cli(env, "service", "install")
    assert first.returncode == 0, first.stderr
    unit = Path(env["XDG_CONFIG_HOME"]) / "systemd" / "user" / "nudged.service"
    assert str(unit) in first.stdout
    assert "systemctl --user daemon-reload && systemctl --user enable --now nudged" \
        in first.stdout
    text = unit.read_text()

    # systemd runs exactly this installation of nudged, by absolute path: a user
    # manager's PATH knows nothing of virtualenvs.
    [exec_start] = unit_values(text, "ExecStart")
    argv = shlex.split(exec_start)
    assert argv == [*NUDGED, "run"]
    assert Path(argv[0]).is_absolute() and os.access(argv[0], os.X_OK)
    # Everything else is the unit shipped in the repository.
    template = (REPO / "systemd" / "nudged.service").read_text()
    assert [line for line in text.splitlines() if not line.startswith("ExecStart=")] == \
        [line for line in template.splitlines() if not line.startswith("ExecStart=")]
    assert unit_values(text, "Type") == ["notify"]
    assert unit_values(text, "ExecReload") == ["/bin/kill -HUP $MAINPID"]
    assert "graphical-session.target" in unit_values(text, "PartOf")

    # systemd's own linter has nothing to say about either file.
    assert systemd_verify(REPO / "systemd" / "nudged.service", tmp_path / "run1") == ""
    assert systemd_verify(unit, tmp_path / "run2") == ""

    # Sam edited the installed unit by hand; installing again does not destroy that.
    edited = text + "# Sam: Environment=NUDGED_CORE__SNOOZE=15m\n"
    unit.write_text(edited)
    again = nudged_cli(env, "service", "install")
    assert again.returncode == 1
    assert "already exists" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.stderr
    assert unit.read_text() == edited
    forced = nudged_cli(env, "service", "install", "--force")
    assert forced.returncode == 0, forced.stderr
    assert unit.read_text() == text


def test_systemd_verify_would_notice_a_broken_unit(tmp_path: Path) -> None:
    # The lint above can fail: a unit whose binary is gone or whose type is misspelt.
    broken = tmp_path / "nudged.service"
    template = (REPO / "systemd" / "nudged.service").read_text()
    broken.write_text(template.replace("Type=notify", "Type=notifi").replace(
        unit_values(template, "ExecStart")[0], f"{tmp_path}/gone/nudged run"))
    said = systemd_verify(broken, tmp_path / "run")
    assert "notifi" in said and "gone/nudged" in said


# --------------------------------------------------------------------------- lifecycle

SLOW_START = '''
    """Takes half a second to start (it opens something slow), then notes it is done."""
    import asyncio
    from pathlib import Path

    async def nudged_startup(ctx):
        await asyncio.sleep(0.5)
        Path(__file__).with_name("slow-started").write_text("yes")
'''


def test_systemd_hears_ready_reload_and_stop(
    tmp_path: Path, notify_socket: NotifySocket, run_nudged: Callable[..., Nudged]
) -> None:
    # Sam installed the unit; systemd starts its ExecStart with NOTIFY_SOCKET set.
    env = private_env(tmp_path / "home")
    assert nudged_cli(env, "service", "install").returncode == 0
    unit = Path(env["XDG_CONFIG_HOME"]) / "systemd" / "user" / "nudged.service"
    [exec_start] = unit_values(unit.read_text(), "ExecStart")
    write_config(env, """
        [core]
        max_per_hour = 60

        [[plugins.custom.nudges]]
        id = "walk"
        title = "A short walk?"
        body = "Ten minutes outside, daylight helps."
        every = "30s"
    """)
    marker = write_plugin(env, "slow", SLOW_START).with_name("slow-started")
    daemon = run_nudged({**env, **notify_socket.env()}, command=shlex.split(exec_start))

    # READY=1 only once the plugins have started, from the main process
    # (NotifyAccess=main), with a status line `systemctl status` shows.
    ready = notify_socket.wait_for("READY=1", timeout=15)
    assert marker.exists(), "READY=1 was sent before the plugins had started"
    assert ready.pid == daemon.pid
    status = dict(line.split("=", 1) for line in ready.text.splitlines())["STATUS"]
    plugins = daemon.wait_event("nudged is running")["plugins"].split(", ")
    assert {"custom=ok", "slow=ok"} <= set(plugins)
    ok = sum(p.endswith("=ok") for p in plugins)
    assert re.fullmatch(rf"{ok} plugins? ok; next: custom:walk at \d\d:\d\d", status), status

    # `systemctl reload nudged` (ExecReload sends SIGHUP): RELOADING=1 with the
    # monotonic time systemd >= 253 asks for, then READY=1 again.
    mark = len(notify_socket.datagrams())
    before = time.clock_gettime(time.CLOCK_MONOTONIC)
    daemon.send(signal.SIGHUP)
    reloading = notify_socket.wait_for("RELOADING=1", timeout=10, since=mark)
    fields = dict(line.split("=", 1) for line in reloading.text.splitlines())
    assert before <= int(fields["MONOTONIC_USEC"]) / 1e6 <= time.clock_gettime(
        time.CLOCK_MONOTONIC)
    after_reload = notify_socket.datagrams()[mark:]
    ready_again = notify_socket.wait_for("READY=1", timeout=10,
                                         since=mark + after_reload.index(reloading) + 1)
    assert ready_again.pid == daemon.pid
    daemon.wait_event("config reloaded")
    assert daemon.alive()

    # `systemctl stop nudged`: STOPPING=1 and a clean exit within two seconds.
    mark = len(notify_socket.datagrams())
    code, took = daemon.terminate(within=2.0)
    assert code == 0, daemon.diagnostics()
    assert took < 2.0
    notify_socket.wait_for("STOPPING=1", timeout=1, since=mark)
    texts = notify_socket.messages()
    assert texts.index(next(t for t in texts if "STOPPING=1" in t)) >= mark
    assert [t for t in texts if "READY=1" in t][-1] == ready_again.text
    assert "Traceback" not in daemon.log_text()


# --------------------------------------------------------------------------- reloading

STRETCH = """
    [core]
    max_per_hour = 60
    snooze = "5s"
    notification_timeout = "4s"  # so that the next stretch, 5 s later, is shown anew

    [[plugins.custom.nudges]]
    id = "stretch"
    title = "Time to stretch"
    body = "Roll your shoulders back a few times."
    every = "5s"
"""


def _nudges(stack: DesktopStack, title: str, since: int = 0) -> list[testbed.NotifyCall]:
    return [c for c in stack.monitor.notifies(since) if c.app_name == "nudged"
            and c.summary == title and c.id is not None]


@pytest.mark.desktop
@pytest.mark.parametrize(
    ("mistake", "edit"),
    [
        ("a misspelt duration", lambda text: text.replace('every = "5s"', 'every = "5 minuts"')),
        ("a TOML syntax error", lambda text: text.replace("[core]", "[core")),
    ],
    ids=["duration-typo", "toml-syntax"],
)
def test_a_broken_config_on_reload_is_refused_and_nudges_go_on(
    mistake: str, edit: Callable[[str], str], desktop_stack: DesktopStack,
    notify_socket: NotifySocket, run_nudged: Callable[..., Nudged],
) -> None:
    stack = desktop_stack
    env = stack.env()
    config = write_config(env, STRETCH)
    daemon = run_nudged({**env, **notify_socket.env()}, "--config", str(config))
    notify_socket.wait_for("READY=1", timeout=15)
    stack.monitor.wait_for(lambda c: c.summary == "Time to stretch", timeout=10)

    # Sam edits the config, makes a mistake, and runs `systemctl --user reload nudged`.
    config.write_text(edit(config.read_text()))
    check = nudged_cli(env, "config", "check", str(config))
    assert check.returncode == 2
    [sentence] = check.stderr.strip().splitlines()
    assert sentence.startswith(f"{config}:"), sentence
    mark = len(notify_socket.datagrams())
    since = stack.monitor.mark()
    daemon.send(signal.SIGHUP)

    # The reload is refused with the very sentence `nudged config check` prints ...
    rejected = daemon.wait_event("new config rejected; keeping the previous one")
    assert rejected["problem"] == sentence, mistake
    assert rejected["level"] == "error"
    assert not daemon.events("config reloaded")
    # ... systemd hears the reload end (READY=1 after RELOADING=1) ...
    reloading = notify_socket.wait_for("RELOADING=1", timeout=5, since=mark)
    notify_socket.wait_for(
        "READY=1", timeout=5, since=notify_socket.datagrams().index(reloading) + 1)
    # ... Sam is told on the desktop, in the same words ...
    notice = stack.monitor.wait_for(
        lambda c: c.summary == "nudged kept its previous settings", timeout=5, since=since)
    assert sentence in notice.body
    # ... and the old config keeps nudging: the next stretch arrives at dunst.
    later = stack.monitor.wait_for(lambda c: c.summary == "Time to stretch",
                                   timeout=10, since=since)
    assert later.id is not None
    assert daemon.alive()
    assert daemon.wait_shown(lambda rows: len(rows) >= 2)[-1]["nudge_id"] == "stretch"


@pytest.mark.desktop
def test_a_changed_config_on_reload_swaps_the_nudges(
    desktop_stack: DesktopStack, notify_socket: NotifySocket,
    run_nudged: Callable[..., Nudged],
) -> None:
    stack = desktop_stack
    env = stack.env()
    config = write_config(env, STRETCH)
    daemon = run_nudged({**env, **notify_socket.env()}, "--config", str(config))
    notify_socket.wait_for("READY=1", timeout=15)
    stack.monitor.wait_for(lambda c: c.summary == "Time to stretch", timeout=10)

    # Sam swaps stretching for water and reloads.
    config.write_text(STRETCH.replace('id = "stretch"', 'id = "water"')
                      .replace("Time to stretch", "A glass of water?")
                      .replace("Roll your shoulders back a few times.", "A few sips now."))
    assert nudged_cli(env, "config", "check", str(config)).returncode == 0
    mark = len(notify_socket.datagrams())
    daemon.send(signal.SIGHUP)
    notify_socket.wait_for("READY=1", timeout=10, since=mark)
    reloaded = daemon.wait_event("config reloaded")
    assert "custom=ok" in reloaded["plugins"].split(", ")
    since = stack.monitor.mark()
    swapped_at = time.monotonic()

    water = stack.monitor.wait_for(lambda c: c.summary == "A glass of water?",
                                   timeout=10, since=since)
    assert water.body == "A few sips now."
    # Give stretch more than a whole interval to show up again: it does not.
    time.sleep(max(0.0, swapped_at + 6.5 - time.monotonic()))
    assert _nudges(stack, "Time to stretch", since) == []
    assert len(_nudges(stack, "A glass of water?", since)) >= 1
    # In the store: stretches up to the reload, water after it.
    ids = [r["nudge_id"] for r in daemon.shown()]
    assert ids[0] == "stretch" and "water" in ids
    assert set(ids[ids.index("water"):]) == {"water"}
