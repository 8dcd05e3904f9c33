"""Focus on KDE Plasma: the KWin script nudged loads, and its activity source.

* The script without KWin: it names what the source exports, and in node against a
  fake KWin of each API (Plasma 6's ``windowActivated``/``activeWindow``, 5.27's
  ``clientActivated``/``activeClient`` with a QByteArray class) it makes the same
  calls: one per activation and per caption change of the active window, none for
  other windows.
* The real thing (TESTBEDS.md section 5): a headless KWin 5.27 with Xwayland on a
  private session bus; nudged's source loads the script over D-Bus, xterms titled
  like browser windows get the focus and change their caption, the reports arrive;
  the script is unloaded at stop; only KWin may report; KWin crashing fails the
  source. ``nudged run`` records the time per app and site in the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from nudged.activity import kwin
from nudged.activity.base import Capability, Focus, Health, Session, SessionType
from nudged.activity.kwin import (
    CALLBACK_INTERFACE,
    CALLBACK_NAME,
    CALLBACK_PATH,
    PLUGIN_NAME,
    KWinScriptSource,
    focus_from,
    script_path,
)
from nudged.activity.manager import KNOWN_SOURCES, choose, probe_all
from tests import testbed
from tests.test_daemon_service import NUDGED, Nudged, run_nudged, until, write_config
from tests.testbed import ActivityRecorder, SessionBus, require_dbus_daemon
from tests.testbed_gnome import KWinSession, require_kwin_session, require_node

__all__ = ["run_nudged"]  # a fixture, imported to be used here

desktop = pytest.mark.desktop

REDDIT = "Reddit - Dive into anything - Mozilla Firefox"
INSTAGRAM = "Instagram - Mozilla Firefox"
TERMINAL = "sam@desk: ~/notes"
REPORT_TIMEOUT = 10.0


def run(scenario: Callable[[], Any], timeout: float = 120.0) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(scenario(), timeout)
    return asyncio.run(bounded())


# --------------------------------------------------------------------------- the script


def test_the_script_names_what_the_source_exports_and_handles_both_plasmas() -> None:
    code = script_path().read_text()
    for name in (CALLBACK_NAME, CALLBACK_PATH, CALLBACK_INTERFACE):
        assert f'"{name}"' in code
    for api in ("workspace.windowActivated", "workspace.activeWindow",
                "workspace.clientActivated", "workspace.activeClient", "captionChanged",
                "callDBus("):
        assert api in code
    for forbidden in ("setTimeout", "setInterval", "Timer", "readConfig", "print(",
                      "console.", "windowList", "clientList", "stackingOrder"):
        assert forbidden not in code, f"{forbidden}: no polling, no logging, no other windows"
    metadata = json.loads((script_path().parents[2] / "metadata.json").read_text())
    assert metadata["KPlugin"]["Id"] == PLUGIN_NAME
    assert metadata["KPackageStructure"] == "KWin/Script"
    assert (script_path().parents[1] / metadata["X-Plasma-MainScript"]) == script_path()


def test_a_focus_from_the_script() -> None:
    assert focus_from([REDDIT, "firefox", "Navigator", "4242"]) == Focus(
        "firefox", REDDIT, pid=4242)
    assert focus_from([REDDIT, "firefox", "Navigator", "4242"], titles=False) == Focus(
        "firefox", pid=4242)
    # What callDBus makes of a QByteArray and a number, should a script send them.
    assert focus_from([REDDIT, b"firefox\0", "", 4242.0]) == Focus("firefox", REDDIT, pid=4242)
    assert focus_from(["Konsole", "", "konsole", "x"]) == Focus("konsole", "Konsole")
    assert focus_from(["", "", "", ""]) is None
    assert focus_from([]) is None


def test_the_manager_knows_the_script_s_source_first_for_focus() -> None:
    (candidate,) = [c for c in KNOWN_SOURCES
                    if not isinstance(c, str) and c.name == "kwin-script"]
    assert candidate.capabilities == {Capability.FOCUS, Capability.TITLE}
    assert KWinScriptSource.priority < 20


FAKE_KWIN = r"""
const fs = require('node:fs');
const [plasma, file] = process.argv.slice(2);
const calls = [];
class Signal {
    constructor() { this.slots = []; }
    connect(slot) { this.slots.push(slot); }
    disconnect(slot) {
        const i = this.slots.indexOf(slot);
        if (i < 0) throw new Error('not connected');
        this.slots.splice(i, 1);
    }
    emit(...args) { for (const slot of [...this.slots]) slot(...args); }
}
function window(caption, resourceClass, resourceName, pid) {
    // Plasma 5 hands the class (a QByteArray) to scripts as an ArrayBuffer.
    const klass = plasma === '5' ? new TextEncoder().encode(resourceClass).buffer
                                 : resourceClass;
    return { caption, resourceClass: klass, resourceName, pid,
             captionChanged: new Signal() };
}
const activated = new Signal();
const workspace = {};
const reddit = window('Reddit', 'firefox', 'Navigator', 11);
const term = window('sam@desk', 'konsole', 'konsole', 22);
if (plasma === '6') { workspace.windowActivated = activated; workspace.activeWindow = reddit; }
else { workspace.clientActivated = activated; workspace.activeClient = reddit; }
function callDBus(...args) { calls.push(args); }
new Function('workspace', 'callDBus', fs.readFileSync(file, 'utf8'))(workspace, callDBus);
const setCaption = (w, text) => { w.caption = text; w.captionChanged.emit(); };
setCaption(reddit, 'Instagram');
activated.emit(null);
activated.emit(term);
setCaption(reddit, 'YouTube');      // not the active window: nothing
setCaption(term, 'sam@desk: ~');
activated.emit(reddit);
calls.push(['connected', reddit.captionChanged.slots.length, term.captionChanged.slots.length]);
console.log(JSON.stringify(calls));
"""


def test_the_script_does_the_same_on_plasma_5_and_6(tmp_path: Path) -> None:
    node = require_node()
    harness = tmp_path / "fake-kwin.cjs"
    harness.write_text(FAKE_KWIN)
    seen = {}
    for plasma in ("5", "6"):
        proc = subprocess.run([node, str(harness), plasma, str(script_path())],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        seen[plasma] = json.loads(proc.stdout)
    assert seen["5"] == seen["6"]
    head = [CALLBACK_NAME, CALLBACK_PATH, CALLBACK_INTERFACE, "Focus"]
    assert seen["6"] == [
        [*head, "Reddit", "firefox", "Navigator", "11"],
        [*head, "Instagram", "firefox", "Navigator", "11"],
        [*head, "", "", "", ""],
        [*head, "sam@desk", "konsole", "konsole", "22"],
        [*head, "sam@desk: ~", "konsole", "konsole", "22"],
        [*head, "YouTube", "firefox", "Navigator", "11"],
        ["connected", 1, 0],
    ]


def test_the_script_parses(tmp_path: Path) -> None:
    node = require_node()
    proc = subprocess.run([node, "--check", str(script_path())], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------- no KWin


@desktop
def test_without_kwin_the_probe_says_so() -> None:
    require_dbus_daemon()

    async def scenario() -> None:
        with SessionBus() as bus:
            probe = await KWinScriptSource.probe(Session(
                SessionType.WAYLAND, "gnome", {"DBUS_SESSION_BUS_ADDRESS": bus.address}))
        assert not probe.ok and "not a KDE Plasma session" in probe.reason

    run(scenario)


# --------------------------------------------------------------------------- KWin


@pytest.fixture
def plasma() -> Iterator[KWinSession]:
    require_kwin_session()
    with KWinSession() as session:
        yield session


def kwin_session(kwin_: KWinSession) -> Session:
    return Session(SessionType.WAYLAND, "kde", kwin_.session_environ())


@contextlib.asynccontextmanager
async def running(kwin_: KWinSession, sink: ActivityRecorder
                  ) -> AsyncIterator[KWinScriptSource]:
    source = KWinScriptSource(kwin_session(kwin_), sink, timedelta(minutes=3))
    await source.start()
    try:
        yield source
    finally:
        await source.stop()


async def kwin_call(address: str, member: str, signature: str = "",
                    body: list[Any] | None = None) -> list[Any]:
    bus = await MessageBus(bus_address=address).connect()
    try:
        reply = await bus.call(Message(
            destination=kwin.KWIN, path="/Scripting", interface="org.kde.kwin.Scripting",
            member=member, signature=signature, body=body or []))
    finally:
        bus.disconnect()
    assert reply is not None and reply.message_type == MessageType.METHOD_RETURN, reply
    return list(reply.body)


def name_owner(address: str, name: str) -> str | None:
    return testbed._name_owner(address, name)


@desktop
def test_kwin_runs_the_script_and_every_activation_and_caption_change_arrives(
        plasma: KWinSession) -> None:
    reddit = plasma.xterm(REDDIT, "Firefox", settable_title=True)

    async def scenario() -> None:
        sink = ActivityRecorder()
        async with running(plasma, sink) as source:
            first = await sink.wait_for("focus", lambda f: f is not None,
                                        timeout=REPORT_TIMEOUT)
            # KWin gives the class in lower case (as X11's WM_CLASS instance would be).
            assert first.value == Focus("firefox", REDDIT, pid=reddit.pid)
            assert source.health is Health.RUNNING
            assert await kwin_call(plasma.bus_address, "isScriptLoaded", "s",
                                   [PLUGIN_NAME]) == [True]

            await asyncio.to_thread(reddit.set_title, INSTAGRAM)
            await sink.wait_for("focus", lambda f: f is not None and f.title == INSTAGRAM,
                                timeout=REPORT_TIMEOUT)
            terminal = await asyncio.to_thread(plasma.xterm, TERMINAL, "XTerm")
            await sink.wait_for("focus", lambda f: f is not None and f.title == TERMINAL,
                                timeout=REPORT_TIMEOUT)
            await asyncio.to_thread(plasma.focus, reddit)
            await sink.wait_for("focus", lambda f: f is not None and f.title == INSTAGRAM,
                                since=3, timeout=REPORT_TIMEOUT)
            await asyncio.sleep(0.3)
            assert [f for f in sink.values("focus") if f is not None] == [
                Focus("firefox", REDDIT, pid=reddit.pid),
                Focus("firefox", INSTAGRAM, pid=reddit.pid),
                Focus("xterm", TERMINAL, pid=terminal.pid),
                Focus("firefox", INSTAGRAM, pid=reddit.pid),
            ]
            assert None not in sink.values("focus")[1:], \
                "KWin's moment of no active window between two is not reported"
            assert sink.of("failed") == []

        # Stopped: the script is unloaded and the name given back.
        assert await kwin_call(plasma.bus_address, "isScriptLoaded", "s",
                               [PLUGIN_NAME]) == [False]
        assert name_owner(plasma.bus_address, CALLBACK_NAME) is None

    run(scenario)


@desktop
def test_only_kwin_may_report_and_a_script_left_behind_is_replaced(
        plasma: KWinSession) -> None:
    plasma.xterm(REDDIT, "Firefox")

    async def scenario() -> None:
        # A nudged that crashed left its script loaded.
        await kwin_call(plasma.bus_address, "loadScript", "ss", [str(script_path()),
                                                                  PLUGIN_NAME])
        sink = ActivityRecorder()
        async with running(plasma, sink):
            await sink.wait_for("focus", lambda f: f is not None, timeout=REPORT_TIMEOUT)
            intruder = await MessageBus(bus_address=plasma.bus_address).connect()
            try:
                reply = await intruder.call(Message(
                    destination=CALLBACK_NAME, path=CALLBACK_PATH,
                    interface=CALLBACK_INTERFACE, member="Focus", signature="ssss",
                    body=["Totally work", "libreoffice", "", "1"]))
            finally:
                intruder.disconnect()
            assert reply is not None and reply.error_name == \
                "org.freedesktop.DBus.Error.AccessDenied"
            await asyncio.sleep(0.3)
            assert all(f is None or f.app == "firefox" for f in sink.values("focus"))

    run(scenario)


@desktop
def test_kwin_crashing_fails_the_source_without_a_crash(plasma: KWinSession) -> None:
    plasma.xterm(REDDIT, "Firefox")

    async def scenario() -> None:
        sink = ActivityRecorder()
        async with running(plasma, sink) as source:
            await sink.wait_for("focus", lambda f: f is not None, timeout=REPORT_TIMEOUT)
            await asyncio.to_thread(plasma.kill)
            failed = await sink.wait_for("failed", timeout=REPORT_TIMEOUT)
            assert "KWin left the session bus" in failed.value
            assert source.health is Health.FAILED
        probe = await KWinScriptSource.probe(kwin_session(plasma))
        assert not probe.ok and "no KWin" in probe.reason

    run(scenario)


@desktop
def test_on_kde_wayland_the_manager_picks_the_script_for_focus(plasma: KWinSession) -> None:
    async def scenario() -> None:
        choices = choose(await probe_all(kwin_session(plasma)))
        assert choices[Capability.FOCUS].source == "kwin-script"
        assert choices[Capability.TITLE].source == "kwin-script"
        assert choices[Capability.IDLE].source == "wayland-idle"

    run(scenario)


DESKTOP_CONFIG = """
    [core]
    idle_after = "30m"

    [plugins.social_media]
"""


@desktop
def test_nudged_run_on_kde_records_the_time_per_app_and_site(
        plasma: KWinSession, run_nudged: Callable[..., Nudged], tmp_path: Path) -> None:
    home = tmp_path / "home"
    env: dict[str, str] = {**testbed._clean_env(), **plasma.session_environ(),
                           "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
                           "XDG_STATE_HOME": str(home / "state"),
                           "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/no-system-bus",
                           "NUDGED_AW_URL": f"http://127.0.0.1:{testbed.free_tcp_port()}"}
    others = sorted({ep.name for ep in entry_points(group="nudged")} - {"social_media"})
    env["NUDGED_DISABLE_PLUGINS"] = ",".join(others)
    path = write_config(env, textwrap.dedent(DESKTOP_CONFIG))

    reddit = plasma.xterm(REDDIT, "Firefox", settable_title=True)
    daemon = run_nudged(env, "--config", str(path))
    chosen = daemon.wait_event("activity sources chosen", timeout=30)
    start = time.time()
    assert (chosen["focus"], chosen["title"]) == ("kwin-script", "kwin-script"), chosen
    until(lambda: name_owner(plasma.bus_address, CALLBACK_NAME), 10, "nudged's KWin name",
          daemon.diagnostics)

    def at(offset: float) -> None:
        time.sleep(max(0.0, start + offset - time.time()))

    # (The ledger's figures are in tenths of a minute: the stretches are long enough.)
    at(12)
    reddit.set_title("Lo-fi beats to relax to - YouTube - Mozilla Firefox")
    at(24)
    terminal = plasma.xterm(TERMINAL, "XTerm")
    at(36)
    plasma.focus(reddit)
    at(42)
    code, _took = daemon.terminate(within=5.0)
    assert code == 0, daemon.diagnostics()
    assert "Traceback" not in daemon.log_text()
    assert terminal.pid > 0
    # nudged unloaded its script on the way out.
    assert run(lambda: kwin_call(plasma.bus_address, "isScriptLoaded", "s",
                                 [PLUGIN_NAME])) == [False]

    day = usage(env)
    seconds = {app: minutes * 60 for app, minutes in day["by_app"].items()}
    sites = {site: minutes * 60 for site, minutes in day["by_site"].items()}
    assert 24 <= seconds.get("firefox", 0) <= 36, day
    assert 6 <= seconds.get("xterm", 0) <= 18, day
    assert 6 <= sites.get("reddit.com", 0) <= 18, day
    assert 12 <= sites.get("youtube.com", 0) <= 24, day
    state = Path(env["XDG_STATE_HOME"])
    for title in ("Dive into anything", "Lo-fi beats"):
        assert not any(title.encode() in p.read_bytes() for p in state.rglob("*")
                       if p.is_file()), "titles never reach the disk"


def usage(env: Mapping[str, str]) -> dict[str, Any]:
    proc = subprocess.run([*NUDGED, "usage", "--json"], env=dict(env), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))
