"""A person keeps in touch with the people who matter, prompted gently, once a day at most.

The stories run the real plugin through the real engine on a simulated clock
(``helpers.simulate`` when the simulated person answers every prompt the same way;
``live`` below when the answers differ from prompt to prompt, when the plugin's data
must live in a real SQLite file across restarts, or when ``nudged contact log`` is
typed while the simulated daemon runs). Each asserts exactly which prompts appear
and when. The CLI is driven through ``nudged.cli.main`` with the private home every
test gets; the desktop test runs the real daemon against dunst.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import textwrap
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, time, timedelta
from functools import partial
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from helpers import load, shown, simulate
from nudged_plugins.quiet import QuietHoursPlugin
from nudged_plugins.social_contact import SocialContactPlugin, words

from nudged.activity.hub import ActivityHub
from nudged.cli import main
from nudged.config import default_config_path
from nudged.humanize import parse_window
from nudged.models import Nudge, Response
from nudged.preview import PreviewItem
from nudged.runtime import PluginSelection, Runtime
from nudged.scheduler import SimulatedScheduler
from nudged.store import Store, default_db_path
from tests.test_daemon_desktop import desktop, nudge_call
from tests.test_daemon_service import Nudged, run_nudged, until, write_config
from tests.testbed import DesktopStack

__all__ = ["desktop", "run_nudged"]  # fixtures, imported to be used here

NAME = "social_contact"

THREE = """
[core]
timezone = "Europe/Berlin"
[plugins.social_contact]
hours = "18:00-20:30"
[[plugins.social_contact.people]]
name = "Mum"
every = "7d"
how = "call"
note = "ask about the garden"
[[plugins.social_contact.people]]
name = "Jo"
every = "7d"
how = "visit"
[[plugins.social_contact.people]]
name = "Sam"
every = "7d"
how = "message"
"""

MUM_TITLE = "A call with Mum?"
MUM_STEP = "Even five minutes of hearing each other counts. Your note: ask about the garden."


def run(config: str, **kwargs: Any) -> list[PreviewItem]:
    """``helpers.simulate`` with only this plugin (and the config text as given)."""
    kwargs.setdefault("start", "2026-03-02 00:00")  # a Monday
    items, runtime = simulate(config, plugins={NAME: SocialContactPlugin()}, builtins=False,
                              **kwargs)
    assert runtime.host.records[NAME].status.value == "ok"
    return items


def prompts(items: Sequence[PreviewItem]) -> list[tuple[str, str]]:
    """("Mon 18:00", "Mum") for each prompt shown: when, and about whom."""
    return [(at, key.removeprefix(f"{NAME}:contact-").capitalize()) for at, key in shown(items)]


def bodies(items: Sequence[PreviewItem]) -> list[str]:
    return [i.nudge.shown_body for i in items if i.shown]


# --------------------------------------------------------------------- a simulated daemon


class _Answering:
    """Sink and recorder for ``live``: answers each prompt as ``answer`` says."""

    def __init__(self, scheduler: SimulatedScheduler,
                 answer: Callable[[Nudge, int], str]) -> None:
        self.scheduler = scheduler
        self.answer = answer
        self.items: list[PreviewItem] = []
        self.by_id: dict[int, PreviewItem] = {}
        self.ids = count(1)
        self.runtime: Runtime | None = None

    def show(self, nudge: Nudge, shown_id: int) -> None:
        reply = self.answer(nudge, len(self.by_id) - 1)
        if reply == "ignore":
            return
        response = Response(reply if reply != "tomorrow" else "snooze")

        def press() -> None:
            assert self.runtime is not None
            self.runtime.engine.respond(shown_id, response)

        self.scheduler.call_at(self.scheduler.now() + timedelta(minutes=1), press,
                               key=f"answer:{shown_id}")

    def withdraw(self, shown_id: int) -> None:
        pass

    def record_shown(self, nudge: Nudge, at: datetime) -> int:
        shown_id = next(self.ids)
        self.by_id[shown_id] = PreviewItem(at, nudge, True)
        self.items.append(self.by_id[shown_id])
        return shown_id

    def record_decision(self, nudge: Nudge, at: datetime, verdict: str, by: str, reason: str,
                        until: datetime | None) -> None:
        if verdict == "suppressed":
            self.items.append(PreviewItem(at, nudge, False, [f"{by}: {reason}"]))

    def record_response(self, shown_id: int, response: Response, at: datetime) -> None:
        self.by_id[shown_id].response = response.value


def live(config: str, start: str, days: float, *,
         answers: Sequence[str] | Callable[[Nudge, int], str] = (),
         present: Sequence[str] = ("08:00-23:00",), store: Store | None = None,
         meanwhile: Sequence[tuple[str, Callable[[], None]]] = (),
         before: dict[str, object] | None = None) -> list[PreviewItem]:
    """The daemon on a simulated clock, with one answer per prompt (``answers[n]`` for
    the n-th; "done" when they run out), the plugin's data in ``store`` (a real file
    if given), ``meanwhile`` actions (e.g. a CLI command) at simulated times, and other
    plugins loaded ``before`` this one."""
    loaded = load(config)
    tz = loaded.settings.core.tz()
    begin = datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
    end = begin + timedelta(days=days)
    scheduler = SimulatedScheduler(tz, begin)
    if callable(answers):
        answer = answers
    else:
        given = list(answers)
        answer = lambda _nudge, n: given[n] if n < len(given) else "done"  # noqa: E731
    capture = _Answering(scheduler, answer)
    hub = ActivityHub(scheduler.now, tz, store if store is not None else Store.memory())
    runtime = Runtime(loaded, scheduler, capture, capture, environ={},
                      selection=PluginSelection(
                          objects={**(before or {}), NAME: SocialContactPlugin()},
                          discover=False),
                      activity=hub)
    capture.runtime = runtime
    windows = [parse_window(w) for w in present]

    def set_present(flag: bool) -> None:
        hub.idle_changed("test", not flag, scheduler.now())

    async def go() -> None:
        await runtime.start()
        assert runtime.host.records[NAME].status.value == "ok"
        if not any(w.contains(begin) for w in windows):
            set_present(False)
        changes: set[datetime] = set()
        day = begin.date() - timedelta(days=1)
        while datetime.combine(day, time(0), tz) <= end:
            for w in windows:
                if day.weekday() in w.days:
                    occurrence = w.occurrence_containing(datetime.combine(day, w.start, tz))
                    assert occurrence is not None
                    changes.update(occurrence)
            day += timedelta(days=1)
        for n, at in enumerate(sorted(changes)):
            if begin < at <= end:
                flag = any(w.contains(at) for w in windows)
                scheduler.call_at(at, partial(set_present, flag), key=f"presence:{n}")
        for n, (when, action) in enumerate(meanwhile):
            at = datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
            scheduler.call_at(at, action, key=f"meanwhile:{n}")
        scheduler.run_until(end)
        await runtime.stop()

    asyncio.run(go())
    return capture.items


def write_home_config(text: str) -> Path:
    """The config where ``nudged contact`` reads it (the private home's)."""
    path = default_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def home_store() -> Iterator[Store]:
    """The state database of the private home, as the daemon would open it."""
    store = Store.open(default_db_path())
    try:
        yield store
    finally:
        store.close()


def journal(store: Store) -> list[tuple[str, str, dict[str, Any]]]:
    """(local "YYYY-MM-DD HH:MM", kind, data) of the plugin's journal, oldest first."""
    berlin = load("[core]\ntimezone = \"Europe/Berlin\"\n").settings.core.tz()
    return [(at.astimezone(berlin).strftime("%Y-%m-%d %H:%M"), kind, json.loads(data))
            for _p, kind, at, data in store.journal(NAME)]


# --------------------------------------------------------------------------- the stories


def test_nothing_in_the_first_week_then_one_prompt_a_day_most_overdue_first() -> None:
    # Started on Monday 2 March: everyone's clock starts now, so nobody is asked in the
    # first week. From Monday 9 March: one prompt a day at 18:00, in config order for
    # people equally due, each naming the others still waiting; Done restarts a clock.
    items = run(THREE, days=17)
    assert prompts(items) == [
        ("Mon 18:00", "Mum"), ("Tue 18:00", "Jo"), ("Wed 18:00", "Sam"),
        ("Mon 18:00", "Mum"), ("Tue 18:00", "Jo"), ("Wed 18:00", "Sam"),
    ]
    assert [i.at.date().isoformat() for i in items if i.shown][:3] == [
        "2026-03-09", "2026-03-10", "2026-03-11"]
    assert [i.nudge.shown_title for i in items if i.shown][:3] == [
        MUM_TITLE, "A visit with Jo?", "A message to Sam?"]
    assert bodies(items)[:3] == [
        f"{MUM_STEP} Also on your list: Jo and Sam.",
        "Settling on a day together is a fine start. Also on your list: Sam.",
        "A line or two is plenty.",
    ]
    assert all(i.response == "done" for i in items)


def test_the_person_longest_past_due_comes_first_and_an_unanswered_prompt_changes_nothing(
) -> None:
    # Sam every 3 days, Mum every week. Nobody answers (the prompt times out): nothing
    # is logged, so the same person is asked again the next day, one prompt a day.
    items = run("""
        [core]
        timezone = "Europe/Berlin"
        [[plugins.social_contact.people]]
        name = "Mum"
        every = "7d"
        how = "call"
        [[plugins.social_contact.people]]
        name = "Sam"
        every = "3d"
    """, days=10, respond="ignore")
    assert prompts(items) == [
        ("Thu 18:00", "Sam"), ("Fri 18:00", "Sam"), ("Sat 18:00", "Sam"), ("Sun 18:00", "Sam"),
        ("Mon 18:00", "Sam"), ("Tue 18:00", "Sam"), ("Wed 18:00", "Sam"),
    ]
    assert bodies(items)[3:5] == ["A line or two is plenty.",
                                  "A line or two is plenty. Also on your list: Mum."]
    assert {i.response for i in items} == {"timed_out"}


def test_skip_moves_on_to_the_next_person_the_next_day_and_skipped_people_take_turns() -> None:
    items = run(THREE, days=14, respond="skip")
    assert prompts(items) == [
        ("Mon 18:00", "Mum"), ("Tue 18:00", "Jo"), ("Wed 18:00", "Sam"),
        ("Thu 18:00", "Mum"), ("Fri 18:00", "Jo"), ("Sat 18:00", "Sam"), ("Sun 18:00", "Mum"),
    ]
    # Skip logs nothing: everyone stays on the list, in the order they would be asked.
    assert bodies(items)[1] == ("Settling on a day together is a fine start. "
                                "Also on your list: Sam and Mum.")


def test_tomorrow_asks_about_the_same_person_again_the_next_day_with_fresh_words() -> None:
    items = run(THREE, days=10, respond="snooze")
    assert prompts(items) == [("Mon 18:00", "Mum"), ("Tue 18:00", "Mum"), ("Wed 18:00", "Mum")]
    first = next(i for i in items if i.shown)
    assert first.nudge.spec.labels == {"snooze": "Tomorrow"}
    assert first.nudge.spec.snooze == timedelta(days=1)
    assert first.nudge.spec.buttons == ("done", "snooze", "skip")
    # The engine's own copy of the snoozed prompt is let go: the plugin asked afresh.
    dropped = [i for i in items if not i.shown]
    assert [(i.at.strftime("%a %H:%M"), i.nudge.attempt) for i in dropped] == [
        ("Tue 18:01", 1), ("Wed 18:01", 1)]
    assert dropped[0].why == ['18:01 suppressed by social_contact: after "Tomorrow" the prompt '
                              "is asked afresh when the hours begin"]


def test_different_answers_on_different_days() -> None:
    # Mon: Mum, skipped. Tue: Jo, "Tomorrow". Wed: Jo again (promised), done.
    # Thu: Sam, done. Fri: Mum again (only she is left), done. Then a quiet week
    # until Jo (done Wed) and Sam (done Thu) are due again.
    items = live(THREE, "2026-03-02 00:00", 18,
                 answers=["skip", "tomorrow", "done", "done", "done"])
    assert [(p, i.response) for p, i in zip(prompts(items), [i for i in items if i.shown],
                                             strict=True)] == [
        (("Mon 18:00", "Mum"), "skip"), (("Tue 18:00", "Jo"), "snooze"),
        (("Wed 18:00", "Jo"), "done"), (("Thu 18:00", "Sam"), "done"),
        (("Fri 18:00", "Mum"), "done"),
        (("Wed 18:00", "Jo"), "done"), (("Thu 18:00", "Sam"), "done"),
    ]
    assert bodies(items)[2] == ("Settling on a day together is a fine start. "
                                "Also on your list: Sam and Mum.")


def test_away_at_the_start_of_the_hours_the_prompt_comes_when_they_are_back() -> None:
    # Out from 17:00 to 19:10 on weekdays; away all weekend.
    items = run(THREE, start="2026-03-02 00:00", days=14,
                present=["mon-fri 08:00-17:00", "mon-fri 19:10-23:00"])
    assert prompts(items) == [
        ("Mon 19:10", "Mum"), ("Tue 19:10", "Jo"), ("Wed 19:10", "Sam"),
    ]
    # Back only after the hours end: no prompt that day, the next day as usual.
    late = run(THREE, days=11, present=["mon,wed-sun 08:00-17:00", "mon,wed-sun 19:00-23:00",
                                        "tue 08:00-17:00", "tue 21:00-23:00"])
    assert prompts(late) == [("Mon 19:00", "Mum"), ("Wed 19:00", "Jo"), ("Thu 19:00", "Sam")]


def test_hours_with_days_and_a_window_past_midnight() -> None:
    weekend = run(THREE.replace('hours = "18:00-20:30"', 'hours = "sat,sun 10:00-12:00"'),
                  days=21)
    assert prompts(weekend) == [("Sat 10:00", "Mum"), ("Sun 10:00", "Jo"),
                                ("Sat 10:00", "Sam"), ("Sun 10:00", "Mum")]
    # A late window belongs to the evening it starts: one prompt per evening, even
    # when the person comes back after midnight.
    night = run(THREE.replace('hours = "18:00-20:30"', 'hours = "22:00-01:00"'),
                days=11, present=["08:00-21:00", "00:10-02:00"])
    assert prompts(night) == [("Tue 00:10", "Mum"), ("Wed 00:10", "Jo"), ("Thu 00:10", "Sam")]
    assert [i.at.date().isoformat() for i in night if i.shown] == [
        "2026-03-10", "2026-03-11", "2026-03-12"]


def test_a_dst_change_keeps_the_prompt_at_the_same_local_time() -> None:
    # Europe/Berlin moves to summer time on Sunday 29 March 2026.
    items = run(THREE, start="2026-03-23 00:00", days=10)
    assert prompts(items) == [("Mon 18:00", "Mum"), ("Tue 18:00", "Jo"), ("Wed 18:00", "Sam")]
    assert [i.at.utcoffset() for i in items if i.shown] == [timedelta(hours=2)] * 3


def a_week_in() -> Store:
    """A state database in which the plugin first ran a week before Monday 9 March."""
    store = Store.memory()
    store.state_set(NAME, "first_seen", json.dumps(
        {key: "2026-03-02T00:00:00+01:00" for key in ("mum", "jo", "sam")}))
    return store


def test_quiet_hours_delay_the_prompt_and_never_push_it_out_of_the_hours() -> None:
    def with_quiet(hours: str) -> list[PreviewItem]:
        config = THREE + f'[plugins.quiet]\nhours = ["{hours}"]\n'
        return live(config, "2026-03-09 00:00", 1, store=a_week_in(),
                    before={"quiet": QuietHoursPlugin()})

    # Quiet until 18:45: the prompt waits for the end of quiet hours, then comes once.
    items = with_quiet("18:00-18:45")
    assert prompts(items) == [("Mon 18:45", "Mum")]
    # Quiet all evening: no prompt at all that day rather than one after 20:30.
    items = with_quiet("17:00-21:00")
    assert prompts(items) == []
    assert items and all(not i.shown for i in items)
    assert {why.split(":")[0] for i in items for why in i.why} == {"nudged"}  # went stale
    # The next evening without quiet hours, Mum is asked as usual.
    assert prompts(live(THREE, "2026-03-10 00:00", 1, store=a_week_in())) == [
        ("Tue 18:00", "Mum")]


def test_a_person_added_later_starts_their_clock_then_and_restarts_keep_clocks(
    home_store: Store,
) -> None:
    # Week one: only Mum. Thursday: Sam is added (a config reload or restart).
    only_mum = THREE.split("[[plugins.social_contact.people]]\nname = \"Jo\"")[0]
    assert "Jo" not in only_mum and "Sam" not in only_mum
    first = live(only_mum, "2026-03-02 00:00", 3, store=home_store)
    assert shown(first) == []
    with_sam = only_mum + textwrap.dedent("""
        [[plugins.social_contact.people]]
        name = "Sam"
        every = "7d"
    """)
    later = live(with_sam, "2026-03-05 09:00", 14, store=home_store)
    # Mum's clock kept running from Monday 2 March; Sam's started on Thursday 5 March.
    assert prompts(later) == [("Mon 18:00", "Mum"), ("Thu 18:00", "Sam"), ("Mon 18:00", "Mum")]
    assert [i.at.date().isoformat() for i in later if i.shown] == [
        "2026-03-09", "2026-03-12", "2026-03-16"]


def test_contact_log_while_the_daemon_runs_restarts_that_clock(
    home_store: Store, capsys: pytest.CaptureFixture[str],
) -> None:
    write_home_config(THREE)
    codes: list[int] = []

    def phone_call() -> None:
        # Sunday, Mum rang; typed in from a terminal an hour later (another process
        # would do just the same: the daemon reads the journal at each decision).
        codes.append(main(["contact", "log", "mum", "--when", "2026-03-08 11:30"]))

    items = live(THREE, "2026-03-02 00:00", 16, store=home_store,
                 meanwhile=[("2026-03-08 12:30", phone_call)])
    assert codes == [0]
    out = capsys.readouterr().out
    assert out == ("Noted: you and Mum were in touch (call), Sun 2026-03-08 11:30.\n"
                   "The next prompt about Mum can come from Sun 2026-03-15 18:00.\n")
    assert prompts(items) == [
        ("Mon 18:00", "Jo"), ("Tue 18:00", "Sam"), ("Sun 18:00", "Mum"),
        ("Mon 18:00", "Jo"), ("Tue 18:00", "Sam"),
    ]
    assert bodies(items)[0] == "Settling on a day together is a fine start. " \
        "Also on your list: Sam."
    assert journal(home_store)[:3] == [
        ("2026-03-08 11:30", "contact", {"how": "call", "name": "Mum", "source": "cli"}),
        ("2026-03-09 18:01", "contact", {"how": "visit", "name": "Jo", "source": "prompt"}),
        ("2026-03-10 18:01", "contact", {"how": "message", "name": "Sam", "source": "prompt"}),
    ]


# --------------------------------------------------------------------------- the CLI


def test_contact_list_shows_each_person_last_contact_and_when_due(
    home_store: Store, capsys: pytest.CaptureFixture[str],
) -> None:
    write_home_config(THREE)
    berlin = load(THREE).settings.core.tz()
    now = datetime.now(berlin).replace(second=0, microsecond=0)
    ten_days_ago = now - timedelta(days=10)
    # The daemon first ran ten days ago, and knew Mum and Jo then (Sam is new).
    home_store.state_set(NAME, "first_seen", json.dumps(
        {"mum": ten_days_ago.isoformat(), "jo": ten_days_ago.isoformat()}))
    two_days_ago = now - timedelta(days=2)
    assert main(["contact", "log", "MUM", "--when", two_days_ago.strftime("%Y-%m-%d %H:%M")]) == 0
    capsys.readouterr()

    assert main(["contact", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)

    def start_of_hours(moment: datetime) -> str:
        return datetime.combine(moment.date(), time(18), berlin).isoformat()

    assert rows == [
        {"name": "Mum", "how": "call", "every": "1w", "note": "ask about the garden",
         "last_contact": two_days_ago.isoformat(), "last_source": "cli",
         "counting_from": two_days_ago.isoformat(),
         "due": start_of_hours(two_days_ago + timedelta(days=7)), "due_now": False},
        {"name": "Jo", "how": "visit", "every": "1w", "note": None,
         "last_contact": None, "last_source": None,
         "counting_from": ten_days_ago.isoformat(),
         "due": start_of_hours(ten_days_ago + timedelta(days=7)), "due_now": True},
        {"name": "Sam", "how": "message", "every": "1w", "note": None,
         "last_contact": None, "last_source": None, "counting_from": None, "due": None,
         "due_now": False},
    ]

    assert main(["contact", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    shown_format = "%a %Y-%m-%d %H:%M"
    jo_due = datetime.combine((ten_days_ago + timedelta(days=7)).date(), time(18), berlin)
    mum_due = datetime.combine((two_days_ago + timedelta(days=7)).date(), time(18), berlin)
    assert lines == [
        f"Mum  call, every 1w; last contact {two_days_ago.strftime(shown_format)}; "
        f"next prompt from {mum_due.strftime(shown_format)}",
        f"Jo   visit, every 1w; no contact logged yet; due now (since "
        f"{jo_due.strftime(shown_format)})",
        "Sam  message, every 1w; no contact logged yet; counting starts when nudged runs",
    ]


def test_an_unknown_name_lists_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    write_home_config(THREE)
    assert main(["contact", "log", "Aunt", "Jo"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == ('nudged: "Aunt Jo" is not one of your people (known: Mum, Jo, Sam); '
                       "names are set under [[plugins.social_contact.people]] in "
                       "config.toml\n")
    assert not default_db_path().exists() or not journal_rows()


def journal_rows() -> list[Any]:
    conn = sqlite3.connect(default_db_path())
    try:
        return conn.execute("SELECT * FROM plugin_journal").fetchall()
    finally:
        conn.close()


def test_names_match_case_insensitively_and_may_be_typed_without_quotes(
    home_store: Store, capsys: pytest.CaptureFixture[str],
) -> None:
    write_home_config(THREE.replace('name = "Jo"', 'name = "Aunt Jo"'))
    assert main(["contact", "log", "aunt", "JO", "--when", "2026-03-04 19:30"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "Noted: you and Aunt Jo were in touch (visit), Wed 2026-03-04 19:30.")
    assert journal(home_store) == [
        ("2026-03-04 19:30", "contact", {"how": "visit", "name": "Aunt Jo", "source": "cli"})]


@pytest.mark.parametrize(("when", "sentence"), [
    ("yesterday", 'nudged: --when: "yesterday" is not a date and time (expected '
                  '"YYYY-MM-DD HH:MM", for example "2026-03-02 18:30")'),
    ("2999-01-01 10:00", 'nudged: --when: "2999-01-01 10:00" is in the future; log a contact '
                         "once it has happened"),
])
def test_a_bad_when_is_a_sentence_not_a_traceback(
    when: str, sentence: str, capsys: pytest.CaptureFixture[str],
) -> None:
    write_home_config(THREE)
    assert main(["contact", "log", "Mum", "--when", when]) == 2
    assert capsys.readouterr().err == sentence + "\n"


def test_no_people_configured(capsys: pytest.CaptureFixture[str]) -> None:
    write_home_config('[plugins.social_contact]\nhours = "18:00-20:30"\n')
    assert main(["contact", "list"]) == 0
    assert capsys.readouterr().out == ("Nobody is configured yet: add people under "
                                       "[[plugins.social_contact.people]] in config.toml.\n")
    assert main(["contact", "log", "Mum"]) == 2
    assert capsys.readouterr().err == (
        'nudged: "Mum" is not someone nudged knows: nobody is configured yet (add people '
        "under [[plugins.social_contact.people]] in config.toml)\n")
    assert main(["contact", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_no_people_no_prompts() -> None:
    assert run('[plugins.social_contact]\nhours = "18:00-20:30"\n', days=30) == []


# --------------------------------------------------------------------------- config errors


@pytest.mark.parametrize(("text", "sentence"), [
    ('[plugins.social_contact]\n[[plugins.social_contact.people]]\nname = "Mum"\n'
     'every = "weekly"\n',
     'config.toml:4: plugins.social_contact.people[0].every: "weekly" is not a duration '
     '(for example "90s", "50m", "1h30m", "7d")'),
    ('[plugins.social_contact]\n[[plugins.social_contact.people]]\nname = "Mum"\n'
     'every = "12h"\n',
     'config.toml:4: plugins.social_contact.people[0].every: "12h" is shorter than a day '
     '(contact prompts come at most once a day; try "1d" or longer)'),
    ('[[plugins.social_contact.people]]\nname = "Mum"\n\n[[plugins.social_contact.people]]\n'
     'name = ""\nevery = "7d"\n',
     'config.toml:5: plugins.social_contact.people[1].name: "" is not a name (each person '
     'needs one, like name = "Mum")'),
    ('[[plugins.social_contact.people]]\nevery = "7d"\n',
     "config.toml:1: plugins.social_contact.people[0].name: is required but missing"),
    ('[[plugins.social_contact.people]]\nname = "Mum"\n[[plugins.social_contact.people]]\n'
     'name = "Sam"\n[[plugins.social_contact.people]]\nname = "mum"\nhow = "call"\n',
     'config.toml:6: plugins.social_contact.people[2].name: "mum" is already the name of '
     "people[0]; each person needs their own name (case does not count)"),
    ('[plugins.social_contact]\nhours = "mon-fir 18:00-20:30"\n',
     'config.toml:2: plugins.social_contact.hours: "mon-fir 18:00-20:30" is not a time '
     'window: "mon-fir" is not a set of days (did you mean "mon-fri"? write days like '
     '"mon-fri", "sat,sun" or "daily")'),
    ('[[plugins.social_contact.people]]\nname = "Mum"\nphone = "0123"\n',
     "config.toml:3: plugins.social_contact.people[0].phone: unknown key (known keys: name, "
     "every, how, note)"),
    ('[[plugins.social_contact.people]]\nname = "Mum"\nhow = " "\n',
     'config.toml:3: plugins.social_contact.people[0].how: " " says no way to get in touch '
     '(try "call", "message", "visit", or your own words)'),
    ('[plugins.social_contact]\nperson = "Mum"\n',
     "config.toml:2: plugins.social_contact.person: unknown key (known keys: hours, people)"),
])
def test_invalid_values_end_in_one_sentence_with_file_and_line(
    text: str, sentence: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    assert main(["config", "check", str(path)]) == 2
    out = capsys.readouterr()
    assert out.err.replace(str(path), "config.toml").strip() == sentence


def test_the_documented_example_is_valid(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parent.parent / "plugins" / NAME / "example.toml"
    path = tmp_path / "config.toml"
    path.write_text(example.read_text())
    assert main(["config", "check", str(path)]) == 0, capsys.readouterr().err
    config = load(example.read_text()).settings.plugins[NAME]
    assert [p["name"] for p in config["people"]] == ["Mum", "Sam"]


# --------------------------------------------------------------------------- words

FORBIDDEN = re.compile(
    r"!!|\bshould\b|\bmust\b|\bfail|again you|you still|haven'?t|\bforg[oe]t|\boverdue\b"
    r"|\blate\b|\bneglect|\bcure|\btreat|\btherap|\bdepress|\bsymptom|\bdiagnos|\bdays? ago\b",
    re.IGNORECASE,
)


def every_text() -> list[str]:
    texts = []
    for how in ("call", "Message", "VISIT", "video chat", "send a postcard."):
        for note in (None, "ask about the garden", "bring the photos."):
            for others in ([], ["Jo"], ["Jo", "Sam"], ["Jo", "Sam", "Kim"],
                           ["Jo", "Sam", "Kim", "Ana"], ["Jo", "Sam", "Kim", "Ana", "Lu"]):
                texts.append(words.title("Mum", how))
                texts.append(words.body(how, note, others))
    return texts


def test_every_word_of_every_prompt_is_gentle() -> None:
    texts = every_text()
    assert len(set(texts)) > 40
    for text in texts:
        assert not FORBIDDEN.search(text), text
        assert text.count("!") == 0, text
        assert text == " ".join(text.split()), text  # no stray spaces
        assert len(text) <= 220, text
    assert words.title("Mum", "video chat") == "Get in touch with Mum?"
    assert words.body("video chat", None) == "Your way: video chat."
    assert words.body("send a postcard.", "bring the photos.", ["Jo", "Sam", "Kim", "Ana", "Lu"]) \
        == ("Your way: send a postcard. Your note: bring the photos. "
            "Also on your list: Jo, Sam, Kim and 2 others.")
    assert words.digest(["Jo", "Sam", "Kim", "Ana"]) == \
        "Also on your list: Jo, Sam, Kim and 1 other."


def test_the_words_in_a_simulated_fortnight_are_gentle() -> None:
    items = run(THREE, days=16, respond="skip")
    assert items
    for item in items:
        for text in (item.nudge.shown_title, item.nudge.shown_body):
            assert not FORBIDDEN.search(text), text


# --------------------------------------------------------------------------- the desktop


@pytest.mark.desktop
def test_the_prompt_reaches_dunst_and_done_is_logged_as_a_contact(
    desktop: DesktopStack, run_nudged: Callable[..., Nudged],
) -> None:
    now = datetime.now(UTC)
    hours = f"{(now - timedelta(hours=1)):%H:%M}-{(now + timedelta(hours=2)):%H:%M}"
    env = desktop.env()
    config = write_config(env, f"""
        [core]
        timezone = "UTC"
        [plugins.social_contact]
        hours = "{hours}"
        [[plugins.social_contact.people]]
        name = "Mum"
        every = "7d"
        how = "call"
        note = "ask about the garden"
    """)
    # nudged first ran eight days ago: Mum is due now, and now is inside the hours.
    db = Path(env["XDG_STATE_HOME"]) / "nudged" / "nudged.db"
    store = Store.open(db)
    store.state_set(NAME, "first_seen", json.dumps(
        {"mum": (now - timedelta(days=8)).isoformat(timespec="seconds")}))
    store.close()

    daemon = run_nudged(env, "--config", str(config))
    call = nudge_call(desktop, MUM_TITLE, timeout=20)
    assert call.body == MUM_STEP
    assert call.labels == ["Done", "Tomorrow", "Skip"]
    desktop.dunst.wait_count("displayed", 1)
    desktop.press("Done")
    rows = daemon.wait_shown(lambda rows: bool(rows) and rows[0]["response"] == "done",
                             what="Done in the store")
    assert [(r["plugin"], r["nudge_id"], r["title"], r["response"]) for r in rows] == [
        (NAME, "contact-mum", MUM_TITLE, "done")]

    def logged() -> list[tuple[str, str]] | None:
        conn = sqlite3.connect(db, timeout=5)
        try:
            found = conn.execute("SELECT kind, data FROM plugin_journal WHERE plugin = ?",
                                 (NAME,)).fetchall()
        finally:
            conn.close()
        return found or None

    [(kind, data)] = until(logged, 10, "the contact in the journal", daemon.diagnostics)
    assert (kind, json.loads(data)) == (
        "contact", {"how": "call", "name": "Mum", "source": "prompt"})
    code, _took = daemon.terminate()
    assert code == 0
