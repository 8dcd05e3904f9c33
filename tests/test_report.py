"""A person brings a report of the last weeks to their clinician.

``nudged report`` reads the store and says, in numbers and charts, how the nights,
days, social media, movement breaks, contacts and check-ins went. The stories seed a
realistic year (``tests/seed.py``) and check every number against a computation of
their own straight from the raw rows, so the report cannot quietly count something
else than it says. The desktop story opens the HTML in a real headless Chromium.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from statistics import mean
from typing import Any

import pytest
import seed
from seed import TZ, nudged_cli

from nudged.config import default_config_path, load_text
from nudged.datacli import setup_of
from nudged.report import charts, render_csv, render_html, render_md
from nudged.report.facts import (
    Facts,
    Period,
    Setup,
    gather,
    minutes_text,
    parse_period,
    read_checkin,
)
from nudged.store import Store, default_db_path

END = date(2026, 3, 29)  # a Sunday; the seeded year ends here in the pure stories
NOW = datetime(2026, 3, 29, 22, 0, tzinfo=TZ)
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}href"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def year_seed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, seed.Seeded]:
    """A seeded year in a real SQLite file, ending on END (made once for the module)."""
    path = tmp_path_factory.mktemp("year") / "nudged.db"
    store = Store.open(path)
    world = seed.seed(store, END)
    store.close()
    return path, world


@pytest.fixture(scope="module")
def year_db(year_seed: tuple[Path, seed.Seeded]) -> Path:
    return year_seed[0]


@pytest.fixture(scope="module")
def setup() -> Setup:
    return setup_of(load_text(seed.CONFIG, None))


@pytest.fixture
def year(year_db: Path) -> Store:
    store = Store.open(year_db)
    yield store
    store.close()


@pytest.fixture
def plotting() -> None:
    """Charts need matplotlib (``nudged[report]``): skip without it, but fail under
    CI=true, where it is installed and a skip would hide a broken install."""
    if charts.available():
        return
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail("CI=true but matplotlib is missing (pip install 'nudged[report]')",
                    pytrace=False)
    pytest.skip("matplotlib is missing (pip install 'nudged[report]')")


def report_for(store: Store, setup: Setup, last: str | None = None,
               since: str | None = None, until: str | None = None) -> Facts:
    return gather(store, parse_period(since, last, until, END), TZ, setup, NOW)


@pytest.fixture
def home_year(private_home: Path) -> seed.Seeded:
    """The person's own config and a seeded year ending today, where the CLI looks."""
    config = default_config_path()
    config.parent.mkdir(parents=True)
    config.write_text(seed.CONFIG, encoding="utf-8")
    store = Store.open(default_db_path())
    world = seed.seed(store, datetime.now(TZ).date())
    store.close()
    return world


# --------------------------------------------------------------------------- the oracle


def independent(db: Path, start: date, end: date) -> dict[str, Any]:
    """The report's numbers, computed straight from the raw rows with SQL and json."""
    conn = sqlite3.connect(db)
    first, last = start.isoformat(), end.isoformat()

    def local_day(at: str) -> date:
        return datetime.fromisoformat(at).astimezone(TZ).date()

    def entries(plugin: str, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(at, json.loads(data)) for at, data in conn.execute(
            "SELECT at, data FROM plugin_journal WHERE plugin = ? AND kind = ? ORDER BY id",
            (plugin, kind))]

    nights: dict[str, dict[str, Any]] = {}
    for _at, data in entries("sleep_window", "night"):
        if first <= data["night"] <= last:
            nights[data["night"]] = data  # the later line of a night is the whole night
    total: dict[str, float] = defaultdict(float)
    social: dict[str, float] = defaultdict(float)
    youtube: dict[str, float] = defaultdict(float)
    for day, category, site, seconds in conn.execute(
            "SELECT day, category, site, seconds FROM usage WHERE day >= ? AND day <= ?",
            (first, last)):
        total[day] += seconds / 60
        if category == "social":
            social[day] += seconds / 60
        if site is not None and (site == "youtube.com" or site.endswith(".youtube.com")):
            youtube[day] += seconds / 60
    budgets = {data["day"]: data["budget_minutes"] for _at, data in entries("screen_time", "day")}
    limits: dict[tuple[str, str], float] = {}
    for at, data in entries("social_media", "limit"):
        limits[(local_day(at).isoformat(), data["limit"])] = data["daily_minutes"]

    def budget(day: str) -> float:
        return budgets.get(day, seed.BUDGET[date.fromisoformat(day).weekday() < 5])

    hows: dict[str, int] = defaultdict(int)
    for at, data in entries("movement", "break"):
        if start <= local_day(at) <= end:
            hows[data["how"]] += 1
    contacts = [data["name"] for at, data in entries("social_contact", "contact")
                if start <= local_day(at) <= end]
    moods = [data["answers"]["mood"] for at, data in entries("checkin", "checkin")
             if start <= local_day(at) <= end]
    notes = [data["note"] for at, data in entries("checkin", "checkin")
             if start <= local_day(at) <= end and data.get("note")]
    conn.close()
    return {
        "nights": len(nights),
        "kept": sum(1 for n in nights.values() if n["present_minutes"] == 0),
        "late_minutes": sum(n["present_minutes"] for n in nights.values()),
        "days": len(total),
        "average": mean(total.values()) if total else 0,
        "over_budget": sum(1 for d, m in total.items() if m > budget(d)),
        "social_over": sum(1 for d in total
                           if social[d] > limits.get((d, "social"), seed.SOCIAL_LIMIT)),
        "youtube_over": sum(1 for d in total if youtube[d] > limits.get(
            (d, "youtube.com"), seed.YOUTUBE_LIMIT)),
        "total_minutes": sum(total.values()),
        "hows": dict(hows),
        "contacts": len(contacts),
        "people": len(set(contacts)),
        "mood": mean(moods) if moods else None,
        "notes": len(notes),
    }


# --------------------------------------------------------------------------- stories


@pytest.mark.parametrize("last", ["7d", "4w", "3m", "365d"])
def test_the_report_counts_what_the_raw_rows_say(year: Store, year_db: Path, setup: Setup,
                                                 last: str) -> None:
    facts = report_for(year, setup, last=last)
    truth = independent(year_db, facts.period.start, facts.period.end)
    assert len(facts.nights) == truth["nights"]
    assert sum(n.kept for n in facts.nights) == truth["kept"]
    assert len(facts.days) == truth["days"]
    assert sum(d.over for d in facts.days) == truth["over_budget"]
    targets = {t.key: t for t in facts.targets}
    assert sum(d.over for d in targets["social"].days) == truth["social_over"]
    assert sum(d.over for d in targets["youtube.com"].days) == truth["youtube_over"]
    assert sum(b.natural for b in facts.breaks) == truth["hows"].get("natural", 0)
    assert sum(b.snoozed for b in facts.breaks) == truth["hows"].get("snoozed", 0)
    assert len(facts.contacts) == truth["contacts"]
    # The summary says exactly these numbers, in words.
    summary = "\n".join(facts.summary)
    assert f"Bedtime kept on {truth['kept']} of {truth['nights']} nights." in summary
    assert f"{minutes_text(truth['late_minutes'])} in all" in summary
    assert f"On average {minutes_text(truth['average'])} a day at the screen" in summary
    assert f"over its budget on {truth['over_budget']} of {truth['days']} days" in summary
    assert f"Social media over its limit on {truth['social_over']} of {truth['days']} days." \
        in summary
    assert f"youtube.com over its limit on {truth['youtube_over']} of {truth['days']} days." \
        in summary
    taken = truth["hows"].get("natural", 0) + truth["hows"].get("done", 0)
    assert (f"Movement breaks: {taken} taken ({truth['hows'].get('natural', 0)} without a "
            f"reminder), {truth['hows'].get('snoozed', 0)} snoozed, "
            f"{truth['hows'].get('skipped', 0)} skipped.") in summary
    if truth["mood"] is not None:
        assert f"on average mood {truth['mood']:.1f}" in summary


def test_the_csv_tables_hold_the_same_numbers(year: Store, year_db: Path, setup: Setup,
                                              tmp_path: Path) -> None:
    facts = report_for(year, setup, last="3m")
    truth = independent(year_db, facts.period.start, facts.period.end)
    files = render_csv.write(facts, tmp_path / "csv")
    assert sorted(p.name for p in files) == sorted(
        f"{n}.csv" for n in ("summary", "nights", "days", "social_media", "breaks",
                             "contacts", "people", "checkins"))

    def rows(name: str) -> list[dict[str, str]]:
        with open(tmp_path / "csv" / f"{name}.csv", encoding="utf-8-sig", newline="") as fh:
            return list(csv.DictReader(fh))

    days = rows("days")
    assert len(days) == truth["days"]
    assert sum(r["over_budget"] == "true" for r in days) == truth["over_budget"]
    assert sum(float(r["present_minutes"]) for r in days) == pytest.approx(
        truth["total_minutes"], abs=0.05 * len(days))
    nights = rows("nights")
    assert sum(r["bedtime_kept"] == "true" for r in nights) == truth["kept"]
    social = [r for r in rows("social_media") if r["target"] == "social"]
    assert sum(r["over_limit"] == "true" for r in social) == truth["social_over"]
    assert sum(int(r["natural"]) for r in rows("breaks")) == truth["hows"]["natural"]
    assert len(rows("contacts")) == truth["contacts"]
    checkins = rows("checkins")
    assert mean(int(r["mood"]) for r in checkins if r["mood"]) == pytest.approx(truth["mood"])
    notes = [r["note"] for r in checkins if r["note"]]
    assert len(notes) == truth["notes"]
    # A note that looks like a formula is shown by a spreadsheet, not run.
    assert all(not n.startswith(("=", "+", "-", "@")) for n in notes)
    assert [r["sentence"] for r in rows("summary")] == facts.summary
    assert (tmp_path / "csv" / "days.csv").stat().st_mode & 0o777 == 0o600


def test_who_is_overdue_is_counted_from_the_last_contact_and_their_rhythm(
        year: Store, setup: Setup) -> None:
    facts = report_for(year, setup, last="4w")
    people = {p.name: p for p in facts.people}
    sam = people["Sam"]  # nobody saw Sam in the last six weeks; every 30 days
    assert sam.last_contact is not None
    assert sam.due_on == (sam.last_contact + timedelta(days=30)).date()
    assert sam.overdue_days == (END - sam.due_on).days > 0
    assert "Sam (due" in facts.summary[-2] or any("Sam (due" in s for s in facts.summary)
    mum = people["Mum"]
    assert mum.due_on == (mum.last_contact + timedelta(days=7)).date()
    assert mum.overdue == (mum.due_on < END)
    # Alex is no longer in the config: listed with their last contact, never overdue.
    assert people["Alex"].every is None and not people["Alex"].overdue


def test_the_budget_of_the_day_is_the_one_recorded_then(
        year: Store, setup: Setup, year_seed: tuple[Path, seed.Seeded]) -> None:
    """A budget the person had at the time (the journal says 7 h) is the one the report
    holds that day against, not today's config (8 h); a day whose entry was lost gets
    the config's."""
    facts = report_for(year, setup, last="365d")
    first, last = year_seed[1].smaller_budget or (END, END)
    smaller = [d.day for d in facts.days if d.budget == seed.SMALLER_BUDGET]
    assert smaller and all(first <= d <= last and d.weekday() < 5 for d in smaller)
    inside = [d for d in facts.days if first <= d.day <= last and d.day.weekday() < 5]
    assert len(inside) - len(smaller) <= 1  # at most one whose entry was lost
    assert all(d.budget == seed.BUDGET[d.day.weekday() < 5] for d in facts.days
               if d.budget != seed.SMALLER_BUDGET)


def test_the_html_report_is_one_file_with_a_chart_per_topic(year: Store, setup: Setup,
                                                            plotting: None) -> None:
    facts = report_for(year, setup, last="4w")
    page = render_html.render(facts, charts.render(facts))
    parsed = Page.parse(page)
    assert parsed.summary == facts.summary
    assert parsed.sections == ["summary", "nights", "days", "social", "breaks", "contacts",
                               "checkins"]
    assert sorted(chart_marks(page)) == ["breaks", "checkins", "contacts", "days", "nights",
                                         "social"]
    assert all(marks > 0 for marks in chart_marks(page).values())
    # Self-contained: nothing to fetch, nothing to run.
    assert not re.search(r"<script|<link|src=|https?://(?!www\.w3\.org)", page)
    assert "@page { size: A4" in page


def test_a_long_period_is_laid_out_by_week(year: Store, setup: Setup, plotting: None) -> None:
    facts = report_for(year, setup, last="365d")
    page = render_html.render(facts, charts.render(facts))
    assert all(marks > 0 for marks in chart_marks(page).values())
    assert len(chart_marks(page)) == 6
    assert "week of Mon" in page and "weekly averages a day" in page
    markdown = render_md.render(facts)
    weeks = [line for line in markdown.splitlines() if line.startswith("| week of")]
    assert 52 <= len(weeks) // 5 <= 54  # nights, days, social, breaks, check-ins


def test_without_matplotlib_the_html_has_tables_and_says_how_to_get_charts(
        home_year: seed.Seeded, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(charts, "available", lambda: False)
    out = tmp_path / "r.html"
    assert nudged_cli("report", "--output", str(out)) == 0
    page = out.read_text(encoding="utf-8")
    assert "<svg" not in page
    assert "Charts are drawn when matplotlib is installed: pip install 'nudged[report]'" \
        in html.unescape(page)
    assert '<table data-table="days">' in page


def test_markdown_has_the_same_facts_in_text_tables(year: Store, setup: Setup) -> None:
    facts = report_for(year, setup, last="7d")
    text = render_md.render(facts)
    for line in facts.summary:
        assert f"- {line}" in text
    for heading in ("## Nights", "## Days", "## Social media", "## Movement breaks",
                    "## Contacts", "## Check-ins"):
        assert heading in text
    days = [line for line in text.split("## Days")[1].split("##")[0].splitlines()
            if line.startswith("| ") and not line.startswith(("| Day", "| ---"))]
    assert len(days) == len(facts.days)


def test_names_and_notes_are_shown_as_written_never_as_markup(plotting: None) -> None:
    store = Store.memory()
    at = datetime(2026, 3, 20, 19, tzinfo=TZ)
    name = '<b>Jo</b> & "Ann" | *x*'
    store.journal_add("social_contact", "contact", at,
                      json.dumps({"name": name, "how": "call", "source": "cli"}))
    store.journal_add("checkin", "checkin", at, json.dumps(
        {"answers": {"mood": 3, "energy": 2}, "note": "<script>alert(1)</script>"}))
    facts = gather(store, parse_period(None, "2w", None, END), TZ,
                   Setup(people=[seed_person(name)]), NOW)
    page = render_html.render(facts, charts.render(facts))
    assert "<script" not in page and "<b>Jo" not in page
    assert html.escape(name) in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert sorted(chart_marks(page)) == ["checkins", "contacts"]  # the SVG is well formed
    markdown = render_md.render(facts)
    assert "\\<script\\>alert(1)\\</script\\>" in markdown
    assert "\\<b\\>Jo\\</b\\> & \"Ann\" \\| \\*x\\*" in markdown


def seed_person(name: str) -> Any:
    from nudged.report.facts import PersonSetup

    return PersonSetup(name, timedelta(days=3))


def test_markdown_and_html_to_standard_output_and_csv_to_a_folder(
        home_year: seed.Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert nudged_cli("report", "--last", "7d", "--format", "md") == 0
    assert capsys.readouterr().out.startswith("# nudged report\n")
    assert nudged_cli("report", "--last", "7d", "--output", "-") == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")
    out = tmp_path / "tables"
    assert nudged_cli("report", "--last", "7d", "--format", "csv", "--output", str(out)) == 0
    assert capsys.readouterr().out.startswith(f"Wrote 8 tables to {out}/: summary.csv, ")
    with open(out / "days.csv", encoding="utf-8-sig", newline="") as fh:
        days = [date.fromisoformat(row["day"]) for row in csv.DictReader(fh)]
    today = datetime.now(TZ).date()
    week = {today - timedelta(days=n) for n in range(7)}
    # Every day nudged ran; an away day too if the night before ran past midnight.
    assert week - home_year.away <= set(days) <= week


# --------------------------------------------------------------------------- edges


def test_an_empty_store_gives_a_report_that_says_so(private_home: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    out = tmp_path / "empty.html"
    assert nudged_cli("report", "--output", str(out)) == 0
    page = out.read_text(encoding="utf-8")
    today = datetime.now(TZ).date()
    assert (f"Nothing was recorded in this period, {(today - timedelta(days=27)).day} "
            in html.unescape(page))
    assert "<svg" not in page
    assert "No nights recorded in this period" in page
    assert not default_db_path().exists()  # a report creates no database
    assert nudged_cli("report", "--format", "md") == 0
    assert "Nothing was recorded in this period" in capsys.readouterr().out
    assert nudged_cli("report", "--format", "csv", "--output", str(tmp_path / "c")) == 0
    with open(tmp_path / "c" / "days.csv", encoding="utf-8-sig") as fh:
        assert fh.read().splitlines() == ["day,present_minutes,social_minutes,video_minutes,"
                                          "other_minutes,budget_minutes,over_budget"]


def test_a_single_day(year: Store, setup: Setup, plotting: None) -> None:
    facts = report_for(year, setup, since="2026-03-27", until="2026-03-27")
    assert facts.period.length == 1
    assert [d.day for d in facts.days] == [date(2026, 3, 27)]
    assert len(facts.nights) <= 1
    page = render_html.render(facts, charts.render(facts))
    assert "27 Mar 2026 (1 day)" in page
    assert all(marks > 0 for marks in chart_marks(page).values())
    render_md.render(facts)


def test_a_range_with_gaps_says_on_how_many_days_something_was_recorded(
        setup: Setup, plotting: None) -> None:
    store = Store.memory()
    world = seed.seed(store, END, days=120)
    facts = gather(store, Period(world.start, world.end, END), TZ, setup, NOW)
    away = len(world.away - {d for d in facts.recorded_days})
    assert away > 0
    assert facts.summary[0] == (f"Something was recorded on {len(facts.recorded_days)} of 120 "
                                "days; on the others nudged was not running or not counting.")
    page = render_html.render(facts, charts.render(facts))
    assert all(marks > 0 for marks in chart_marks(page).values())


def test_a_range_in_the_future_has_nothing_yet(year: Store, setup: Setup) -> None:
    facts = report_for(year, setup, since="2026-05-01", until="2026-05-31")
    assert facts.empty and facts.period.future
    assert facts.summary == ["This period, 1 May 2026 to 31 May 2026, has not begun yet: "
                             "nothing is recorded for it."]
    page = render_html.render(facts, charts.render(facts))
    assert "<svg" not in page
    render_md.render(facts)
    # A period reaching past today counts its days up to today.
    facts = report_for(year, setup, since="2026-03-20", until="2026-04-10")
    assert facts.days and max(d.day for d in facts.days) <= END


def test_a_future_start_from_the_command_line_is_no_crash(
        home_year: seed.Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    later = (datetime.now(TZ).date() + timedelta(days=30)).isoformat()
    assert nudged_cli("report", "--since", later, "--output", str(tmp_path / "f.html")) == 0
    assert "has not begun yet" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "sentence"), [
    (["--since", "2026-13-01"], '--since: "2026-13-01" is not a date (expected YYYY-MM-DD'),
    (["--since", "1 March"], '--since: "1 March" is not a date'),
    (["--last", "3x"], '--last: "3x" is not a length of time (a number and d, w or m'),
    (["--last", "0d"], '--last: "0d" is not a length of time'),
    (["--since", "2026-03-01", "--last", "7d"], "--since and --last both say where the "
                                                "report starts; give one of them"),
    (["--since", "2026-03-10", "--until", "2026-03-01"],
     "--until: 2026-03-01 is before the start of the report (2026-03-10)"),
    (["--format", "csv", "--output", "-"], "--output: CSV is several tables"),
    (["--format", "md", "--open"], "--open needs a file to open"),
])
def test_bad_input_is_one_sentence_and_a_non_zero_exit(
        private_home: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
        sentence: str) -> None:
    assert nudged_cli("report", *argv) == 2
    captured = capsys.readouterr()
    assert sentence in captured.err
    assert "Traceback" not in captured.err and captured.err.count("\n") == 1


def test_periods() -> None:
    today = date(2026, 5, 31)
    assert parse_period(None, None, None, today) == Period(date(2026, 5, 4), today, today)
    assert parse_period(None, "7d", None, today).start == date(2026, 5, 25)
    assert parse_period(None, "1w", None, today).start == date(2026, 5, 25)
    assert parse_period(None, "3m", None, today).start == date(2026, 3, 1)
    assert parse_period(None, "1m", None, date(2026, 3, 31)).start == date(2026, 3, 1)
    assert parse_period("2026-01-01", None, "2026-01-31", today).length == 31


def test_checkins_are_read_in_one_place() -> None:
    assert read_checkin({"answers": {"mood": 4, "energy": 2}, "note": " a  note "}) == \
        (4, 2, "a note")
    assert read_checkin({"answers": {"mood": 9, "energy": True}}) == (None, None, None)
    assert read_checkin({"answers": "nonsense", "note": 5}) == (None, None, None)


def test_the_report_command_writes_a_private_file_with_the_default_name(
        home_year: seed.Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    assert nudged_cli("report", "--last", "7d", "--open") == 0
    today = datetime.now(TZ).date()
    name = f"nudged-report-{(today - timedelta(days=6)).isoformat()}_{today.isoformat()}.html"
    assert capsys.readouterr().out == f"Wrote {name}\n"
    assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
    assert opened == [(tmp_path / name).as_uri()]
    assert "Bedtime kept on" in (tmp_path / name).read_text(encoding="utf-8")


def test_the_daemon_never_imports_the_report_or_matplotlib() -> None:
    code = ("import sys, nudged.daemon, nudged.cli; "
            "print(sorted(m for m in sys.modules if m.startswith(('matplotlib', "
            "'nudged.report', 'nudged.datacli'))))")
    env = {**os.environ, "PYTHONPATH": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout
    assert out.strip() in ("[]", "['nudged.datacli']")


# --------------------------------------------------------------------------- in a browser


@pytest.mark.desktop
def test_chromium_renders_every_chart(home_year: seed.Seeded, tmp_path: Path,
                                     plotting: None) -> None:
    """The report as a person sees it: headless Chromium opens the file and takes a
    screenshot (kept beside the test's output); every chart is drawn."""
    browser = require_chromium()
    out = tmp_path / "report.html"
    assert nudged_cli("report", "--last", "4w", "--output", str(out)) == 0
    page = out.read_text(encoding="utf-8")
    marks = chart_marks(page)
    assert sorted(marks) == ["breaks", "checkins", "contacts", "days", "nights", "social"]
    assert all(n > 0 for n in marks.values())
    shot = tmp_path / "report.png"
    profile = tmp_path / "chromium-profile"
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1000,6000",
         "--hide-scrollbars", out.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert shot.exists(), result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 50_000
    from PIL import Image  # matplotlib's own dependency

    with Image.open(shot) as image:
        assert image.size == (1000, 6000)
        colours = {c for _n, c in image.convert("RGB").getcolors(1_000_000) or []}
    # The charts' own colours are on screen: social media bars, budget line area, the
    # nights' late dots and the check-in lines.
    for hex_colour in (charts.COLOURS["social"], charts.COLOURS["video"],
                       charts.COLOURS["late"], charts.COLOURS["mood"]):
        rgb = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
        assert rgb in colours, f"{hex_colour} is not on the screenshot"
    # And printed, it is A4.
    pdf = tmp_path / "report.pdf"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
         out.as_uri()], capture_output=True, text=True, timeout=120)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf.read_bytes())
    assert boxes and all(abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2
                         for w, h in boxes)


def require_chromium() -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser:
        return browser
    reason = "chromium is missing (apt-get install -y chromium)"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------- reading


class Page(HTMLParser):
    """The summary lines and section ids of a report page."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.summary: list[str] = []
        self._li: list[str] | None = None
        self._section = ""

    @classmethod
    def parse(cls, text: str) -> Page:
        page = cls()
        page.feed(text)
        return page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self._section = dict(attrs).get("id") or ""
            self.sections.append(self._section)
        elif tag == "li" and self._section == "summary":
            self._li = []

    def handle_data(self, data: str) -> None:
        if self._li is not None:
            self._li.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "li" and self._li is not None:
            self.summary.append("".join(self._li))
            self._li = None


def _extent(d: str) -> tuple[float, float]:
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", d)]
    xs, ys = numbers[0::2], numbers[1::2]
    return (max(xs) - min(xs), max(ys) - min(ys)) if xs and ys else (0.0, 0.0)


def chart_marks(page: str) -> dict[str, int]:
    """Per chart, how many data marks (paths, or uses of a marker) have a size."""
    found = {}
    for svg_text in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        root = ET.fromstring(svg_text.replace('<svg class="chart"', '<svg class="chart" '
                                              'xmlns:xlink="http://www.w3.org/1999/xlink"', 1)
                             if "xmlns:xlink" not in svg_text else svg_text)
        name = root.get("data-chart") or "?"
        defs = {el.get("id"): el.get("d", "") for el in root.iter(f"{SVG}path") if el.get("id")}
        count = 0
        for group in root.iter(f"{SVG}g"):
            if "-mark-" not in (group.get("id") or ""):
                continue
            for el in group.iter():
                if el.tag == f"{SVG}path" and not el.get("id"):
                    width, height = _extent(el.get("d", ""))
                    count += width > 0 or height > 0
                elif el.tag == f"{SVG}use":
                    width, height = _extent(defs.get((el.get(XLINK) or "#")[1:], ""))
                    count += width > 0 and height > 0
        found[name] = count
    return found
