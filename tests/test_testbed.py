"""The test harness itself, against the real thing: Xvfb, dbus-daemon, dunst, sd_notify.

desktop-notifier runs in-process on its own asyncio loop; blocking harness calls go
through ``asyncio.to_thread`` so that the loop keeps dispatching D-Bus signals.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

import pytest

from tests import testbed
from tests.testbed import DesktopStack, NotifySocket

# The fixtures, as the lead's conftest.py will expose them.
desktop_stack = testbed.desktop_stack
notify_socket = testbed.notify_socket

desktop = pytest.mark.desktop

TITLE = "Time to move"
BODY = 'Stand up "now"\nand stretch — 2 min [really]'


def _notifier(app_name: str = "nudged-test") -> Any:
    from desktop_notifier import DesktopNotifier

    return DesktopNotifier(app_name=app_name)


async def _disconnect(notifier: Any) -> None:
    """Close desktop-notifier's bus connection (it has no public API for that)."""
    bus = getattr(getattr(notifier, "_backend", None), "bus", None)
    if bus is not None and getattr(bus, "connected", False):
        bus.disconnect()
        await asyncio.wait_for(bus.wait_for_disconnect(), 5)


def _recorder(
    loop: asyncio.AbstractEventLoop,
) -> tuple[dict[str, asyncio.Future[None]], Callable[[str], Callable[[], None]]]:
    futures: dict[str, asyncio.Future[None]] = {}

    def make(name: str) -> Callable[[], None]:
        futures[name] = loop.create_future()

        def fire() -> None:
            if not futures[name].done():
                futures[name].set_result(None)

        return fire

    return futures, make


# --------------------------------------------------------------------------- desktop


@desktop
def test_button_press_and_dunst_restart(
    desktop_stack: DesktopStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = desktop_stack
    dunst, monitor = stack.dunst, stack.monitor
    stack.apply_env(monkeypatch)

    async def scenario() -> None:
        from desktop_notifier import Button

        loop = asyncio.get_running_loop()
        pressed, on = _recorder(loop)
        first = _notifier()
        await first.send(
            TITLE,
            BODY,
            buttons=[Button("Done", on("done")), Button("Snooze", on("snooze"))],
            on_dispatched=on("dispatched"),
        )
        await asyncio.wait_for(pressed["dispatched"], 5)

        call = await asyncio.to_thread(monitor.wait_for, lambda c: c.summary == TITLE)
        assert call.app_name == "nudged-test"
        assert call.body == BODY  # quotes, newline, non-ASCII survive the monitor
        assert call.labels == ["Done", "Snooze"]
        assert call.id is not None and call.error is None
        assert call.urgency == 1
        await asyncio.to_thread(dunst.wait_count, "displayed", 1)

        signal = await asyncio.to_thread(stack.press, "Snooze")
        assert signal.args == (call.id, call.action_key("Snooze"))
        await asyncio.wait_for(pressed["snooze"], 5)
        assert not pressed["done"].done()
        assert "#Snooze (Time to move)" in dunst.last_menu()

        # dunst goes away and comes back: a new client must reach the new server.
        old_owner = dunst.owner
        new_owner = await asyncio.to_thread(dunst.restart)
        assert new_owner != old_owner
        assert dunst.count("displayed") == 0  # the new dunst starts empty

        def owner_change(old: str | None, new: str | None) -> Callable[[Any], bool]:
            return lambda m: m.args == (testbed.NOTIFICATIONS, old or "", new or "")

        await asyncio.to_thread(
            monitor.wait_signal, "NameOwnerChanged", owner_change(old_owner, "")
        )
        await asyncio.to_thread(
            monitor.wait_signal, "NameOwnerChanged", owner_change("", new_owner)
        )

        second = _notifier("nudged-test-2")
        since = monitor.mark()
        await second.send("Drink water", "A glass now", buttons=[Button("Done", on("done2"))])
        call2 = await asyncio.to_thread(
            monitor.wait_for, lambda c: c.summary == "Drink water", 5.0, since
        )
        assert call2.app_name == "nudged-test-2"
        assert call2.id is not None and call2.error is None
        await asyncio.to_thread(dunst.wait_count, "displayed", 1)
        await asyncio.to_thread(stack.press, "Done")
        await asyncio.wait_for(pressed["done2"], 5)

        # The first notifier (cached bus + proxy) also keeps working after the restart.
        await first.send("Still here", "old client", buttons=[Button("Done", on("done3"))])
        await asyncio.to_thread(monitor.wait_for, lambda c: c.summary == "Still here")
        await asyncio.to_thread(stack.press, "Done")
        await asyncio.wait_for(pressed["done3"], 5)

        await _disconnect(first)
        await _disconnect(second)

    asyncio.run(scenario())
    assert monitor.errors == []


@desktop
def test_close_and_history(desktop_stack: DesktopStack, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = desktop_stack
    stack.apply_env(monkeypatch)

    async def scenario() -> None:
        notifier = _notifier()
        identifier = await notifier.send("Look away", "20 seconds at something far")
        call = await asyncio.to_thread(stack.monitor.wait_for, lambda c: c.summary == "Look away")
        await notifier.clear(identifier)
        closed = await asyncio.to_thread(stack.monitor.wait_close_call)
        assert closed == call.id
        await asyncio.to_thread(
            stack.monitor.wait_signal,
            "NotificationClosed",
            lambda m: m.args == (call.id, 3),  # 3: closed by CloseNotification
        )
        await _disconnect(notifier)

    asyncio.run(scenario())
    stack.dunst.wait_count("displayed", 0)
    history = stack.dunst.history()
    assert [(h["appname"], h["summary"], h["body"]) for h in history] == [
        ("nudged-test", "Look away", "20 seconds at something far")
    ]


@desktop
def test_press_reports_missing_label(
    desktop_stack: DesktopStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = desktop_stack
    stack.apply_env(monkeypatch)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        pressed, on = _recorder(loop)
        notifier = _notifier()
        await notifier.send("Plain", "no buttons", on_clicked=on("clicked"))
        await asyncio.to_thread(stack.monitor.wait_for, lambda c: c.summary == "Plain")
        with pytest.raises(LookupError, match="Snooze"):
            await asyncio.to_thread(stack.dunst.press, "Snooze")
        assert "# (Plain)" in stack.dunst.last_menu()
        # label "" is the default action, i.e. a click on the notification
        signal = await asyncio.to_thread(stack.press, "")
        assert signal.args[1] == "default"
        await asyncio.wait_for(pressed["clicked"], 5)
        await _disconnect(notifier)

    asyncio.run(scenario())


@desktop
def test_killed_dunst_is_not_auto_activated(
    desktop_stack: DesktopStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = desktop_stack
    config = ElementTree.parse(stack.bus.config_path).getroot()
    assert config.findtext("type") == "session"
    assert config.find("standard_session_servicedirs") is None
    assert config.find("servicedir") is None
    stack.apply_env(monkeypatch)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        dispatched, on = _recorder(loop)
        notifier = _notifier()
        await notifier.send("Before", "b", on_dispatched=on("before"))
        await asyncio.wait_for(dispatched["before"], 5)
        await asyncio.to_thread(stack.dunst.kill)

        # desktop-notifier 6.2 does not raise: it logs a warning, returns an id and
        # skips on_dispatched. The bus answers ServiceUnknown; nothing is activated.
        await notifier.send("Nobody home", "b", on_dispatched=on("down"))
        call = await asyncio.to_thread(stack.monitor.wait_for, lambda c: c.summary == "Nobody home")
        assert call.id is None
        assert call.error == "org.freedesktop.DBus.Error.ServiceUnknown"
        assert not dispatched["down"].done()
        assert not stack.bus.has_owner(testbed.NOTIFICATIONS)

        await asyncio.to_thread(stack.dunst.start)
        await notifier.send("Back", "b", on_dispatched=on("back"))
        await asyncio.wait_for(dispatched["back"], 5)
        back = await asyncio.to_thread(stack.monitor.wait_for, lambda c: c.summary == "Back")
        assert back.id is not None
        await _disconnect(notifier)

    asyncio.run(scenario())


@desktop
def test_env_points_only_at_the_stack(
    desktop_stack: DesktopStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setenv("NOTIFY_SOCKET", "/run/foo")
    env = desktop_stack.env()
    assert env["DISPLAY"] == desktop_stack.xvfb.display
    assert env["DISPLAY"].startswith(":")
    assert env["DBUS_SESSION_BUS_ADDRESS"] == desktop_stack.bus.address
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"):
        assert env[name].startswith(str(desktop_stack.tmp)), name
        assert os.path.isdir(env[name]), name
    assert "WAYLAND_DISPLAY" not in env and "NOTIFY_SOCKET" not in env
    # a child process on that environment reaches the X server and the bus
    xdpyinfo = testbed.shutil.which("xdpyinfo")
    if xdpyinfo:
        subprocess.run([xdpyinfo], env=env, check=True, capture_output=True, timeout=10)
    owner = subprocess.run(
        ["dbus-send", "--session", "--print-reply=literal", "--dest=org.freedesktop.DBus",
         "/org/freedesktop/DBus", "org.freedesktop.DBus.GetNameOwner",
         "string:org.freedesktop.Notifications"],
        env=env, check=True, capture_output=True, text=True, timeout=10,
    ).stdout.strip()  # fmt: skip
    assert owner == desktop_stack.dunst.owner


def test_stack_cleans_up_processes_and_files() -> None:
    testbed.require_desktop_tools()
    with DesktopStack() as stack:
        ours = {
            stack.xvfb.pid: "Xvfb",
            stack.bus.pid: "dbus-daemon",
            stack.dunst.pid: "dunst",
            stack.monitor.pid: "dbus-monitor",
        }
        tmp = stack.tmp
        display = stack.xvfb.display
    for pid, name in ours.items():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                running = cmdline.read().split(b"\0")[0]
        except FileNotFoundError:
            continue
        assert not running.endswith(name.encode()), f"{name} ({pid}) still running"
    assert not tmp.exists()
    assert not os.path.exists(f"/tmp/.X11-unix/X{display[1:]}")


# --------------------------------------------------------------------------- no desktop


def test_missing_tools_skip_or_fail_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(testbed.shutil, "which", lambda name: None)
    assert not testbed.have_desktop_tools()
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y"):
        testbed.require_desktop_tools()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        testbed.require_desktop_tools()


def test_notify_socket_receives_datagrams(notify_socket: NotifySocket) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as client:
        client.sendto(b"STATUS=starting", notify_socket.path)
        client.sendto(b"READY=1\nSTATUS=watching", notify_socket.path)
    ready = notify_socket.wait_for("READY=1", timeout=5)
    assert ready.pid == os.getpid()
    assert notify_socket.messages() == ["STATUS=starting", "READY=1\nSTATUS=watching"]
    assert notify_socket.assignments()[-1] == ("STATUS", "watching")


def test_notify_socket_from_child_process() -> None:
    code = (
        "import os, socket\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
        "s.sendto(b'READY=1', os.environ['NOTIFY_SOCKET'])\n"
        "s.sendto(b'STOPPING=1', os.environ['NOTIFY_SOCKET'])\n"
    )
    with NotifySocket() as receiver:
        env = {**os.environ, **receiver.env()}
        child = subprocess.Popen([sys.executable, "-c", code], env=env)
        assert child.wait(10) == 0
        assert receiver.wait_for("READY=1", timeout=5).pid == child.pid
        receiver.wait_for("STOPPING=1", timeout=5)
        path = receiver.path
        with pytest.raises(testbed.TestbedError, match="RELOADING"):
            receiver.wait_for("RELOADING=1", timeout=0.2)
    assert not os.path.exists(path)


def test_parse_dbus_message_matches_dbus_fast() -> None:
    dbus_fast = pytest.importorskip("dbus_fast")
    from dbus_fast.signature import Variant

    message = dbus_fast.Message(
        destination="org.freedesktop.Notifications",
        path="/org/freedesktop/Notifications",
        interface="org.freedesktop.Notifications",
        member="Notify",
        signature="susssasa{sv}i",
        body=[
            "nudged",
            7,
            "",
            TITLE,
            BODY,
            ["default", "", "k1", "Done"],
            {"urgency": Variant("y", 2), "x-big": Variant("t", 2**40), "f": Variant("d", 0.5)},
            -1,
        ],
        serial=42,
    )
    parsed = testbed.parse_dbus_message(bytes(message._marshall(False)))
    assert parsed.type == "method_call" and parsed.serial == 42
    assert parsed.member == "Notify" and parsed.destination == "org.freedesktop.Notifications"
    assert parsed.args == (
        "nudged",
        7,
        "",
        TITLE,
        BODY,
        ["default", "", "k1", "Done"],
        {"urgency": 2, "x-big": 2**40, "f": 0.5},
        -1,
    )
