"""The ``dnd`` plugin: nudges wait while the desktop is in do-not-disturb.

Sam pauses dunst for a meeting, or turns on "Do not disturb" in KDE or GNOME, or puts
mako in its do-not-disturb mode: no nudge pops up meanwhile, and the one that came due
shows up within seconds of the switch going off, once. The stories run the real
switches where this machine has them (dunst with ``dunstctl``, GNOME's setting through
the real dconf service and ``gsettings``, mako on a headless sway with ``makoctl``) and
a small fake of KDE's notification server; the dunst ones run the real daemon.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
import structlog
from nudged_plugins.dnd import SOURCES, DndConfig, DoNotDisturbPlugin
from nudged_plugins.dnd.gnome import names_key, other_desktop

from nudged import Decision, Nudge, NudgeSpec, PluginContext
from nudged.cli import main
from nudged.desktop import Desktop
from nudged.models import Verdict
from tests import testbed
from tests.helpers import shown, simulate
from tests.test_daemon_desktop import nudge_call, start
from tests.test_daemon_service import Nudged, run_nudged
from tests.testbed import DesktopStack, SessionBus, Sway, require_dbus_daemon, require_sway_tools
from tests.testbed_dnd import (
    Dconf,
    Doorbell,
    FakeNotificationServer,
    Mako,
    decisions,
    require_gnome_tools,
    require_mako_tools,
)

__all__ = ["run_nudged"]  # a fixture, imported to be used here

desktop = pytest.mark.desktop
T = TypeVar("T")
WAIT = 5.0
#: Any due nudge; the plugin holds every one alike.
WATER = Nudge("custom", NudgeSpec(id="water", title="A glass of water?", body="A few sips."),
              datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
BEDTIME = Nudge("sleep_window", NudgeSpec(id="bedtime", title="Bedtime", body="Lights out.",
                                          quiet_hours_apply=False),
                datetime(2026, 3, 2, 23, 0, tzinfo=UTC))


# --------------------------------------------------------------------------- harness


@dataclass
class Running:
    """The plugin started in this process, as the daemon starts it."""

    plugin: DoNotDisturbPlugin
    ctx: PluginContext
    rechecks: list[str]

    def decision(self, nudge: Nudge = WATER) -> Decision | None:
        return self.plugin.nudged_filter_nudge(nudge)

    async def stop(self) -> None:
        await self.plugin.nudged_shutdown()
        if self.ctx.desktop is not None:
            await self.ctx.desktop.close()


async def start_dnd(desktop: Desktop | dict[str, str] | None, **config: Any) -> Running:
    """Start the plugin with ``[plugins.dnd]`` = ``config`` on a desktop (or its
    environment; None: a preview, no desktop); ``ctx.recheck()`` calls are recorded."""
    rechecks: list[str] = []
    ctx = PluginContext(
        name="dnd", config=DndConfig(**config), tz=UTC,
        log=structlog.get_logger("nudged.plugin.dnd").bind(plugin="dnd"),
        _now=lambda: datetime.now(UTC),
        desktop=Desktop(desktop) if isinstance(desktop, dict) else desktop,
        _recheck=rechecks.append)
    plugin = DoNotDisturbPlugin()
    await plugin.nudged_startup(ctx)
    return Running(plugin, ctx, rechecks)


async def until(condition: Callable[[], T], what: str, timeout: float = WAIT) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"waited {timeout:g}s for {what}", pytrace=False)
        await asyncio.sleep(0.02)


async def stays(condition: Callable[[], object], what: str, seconds: float = 0.5) -> None:
    """``condition`` holds for ``seconds`` (a change that should not come, does not)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert condition(), what
        await asyncio.sleep(0.02)


def held_for(decision: Decision | None) -> str:
    """The reason of a hold (until the condition ends, no known time)."""
    assert decision is not None, "the nudge was let through"
    assert (decision.verdict, decision.until) == (Verdict.DEFER, None), decision
    return decision.reason


@pytest.fixture
def session_bus() -> Iterator[SessionBus]:
    require_dbus_daemon()
    with SessionBus() as bus:
        yield bus


@pytest.fixture
def stack() -> Iterator[DesktopStack]:
    """Xvfb + session bus + dunst that shows every notification it is sent."""
    with testbed.desktop_stack_context(
        dunst_extra_config="[global]\n    stack_duplicates = false\n"
    ) as desktop_stack:
        yield desktop_stack


# --------------------------------------------------------------------------- the filter


def test_while_any_source_says_do_not_disturb_every_nudge_waits() -> None:
    async def story() -> None:
        dnd = await start_dnd(None)
        assert dnd.decision() is None

        # Sam pauses dunst, then GNOME's banners go off too: both are named.
        dnd.plugin.report("dunst", "dunst is paused")
        assert held_for(dnd.decision()) == "do-not-disturb is on (dunst is paused)"
        dnd.plugin.report("gnome", "GNOME notification banners are off")
        assert held_for(dnd.decision()) == ("do-not-disturb is on (dunst is paused, "
                                            "GNOME notification banners are off)")
        # Bedtime nudges go through quiet hours, but not through do-not-disturb.
        assert held_for(dnd.decision(BEDTIME)).startswith("do-not-disturb is on")

        # One switch off is not enough: the other still holds them, nothing is let go.
        dnd.plugin.report("dunst", None)
        assert held_for(dnd.decision()) == \
            "do-not-disturb is on (GNOME notification banners are off)"
        assert dnd.rechecks == []
        # The last one off: the held nudges come due again, once.
        dnd.plugin.report("gnome", None)
        assert dnd.decision() is None
        assert dnd.rechecks == ["dnd"]
        dnd.plugin.report("gnome", None)  # said twice, let go once
        assert dnd.rechecks == ["dnd"]
        await dnd.stop()

    asyncio.run(story())


def test_a_preview_has_no_desktop_so_the_plugin_has_no_opinion() -> None:
    async def story() -> None:
        dnd = await start_dnd(None)
        assert (dnd.plugin.server, dnd.plugin.gnome, dnd.decision()) == (None, None, None)
        await dnd.stop()

    asyncio.run(story())
    # The built-in plugin runs in every preview (on by default) and lets nudges through.
    items, runtime = simulate("""
        [[plugins.custom.nudges]]
        id = "water"
        title = "A glass of water?"
        body = "A few sips."
        every = "2h"
        window = "09:00-14:00"
    """, days=1, present=("08:00-18:00",))
    assert {r["name"]: r["status"] for r in runtime.statuses()}["dnd"] == "ok"
    assert shown(items) == [("Mon 11:00", "custom:water"), ("Mon 13:00", "custom:water")]


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str) -> tuple[int, str]:
    path = tmp_path / "config.toml"
    path.write_text("[plugins.dnd]\n" + body + "\n")
    code = main(["config", "check", str(path)])
    out = capsys.readouterr()
    lines = [line for line in (out.err + out.out).splitlines()
             if "dnd" in line or line.endswith(": OK")]
    return code, "\n".join(lines).replace(str(path), "config.toml").strip()


@pytest.mark.parametrize(("body", "sentence"), [
    ('sources = ["dunst", "kde"]',
     "config.toml:2: plugins.dnd.sources: 'kde' is not a do-not-disturb source; the sources "
     "are dunst, notifications, gnome, mako"),
    ('sources = "dunst"',
     'config.toml:2: plugins.dnd.sources: "dunst" is not a list of sources (put it in '
     'brackets: sources = ["dunst"])'),
    ('mako_modes = [""]',
     'config.toml:2: plugins.dnd.mako_modes: a mode name cannot be empty (write it as '
     '`makoctl mode` lists it, like "do-not-disturb")'),
    ('source = ["dunst"]',
     "config.toml:2: plugins.dnd.source: unknown key; did you mean 'sources'?"),
])
def test_config_mistakes_are_named_in_a_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, sentence: str
) -> None:
    assert check(tmp_path, capsys, body) == (2, sentence)


def test_the_defaults_watch_every_source() -> None:
    assert DndConfig().sources == SOURCES == ("dunst", "notifications", "gnome", "mako")
    assert DndConfig().mako_modes == ("do-not-disturb",)
    assert not getattr(DoNotDisturbPlugin, "opt_in", False)  # on for everyone


def test_a_dconf_change_is_read_only_when_it_covers_the_key() -> None:
    key = "/org/gnome/desktop/notifications/show-banners"
    assert names_key(key, [""])  # what `gsettings set` sends
    assert names_key("/org/gnome/desktop/notifications/", ["show-banners", "show-in-lock-screen"])
    assert names_key("/org/gnome/", [""])  # `dconf reset -f /org/gnome/`
    assert names_key("/", ["org/gnome/desktop/"])
    assert not names_key("/org/gnome/desktop/notifications/show-banners-extra", [""])
    assert not names_key("/org/gnome/desktop/interface/", ["color-scheme"])
    # Only another desktop's session ignores GNOME's switch; an unknown one trusts it.
    assert other_desktop({"XDG_CURRENT_DESKTOP": "ubuntu:GNOME"}) is None
    assert other_desktop({}) is None
    assert other_desktop({"XDG_CURRENT_DESKTOP": "sway"}) == "sway"


# --------------------------------------------------------------------------- dunst, for real


@desktop
def test_dunst_paused_holds_a_nudge_that_comes_once_it_is_resumed(
    stack: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    bell = Doorbell(stack.env())
    daemon = start(stack, run_nudged, "[core]\nmax_per_hour = 60\n")
    daemon.wait_event("watching do-not-disturb", source="dunst")

    # Sam pauses dunst for a meeting.
    stack.dunst.set_paused(True)
    daemon.wait_event("do-not-disturb is on", source="dunst", reason="dunst is paused")
    since = stack.monitor.mark()
    bell.ring()
    held = daemon.wait_event("nudge deferred", nudge="posture:check")
    assert (held["by"], held["reason"]) == ("dnd", "do-not-disturb is on (dunst is paused)")
    time.sleep(2)
    # Nothing was sent at all: not even into dunst's own queue of waiting notifications.
    assert [c.summary for c in stack.monitor.notifies(since)] == []
    assert stack.dunst.count("waiting") == 0 and daemon.shown() == []
    # What `nudged history` lists: who held it, and why.
    assert [(d["nudge_id"], d["verdict"], d["decided_by"], d["reason"], d["until"])
            for d in decisions(daemon.state_dir)] == [
        ("check", "deferred", "dnd", "do-not-disturb is on (dunst is paused)", None)]

    # The meeting is over: the nudge comes within seconds, once.
    stack.dunst.set_paused(False)
    resumed = time.monotonic()
    nudge_call(stack, Doorbell.TITLE, since=since, timeout=WAIT)
    assert time.monotonic() - resumed < 4
    stack.dunst.wait_count("displayed", 1)
    daemon.wait_event("do-not-disturb is off", source="dunst")
    time.sleep(2)
    assert [c.summary for c in stack.monitor.notifies(since)] == [Doorbell.TITLE]
    assert [(r["nudge_id"], r["attempt"]) for r in daemon.shown()] == [("check", 0)]

    # A nudge while dunst is not paused is not held at all.
    since = stack.monitor.mark()
    bell.ring()
    nudge_call(stack, Doorbell.TITLE, since=since, timeout=WAIT)
    assert len(decisions(daemon.state_dir)) == 1
    assert daemon.alive() and "Traceback" not in daemon.log_text()


@desktop
def test_a_nudge_held_by_a_paused_dunst_is_not_lost_when_dunst_quits(
    stack: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    # dunst was already paused when the daemon started: that is read at once.
    stack.dunst.set_paused(True)
    bell = Doorbell(stack.env())
    daemon = start(stack, run_nudged, "[core]\nmax_per_hour = 60\n")
    daemon.wait_event("do-not-disturb is on", source="dunst")
    bell.ring()
    daemon.wait_event("nudge deferred", nudge="posture:check", by="dnd")

    # dunst crashes while paused: its do-not-disturb went with it. The nudge is let go,
    # and with no notification server it goes to the terminal.
    stack.dunst.kill()
    daemon.wait_event("do-not-disturb is off", source="dunst")
    daemon.wait_stdout(f"● {Doorbell.TITLE}", timeout=WAIT)

    # The session starts dunst again: watched again, and its pause counts again.
    stack.dunst.start()
    daemon.wait_event("watching do-not-disturb", source="dunst", since=1)
    stack.dunst.set_paused(True)
    daemon.wait_event("do-not-disturb is on", source="dunst", since=1)
    since = stack.monitor.mark()
    bell.ring()
    daemon.wait_event("nudge deferred", nudge="posture:check", by="dnd", since=1)
    stack.dunst.set_paused(False)
    nudge_call(stack, Doorbell.TITLE, since=since, timeout=WAIT)
    assert daemon.alive() and "Traceback" not in daemon.log_text()
    code, _took = daemon.terminate(within=2.0)
    assert code == 0


# --------------------------------------------------------------------------- KDE


@desktop
def test_kde_do_not_disturb_holds_nudges_until_it_is_switched_off(
    session_bus: SessionBus,
) -> None:
    async def story() -> None:
        plasma = await FakeNotificationServer().serve(session_bus.address)
        dnd = await start_dnd({"DBUS_SESSION_BUS_ADDRESS": session_bus.address})
        try:
            assert dnd.plugin.server is not None
            assert dnd.plugin.server.offers == {"notifications"}
            assert dnd.decision() is None

            # Sam clicks "Do not disturb" in Plasma's notification applet.
            plasma.set_inhibited(True)
            reason = held_for(await until(dnd.decision, "the hold"))
            assert reason == "do-not-disturb is on (the notification server is inhibited)"
            plasma.set_inhibited(False)
            await until(lambda: dnd.rechecks == ["dnd"], "the held nudges to be let go")
            assert dnd.decision() is None

            # A server that only says "Inhibited changed" is asked for the value.
            plasma.set_inhibited(True, announce="invalidate")
            held_for(await until(dnd.decision, "the hold after an invalidation"))

            # Plasma crashes in do-not-disturb: nothing holds the nudges any more.
            await plasma.leave()
            await until(lambda: dnd.rechecks == ["dnd", "dnd"], "the let-go on a crash")
            assert dnd.decision() is None

            # Plasma comes back still in do-not-disturb (it remembers): read at once.
            again = FakeNotificationServer()
            again._inhibited = True
            await again.serve(session_bus.address)
            held_for(await until(dnd.decision, "the hold of the new server"))
            await again.leave()
        finally:
            await dnd.stop()

    asyncio.run(story())


@desktop
def test_only_the_listed_sources_count_and_nothing_is_left_on_the_shared_bus(
    session_bus: SessionBus,
) -> None:
    async def story() -> None:
        plasma = await FakeNotificationServer().serve(session_bus.address)
        plasma.set_inhibited(True)
        desktop = Desktop({"DBUS_SESSION_BUS_ADDRESS": session_bus.address})
        bus = await desktop.session_bus()
        assert bus is not None
        handlers = len(bus._user_message_handlers)
        # Sam only wants dunst's pause to count.
        dnd = await start_dnd(desktop, sources=["dunst"])
        assert dnd.plugin.server is not None and dnd.plugin.server.offers == set()
        await stays(lambda: dnd.decision() is None, "KDE's switch is not listed")
        assert len(bus._user_message_handlers) > handlers

        # Shutdown takes its handlers off the connection and leaves it open.
        await dnd.plugin.nudged_shutdown()
        assert len(bus._user_message_handlers) == handlers
        assert bus.connected
        await desktop.close()
        await plasma.leave()

    asyncio.run(story())


# --------------------------------------------------------------------------- GNOME, for real


@desktop
def test_gnome_do_not_disturb_is_followed_through_dconf(session_bus: SessionBus) -> None:
    require_gnome_tools()
    schema = "org.gnome.desktop.notifications"
    with Dconf(session_bus.address) as dconf:

        def gsettings(*args: str) -> Any:
            return asyncio.to_thread(dconf.gsettings, *args)

        async def story() -> None:
            gnome = dconf.env(XDG_CURRENT_DESKTOP="GNOME")
            dnd = await start_dnd(gnome)
            try:
                assert dnd.plugin.gnome is not None and dnd.decision() is None
                # Sam turns on "Do Not Disturb" in GNOME's quick settings.
                await gsettings("set", schema, "show-banners", "false")
                reason = held_for(await until(dnd.decision, "the hold"))
                assert reason == "do-not-disturb is on (GNOME notification banners are off)"
                # Another key of the same schema changes nothing.
                await gsettings("set", schema, "show-in-lock-screen", "false")
                await stays(lambda: dnd.decision() is not None, "still held")
                # Off again, here by resetting every key of the schema.
                await gsettings("reset-recursively", schema)
                await until(lambda: dnd.rechecks == ["dnd"], "the held nudges to be let go")
                assert dnd.decision() is None
                await gsettings("set", schema, "show-banners", "false")
            finally:
                await dnd.stop()

            # Started while it is on: held from the start.
            dnd = await start_dnd(gnome)
            try:
                held_for(dnd.decision())
            finally:
                await dnd.stop()
            # In a sway session GNOME's leftover switch means nothing.
            dnd = await start_dnd(dconf.env(XDG_CURRENT_DESKTOP="sway"))
            try:
                assert dnd.plugin.gnome is None and dnd.decision() is None
            finally:
                await dnd.stop()

        asyncio.run(story())


# --------------------------------------------------------------------------- mako, for real


@desktop
def test_mako_in_do_not_disturb_mode_holds_nudges(session_bus: SessionBus) -> None:
    require_sway_tools()
    require_mako_tools()
    with Sway() as sway, Mako(sway, session_bus.address) as mako:

        def makoctl(*args: str) -> Any:
            return asyncio.to_thread(mako.makoctl, *args)

        async def story() -> None:
            dnd = await start_dnd({"DBUS_SESSION_BUS_ADDRESS": session_bus.address},
                                  mako_modes=["do-not-disturb", "meeting"])
            try:
                assert dnd.plugin.server is not None
                assert dnd.plugin.server.offers == {"mako"}
                assert dnd.decision() is None
                # A mode of Sam's own that is not listed does not count.
                assert await makoctl("mode", "-a", "work") == ["default", "work"]
                await stays(lambda: dnd.decision() is None, "work is not do-not-disturb")

                assert "meeting" in await makoctl("mode", "-a", "meeting")
                reason = held_for(await until(dnd.decision, "the hold"))
                assert reason == "do-not-disturb is on (mako is in the meeting mode)"
                await makoctl("mode", "-r", "meeting")
                await until(lambda: dnd.rechecks == ["dnd"], "the held nudges to be let go")
                assert dnd.decision() is None

                # mako restarts (its modes start from "default" again): off, and the
                # new mako is watched.
                await makoctl("mode", "-s", "do-not-disturb")
                held_for(await until(dnd.decision, "the hold"))
                await asyncio.to_thread(mako.stop)
                await until(lambda: dnd.rechecks == ["dnd", "dnd"], "the let-go on a restart")
                await asyncio.to_thread(mako.start)
                await until(lambda: dnd.plugin.server is not None
                            and dnd.plugin.server.offers == {"mako"}, "the new mako watched")
                await makoctl("mode", "-a", "do-not-disturb")
                held_for(await until(dnd.decision, "the hold with the new mako"))
            finally:
                await dnd.stop()

        asyncio.run(story())

