"""The real ``nudged run`` on a real desktop: Xvfb, a private session bus and dunst.

Each test is a person living with the daemon: a nudge pops up, they press a button in
dunst's own menu (``dunstctl context``, as a keyboard user would), or their
notification server crashes, or there is no desktop at all. What reached the screen is
read off the bus (every ``Notify`` / ``CloseNotification`` call) and from dunst; what
was answered is read from the daemon's SQLite file.

dunst here runs with ``stack_duplicates = false``: by default it merges identical
notifications itself, which would hide a daemon that stacks them.
"""

from __future__ import annotations

import signal
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nudged.humanize import parse_duration
from tests import testbed
from tests.test_daemon_service import (
    Nudged,
    private_env,
    run_nudged,
    until,
    write_config,
    write_plugin,
)
from tests.testbed import DesktopStack, NotifyCall, SessionBus

__all__ = ["run_nudged"]  # a fixture, imported to be used here

REPO = Path(__file__).resolve().parent.parent
DEMO = tomllib.loads((REPO / "nudged" / "data" / "demo.toml").read_text())
DEMO_NUDGES = [(n["title"], parse_duration(n["every"]).total_seconds())
               for n in DEMO["plugins"]["custom"]["nudges"]]


@pytest.fixture
def desktop() -> Iterator[DesktopStack]:
    """Xvfb + session bus + dunst that shows every notification it is sent."""
    with testbed.desktop_stack_context(
        dunst_extra_config="[global]\n    stack_duplicates = false\n"
    ) as stack:
        yield stack


def stretch_every(seconds: int = 5, snooze: str = "5s", timeout: str = "4s") -> str:
    """A stretch nudge every few seconds. An unanswered one is withdrawn after
    ``timeout``, so that every occurrence is shown anew, whatever nudged's policy for
    a nudge that is due again while the previous one is still up."""
    return f"""
        [core]
        max_per_hour = 60
        snooze = "{snooze}"
        notification_timeout = "{timeout}"

        [[plugins.custom.nudges]]
        id = "stretch"
        title = "Time to stretch"
        body = "Roll your shoulders back a few times and let your jaw relax."
        every = "{seconds}s"
    """


def posture_plugin(*delays: float) -> str:
    """A single-file plugin with one nudge it fires itself, ``delays`` seconds after
    start: nothing else ever makes it due."""
    return f'''
        """Asks about posture after login."""
        import asyncio
        from nudged import Manual, NudgeSpec

        def nudged_register_nudges(register):
            register(NudgeSpec(id="check", title="How are you sitting?",
                               body="Feet flat, shoulders down.", schedule=Manual()))

        async def nudged_startup(ctx):
            for delay in {delays!r}:
                asyncio.get_running_loop().call_later(delay, ctx.fire, "check")
    '''


def start(stack: DesktopStack, run_nudged: Callable[..., Nudged], config: str) -> Nudged:
    env = stack.env()
    path = write_config(env, config)
    return run_nudged(env, "--config", str(path))


def nudge_call(stack: DesktopStack, title: str, since: int = 0,
               timeout: float = 12.0) -> NotifyCall:
    """The next Notify call of nudged with this title that the server accepted."""
    call = stack.monitor.wait_for(
        lambda c: c.app_name == "nudged" and c.summary == title, timeout, since)
    assert call.id is not None, f"the server did not accept {title!r}: {call.error}"
    return call


def displayed(stack: DesktopStack) -> int:
    return stack.dunst.count("displayed")


# --------------------------------------------------------------------------- showing


@pytest.mark.desktop
def test_a_nudge_pops_up_with_its_words_and_three_buttons(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    daemon = start(desktop, run_nudged, stretch_every(5, snooze="10m", timeout="5m"))

    call = nudge_call(desktop, "Time to stretch")
    assert call.body == "Roll your shoulders back a few times and let your jaw relax."
    assert call.labels == ["Done", "Snooze 10 min", "Skip"]
    assert call.expire_timeout == -1  # the person's server decides how long it stays
    desktop.dunst.wait_count("displayed", 1)
    # dunst offers exactly those buttons in its menu
    with pytest.raises(LookupError):
        desktop.dunst.press("Snooze 5 min")
    menu = desktop.dunst.last_menu()
    for label in ("Done", "Snooze 10 min", "Skip"):
        assert f"#{label} (Time to stretch) [{call.id}," in menu

    [row] = daemon.wait_shown(lambda rows: len(rows) == 1)
    assert (row["plugin"], row["nudge_id"], row["title"], row["attempt"], row["response"]) \
        == ("custom", "stretch", "Time to stretch", 0, None)
    assert daemon.wait_event("desktop notifications work")["app"] == "nudged"
    assert daemon.stdout() == ""  # nothing fell back to the terminal


@pytest.mark.desktop
def test_pressing_done_is_remembered_and_clears_the_nudge(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    daemon = start(desktop, run_nudged, stretch_every(5, timeout="5m"))
    call = nudge_call(desktop, "Time to stretch")
    desktop.dunst.wait_count("displayed", 1)

    since = desktop.monitor.mark()
    invoked = desktop.press("Done")
    assert invoked.args == (call.id, call.action_key("Done"))

    rows = daemon.wait_shown(lambda rows: rows[0]["response"] is not None,
                             what="the answer in the store")
    assert rows[0]["response"] == "done" and rows[0]["responded_at"]
    daemon.wait_event("nudge response", response="done")
    # dunst keeps a notification on screen after a button press; nudged takes it away.
    assert desktop.monitor.wait_close_call(since=since) == call.id
    desktop.dunst.wait_count("displayed", 0)


@pytest.mark.desktop
def test_snooze_brings_the_same_nudge_back_after_the_delay(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    # A plugin that nudges exactly once, a second after start: whatever comes back
    # later can only come from the snooze.
    env = desktop.env()
    write_plugin(env, "posture", posture_plugin(1.0))
    config = write_config(env, '[core]\nmax_per_hour = 60\nsnooze = "5s"\n')
    daemon = run_nudged(env, "--config", str(config))

    first = nudge_call(desktop, "How are you sitting?")
    assert first.labels == ["Done", "Snooze 5s", "Skip"]
    since = desktop.monitor.mark()
    desktop.press("Snooze 5s")
    pressed_at = time.monotonic()
    daemon.wait_shown(lambda rows: rows[0]["response"] == "snooze",
                      what="the snooze in the store")

    again = nudge_call(desktop, "How are you sitting?", since=since, timeout=10)
    waited = time.monotonic() - pressed_at
    assert 4.0 <= waited <= 9.0, f"came back after {waited:.1f}s, snooze is 5s"
    assert (again.body, again.labels) == (first.body, first.labels)
    rows = daemon.wait_shown(lambda rows: len(rows) == 2)
    assert [(r["nudge_id"], r["attempt"], r["response"]) for r in rows] == [
        ("check", 0, "snooze"), ("check", 1, None)]
    # The snoozed notification left the screen; only the new one is there.
    assert first.id in desktop.monitor.close_calls(since)
    desktop.dunst.wait_count("displayed", 1)
    # It was one snooze: no third showing follows on its own.
    time.sleep(2)
    assert len(daemon.shown()) == 2


@pytest.mark.desktop
def test_a_nudge_due_again_replaces_the_unanswered_one(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    daemon = start(desktop, run_nudged, stretch_every(5, timeout="5m"))
    first = nudge_call(desktop, "Time to stretch")
    desktop.dunst.wait_count("displayed", 1)

    # Sam is making tea; five seconds later the stretch is due again, on time.
    since = desktop.monitor.mark()
    second = nudge_call(desktop, "Time to stretch", since=since)
    assert second.id != first.id
    # The old notification is closed before the new one is sent: only one is ever
    # on screen (this dunst would show both).
    messages = desktop.monitor.messages()[since:]
    close_at = next((i for i, m in enumerate(messages)
                     if m.member == "CloseNotification" and m.args == (first.id,)), None)
    notify_at = next(i for i, m in enumerate(messages)
                     if m.member == "Notify" and m.serial == second.serial)
    assert close_at is not None, "the first notification was never closed"
    assert close_at < notify_at
    desktop.dunst.wait_count("displayed", 1)
    rows = daemon.wait_shown(lambda rows: len(rows) >= 2)
    assert [(r["attempt"], r["response"]) for r in rows[:2]] == [(0, "timed_out"), (0, None)]


# --------------------------------------------------------------------------- dunst goes away


@pytest.mark.desktop
def test_nudges_reach_a_restarted_dunst_and_its_buttons_still_work(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    daemon = start(desktop, run_nudged, stretch_every(5, timeout="5m"))
    nudge_call(desktop, "Time to stretch")
    desktop.press("Done")
    daemon.wait_shown(lambda rows: rows[0]["response"] == "done")

    # dunst crashes and the session restarts it right away.
    old_owner = desktop.dunst.owner
    new_owner = desktop.dunst.restart()
    assert new_owner != old_owner and displayed(desktop) == 0
    since = desktop.monitor.mark()

    call = nudge_call(desktop, "Time to stretch", since=since)
    desktop.dunst.wait_count("displayed", 1)  # it is on the new dunst's screen
    desktop.press("Done")
    rows = daemon.wait_shown(lambda rows: len(rows) >= 2 and rows[1]["response"] is not None,
                             what="Done pressed on the new dunst")
    assert [r["response"] for r in rows[:2]] == ["done", "done"]
    desktop.dunst.wait_count("displayed", 0)
    assert call.id in desktop.monitor.close_calls(since)
    assert daemon.alive() and daemon.stdout() == ""


@pytest.mark.desktop
def test_nudges_fall_back_to_the_terminal_while_dunst_is_down(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    daemon = start(desktop, run_nudged, stretch_every(5))
    nudge_call(desktop, "Time to stretch")

    # dunst is gone for a while: the next nudge is written to the terminal/journal.
    desktop.dunst.kill()
    since = desktop.monitor.mark()
    daemon.wait_stdout("● Time to stretch", timeout=10)
    assert "[custom:stretch]" in daemon.stdout()
    failed = desktop.monitor.wait_for(lambda c: c.summary == "Time to stretch", since=since)
    assert (failed.id, failed.error) == (None, "org.freedesktop.DBus.Error.ServiceUnknown")
    daemon.wait_event("no desktop notification server; nudges go to the terminal/log")

    # dunst is back: the next nudge is on screen again, and its buttons work.
    desktop.dunst.start()
    since = desktop.monitor.mark()
    nudge_call(desktop, "Time to stretch", since=since)
    desktop.dunst.wait_count("displayed", 1)
    desktop.press("Skip")
    daemon.wait_shown(lambda rows: rows[-1]["response"] == "skip",
                      what="Skip pressed on the restarted dunst")
    assert daemon.alive()


# --------------------------------------------------------------------------- no desktop


@pytest.mark.desktop
def test_demo_without_a_desktop_prints_nudges_and_keeps_running(
    tmp_path: Path, run_nudged: Callable[..., Nudged]
) -> None:
    # Three people try the demo where no notification can be shown: over SSH (no
    # DISPLAY, no session bus), with a stale bus address from a session long gone,
    # and on a session bus where nobody owns org.freedesktop.Notifications (and
    # nothing can be auto-started).
    testbed.require_desktop_tools()
    with SessionBus() as bus:
        ssh = private_env(tmp_path / "ssh")
        stale = private_env(tmp_path / "stale")
        stale["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path}/stale/gone-bus"
        no_server = {**private_env(tmp_path / "no-server"), **bus.env()}
        started = time.monotonic()
        daemons = [run_nudged(env, "--demo") for env in (ssh, stale, no_server)]

        # Every demo nudge is printed in the terminal, for each of them.
        for daemon in daemons:
            for title, every in DEMO_NUDGES:
                left = started + every + 15 - time.monotonic()
                daemon.wait_stdout(f"● {title}", timeout=max(1.0, left))
        time.sleep(max(0.0, started + 10 - time.monotonic()))
        for daemon in daemons:
            assert daemon.alive(), daemon.diagnostics()
            daemon.wait_event("no desktop notification server; nudges go to the terminal/log")
        assert not bus.has_owner(testbed.NOTIFICATIONS)

        # Ctrl+C (or SIGTERM) ends each cleanly.
        for daemon in daemons:
            code, _took = daemon.terminate(within=2.0)
            assert code == 0, daemon.diagnostics()
            assert "Traceback" not in daemon.log_text()
            # the demo keeps its own history, apart from the real one
            titles = {r["title"] for r in daemon.shown("demo.db")}
            assert titles == {title for title, _every in DEMO_NUDGES}
            assert not (daemon.state_dir / "nudged.db").exists()


# --------------------------------------------------------------------------- broken plugins

ALWAYS_RAISES = '''
    """A plugin whose sensor is unplugged: every hook raises."""

    def nudged_startup(ctx):
        raise RuntimeError("the posture sensor is unplugged")

    def nudged_register_nudges(register):
        raise RuntimeError("register was called")

    def nudged_filter_nudge(nudge):
        raise RuntimeError("filter was called")

    def nudged_on_nudge_shown(nudge):
        raise RuntimeError("on_nudge_shown was called")

    def nudged_on_response(nudge, response):
        raise RuntimeError("on_response was called")

    def nudged_shutdown():
        raise RuntimeError("shutdown was called")
'''

KEEPS_RAISING = '''
    """Starts fine, then fails whenever it is asked anything."""

    def nudged_filter_nudge(nudge):
        raise KeyError("last_seen")

    def nudged_on_nudge_shown(nudge):
        raise ZeroDivisionError("division by zero")
'''


@pytest.mark.desktop
def test_a_plugin_that_cannot_start_is_reported_and_nudges_keep_coming(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    write_plugin(desktop.env(), "broken", ALWAYS_RAISES)
    daemon = start(desktop, run_nudged, stretch_every(5))

    failed = daemon.wait_event("plugin failed to start", plugin="broken")
    assert failed["error"] == "RuntimeError: the posture sensor is unplugged"
    assert failed["level"] == "error"
    running = daemon.wait_event("nudged is running")
    assert "broken=startup-error" in running["plugins"]
    assert "custom=ok" in running["plugins"]
    status = daemon.wait_event("plugin is not running", plugin="broken")
    assert (status["status"], status["reason"]) == \
        ("startup-error", "RuntimeError: the posture sensor is unplugged")

    # The custom nudges arrive at dunst as if nothing happened, twice over, and
    # answering them works.
    nudge_call(desktop, "Time to stretch")
    nudge_call(desktop, "Time to stretch", since=desktop.monitor.mark())
    desktop.press("Done")
    daemon.wait_shown(lambda rows: len(rows) >= 2 and rows[-1]["response"] == "done")
    # A plugin that failed to start is never called again, not even at shutdown.
    code, _took = daemon.terminate()
    assert code == 0
    assert "was called" not in daemon.log_text()


@pytest.mark.desktop
def test_a_plugin_that_keeps_raising_is_switched_off_and_nudges_keep_coming(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    write_plugin(desktop.env(), "broken", KEEPS_RAISING)
    daemon = start(desktop, run_nudged, stretch_every(5) + """
        [[plugins.custom.nudges]]
        id = "water"
        title = "A glass of water?"
        body = "A few sips now."
        every = "5s"
    """)
    # Both nudges come due together; the broken plugin is asked about each of them.
    nudge_call(desktop, "Time to stretch")
    nudge_call(desktop, "A glass of water?")

    # Each failure is logged with the plugin, the hook and the error ...
    raised = until(lambda: len(daemon.events("plugin hook raised", plugin="broken")) >= 3
                   and daemon.events("plugin hook raised", plugin="broken"),
                   15, "three failures of the broken plugin", daemon.diagnostics)
    assert [(e["hook"], e["error"], e["failures"]) for e in raised[:3]] == [
        ("nudged_filter_nudge", "KeyError: 'last_seen'", "1"),
        ("nudged_on_nudge_shown", "ZeroDivisionError: division by zero", "2"),
        ("nudged_filter_nudge", "KeyError: 'last_seen'", "3"),
    ]
    assert "Traceback" in raised[0]["exception"]
    # ... and after the third in a row, it is switched off (status erroring).
    disabled = daemon.wait_event("plugin disabled", plugin="broken")
    assert disabled["reason"] == ("disabled after 3 failures in a row; last in "
                                  "nudged_filter_nudge: KeyError: 'last_seen'")

    # The nudges keep coming, and the broken plugin is not asked again.
    since = desktop.monitor.mark()
    nudge_call(desktop, "Time to stretch", since=since)
    nudge_call(desktop, "A glass of water?", since=since)
    desktop.dunst.wait_count("displayed", 2)
    assert len(daemon.events("plugin hook raised", plugin="broken")) == 3
    assert daemon.alive()
    daemon.send(signal.SIGTERM)
    assert daemon.proc.wait(5) == 0
