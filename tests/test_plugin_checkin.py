"""Robin notes how the day was: mood and energy, 1 to 5, with a gentle reminder at 20:30.

The stories run the real plugin through the real engine on a simulated clock
(``nudged.testing.simulate``). When Robin types ``nudged checkin`` in the middle of a
simulated day, :class:`Terminal` runs the plugin's own command (its parser and its
``run``) at that simulated moment, with the daemon's clock and journal, as the real
command does with the real ones. The command line itself is driven through
``nudged.cli.main`` with the private home every test gets, and once as a separate
process; the desktop test runs the real daemon against dunst.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import structlog
from nudged_plugins.checkin import STALE_AFTER, CheckinConfig, CheckinPlugin, command, words
from nudged_plugins.checkin.days import DAY_ENDS, CheckIn, day_of
from nudged_plugins.checkin.questions import KNOWN, question
from nudged_plugins.quiet import QuietHoursPlugin

from nudged import PluginContext
from nudged.cli import main
from nudged.config import default_config_path
from nudged.desktop import NotificationServer
from nudged.store import Store, default_db_path
from nudged.testing import Simulation, press, simulate
from tests.test_daemon_desktop import desktop, nudge_call
from tests.test_daemon_service import NUDGED, Nudged, run_nudged, until, write_config
from tests.testbed import DesktopStack

__all__ = ["desktop", "run_nudged"]  # fixtures, imported to be used here

NAME = "checkin"
KEY = "checkin:reminder"
BODY = ("If you like, note your mood and energy from 1 to 5: run nudged checkin in a "
        "terminal. Skipping a day is fine too.")

ROBIN = """
[core]
timezone = "Europe/Berlin"
[plugins.checkin]
at = "20:30"
days = "mon-sun"
questions = ["mood", "energy"]
answer_in = "terminal"
"""


# --------------------------------------------------------------------- Robin at a terminal


class Terminal:
    """Robin typing ``nudged checkin ARGS`` at simulated moments.

    Each line goes through the checkin plugin's own command: the parser its
    ``nudged_register_commands`` builds, then its ``run`` with the plugin's context,
    so the check-in lands in the same journal the daemon reads, at the simulated time.
    """

    def __init__(self, checkin: CheckinPlugin, typed: Sequence[tuple[str, str]]) -> None:
        self.checkin = checkin
        self.typed = typed
        self.codes: list[int] = []

    def nudged_startup(self, ctx: PluginContext) -> None:
        for n, (when, line) in enumerate(self.typed):
            at = datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=ctx.tz)
            ctx.call_at(at, partial(self._type, line), key=f"typed:{n}")

    def _type(self, line: str) -> None:
        ctx = self.checkin.ctx
        assert ctx is not None
        found: list[tuple[Any, ...]] = []
        self.checkin.nudged_register_commands(lambda *a: found.append(a), ctx)
        [(name, _help, build, run)] = found
        parser = argparse.ArgumentParser(prog=f"nudged {name}")
        build(parser)
        self.codes.append(run(parser.parse_args(shlex.split(line)), ctx))


def live(config: str, *, typed: Sequence[tuple[str, str]] = (), days: float = 1,
         respond: Any = "done", present: Sequence[str] = ("08:00-23:00",),
         start: str = "2026-03-02 00:00", before: dict[str, object] | None = None,
         controls: Sequence[tuple[str, str]] = ()) -> tuple[Simulation, Terminal]:
    """``simulate`` with only this plugin (and ``before`` it), and Robin at a terminal."""
    plugin = CheckinPlugin()
    terminal = Terminal(plugin, typed)
    sim = simulate(config, start=start, days=days, respond=respond, present=present,
                   plugins={**(before or {}), NAME: plugin, "terminal": terminal},
                   builtins=False, controls=controls)
    assert sim.status(NAME) == ("ok", "")
    assert terminal.codes == [0] * len(typed)
    return sim, terminal


def checkins(sim: Simulation) -> list[tuple[str, dict[str, Any]]]:
    """(local "Mon 20:33" when written, data) of each check-in in the journal."""
    return [(e.at.strftime("%a %H:%M"), e.data) for e in sim.journal(NAME, "checkin")]


# --------------------------------------------------------------------------- the stories


def test_robin_checks_in_monday_misses_tuesday_and_fills_it_in_on_wednesday_morning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim, _ = live(ROBIN, days=4, respond=press("done", "ignore", "skip"), typed=[
        ("2026-03-02 20:33", "--mood 3 --energy 2"),
        ("2026-03-04 08:30", '--date yesterday --mood 2 --energy 2 --note "a long day"'),
        ("2026-03-05 19:00", "--mood 4 --energy 3"),
    ])
    # Monday's reminder, Tuesday's (left unanswered: it just goes), Wednesday's
    # (the morning's answer was about Tuesday); Thursday already had its check-in.
    assert sim.shown() == [("Mon 20:30", KEY), ("Tue 20:30", KEY), ("Wed 20:30", KEY)]
    assert [s.response for s in sim.seen()] == ["done", "timed_out", "skip"]
    assert sim.not_shown() == [
        ("Thu 20:30", KEY, ["20:30 suppressed by checkin: today's check-in is already noted"])]
    first = sim.seen()[0]
    assert (first.title, first.body, first.buttons) == ("How was today?", BODY, ("OK", "Not today"))
    assert capsys.readouterr().out.splitlines() == [
        "Noted for today (Mon 2 Mar): mood 3 and energy 2.",
        "Noted for yesterday (Tue 3 Mar): mood 2 and energy 2, with your note.",
        "Noted for today (Thu 5 Mar): mood 4 and energy 3.",
    ]
    assert checkins(sim) == [
        ("Mon 20:33", {"day": "2026-03-02", "answers": {"mood": 3, "energy": 2}, "note": None,
                       "source": "cli"}),
        ("Wed 08:30", {"day": "2026-03-03", "answers": {"mood": 2, "energy": 2},
                       "note": "a long day", "source": "cli"}),
        ("Thu 19:00", {"day": "2026-03-05", "answers": {"mood": 4, "energy": 3}, "note": None,
                       "source": "cli"}),
    ]
    # The simulation ends on Friday at 00:00, still Thursday evening for a check-in.
    assert sim.facts(NAME) == {"checked_in_today": True}


def test_one_reminder_a_day_at_the_time_on_the_days_chosen() -> None:
    sim, _ = live(ROBIN.replace('"mon-sun"', '"mon-fri"').replace('"20:30"', '"21:15"'),
                  days=14, respond="ignore")
    assert sim.shown() == [(f"{d} 21:15", KEY) for d in ("Mon", "Tue", "Wed", "Thu", "Fri")] * 2
    assert sim.not_shown() == []
    assert sim.facts(NAME) == {"checked_in_today": False}


def test_skipped_dismissed_or_ignored_it_never_comes_back_the_same_day() -> None:
    sim, _ = live(ROBIN, days=4, respond=press("skip", "dismiss", "ignore", "done"),
                  controls=[("2026-03-02 21:00", "trigger checkin:reminder")])
    assert sim.shown() == [("Mon 20:30", KEY), ("Tue 20:30", KEY), ("Wed 20:30", KEY),
                           ("Thu 20:30", KEY)]
    assert [s.response for s in sim.seen()] == ["skip", "dismissed", "timed_out", "done"]
    # Even asked for again the same evening, it does not come twice.
    assert sim.not_shown() == [("Mon 21:00", KEY, [
        "21:00 suppressed by checkin: one check-in reminder a day, and today's was shown"])]
    # "OK" notes nothing by itself: the answers are typed in the terminal.
    assert sim.journal(NAME) == []
    assert sim.state(NAME, "reminder") == {"day": "2026-03-05", "at": "2026-03-05T20:30:00+01:00",
                                           "response": "done"}


def test_a_check_in_before_the_reminder_means_no_reminder_that_day() -> None:
    sim, _ = live(ROBIN, days=2, typed=[("2026-03-02 12:10", "--mood 4")])
    assert sim.shown() == [("Tue 20:30", KEY)]
    assert sim.not_shown() == [
        ("Mon 20:30", KEY, ["20:30 suppressed by checkin: today's check-in is already noted"])]


def test_a_check_in_after_midnight_is_about_the_evening_before(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim, _ = live(ROBIN, days=2, respond="ignore", typed=[("2026-03-03 00:40", "--mood 3")])
    assert capsys.readouterr().out == "Noted for today (Mon 2 Mar): mood 3.\n"
    assert [(at, data["day"]) for at, data in checkins(sim)] == [("Tue 00:40", "2026-03-02")]
    # So Tuesday evening still asks about Tuesday.
    assert sim.shown() == [("Mon 20:30", KEY), ("Tue 20:30", KEY)]


def test_answering_twice_a_day_updates_it_and_the_latest_entry_holds_the_whole_day(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim, _ = live(ROBIN, days=1, typed=[
        ("2026-03-02 20:31", '--mood 2 --note "tired"'),
        ("2026-03-02 21:40", "--energy 3"),
        ("2026-03-02 22:05", '--mood 3 --note "better after the walk"'),
    ])
    assert capsys.readouterr().out.splitlines() == [
        "Noted for today (Mon 2 Mar): mood 2, with your note.",
        "Updated today (Mon 2 Mar): mood 2 and energy 3, with your note.",
        "Updated today (Mon 2 Mar): mood 3 and energy 3, with your note.",
    ]
    entries = checkins(sim)
    assert [at for at, _ in entries] == ["Mon 20:31", "Mon 21:40", "Mon 22:05"]
    assert entries[1][1] == {"day": "2026-03-02", "answers": {"mood": 2, "energy": 3},
                             "note": "tired", "source": "cli"}
    assert entries[-1][1] == {"day": "2026-03-02", "answers": {"mood": 3, "energy": 3},
                              "note": "better after the walk", "source": "cli"}


def test_away_at_reminder_time_it_waits_a_while_then_lets_the_evening_go() -> None:
    back_soon, _ = live(ROBIN, present=("08:00-20:00", "21:10-23:00"))
    assert back_soon.shown() == [("Mon 21:10", KEY)]
    assert timedelta(hours=2) == STALE_AFTER
    back_late, _ = live(ROBIN, present=("08:00-20:00", "22:45-23:00"))
    assert back_late.shown() == []
    assert back_late.not_shown() == [("Mon 22:30", KEY, [
        "20:30 held by presence: the person is away",
        "22:30 suppressed by nudged: stale: due 2h00m ago"])]


def test_quiet_hours_move_the_reminder_to_their_end() -> None:
    config = ROBIN + '[plugins.quiet]\nhours = ["20:00-21:00"]\n'
    sim, _ = live(config, before={"quiet": QuietHoursPlugin()})
    assert sim.shown() == [("Mon 21:00", KEY)]


def test_remind_false_no_reminders_and_the_command_still_works(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim, _ = live(ROBIN + "remind = false\n", days=3,
                  typed=[("2026-03-03 21:00", "--mood 4 --energy 4")])
    assert sim.shown() == [] and sim.not_shown() == []
    assert capsys.readouterr().out == "Noted for today (Tue 3 Mar): mood 4 and energy 4.\n"
    assert sim.facts(NAME) == {"checked_in_today": False}  # it is Thursday now


def test_no_table_no_plugin() -> None:
    sim = simulate("[core]\n", plugins={NAME: CheckinPlugin()}, builtins=False, days=1)
    assert sim.status(NAME)[0] == "disabled"
    assert sim.shown() == []


# --------------------------------------------------------------------------- the CLI


def write_home_config(text: str) -> Path:
    """The config where ``nudged checkin`` reads it (the private home's)."""
    path = default_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


UTC_CONFIG = """
[core]
timezone = "UTC"
[plugins.checkin]
questions = ["mood", "energy", "sleep_quality"]
"""


def today() -> date:
    return day_of(datetime.now(UTC), UTC)


def shown_day(day: date) -> str:
    return words.day_words(day, today())


@pytest.fixture
def home_store() -> Iterator[Store]:
    store = Store.open(default_db_path())
    try:
        yield store
    finally:
        store.close()


def journal(store: Store) -> list[dict[str, Any]]:
    return [json.loads(data) for _p, _kind, _at, data in store.journal(NAME, "checkin")]


def test_flags_note_a_check_in_and_answering_again_updates_the_day(
    home_store: Store, capsys: pytest.CaptureFixture[str],
) -> None:
    write_home_config(UTC_CONFIG)
    assert main(["checkin", "--mood", "3", "--energy", "4"]) == 0
    assert capsys.readouterr().out == f"Noted for {shown_day(today())}: mood 3 and energy 4.\n"
    assert main(["checkin", "--sleep-quality", "2", "--note", "  woke at   five  "]) == 0
    assert capsys.readouterr().out == (
        f"Updated {shown_day(today())}: mood 3, energy 4 and sleep quality 2, with your note.\n")
    assert journal(home_store) == [
        {"day": today().isoformat(), "answers": {"mood": 3, "energy": 4}, "note": None,
         "source": "cli"},
        {"day": today().isoformat(), "answers": {"energy": 4, "mood": 3, "sleep_quality": 2},
         "note": "woke at five", "source": "cli"},
    ]


def test_the_report_shows_one_check_in_per_day_as_last_answered(
    home_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    import csv

    write_home_config(UTC_CONFIG)
    yesterday = today() - timedelta(days=1)
    assert main(["checkin", "--mood", "2", "--energy", "3"]) == 0
    assert main(["checkin", "--mood", "4", "--note", "a walk helped"]) == 0
    assert main(["checkin", "--date", "yesterday", "--energy", "1"]) == 0
    out = tmp_path / "report"
    assert main(["report", "--last", "7d", "--format", "csv", "--output", str(out)]) == 0
    with open(out / "checkins.csv", encoding="utf-8-sig", newline="") as fh:
        rows = [(r["day"], r["mood"], r["energy"], r["note"]) for r in csv.DictReader(fh)]
    assert rows == [(yesterday.isoformat(), "", "1", ""),
                    (today().isoformat(), "4", "3", "a walk helped")]


def test_date_fills_in_an_earlier_day(home_store: Store,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    write_home_config(UTC_CONFIG)
    yesterday = today() - timedelta(days=1)
    earlier = today() - timedelta(days=5)
    assert main(["checkin", "--date", "yesterday", "--mood", "2"]) == 0
    assert main(["checkin", "--date", earlier.isoformat(), "--note", "the dentist"]) == 0
    assert main(["checkin", "--date", "today", "--energy", "5"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"Noted for yesterday ({yesterday:%a} {yesterday.day} {yesterday:%b}): mood 2.",
        f"Noted for {earlier:%a} {earlier.day} {earlier:%b}: your note.",
        f"Noted for {shown_day(today())}: energy 5.",
    ]
    assert [(e["day"], e["answers"], e["note"]) for e in journal(home_store)] == [
        (yesterday.isoformat(), {"mood": 2}, None),
        (earlier.isoformat(), {}, "the dentist"),
        (today().isoformat(), {"energy": 5}, None),
    ]


@pytest.mark.parametrize(("argv", "sentences"), [
    (["--mood", "7"], ['--mood: "7" is not a number from 1 to 5 (1 = low, 5 = good)']),
    (["--mood", "0"], ['--mood: "0" is not a number from 1 to 5 (1 = low, 5 = good)']),
    (["--energy", "three"],
     ['--energy: "three" is not a number from 1 to 5 (1 = drained, 5 = plenty)']),
    (["--mood", "2.5", "--sleep-quality", "6"],
     ['--mood: "2.5" is not a number from 1 to 5 (1 = low, 5 = good)',
      '--sleep-quality: "6" is not a number from 1 to 5 (1 = poor, 5 = restful)']),
    (["--anxiety", "2"],
     ["--anxiety: anxiety is not one of your check-in questions (mood, energy and "
      "sleep_quality; see questions under [plugins.checkin] in config.toml)"]),
    (["--date", "12/03", "--mood", "3"],
     ['--date: "12/03" is not a date (write YYYY-MM-DD, "today" or "yesterday")']),
    (["--mood", "3", "--note", "x" * 501],
     ["--note: a note is at most 500 characters, and this one has 501; a shorter one, "
      "please"]),
])
def test_a_bad_value_is_a_sentence_and_exit_code_2_and_nothing_is_kept(
    argv: list[str], sentences: list[str], capsys: pytest.CaptureFixture[str],
) -> None:
    write_home_config(UTC_CONFIG)
    assert main(["checkin", *argv]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    prefix = "nudged: " if len(sentences) == 1 else ""
    assert out.err == prefix + "\n".join(sentences) + "\n"
    assert "Traceback" not in out.err
    assert not default_db_path().exists() or not journal_rows()


def test_a_day_still_ahead_is_turned_away(capsys: pytest.CaptureFixture[str]) -> None:
    write_home_config(UTC_CONFIG)
    assert main(["checkin", "--date", "2999-01-01", "--mood", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nudged: --date: 2999-01-01 is after today ({today().isoformat()}")
    assert err.endswith("a check-in is about today or a day before it\n")


def journal_rows() -> list[Any]:
    conn = sqlite3.connect(default_db_path())
    try:
        return conn.execute("SELECT * FROM plugin_journal").fetchall()
    finally:
        conn.close()


def test_without_flags_it_asks_one_line_per_question(
    home_store: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_home_config(UTC_CONFIG.replace('"sleep_quality"', '"focus"'))
    monkeypatch.setattr(sys, "stdin", io.StringIO("4\n\nfive\n3\nfelt  steady\n"))
    assert main(["checkin"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "How was today? Each from 1 to 5; press Enter to leave one out.",
        "Mood (1 = low, 5 = good): ",
        "Energy (1 = drained, 5 = plenty): ",
        "Focus (1 = low, 5 = high): ",
        "  A number from 1 to 5, please, or Enter to leave it out.",
        "Focus (1 = low, 5 = high): ",
        "A few words, if you like (Enter to leave out): ",
        f"Noted for {shown_day(today())}: mood 4 and focus 3, with your note.",
    ]
    assert journal(home_store) == [{"day": today().isoformat(), "answers": {"mood": 4, "focus": 3},
                                    "note": "felt steady", "source": "cli"}]


def test_asked_about_yesterday_and_leaving_everything_out_keeps_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_home_config(UTC_CONFIG)
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n\n\n\n"))
    assert main(["checkin", "--date", "yesterday"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"How was {shown_day(today() - timedelta(days=1))}? Each from 1 to 5; "
                      "press Enter to leave one out.")
    assert out[-1] == "Nothing noted, and that is fine."
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no terminal at all
    assert main(["checkin"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Nothing noted, and that is fine."
    assert not default_db_path().exists() or not journal_rows()


def test_help_lists_a_flag_per_question(capsys: pytest.CaptureFixture[str]) -> None:
    write_home_config(UTC_CONFIG)
    with pytest.raises(SystemExit) as exit_:
        main(["checkin", "--help"])
    assert exit_.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for text in ("--mood N Mood: 1 = low, 5 = good", "--energy N Energy: 1 = drained, 5 = plenty",
                 "--sleep-quality N Sleep quality: 1 = poor, 5 = restful", "--note TEXT",
                 "--date YYYY-MM-DD"):
        assert text in out, out


def test_the_command_has_a_flag_for_each_configured_question_even_one_of_your_own() -> None:
    config = CheckinConfig(questions=("mood", "focus", "sleep_quality"))
    ctx = PluginContext(name=NAME, config=config, tz=UTC, log=None,
                        _now=lambda: datetime.now(UTC))
    parser = argparse.ArgumentParser()
    command.builder(command.flags_for(ctx))(parser)
    args = parser.parse_args(["--focus", "3", "--sleep-quality", "4", "--anxiety", "2"])
    assert (args.answer_focus, args.answer_sleep_quality, args.answer_mood) == ("3", "4", None)
    # A known question that is not configured parses, so that run() can say so kindly,
    # but --help does not offer it.
    assert args.answer_anxiety == "2"
    shown = parser.format_help()
    assert "--focus N" in shown and "--mood N" in shown and "--anxiety" not in shown
    assert command.help_line(ctx) == "note how today was (mood, focus and sleep quality, 1 to 5)"
    # Without a context (nudged 0.1.0 hands nudged_register_commands none), every known
    # question has its flag and run() checks them against the config.
    assert [q.name for q in command.flags_for(None)] == list(KNOWN)


def test_the_command_as_its_own_process(tmp_path: Path) -> None:
    write_home_config(UTC_CONFIG)
    env = dict(os.environ)

    def nudged(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([*NUDGED, *args], env=env, input=stdin, capture_output=True,
                              text=True, timeout=60)

    done = nudged("checkin", "--mood", "3", "--energy", "4")
    assert (done.returncode, done.stdout, done.stderr) == (
        0, f"Noted for {shown_day(today())}: mood 3 and energy 4.\n", "")
    done = nudged("checkin", stdin="\n2\n4\nslept\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == (
        f"Updated {shown_day(today())}: mood 3, energy 2 and sleep quality 4, with your note.")
    done = nudged("checkin", "--mood", "9")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == 'nudged: --mood: "9" is not a number from 1 to 5 (1 = low, 5 = good)\n'
    store = Store.open(default_db_path())
    try:
        assert journal(store)[-1] == {"day": today().isoformat(),
                                      "answers": {"mood": 3, "energy": 2, "sleep_quality": 4},
                                      "note": "slept", "source": "cli"}
    finally:
        store.close()


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(("line", "sentence"), [
    ('questions = "mood"', 'plugins.checkin.questions: "mood" is not a list of questions (put '
                           'it in brackets: questions = ["mood"])'),
    ("questions = []", 'plugins.checkin.questions: needs at least one question, like '
                       '["mood", "energy"]'),
    ('questions = ["mood", "Sleep"]', 'plugins.checkin.questions: "Sleep" is not a question '
     'name (lowercase letters, digits and "_", starting with a letter, like "mood" or '
     '"sleep_quality")'),
    ('questions = ["mood", "mood"]', 'plugins.checkin.questions: "mood" is listed twice'),
    ('questions = ["note"]', 'plugins.checkin.questions: "note" is one of the command\'s own '
                             "options (--note); pick another name for the question"),
    ("questions = [1]", 'plugins.checkin.questions: 1 is not a question name (write it in '
                        'quotes, like "mood")'),
    ('questions = ["a", "b", "c", "d", "e", "f"]', "plugins.checkin.questions: 6 questions are "
     "more than a check-in needs (at most 5; two or three are plenty)"),
    ('at = "8:30pm"', 'plugins.checkin.at: "8:30pm" is not a time of day (use 24-hour '
                      '"HH:MM", for example "22:30")'),
    ('days = "mon-fir"', 'plugins.checkin.days: "mon-fir" is not a set of days (did you mean '
                         '"mon-fri"? write days like "mon-fri", "sat,sun" or "daily")'),
    ('remind = "no"', 'plugins.checkin.remind: expected true or false, got "no"'),
    ('when = "20:30"', "plugins.checkin.when: unknown key (known keys: at, days, questions, "
                       "remind, answer_in)"),
])
def test_config_mistakes_are_one_sentence_with_file_and_line(
    line: str, sentence: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[plugins.checkin]\n{line}\n")
    assert main(["config", "check", str(path)]) == 2
    assert capsys.readouterr().err.replace(str(path), "config.toml").strip() == \
        f"config.toml:2: {sentence}"


def test_an_empty_table_is_enough_and_the_example_is_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert CheckinConfig() == CheckinConfig(questions=("mood", "energy"), remind=True,
                                            answer_in="auto")
    example = Path(__file__).resolve().parent.parent / "plugins" / NAME / "example.toml"
    assert example.read_text() in (Path(__file__).resolve().parent.parent
                                   / "config.example.toml").read_text()
    for text in ("[plugins.checkin]\n", example.read_text()):
        path = tmp_path / "config.toml"
        path.write_text(text)
        assert main(["config", "check", str(path)]) == 0, capsys.readouterr().err


# --------------------------------------------------------------------------- words

FORBIDDEN = re.compile(
    r"!|\bshould\b|\bmust\b|\bfail|\bmiss(ed)?\b|you still|haven'?t|\bforg[oe]t|\boverdue\b"
    r"|\blate\b|\bstreak|\bneglect|\bcure|\btreat|\btherap|\bdepress|\bsymptom|\bdiagnos"
    r"|\bdays? ago\b|\bbad\b|\bwrong\b",
    re.IGNORECASE,
)


def test_every_word_is_gentle() -> None:
    sets = [["mood"], ["mood", "energy"], ["mood", "energy", "sleep_quality", "anxiety", "focus"]]
    texts = [words.TITLE, *words.LABELS.values(), words.NOTHING, words.ASK_AGAIN, words.ASK_NOTE]
    day = date(2026, 3, 4)
    for names in sets:
        qs = [question(n) for n in names]
        texts.append(words.reminder_body(qs))
        texts += [words.ask_line(q) for q in qs]
        answers = {n: i % 5 + 1 for i, n in enumerate(names)}
        for note in (None, "x"):
            for updated in (False, True):
                checkin = CheckIn(day, answers, note, datetime(2026, 3, 4, 21, tzinfo=UTC))
                texts.append(words.confirmation(checkin, updated, day, qs))
    for text in texts:
        assert not FORBIDDEN.search(text), text
        assert text.strip() == " ".join(text.split()), text
    assert words.reminder_body([question(n) for n in sets[2]]) == (
        "If you like, note your mood, energy, sleep quality, anxiety and focus from 1 to 5: "
        "run nudged checkin in a terminal. Skipping a day is fine too.")
    assert DAY_ENDS.hour == 4


class FakeDesktop:
    """Stands in for ``ctx.desktop``: a notification server that says who it is."""

    def __init__(self, server: NotificationServer | None) -> None:
        self.server = server

    async def notification_server(self) -> NotificationServer | None:
        return self.server


@pytest.mark.parametrize(("server", "flow"), [
    (NotificationServer("dunst", "knopwob", "1.9.0", frozenset({"actions", "body"})),
     "notification"),
    # GNOME Shell shows three buttons: the reminder points at the terminal instead.
    (NotificationServer("gnome-shell", "GNOME", "43.9", frozenset({"actions", "body"})),
     "terminal"),
    (NotificationServer("plain", "x", "1", frozenset({"body"})), "terminal"),
    (None, "terminal"),
])
def test_auto_asks_in_the_notification_only_where_five_buttons_show(
    server: NotificationServer | None, flow: str,
) -> None:
    import asyncio

    from nudged.context import PluginContext as Context

    ctx = Context(name=NAME, config=CheckinConfig(), tz=UTC, log=structlog.get_logger(),
                  _now=lambda: datetime.now(UTC), desktop=FakeDesktop(server))  # type: ignore[arg-type]
    plugin = CheckinPlugin()
    asyncio.run(plugin.nudged_startup(ctx))
    assert plugin.flow == flow
    assert plugin.note_field is False  # none of these has a reply field
    found: list[Any] = []
    plugin.nudged_register_nudges(found.append, ctx)
    assert found[0].buttons == (
        ("answer:1", "answer:2", "answer:3", "answer:4", "answer:5") if flow == "notification"
        else ("done", "skip"))


# --------------------------------------------------------------------------- the desktop


@pytest.mark.desktop
def test_the_reminder_reaches_dunst_and_a_check_in_from_the_terminal_is_seen_by_the_daemon(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged],
) -> None:
    env = desktop.env()
    # The reminder's own time is far away; `nudged trigger` makes it due now.
    later = (datetime.now(UTC) + timedelta(hours=6)).strftime("%H:%M")
    config = write_config(env, f"""
        [core]
        timezone = "UTC"
        [plugins.checkin]
        at = "{later}"
        questions = ["mood", "energy"]
        answer_in = "terminal"
    """)
    daemon = run_nudged(env, "--config", str(config))
    daemon.wait_event("control interface ready")

    def nudged(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*NUDGED, *args], env=env, capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)

    def checked_in() -> bool:
        done = nudged("status", "--json")
        assert done.returncode == 0, done.stderr
        [plugin] = [p for p in json.loads(done.stdout)["plugins"] if p["name"] == NAME]
        assert plugin["status"] == "ok"
        return bool(plugin["facts"]["checked_in_today"])

    assert nudged("trigger", KEY).stdout == f"{KEY}: shown.\n"
    call = nudge_call(desktop, "How was today?", timeout=20)
    assert call.body == BODY
    assert call.labels == ["OK", "Not today"]
    desktop.dunst.wait_count("displayed", 1)
    desktop.press("Not today")
    rows = daemon.wait_shown(lambda rows: bool(rows) and rows[0]["response"] == "skip",
                             what="Not today in the store")
    assert [(r["plugin"], r["nudge_id"], r["response"]) for r in rows] == [
        (NAME, "reminder", "skip")]
    assert not checked_in()

    # Robin answers from a terminal while the daemon runs: another process, one database.
    done = nudged("checkin", "--mood", "3", "--energy", "4")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("Noted for today (")
    assert until(checked_in, 10, "checked_in_today in nudged status", daemon.diagnostics)
    out = nudged("trigger", KEY).stdout
    assert out == (f"{KEY}: suppressed by checkin: today's check-in is already noted "
                   "(`--force` shows it anyway)\n"), out
    code, _took = daemon.terminate()
    assert code == 0


# --------------------------------------------------------------------- five buttons a question

BUTTONS = """
[core]
timezone = "Europe/Berlin"
[plugins.checkin]
questions = ["mood", "energy", "sleep_quality"]
"""
ASK_ENERGY, ASK_SLEEP = "checkin:ask-energy", "checkin:ask-sleep_quality"


def test_five_buttons_a_question_one_question_after_the_other() -> None:
    sim, _ = live(BUTTONS, days=2, respond=press("answer:3", "answer:4", "answer:2",
                                                 "dismiss", then="ignore"))
    assert sim.shown() == [("Mon 20:30", KEY), ("Mon 20:31", ASK_ENERGY),
                           ("Mon 20:32", ASK_SLEEP), ("Tue 20:30", KEY)]
    first, second, third, tuesday = sim.seen()
    assert (first.title, first.body, first.buttons, first.response) == (
        "How was today?", "Mood: 1 = low, 5 = good.", ("1", "2", "3", "4", "5"), "answer:3")
    assert (second.title, second.body) == ("And your energy?", "Energy: 1 = drained, 5 = plenty.")
    assert third.title == "And your sleep quality?"
    assert tuesday.response == "dismissed"  # and nothing more that evening
    assert checkins(sim)[-1] == ("Mon 20:33", {
        "day": "2026-03-02", "answers": {"mood": 3, "energy": 4, "sleep_quality": 2},
        "note": None, "source": "notification"})


def test_the_buttons_and_the_terminal_make_one_check_in() -> None:
    sim, _ = live(BUTTONS, respond=press("answer:5", "ignore"),
                  typed=[("2026-03-02 21:00", '--sleep-quality 3 --note "slept in"')])
    assert sim.shown() == [("Mon 20:30", KEY), ("Mon 20:31", ASK_ENERGY)]
    assert checkins(sim)[-1][1] == {"day": "2026-03-02", "answers": {"mood": 5, "sleep_quality": 3},
                                    "note": "slept in", "source": "cli"}


@pytest.mark.desktop
def test_five_buttons_in_dunst_press_three_then_four(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged],
) -> None:
    env = desktop.env()
    later = (datetime.now(UTC) + timedelta(hours=6)).strftime("%H:%M")
    config = write_config(env, f"""
        [core]
        timezone = "UTC"
        [plugins.checkin]
        at = "{later}"
    """)
    daemon = run_nudged(env, "--config", str(config))
    daemon.wait_event("control interface ready")
    # answer_in = "auto": dunst says it shows actions, and shows all five.
    daemon.wait_event("check-in answers", flow="notification", server="dunst")
    done = subprocess.run([*NUDGED, "trigger", KEY], env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.stdout == f"{KEY}: shown.\n", done.stderr
    call = nudge_call(desktop, "How was today?", timeout=20)
    assert (call.body, call.labels) == ("Mood: 1 = low, 5 = good.", ["1", "2", "3", "4", "5"])
    desktop.dunst.wait_count("displayed", 1)
    desktop.press("3", nid=call.id)
    second = nudge_call(desktop, "And your energy?", timeout=20)
    assert second.labels == ["1", "2", "3", "4", "5"]
    until(lambda: desktop.dunst.count("displayed") >= 1, 10, "the second question on screen")
    desktop.press("4", nid=second.id)
    rows = daemon.wait_shown(lambda rows: len(rows) == 2 and rows[1]["response"] is not None,
                             what="both answers in the store")
    assert [(r["nudge_id"], r["response"]) for r in rows] == [
        ("reminder", "answer:3"), ("ask-energy", "answer:4")]

    def kept() -> dict[str, Any] | None:
        conn = sqlite3.connect(Path(env["XDG_STATE_HOME"]) / "nudged" / "nudged.db", timeout=5)
        try:
            found = conn.execute("SELECT data FROM plugin_journal WHERE plugin = ? "
                                 "ORDER BY id DESC LIMIT 1", (NAME,)).fetchall()
        finally:
            conn.close()
        data = json.loads(found[0][0]) if found else None
        return data if data and len(data["answers"]) == 2 else None

    data = until(kept, 10, "the check-in in the journal", daemon.diagnostics)
    assert (data["answers"], data["source"]) == ({"mood": 3, "energy": 4}, "notification")
    code, _took = daemon.terminate()
    assert code == 0


class FakePlasma:
    """tests/fake_notifications.py as a child process: a notification server with a
    reply field (KDE's protocol), told on stdin to press a button or send a reply."""

    def __init__(self, address: str, workdir: Path) -> None:
        self.out_path = workdir / "fake-notifications.jsonl"
        script = Path(__file__).resolve().parent / "fake_notifications.py"
        with open(self.out_path, "w") as out:
            self.proc = subprocess.Popen([sys.executable, str(script), address], text=True,
                                         stdin=subprocess.PIPE, stdout=out)
        until(lambda: any(e.get("ready") for e in self.events()), 10, "the fake server")

    def events(self) -> list[dict[str, Any]]:
        text = self.out_path.read_text()
        return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines()]

    def shown(self, summary: str) -> dict[str, Any]:
        return until(lambda: next((e for e in self.events() if e.get("summary") == summary),
                                  None), 15, f"{summary!r} on the fake server")

    def tell(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def press(self, shown: dict[str, Any], label: str) -> None:
        pairs = dict(zip(shown["actions"][1::2], shown["actions"][0::2], strict=True))
        self.tell(f"invoke {shown['id']} {pairs[label]}")

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.terminate()
        self.proc.wait(10)


def test_where_the_server_has_a_reply_field_the_note_is_typed_in_the_notification(
    tmp_path: Path, run_nudged: Callable[..., Nudged],
) -> None:
    from tests.test_daemon_service import private_env
    from tests.testbed import SessionBus, require_dbus_daemon

    require_dbus_daemon()
    with SessionBus(tmp_path / "bus") as bus:
        env = {**private_env(tmp_path / "home"), **bus.env()}
        server = FakePlasma(bus.address, tmp_path)
        try:
            later = (datetime.now(UTC) + timedelta(hours=6)).strftime("%H:%M")
            config = write_config(env, f"""
                [core]
                timezone = "UTC"
                [plugins.checkin]
                at = "{later}"
            """)
            daemon = run_nudged(env, "--config", str(config))
            daemon.wait_event("check-in answers", flow="notification", server="Plasma")
            daemon.wait_event("control interface ready")
            done = subprocess.run([*NUDGED, "trigger", KEY], env=env, capture_output=True,
                                  text=True, timeout=60, stdin=subprocess.DEVNULL)
            assert done.stdout == f"{KEY}: shown.\n", done.stderr
            server.press(server.shown("How was today?"), "2")
            server.press(server.shown("And your energy?"), "3")
            note = server.shown("Anything to add?")
            # The reply field, as KDE shows it: the field's label and its button.
            assert note["actions"][-2:] == ["inline-reply", "A note"]
            assert note["hints"]["x-kde-reply-submit-button-text"] == "Save"
            server.tell(f"reply {note['id']} slept badly,   but walked at lunch")

            def kept() -> dict[str, Any] | None:
                conn = sqlite3.connect(Path(env["XDG_STATE_HOME"]) / "nudged" / "nudged.db",
                                       timeout=5)
                try:
                    found = conn.execute("SELECT data FROM plugin_journal WHERE plugin = ? "
                                         "ORDER BY id DESC LIMIT 1", (NAME,)).fetchall()
                finally:
                    conn.close()
                data = json.loads(found[0][0]) if found else None
                return data if data and data.get("note") else None

            data = until(kept, 10, "the note in the journal", daemon.diagnostics)
            assert (data["answers"], data["note"], data["source"]) == (
                {"mood": 2, "energy": 3}, "slept badly, but walked at lunch", "notification")
            rows = daemon.wait_shown(lambda rows: len(rows) == 3 and rows[2]["response"])
            assert [(r["nudge_id"], r["response"]) for r in rows] == [
                ("reminder", "answer:2"), ("ask-energy", "answer:3"), ("note", "answer:reply")]
        finally:
            server.stop()


def test_without_its_table_nudged_checkin_says_how_to_turn_it_on(
    home_store: Store, capsys: pytest.CaptureFixture[str],
) -> None:
    write_home_config("[core]\ntimezone = \"UTC\"\n")
    assert main(["checkin", "--mood", "3"]) == 2
    assert capsys.readouterr().err == (
        "nudged: `nudged checkin` belongs to the checkin plugin, which is not running: "
        "opt-in: add a [plugins.checkin] table to turn it on\n")
    assert journal(home_store) == []
