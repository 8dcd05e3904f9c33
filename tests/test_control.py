"""Pause, resume, snooze and trigger: the person's controls, on a simulated clock.

Each test is a day of Sam's with a config of small, easy-to-follow nudges, and the
commands Sam types (``nudged pause 1h``) at given times. The commands go through
the same :class:`nudged.control.Control` the daemon's D-Bus interface uses; the
real-bus tests are in ``test_control_bus.py``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from nudged import Decision, Nudge
from nudged.control import Control, ControlError
from nudged.store import Store
from nudged.testing import Simulation, simulate

WALK = """
    [core]
    timezone = "Europe/Berlin"
    max_per_hour = 10
    snooze = "15m"
    [[plugins.custom.nudges]]
    id = "walk"
    title = "A short walk?"
    at = ["10:00", "15:00"]
    [[plugins.custom.nudges]]
    id = "water"
    title = "A glass of water?"
    at = ["11:00"]
"""


def day(controls: list[tuple[str, str]], config: str = WALK, **kw: object) -> Simulation:
    return simulate(config, start="2026-03-02 08:00", days=0.5, present=["08:00-20:00"],
                    controls=[(f"2026-03-02 {at}", command) for at, command in controls],
                    **kw)  # type: ignore[arg-type]


def seen(sim: Simulation) -> list[tuple[str, str]]:
    return sim.shown("%H:%M")


def test_a_pause_holds_nudges_and_resume_brings_each_once() -> None:
    sim = day([("09:45", "pause 3h"), ("10:20", "resume")])
    # The 10:00 walk waited for the resume at 10:20; the 11:00 water came on time.
    assert seen(sim) == [("10:20", "custom:walk"), ("11:00", "custom:water"),
                         ("15:00", "custom:walk")]
    walk = next(i for i in sim.items if i.shown)
    assert walk.why == ["10:00 held by pause: paused until 12:45"]


def test_a_pause_that_runs_out_lets_the_held_nudges_through_when_it_ends() -> None:
    sim = day([("09:50", "pause 30m")])
    assert seen(sim)[0] == ("10:20", "custom:walk")


def test_a_nudge_held_longer_than_it_stays_useful_is_dropped_not_shown_late() -> None:
    # Nudges go stale after 30 minutes by default; a two-hour pause outlasts both.
    sim = day([("09:50", "pause 2h")])
    assert seen(sim) == [("15:00", "custom:walk")]
    dropped = [(i.nudge.spec.id, i.why[-1]) for i in sim.items if not i.shown]
    assert dropped == [("walk", "10:30 suppressed by nudged: stale: due 30m ago"),
                       ("water", "11:30 suppressed by nudged: stale: due 30m ago")]


def test_resume_without_a_pause_changes_nothing() -> None:
    assert seen(day([("09:00", "resume")])) == seen(day([]))


def test_snooze_by_name_shows_the_nudge_again_after_the_delay() -> None:
    # At 10:00 the walk is up; Sam types `nudged snooze walk 20m` a minute later.
    sim = day([("10:00", "snooze walk 20m")], respond="ignore")
    assert seen(sim)[:2] == [("10:00", "custom:walk"), ("10:20", "custom:walk")]
    first, again = [i for i in sim.items if i.shown][:2]
    assert first.response == "snooze" and again.nudge.attempt == 1


def test_snoozing_a_nudge_that_is_not_showing_brings_it_at_that_time() -> None:
    sim = day([("13:00", "snooze water 10m")])
    assert ("13:10", "custom:water") in seen(sim)


def test_trigger_goes_through_the_filters_and_force_skips_them() -> None:
    sim = day([("09:00", "pause 20m"), ("09:10", "trigger water"),
               ("09:15", "trigger walk --force")])
    # The forced walk shows at once; the triggered water waits for the pause to end.
    assert seen(sim)[:2] == [("09:15", "custom:walk"), ("09:20", "custom:water")]
    water = next(i for i in sim.items if i.nudge.spec.id == "water")
    assert water.why == ["09:10 held by pause: paused until 09:20"]


def test_an_unknown_nudge_gets_a_sentence_with_a_suggestion() -> None:
    sim = day([])
    control = Control(lambda: sim.runtime, lambda n: [])
    with pytest.raises(ControlError, match=r"no nudge named 'walks'; did you mean custom:walk\?"):
        control.snooze("walks", 600)
    with pytest.raises(ControlError, match="between a second and 7 days"):
        control.pause(30 * 86400)


class AlwaysHeld:
    """A filter that holds everything until told otherwise (like do-not-disturb)."""

    def __init__(self) -> None:
        self.on = True
        self.ctx = None

    def nudged_startup(self, ctx):  # type: ignore[no-untyped-def]
        self.ctx = ctx
        ctx.call_at(ctx.now().replace(hour=12, minute=0), self.off, "off")

    def off(self) -> None:
        self.on = False
        assert self.ctx is not None
        self.ctx.recheck()

    def nudged_filter_nudge(self, nudge: Nudge) -> Decision | None:
        return Decision.hold("do-not-disturb is on") if self.on else None


def test_a_held_nudge_comes_once_when_the_plugin_says_the_condition_ended() -> None:
    config = WALK.replace('at = ["11:00"]', 'at = ["11:50"]')
    sim = day([], config=config, plugins={"dnd_like": AlwaysHeld()})
    # The 10:00 walk went stale while held; the 11:50 water is shown at 12:00, once.
    assert seen(sim) == [("12:00", "custom:water"), ("15:00", "custom:walk")]
    water = next(i for i in sim.items if i.shown)
    assert water.why == ["11:50 held by dnd_like: "
                         "do-not-disturb is on"]


def test_the_status_lists_held_and_upcoming_nudges() -> None:
    sim = day([("09:30", "pause 3h"), ("10:05", "snooze water 1h")])
    control = Control(lambda: sim.runtime, lambda n: [])
    status = control.status()
    assert {"state", "paused_until", "plugins", "next", "held", "today"} <= set(status)
    assert {p["name"]: p["status"] for p in status["plugins"]}["custom"] == "ok"


# -- memory across restarts -------------------------------------------------------------
def test_a_pause_and_a_snooze_are_remembered_by_the_store(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "nudged.db")
    sim = day([("09:00", "pause 1h")])
    spec = sim.runtime.specs[("custom", "walk")]
    until = datetime.fromisoformat("2026-03-02T10:15:00+01:00")
    store.save_pause(until)
    store.save_snooze(Nudge("custom", spec, until, attempt=2, title="Walk, now?"), until)
    store.close()

    again = Store.open(tmp_path / "nudged.db")
    assert again.paused_until() == until
    [row] = again.snoozes()
    assert (row["plugin"], row["nudge_id"], row["title"], row["attempt"], row["until"]) == \
        ("custom", "walk", "Walk, now?", 2, until)
    again.save_pause(None)
    again.drop_snooze("custom:walk")
    assert (again.paused_until(), again.snoozes()) == (None, [])
    again.close()


# -- the status-bar examples in docs/control.md ------------------------------------------
def docs_jq_programs() -> dict[str, str]:
    import re

    text = (Path(__file__).resolve().parent.parent / "docs" / "control.md").read_text()
    waybar = re.search(r"```jq\n(.*?)```", text, re.S)
    polybar = re.search(r"exec = nudged status --json \| jq -r '(.*?)'\n", text)
    assert waybar and polybar, "docs/control.md lost its status-bar examples"
    return {"waybar": waybar.group(1), "polybar": polybar.group(1)}


def jq(program: str, value: object, *flags: str) -> str:
    import json
    import shutil
    import subprocess

    if shutil.which("jq") is None:
        pytest.skip("jq is not installed (apt-get install jq)")
    done = subprocess.run(["jq", *flags, program], input=json.dumps(value), text=True,
                          capture_output=True, timeout=10)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_status_bar_examples_turn_a_real_status_into_a_bar_label() -> None:
    import json

    programs = docs_jq_programs()
    sim = day([("09:30", "pause 3h")], config=WALK.replace('at = ["11:00"]', 'at = ["09:45"]'))
    # The simulation ended at 20:00; ask as if it were 10:00, with the walk held.
    status = Control(lambda: sim.runtime, lambda n: []).status()
    status.update(state="paused", paused_until="2026-03-02T12:30:00+01:00",
                  next=[{"at": "2026-03-02T09:45:00+01:00", "id": "custom:water",
                         "title": "A glass of water?", "why": "held", "by": "pause"},
                        {"at": "2026-03-02T15:00:00+01:00", "id": "custom:walk",
                         "title": "A short walk?", "why": "scheduled"}])
    bar = json.loads(jq(programs["waybar"], status, "-c"))
    assert bar == {"text": "nudges paused until 12:30", "class": "paused",
                   "tooltip": "held  A glass of water?\n15:00  A short walk?"}
    assert jq(programs["polybar"], status, "-r") == "nudges paused until 12:30\n"
    status.update(state="running", paused_until=None)
    assert jq(programs["polybar"], status, "-r") == "next: A short walk?\n"
    from nudged.remote import STOPPED

    assert json.loads(jq(programs["waybar"], STOPPED, "-c"))["text"] == ""
    assert jq(programs["polybar"], STOPPED, "-r") == "\n"
