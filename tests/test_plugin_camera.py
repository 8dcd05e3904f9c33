"""The camera filter: Sam joins a video call at 14:58, and the 15:00 stretch nudge
waits until the call ends at 15:20, then comes once.

The camera is a temporary file standing in for ``/dev/video0``; the call app is a real
process that opens it and names itself ``zoom`` (``/proc/PID/comm``). Everything else
is real: inotify, ``/proc``, nudged's engine, and in the last test ``nudged run`` with a
session bus and dunst.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from nudged_plugins.camera import CameraPlugin, watch
from nudged_plugins.camera.watch import CameraWatch, Inotify
from nudged_plugins.custom import CustomPlugin

from nudged.cli import main
from nudged.context import PluginContext
from nudged.desktop import Desktop
from nudged.engine import Engine
from nudged.plugins import PluginStatus
from nudged.preview import _Capture
from nudged.runtime import PluginSelection, Runtime, build_host
from nudged.scheduler import SimulatedScheduler
from tests.helpers import BERLIN, load, shown, simulate
from tests.test_daemon_desktop import desktop, nudge_call, posture_plugin
from tests.test_daemon_service import Nudged, run_nudged, write_config, write_plugin
from tests.testbed import DesktopStack

__all__ = ["desktop", "run_nudged"]  # fixtures, imported to be used here

#: A call app: names itself (PR_SET_NAME, as ps shows it), then opens and closes the
#: camera as its steps say (a number is a pause), then stays until it is stopped.
APP = """
import ctypes, sys, time
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
camera = None
for step in sys.argv[3:]:
    if step == "open":
        camera = open(sys.argv[2], "rb")
    elif step == "close":
        camera.close()
    else:
        time.sleep(float(step))
print("ready", flush=True)
time.sleep(600)
"""

App = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def app() -> Iterator[App]:
    """``app("zoom", camera, "open", ...)`` starts a call app; it is stopped at the end."""
    started: list[subprocess.Popen[str]] = []

    def start(name: str, camera: Path, *steps: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, "-c", APP, name, str(camera),
                                 *(steps or ("open",))],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
        assert proc.stdout is not None
        proc.stdout.close()


def end_call(proc: subprocess.Popen[str]) -> None:
    """The call ends: the app quits (the kernel closes the camera for it)."""
    proc.send_signal(signal.SIGTERM)
    proc.wait(5)


@pytest.fixture
def camera(tmp_path: Path) -> Path:
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "video0").touch()
    return dev / "video0"


class Log:
    """Stands in for ``ctx.log``: what the watch said, as (level, event, fields)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Callable[..., None]:
        return lambda event, **fields: self.lines.append((level, event, fields))

    def said(self, level: str) -> list[str]:
        return [event for lvl, event, _ in self.lines if lvl == level]


def run(story: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(story())


async def until(condition: Callable[[], object], what: str, timeout: float = 3.0) -> float:
    """Wait (in the test, not in nudged) for ``condition``; returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"waited {timeout:g}s for {what}", pytrace=False)
        await asyncio.sleep(0.02)
    return time.monotonic() - started


def watching(camera: Path, **kwargs: Any) -> tuple[CameraWatch, list[float], Log]:
    """A watch on ``camera``'s folder; its ``on_free`` notes the time of each call."""
    freed: list[float] = []
    log = Log()
    cam = CameraWatch(str(camera.parent / "video*"), log=log,
                      on_free=lambda: freed.append(time.monotonic()), **kwargs)
    return cam, freed, log


# --------------------------------------------------------------------------- the watch


def test_a_call_holds_the_camera_and_its_end_frees_it_within_a_second(
    camera: Path, app: App
) -> None:
    async def story() -> None:
        cam, freed, log = watching(camera)
        assert cam.start(asyncio.get_running_loop())
        assert (cam.users, cam.scans) == ((), 1)  # one look at who holds it, at start

        zoom = app("zoom", camera)
        await until(lambda: cam.users == ("zoom",), "zoom to be seen")
        assert ("info", "camera in use", {"apps": "zoom"}) in log.lines

        # A long call: nothing happens on the camera, so nudged does nothing either.
        scans = cam.scans
        await asyncio.sleep(1.5)
        assert cam.scans == scans, "the watch looked again without an event: it polls"

        end_call(zoom)
        ended = time.monotonic()
        await until(lambda: freed, "the camera to be free")
        assert freed[0] - ended < 1.0
        assert cam.users == ()
        assert log.said("info")[-1] == "camera free"

        # Released once; then quiet again.
        scans = cam.scans
        await asyncio.sleep(1.0)
        assert (len(freed), cam.scans) == (1, scans)
        cam.stop()

    run(story)


def test_a_burst_of_opens_and_closes_is_one_look_and_the_gaps_do_not_free_it(
    camera: Path, app: App
) -> None:
    async def story() -> None:
        cam, freed, _ = watching(camera)
        assert cam.start(asyncio.get_running_loop())
        # The app probes the camera five times in a row, then streams from it.
        app("zoom", camera, *["open", "close"] * 5, "open")
        await until(lambda: cam.users == ("zoom",), "zoom to be seen")
        await asyncio.sleep(0.5)
        assert cam.scans == 2  # at start, and once for the whole burst

        # Mid-call, zoom switches resolution: closed for 0.3 seconds, then open again.
        # The nudges it held must not slip out in that gap.
        cam.stop()
        cam, freed, _ = watching(camera)
        assert cam.start(asyncio.get_running_loop())
        app("zoom", camera, "open", "1.0", "close", "0.3", "open")
        await until(lambda: cam.users == ("zoom",), "zoom to be seen")
        await asyncio.sleep(2.0)  # past the reopening
        assert (cam.users, freed) == (("zoom",), [])
        cam.stop()

    run(story)


def test_an_app_already_in_a_call_when_nudged_starts_is_seen(camera: Path, app: App) -> None:
    zoom = app("zoom", camera)
    assert zoom.stdout is not None and zoom.stdout.readline() == "ready\n"

    async def story() -> None:
        cam, freed, _ = watching(camera)
        assert cam.start(asyncio.get_running_loop())
        assert cam.users == ("zoom",)
        end_call(zoom)
        await until(lambda: freed, "the camera to be free")
        cam.stop()

    run(story)


def test_pipewire_holding_the_camera_all_day_does_not_count(camera: Path, app: App) -> None:
    async def story() -> None:
        # On some desktops PipeWire keeps every camera open; by default it is ignored.
        cam, _, _ = watching(camera, ignore=["pipewire", "wireplumber"])
        assert cam.start(asyncio.get_running_loop())
        app("pipewire", camera)
        app("wireplumber", camera)
        await until(lambda: cam.scans >= 2, "a look after the opens")
        await asyncio.sleep(0.5)
        assert cam.users == ()

        # A call app next to it counts; and names are matched regardless of case.
        app("Zoom", camera)
        await until(lambda: cam.users == ("Zoom",), "Zoom to be seen")
        cam.stop()

        cam, _, _ = watching(camera, ignore=["ZOOM", "PipeWire"])
        assert cam.start(asyncio.get_running_loop())
        assert cam.users == ("wireplumber",)
        cam.stop()

    run(story)


def test_nudged_itself_holding_the_camera_does_not_count(camera: Path) -> None:
    async def story() -> None:
        cam, _, _ = watching(camera)
        assert cam.start(asyncio.get_running_loop())
        with camera.open("rb"):
            await until(lambda: cam.scans >= 2, "a look after the open")
            assert cam.users == ()
        cam.stop()

    run(story)


def test_a_camera_plugged_in_later_is_watched(tmp_path: Path, app: App) -> None:
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "tty0").touch()

    async def story() -> None:
        cam, freed, log = watching(dev / "video0")
        assert cam.start(asyncio.get_running_loop())
        assert log.said("info") == ["no camera yet; watching for one"]
        assert log.said("warning") == []

        (dev / "video0").touch()  # udev creates the node
        await until(lambda: cam.scans >= 2, "a look at the new camera")
        scans = cam.scans
        (dev / "tty1").touch()  # other devices come and go unnoticed
        await asyncio.sleep(0.5)
        assert cam.scans == scans

        zoom = app("zoom", dev / "video0")
        await until(lambda: cam.users == ("zoom",), "zoom to be seen on the new camera")
        end_call(zoom)
        await until(lambda: freed, "the camera to be free")
        cam.stop()

    run(story)


def test_no_camera_folder_or_no_inotify_is_said_once_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def story() -> None:
        cam, _, log = watching(tmp_path / "gone" / "video0")
        assert not cam.start(asyncio.get_running_loop())
        assert log.said("warning") == ["cannot watch for cameras in this folder"]
        assert cam.users == ()
        cam.stop()

        def no_inotify() -> Inotify:
            raise OSError(38, "Function not implemented")

        monkeypatch.setattr(watch, "Inotify", no_inotify)
        cam, _, log = watching(tmp_path / "video0")
        assert not cam.start(asyncio.get_running_loop())
        assert log.lines == [("warning", "cannot watch the camera: inotify is not available",
                              {"error": "Function not implemented"})]
        cam.stop()

    run(story)


def test_processes_that_cannot_be_read_are_passed_over(camera: Path, tmp_path: Path) -> None:
    # A /proc as the watch meets it: other users' processes cannot be read (here:
    # their fd folder is missing or not a folder), processes end while it reads,
    # descriptors are sockets and pipes, and one process does hold the camera.
    proc = tmp_path / "proc"
    target = os.path.realpath(camera)

    def process(pid: int, comm: str | None, fds: dict[str, str] | None) -> None:
        folder = proc / str(pid)
        folder.mkdir(parents=True)
        if comm is not None:
            (folder / "comm").write_text(comm + "\n")
        if fds is None:
            return
        (folder / "fd").mkdir()
        for fd, link in fds.items():
            (folder / "fd" / fd).symlink_to(link)

    process(100, "zoom", {"0": "/dev/null", "1": "socket:[123]", "7": target})
    process(101, "bash", None)  # ended: no fd folder any more
    process(102, None, {"3": target})  # its comm could not be read
    (proc / "103").mkdir()
    (proc / "103" / "fd").write_text("")  # not a folder
    process(104, "obs", {"3": target})  # nudged itself, in this test
    (proc / "self").symlink_to("104")
    (proc / "105" / "fd").mkdir(parents=True)
    (proc / "105" / "fd" / "4").write_text("")  # not a link

    async def story() -> None:
        cam, _, log = watching(camera, proc=str(proc), own_pid=104)
        assert cam.start(asyncio.get_running_loop())
        assert cam.users == ("process 102", "zoom")
        assert log.said("warning") == []
        cam.stop()

        cam, _, log = watching(camera, proc=str(tmp_path / "no-proc"))
        assert cam.start(asyncio.get_running_loop())
        assert cam.holders() == ()
        assert log.said("warning") == ["cannot list processes; camera use is not seen"]
        cam.stop()

    run(story)


# --------------------------------------------------------------------------- the plugin


def test_the_plugin_runs_only_when_asked_for() -> None:
    host, _ = build_host(load(""), {}, PluginSelection(objects={"camera": CameraPlugin()},
                                                       discover=False))
    record = host.records["camera"]
    assert record.status is PluginStatus.DISABLED
    assert "[plugins.camera]" in record.reason

    host, _ = build_host(load("[plugins.camera]\n"), {},
                         PluginSelection(objects={"camera": CameraPlugin()}, discover=False))
    record = host.records["camera"]
    assert record.active
    assert record.config.devices == "/dev/video*"
    assert record.config.ignore_apps == ("pipewire", "wireplumber")


@pytest.mark.parametrize(("line", "says"), [
    ('devices = "video*"', 'is not a full path to device nodes (like "/dev/video*")'),
    ('devices = "/dev/*/video0"', "only the last part of the path may have wildcards"),
    ('devices = "/dev/"', "is not a full path to device nodes"),
    ('ignore_apps = ["pipewire", " "]', "an app name cannot be empty"),
    ('ignore_apps = "pipewire"', 'put it in brackets: ignore_apps = ["pipewire"]'),
])
def test_config_mistakes_are_explained(
    line: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[plugins.camera]\n{line}\n")
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2" in err and "plugins.camera" in err and says in err


def context(config: Any, desktop: Desktop | None, rechecks: list[str]) -> PluginContext:
    return PluginContext(name="camera", config=config, tz=BERLIN, log=Log(),
                         _now=lambda: datetime(2026, 3, 2, 15, tzinfo=BERLIN),
                         desktop=desktop, _recheck=rechecks.append)


def test_the_plugin_watches_only_in_the_daemon_and_lets_go_when_stopped(
    camera: Path, app: App
) -> None:
    config = CameraPlugin().nudged_config_model()(devices=str(camera.parent / "video*"))

    async def story() -> None:
        loop = asyncio.get_running_loop()
        rechecks: list[str] = []
        # A preview or a simulation: no desktop, no watch, no opinion.
        plugin = CameraPlugin()
        await plugin.nudged_startup(context(config, None, rechecks))
        assert plugin.watch is None

        plugin = CameraPlugin()
        await plugin.nudged_startup(context(config, Desktop({}), rechecks))
        assert plugin.watch is not None
        fd = plugin.watch._inotify.fd if plugin.watch._inotify else -1
        zoom = app("zoom", camera)
        await until(lambda: plugin.watch is not None and plugin.watch.users, "zoom")
        end_call(zoom)
        await until(lambda: rechecks, "ctx.recheck()")
        assert rechecks == ["camera"]

        plugin.nudged_shutdown()
        assert plugin.watch is None
        assert not loop.remove_reader(fd)  # the reader was already gone
        with pytest.raises(OSError):
            os.fstat(fd)  # and the inotify descriptor closed

    run(story)


def test_a_preview_is_not_held_by_a_camera_in_use(camera: Path, app: App) -> None:
    zoom = app("zoom", camera)
    assert zoom.stdout is not None and zoom.stdout.readline() == "ready\n"
    items, runtime = simulate(f"""
        [plugins.camera]
        devices = "{camera.parent}/video*"

        [[plugins.custom.nudges]]
        id = "stretch"
        title = "Time to stretch"
        at = ["15:00"]
    """, present=["08:00-18:00"])
    assert shown(items) == [("Mon 15:00", "custom:stretch")]
    assert runtime.host.records["camera"].status is PluginStatus.OK


# --------------------------------------------------------------------------- with the engine


STRETCH = """
    [plugins.camera]
    devices = "{dev}/video*"

    [[plugins.custom.nudges]]
    id = "stretch"
    title = "Time to stretch"
    body = "Roll your shoulders back a few times."
    at = ["15:00"]
"""


def call_story(camera: Path, app: App, call_ends: str) -> tuple[_Capture, Engine]:
    """Sam's afternoon in nudged's real engine (simulated clock, real camera watch):
    the call starts at 14:58, the stretch nudge is due at 15:00, and the call ends
    at ``call_ends``."""
    scheduler = SimulatedScheduler(BERLIN, datetime(2026, 3, 2, 14, 50, tzinfo=BERLIN))
    capture = _Capture(scheduler, "done")
    plugin = CameraPlugin()
    runtime = Runtime(load(STRETCH.format(dev=camera.parent)), scheduler, capture, capture,
                      environ={}, desktop=Desktop({}),
                      selection=PluginSelection(discover=False, objects={
                          "camera": plugin, "custom": CustomPlugin()}))
    capture.runtime = runtime

    def at(hhmm: str) -> datetime:
        hour, minute = map(int, hhmm.split(":"))
        return datetime(2026, 3, 2, hour, minute, tzinfo=BERLIN)

    async def afternoon() -> None:
        await runtime.start()
        cam = plugin.watch
        assert cam is not None
        scheduler.run_until(at("14:58"))
        zoom = app("zoom", camera)
        await until(lambda: cam.users == ("zoom",), "zoom to be seen")

        scheduler.run_until(at("15:00"))
        [held] = runtime.engine.held()
        assert (held.by, held.reason) == ("camera", "the camera is in use by zoom")
        scheduler.run_until(at(call_ends))

        end_call(zoom)
        await until(lambda: not cam.users, "the camera to be free")
        await asyncio.sleep(0.5)  # anything more it would do
        await runtime.stop()
        assert plugin.watch is None

    asyncio.run(afternoon())
    return capture, runtime.engine


def test_the_stretch_nudge_waits_for_the_end_of_the_call_and_comes_once(
    camera: Path, app: App
) -> None:
    capture, engine = call_story(camera, app, "15:20")
    [item] = capture.items
    assert item.shown and item.nudge.key == "custom:stretch"
    assert item.at.strftime("%H:%M") == "15:20"
    assert item.why == ["15:00 held by camera: "
                        "the camera is in use by zoom"]
    assert engine.held() == []


def test_a_call_longer_than_the_nudge_stays_useful_drops_it(camera: Path, app: App) -> None:
    # The stretch nudge is stale 30 minutes after 15:00; the call ends at 15:45.
    capture, engine = call_story(camera, app, "15:45")
    [item] = capture.items
    assert not item.shown
    assert item.why[-1].startswith("15:30 suppressed by nudged: stale")
    assert engine.held() == []


# --------------------------------------------------------------------------- the daemon


@pytest.mark.desktop
def test_the_daemon_holds_a_nudge_during_a_call_and_shows_it_once_after(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged], camera: Path, app: App
) -> None:
    # Sam is in a call when the posture nudge comes due a second after nudged starts.
    zoom = app("zoom", camera)
    assert zoom.stdout is not None and zoom.stdout.readline() == "ready\n"
    env = desktop.env()
    write_plugin(env, "posture", posture_plugin(1.0))
    config = write_config(env, f"""
        [core]
        max_per_hour = 60

        [plugins.camera]
        devices = "{camera.parent}/video*"
    """)
    daemon = run_nudged(env, "--config", str(config))
    daemon.wait_event("camera in use", plugin="camera", apps="zoom")
    daemon.wait_event("nudge deferred", nudge="posture:check", by="camera",
                      reason="the camera is in use by zoom")
    time.sleep(1.0)
    asked = [c for c in desktop.monitor.notifies() if c.summary == "How are you sitting?"]
    assert asked == [] and daemon.shown() == []

    # The call ends: the nudge is on screen within a couple of seconds, once.
    since = desktop.monitor.mark()
    end_call(zoom)
    ended = time.monotonic()
    nudge_call(desktop, "How are you sitting?", since=since, timeout=5)
    assert time.monotonic() - ended < 3.0
    desktop.dunst.wait_count("displayed", 1)
    daemon.wait_event("camera free", plugin="camera")
    time.sleep(2.0)
    assert [c.summary for c in desktop.monitor.notifies(since)] == ["How are you sitting?"]
    assert [(r["plugin"], r["nudge_id"]) for r in daemon.shown()] == [("posture", "check")]
    assert daemon.alive() and "Traceback" not in daemon.log_text()
