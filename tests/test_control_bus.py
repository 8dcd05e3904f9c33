"""``nudged status|pause|resume|snooze|trigger|next|history`` against the real daemon.

The daemon runs as a child process on a private session bus with dunst under Xvfb;
each command is the real ``nudged`` command line, reaching the daemon over D-Bus.
What reached the screen is read off the bus (every ``Notify`` call) and from dunst.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nudged.bus import BUS_NAME, INTERFACE, OBJECT_PATH
from tests import testbed
from tests.test_daemon_desktop import nudge_call, posture_plugin
from tests.test_daemon_service import (
    Nudged,
    nudged_cli,
    private_env,
    run_nudged,
    write_config,
    write_plugin,
)
from tests.testbed import DesktopStack, SessionBus

__all__ = ["run_nudged"]  # a fixture, imported to be used here

REPO = Path(__file__).resolve().parent.parent

STRETCH = """
    [core]
    max_per_hour = 60
    [[plugins.custom.nudges]]
    id = "stretch"
    title = "Time to stretch"
    body = "Roll your shoulders back a few times."
    every = "6h"
"""


@pytest.fixture
def desktop() -> Iterator[DesktopStack]:
    with testbed.desktop_stack_context(
        dunst_extra_config="[global]\n    stack_duplicates = false\n"
    ) as stack:
        yield stack


def ready(daemon: Nudged) -> Nudged:
    daemon.wait_event("control interface ready")
    return daemon


def cli(env: dict[str, str], *args: str, code: int = 0) -> str:
    done = nudged_cli(env, *args)
    assert done.returncode == code, (
        f"nudged {' '.join(args)} exited {done.returncode}, not {code}\n"
        f"stdout: {done.stdout}\nstderr: {done.stderr}")
    assert "Traceback" not in done.stderr
    return done.stdout if code == 0 else done.stderr


def status(env: dict[str, str]) -> dict[str, Any]:
    return json.loads(cli(env, "status", "--json"))


def from_nudged(stack: DesktopStack, title: str, since: int = 0) -> int:
    return sum(1 for c in stack.monitor.notifies(since)
               if c.app_name == "nudged" and c.summary == title)


@pytest.mark.desktop
def test_a_pause_holds_a_due_nudge_and_resume_shows_it_once(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    env = desktop.env()
    # A plugin that makes its nudge due once, 3 seconds after start.
    write_plugin(env, "posture", posture_plugin(3.0))
    daemon = ready(run_nudged(env, "--config", str(write_config(env, "[core]\n"))))

    out = cli(env, "pause", "10m")
    assert re.fullmatch(r"Paused until \d\d:\d\d\. `nudged resume` ends the pause sooner\.\n",
                        out)
    daemon.wait_event("nudge deferred", by="pause", nudge="posture:check")
    assert from_nudged(desktop, "How are you sitting?") == 0

    now = status(env)
    assert now["state"] == "paused"
    paused_until = datetime.fromisoformat(now["paused_until"])
    assert timedelta(minutes=9) < paused_until - datetime.now(paused_until.tzinfo) \
        <= timedelta(minutes=10)
    assert [(h["id"], h["by"]) for h in now["held"]] == [("posture:check", "pause")]

    since = desktop.monitor.mark()
    assert cli(env, "resume") == "Resumed.\n"
    nudge_call(desktop, "How are you sitting?", since=since, timeout=5)
    time.sleep(1.5)
    assert from_nudged(desktop, "How are you sitting?") == 1, "shown once, not more"
    assert status(env)["state"] == "running"
    assert cli(env, "resume") == "nudged was not paused.\n"


@pytest.mark.desktop
def test_trigger_shows_a_nudge_in_dunst_and_snooze_brings_it_back_on_time(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    env = desktop.env()
    daemon = ready(run_nudged(env, "--config", str(write_config(env, STRETCH))))

    assert cli(env, "trigger", "custom:stretch") == "custom:stretch: shown.\n"
    first = nudge_call(desktop, "Time to stretch", timeout=5)
    desktop.dunst.wait_count("displayed", 1)

    since = desktop.monitor.mark()
    out = cli(env, "snooze", "stretch", "4s")
    snoozed_at = time.monotonic()
    assert out.startswith("Snoozed stretch until ")
    # The showing notification leaves the screen at once...
    assert desktop.monitor.wait_close_call(since=since) == first.id
    # ...and the nudge comes back four seconds later.
    again = nudge_call(desktop, "Time to stretch", since=since, timeout=10)
    waited = time.monotonic() - snoozed_at
    assert 3.0 <= waited <= 7.0, f"came back after {waited:.1f}s, snoozed for 4s"
    rows = daemon.wait_shown(lambda rows: len(rows) == 2)
    assert [(r["nudge_id"], r["attempt"], r["response"]) for r in rows] == [
        ("stretch", 0, "snooze"), ("stretch", 1, None)]
    assert again.body == first.body

    history = json.loads(cli(env, "history", "--since", "1h", "--json"))
    assert [(h["id"], h["event"], h.get("response")) for h in history] == [
        ("custom:stretch", "shown", "snooze"), ("custom:stretch", "shown", None)]
    text = cli(env, "history")
    assert "custom:stretch  shown: Time to stretch -> snooze at" in text


@pytest.mark.desktop
def test_trigger_respects_a_pause_and_force_goes_through(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    env = desktop.env()
    ready(run_nudged(env, "--config", str(write_config(env, STRETCH))))
    cli(env, "pause", "until", (datetime.now() + timedelta(hours=2)).strftime("%H:%M"))

    out = cli(env, "trigger", "stretch")
    assert out.startswith("stretch: deferred by pause: paused until ")
    assert out.endswith(" (`--force` shows it anyway)\n")
    time.sleep(1)
    assert from_nudged(desktop, "Time to stretch") == 0

    result = json.loads(cli(env, "trigger", "stretch", "--force", "--json"))
    assert result == {"id": "stretch", "outcome": "shown", "shown": True}
    nudge_call(desktop, "Time to stretch", timeout=5)

    bad = cli(env, "trigger", "strech", code=2)
    assert bad == "nudged: there is no nudge named 'strech'; did you mean custom:stretch?\n"
    history = cli(env, "history")
    assert "deferred by pause" in history


@pytest.mark.desktop
def test_a_pause_and_a_snooze_survive_a_restart(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    env = desktop.env()
    config = str(write_config(env, STRETCH))
    daemon = ready(run_nudged(env, "--config", config))
    cli(env, "snooze", "stretch", "6s")
    snoozed_at = time.monotonic()
    cli(env, "pause", "1h")
    before = status(env)["paused_until"]
    assert daemon.terminate()[0] == 0

    daemon = ready(run_nudged(env, "--config", config))
    after = status(env)
    assert (after["state"], after["paused_until"]) == ("paused", before)
    assert cli(env, "resume") == "Resumed.\n"
    # The snooze made before the restart still ends on time.
    nudge_call(desktop, "Time to stretch", timeout=12)
    waited = time.monotonic() - snoozed_at
    assert 5.0 <= waited <= 10.0, f"came back after {waited:.1f}s, snoozed for 6s"


@pytest.mark.desktop
def test_status_and_next_say_what_is_coming(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    env = desktop.env()
    ready(run_nudged(env, "--config", str(write_config(env, STRETCH))))
    now = status(env)
    assert {"state", "paused_until", "plugins", "next"} <= set(now)
    assert now["state"] == "running" and now["paused_until"] is None
    plugins = {p["name"]: p["status"] for p in now["plugins"]}
    assert plugins["custom"] == "ok" and plugins["movement"] == "disabled"
    [upcoming] = [n for n in now["next"] if n["id"] == "custom:stretch"]
    at = datetime.fromisoformat(upcoming["at"])
    assert timedelta(hours=5, minutes=59) < at - datetime.now(at.tzinfo) <= timedelta(hours=6)
    assert upcoming["title"] == "Time to stretch" and upcoming["why"] == "scheduled"

    nxt = json.loads(cli(env, "next", "1", "--json"))
    assert nxt == [upcoming]
    text = cli(env, "status")
    assert text.startswith("nudged is running (pid ")
    assert re.search(r"\n  +\d\d:\d\d  custom:stretch  Time to stretch\n", text)
    assert re.search(r"\n  custom +ok\n", text)


@pytest.mark.desktop
def test_the_interface_matches_its_documentation_and_signals_changes(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    env = desktop.env()
    ready(run_nudged(env, "--config", str(write_config(env, STRETCH))))
    documented = documented_interface()

    async def look() -> tuple[dict[str, Any], list[list[Any]]]:
        from dbus_fast.aio import MessageBus

        bus = await MessageBus(bus_address=env["DBUS_SESSION_BUS_ADDRESS"]).connect()
        node = await bus.introspect(BUS_NAME, OBJECT_PATH)
        [iface] = [i for i in node.interfaces if i.name == INTERFACE]
        live = {
            "methods": {m.name: ([a.signature for a in m.in_args],
                                 [a.signature for a in m.out_args]) for m in iface.methods},
            "signals": {s.name: [a.signature for a in s.args] for s in iface.signals},
            "properties": {p.name: p.signature for p in iface.properties},
        }
        heard: list[list[Any]] = []
        proxy = bus.get_proxy_object(BUS_NAME, OBJECT_PATH, node).get_interface(INTERFACE)
        proxy.on_status_changed(lambda *args: heard.append(list(args)))  # type: ignore[attr-defined]
        await proxy.call_pause(600)  # type: ignore[attr-defined]
        await proxy.call_resume()  # type: ignore[attr-defined]
        for _ in range(20):
            if len(heard) >= 2:
                break
            await asyncio.sleep(0.1)
        bus.disconnect()
        return live, heard

    live, heard = asyncio.run(look())
    assert live == documented
    assert [h[0] for h in heard[:2]] == ["paused", "running"]
    assert heard[0][1] and heard[1][1] == ""


def documented_interface() -> dict[str, Any]:
    """The interface as docs/control.md's introspection XML describes it."""
    from dbus_fast.introspection import Node

    text = (REPO / "docs" / "control.md").read_text()
    xml = re.search(r"```xml\n(.*?)```", text, re.S)
    assert xml, "docs/control.md has no ```xml block"
    [iface] = [i for i in Node.parse(xml.group(1)).interfaces if i.name == INTERFACE]
    return {
        "methods": {m.name: ([a.signature for a in m.in_args],
                             [a.signature for a in m.out_args]) for m in iface.methods},
        "signals": {s.name: [a.signature for a in s.args] for s in iface.signals},
        "properties": {p.name: p.signature for p in iface.properties},
    }


@pytest.mark.desktop
def test_a_second_daemon_on_the_same_session_refuses_to_start(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged]
) -> None:
    env = desktop.env()
    config = str(write_config(env, STRETCH))
    first = ready(run_nudged(env, "--config", config))
    second = run_nudged(env, "--config", config)
    code = second.proc.wait(10)
    assert code == 1
    assert f"already running on this session (pid {first.pid})" in second.log_text()
    assert "Traceback" not in second.log_text()
    assert first.alive()


# -- without a daemon -----------------------------------------------------------------
COMMANDS = [["status"], ["pause", "1h"], ["resume"], ["snooze", "stretch", "5m"],
            ["trigger", "stretch"], ["next"]]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_with_no_daemon_each_command_says_so_in_one_line(
    args: list[str], tmp_path: Path
) -> None:
    testbed.require_dbus_daemon()
    with SessionBus(tmp_path / "bus") as bus:
        env = {**private_env(tmp_path / "home"), **bus.env()}
        done = nudged_cli(env, *args)
    assert done.returncode == 3
    assert done.stderr == ("nudged: not running (start it with `systemctl --user start nudged`"
                           " or `nudged run`)\n")
    assert done.stdout == ""


def test_with_no_session_bus_at_all_status_json_still_answers(tmp_path: Path) -> None:
    env = private_env(tmp_path / "home")
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "nothing-here")
    done = nudged_cli(env, "status", "--json")
    assert done.returncode == 3
    assert json.loads(done.stdout) == {"state": "stopped", "paused_until": None,
                                       "plugins": [], "next": [], "held": []}
    assert done.stderr == "nudged: not running here: there is no session bus to reach it on\n"


def test_bad_durations_get_a_sentence_before_anything_is_asked(tmp_path: Path) -> None:
    env = private_env(tmp_path / "home")
    done = nudged_cli(env, "pause", "an hour")
    assert done.returncode == 2
    assert done.stderr.startswith('nudged: pause: "an hour" is not a duration')
    done = nudged_cli(env, "pause", "until", "25:00")
    assert done.returncode == 2
    assert done.stderr.startswith('nudged: pause: "25:00" is not a time of day')


def test_history_works_with_the_daemon_stopped(tmp_path: Path) -> None:
    from nudged import Nudge, NudgeSpec
    from nudged.models import Response
    from nudged.store import Store, default_db_path

    env = private_env(tmp_path / "home")
    done = nudged_cli(env, "history", "--since", "7d")
    assert (done.returncode, done.stdout) == (0, "Nothing in the last 1w.\n")

    store = Store.open(default_db_path(env))
    now = datetime.now().astimezone().replace(microsecond=0)
    walk = Nudge("custom", NudgeSpec(id="walk", title="A short walk?", body=""),
                 now - timedelta(hours=3))
    store.record_decision(walk, now - timedelta(hours=3), "deferred", "dnd",
                          "do-not-disturb is on (dunst is paused)", None)
    shown = store.record_shown(walk, now - timedelta(hours=2))
    store.record_response(shown, Response.DONE, now - timedelta(hours=2) + timedelta(minutes=1))
    old = Nudge("custom", NudgeSpec(id="old", title="Long ago", body=""), now - timedelta(days=3))
    store.record_shown(old, now - timedelta(days=3))
    store.close()

    out = cli(env, "history", "--since", "1d").splitlines()
    assert [line.split(maxsplit=1)[1] for line in out] == [
        "custom:walk  deferred by dnd: do-not-disturb is on (dunst is paused)",
        f"custom:walk  shown: A short walk? -> done at "
        f"{(now - timedelta(hours=2) + timedelta(minutes=1)):%H:%M}",
    ]
    rows = json.loads(cli(env, "history", "--since", "4d", "--json"))
    assert [(r["id"], r["event"]) for r in rows] == [
        ("custom:old", "shown"), ("custom:walk", "deferred"), ("custom:walk", "shown")]
