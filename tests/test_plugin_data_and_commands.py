"""Plugins remember things, keep a journal, and add their own commands."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from helpers import shown, simulate

from nudged import NudgeSpec, Response
from nudged.cli import main
from nudged.models import Manual

PLUGIN = '''
from nudged import ConfigError

def nudged_register_commands(register, ctx):
    def build(parser):
        parser.add_argument("glasses", type=int)

    def run(args, ctx):
        if args.glasses < 1:
            raise ConfigError([f"glasses: {args.glasses} is not a number of glasses"])
        ctx.journal.add("drank", ctx.now(), glasses=args.glasses)
        total = ctx.state.get("total", 0) + args.glasses
        ctx.state.set("total", total)
        print(f"{total} glasses so far")
        return 0

    register("water", "log glasses of water", build, run)
'''


def test_a_plugin_command_writes_to_the_plugins_journal_and_state(
    private_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = private_home / ".config" / "nudged" / "plugins"
    folder.mkdir(parents=True)
    (folder / "hydrate.py").write_text(textwrap.dedent(PLUGIN))
    assert main(["water", "2"]) == 0
    assert main(["water", "1"]) == 0
    assert capsys.readouterr().out.splitlines() == ["2 glasses so far", "3 glasses so far"]
    assert main(["water", "0"]) == 2
    assert "glasses: 0 is not a number of glasses" in capsys.readouterr().err
    from nudged.store import Store, default_db_path

    store = Store.open(default_db_path())
    rows = store.journal("hydrate", "drank")
    assert [json.loads(r[3]) for r in rows] == [{"glasses": 2}, {"glasses": 1}]
    assert json.loads(store.state_get("hydrate", "total") or "0") == 3


SIZED = '''
from pydantic import BaseModel

class Glass(BaseModel):
    ml: int = 250

def nudged_config_model():
    return Glass

def nudged_register_commands(register, ctx):
    # The command's options come from the person's config: ctx is the real context.
    def build(parser):
        parser.add_argument("glasses", type=int, help=f"glasses of {ctx.config.ml} ml")

    def run(args, ctx):
        print(f"{args.glasses * ctx.config.ml} ml")
        return 0

    register("water", "log glasses of water", build, run)
'''


def test_a_plugin_registers_its_commands_with_its_configured_context(
    private_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = private_home / ".config" / "nudged" / "plugins"
    folder.mkdir(parents=True)
    (folder / "sized.py").write_text(textwrap.dedent(SIZED))
    (private_home / ".config" / "nudged" / "config.toml").write_text(
        "[plugins.sized]\nml = 300\n")
    assert main(["water", "2"]) == 0
    assert capsys.readouterr().out == "600 ml\n"
    with pytest.raises(SystemExit):
        main(["water", "--help"])
    assert "glasses of 300 ml" in capsys.readouterr().out


def test_an_unknown_command_still_says_what_the_commands_are(
    capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["frobnicate"])
    assert exit_.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


class Counting:
    """A nudge with its own button words and snooze, counting answers in its state."""

    def nudged_register_nudges(self, register) -> None:  # type: ignore[no-untyped-def]
        from datetime import timedelta
        register(NudgeSpec("call", "Call Mum?", "", schedule=Manual(),
                           labels={"snooze": "Tomorrow"}, snooze=timedelta(days=1)))

    def nudged_startup(self, ctx) -> None:  # type: ignore[no-untyped-def]
        ctx.call_at(ctx.now().replace(hour=18), lambda: ctx.fire("call"), key="first")

    def nudged_on_response(self, nudge, response, at, ctx) -> None:  # type: ignore[no-untyped-def]
        ctx.state.set(response.value, ctx.state.get(response.value, 0) + 1)
        ctx.journal.add("answered", at, response=response.value)


def test_a_per_nudge_snooze_brings_it_back_tomorrow() -> None:
    plugin = Counting()
    items, runtime = simulate('[core]\ntimezone = "UTC"\n', days=3, respond="snooze",
                              present=["00:00-23:59"], plugins={"family": plugin},
                              builtins=False)
    assert shown(items) == [("Mon 18:00", "family:call"), ("Tue 18:01", "family:call"),
                            ("Wed 18:02", "family:call")]
    ctx = runtime.host.records["family"].ctx
    assert ctx is not None
    assert ctx.state.get("snooze") == 3
    assert [e.data for e in ctx.journal.entries("answered")] == [
        {"response": "snooze"}] * 3
    assert Response.SNOOZE.value == "snooze"


def test_plugin_authors_get_a_simulation_fixture_that_presses_buttons(
    nudged_simulate,  # type: ignore[no-untyped-def]
) -> None:
    from datetime import timedelta

    pressed: list[str] = []

    def person(nudge, now):  # type: ignore[no-untyped-def]
        pressed.append(now.strftime("%H:%M"))
        # Snoozes the first one, answers "done" three minutes after the second.
        return Response.SNOOZE if len(pressed) == 1 else (Response.DONE, timedelta(minutes=3))

    sim = nudged_simulate("""
        [core]
        timezone = "Europe/Berlin"
        snooze = "15m"
        [[plugins.custom.nudges]]
        id = "lunch"
        title = "Lunch away from the screen?"
        at = ["12:30"]
    """, days=1, respond=person)
    assert sim.shown() == [("Mon 12:30", "custom:lunch"), ("Mon 12:46", "custom:lunch")]
    assert [i.response for i in sim.items] == ["snooze", "done"]
    assert sim.status("custom") == ("ok", "")
