"""A person takes their records with them, deletes old ones, and decides how long
nudged keeps anything.

``nudged data export`` writes every table as CSV and JSON; ``nudged data purge
--before DAY`` deletes what is older than that day (asking first), and never a row
from that day on; ``[core] keep`` does the same once a day from the daemon's heartbeat.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import seed
from seed import TZ, nudged_cli

from nudged.config import default_config_path, load_text
from nudged.daemon import Daemon
from nudged.errors import ConfigError
from nudged.store import Store, default_db_path

CONFIG = '[core]\ntimezone = "Europe/Berlin"\n'
CUTOFF = date(2026, 3, 10)
BEFORE = datetime(2026, 3, 9, 23, 59, 59, tzinfo=TZ)  # the last second before the cutoff
AT = datetime(2026, 3, 10, 0, 0, tzinfo=TZ)  # local midnight starting the cutoff day


@pytest.fixture
def config(private_home: Path) -> Path:
    path = default_config_path()
    path.parent.mkdir(parents=True)
    path.write_text(CONFIG, encoding="utf-8")
    return path


def counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in Store.TABLES}
    finally:
        conn.close()


def boundary_store(path: Path, marker: str = "a note") -> None:
    """Two rows in every dated table: one in the last second before CUTOFF, one at its
    first second; and plugin state, a pause and a snooze, which are not history."""
    store = Store.open(path)
    conn = store._conn
    for moment in (BEFORE, AT):
        utc = moment.astimezone(UTC).isoformat(timespec="seconds")  # as the store writes
        conn.execute("INSERT INTO shown (plugin, nudge_id, title, body, due_at, shown_at) "
                     "VALUES ('custom', 'water', 'Water', '', ?, ?)", (utc, utc))
        conn.execute("INSERT INTO decisions (plugin, nudge_id, at, verdict, decided_by, "
                     "reason) VALUES ('custom', 'water', ?, 'deferred', 'quiet', 'q')", (utc,))
        store.add_usage(moment.date().isoformat(), moment, moment + timedelta(minutes=1),
                        "code", None, None)
        store.journal_add("checkin", "checkin", moment, json.dumps(
            {"answers": {"mood": 3, "energy": 3},
             "note": marker if moment == BEFORE else "kept"}))
    store.state_set("social_contact", "first_seen", '{"mum": "2026-01-01T08:00:00+01:00"}')
    store.save_pause(datetime(2026, 1, 1, tzinfo=TZ))
    conn.execute("INSERT INTO snoozed (key, plugin, nudge_id, attempt, until) VALUES "
                 "('custom:water', 'custom', 'water', 1, '2026-01-01T00:00:00+00:00')")
    store.close()


class Terminal(io.StringIO):
    """Standard input that is a terminal, with the person's answer typed in."""

    def isatty(self) -> bool:
        return True


# --------------------------------------------------------------------------- export


def test_export_writes_every_table_as_csv_and_json(
        config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store.open(default_db_path())
    seed.seed(store, datetime.now(TZ).date(), days=30)
    store.close()
    out = tmp_path / "mine"
    assert nudged_cli("data", "export", "--output", str(out)) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{t}.csv" for t in Store.TABLES]
                           + ["journal.json", "plugin_state.json", "manifest.json"])
    assert f"Wrote {len(names)} files to {out}/" in capsys.readouterr().out
    rows = counts(default_db_path())
    for table, n in rows.items():
        with open(out / f"{table}.csv", encoding="utf-8", newline="") as fh:
            assert len(list(csv.reader(fh))) == n + 1, table  # a header, then the rows
    journal = json.loads((out / "journal.json").read_text(encoding="utf-8"))
    assert len(journal) == rows["plugin_journal"]
    nights = [e for e in journal if e["kind"] == "night"]
    assert nights and isinstance(nights[0]["data"]["present_minutes"], int)
    state = json.loads((out / "plugin_state.json").read_text(encoding="utf-8"))
    assert set(state["social_contact"]["first_seen"]) == {"mum", "jo", "sam"}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"] == rows
    assert manifest["time_zone"] == "Europe/Berlin" and manifest["schema_version"] == 4
    # Private: it is what nudged knows about a person's days.
    assert out.stat().st_mode & 0o777 == 0o700
    assert {p.stat().st_mode & 0o777 for p in out.iterdir()} == {0o600}


def test_export_never_writes_into_a_folder_that_has_files(
        config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "full"
    out.mkdir()
    (out / "thesis.txt").write_text("mine", encoding="utf-8")
    assert nudged_cli("data", "export", "--output", str(out)) == 2
    assert "already exists and is not an empty folder; nothing was written" in \
        capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["thesis.txt"]


def test_export_with_nothing_recorded_writes_empty_tables_and_no_database(
        config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert nudged_cli("data", "export") == 0
    out = tmp_path / f"nudged-export-{datetime.now(TZ).date().isoformat()}"
    assert (out / "usage.csv").read_text(encoding="utf-8").splitlines() == [
        "id,day,start,end,seconds,app,category,site"]
    assert json.loads((out / "journal.json").read_text(encoding="utf-8")) == []
    assert not default_db_path().exists()


# --------------------------------------------------------------------------- purge


def test_purge_deletes_before_the_day_and_never_from_it_on(
        config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    boundary_store(default_db_path())
    assert nudged_cli("data", "purge", "--before", CUTOFF.isoformat(), "--yes") == 0
    assert capsys.readouterr().out == (
        "Deleted 4 rows from before 2026-03-10 (1 shown, 1 decisions, 1 usage, "
        "1 plugin_journal).\n")
    after = counts(default_db_path())
    assert after == {"shown": 1, "decisions": 1, "usage": 1, "plugin_journal": 1,
                     "plugin_state": 1, "control": 1, "snoozed": 1}
    store = Store.open(default_db_path())
    try:
        assert [data for *_rest, data in store.journal("checkin")] == [
            json.dumps({"answers": {"mood": 3, "energy": 3}, "note": "kept"})]
        assert store.usage_totals("2026-03-10") and not store.usage_totals("2026-03-09")
    finally:
        store.close()
    # Again: nothing left from before the day.
    assert nudged_cli("data", "purge", "--before", CUTOFF.isoformat(), "--yes") == 0
    assert capsys.readouterr().out == "Nothing from before 2026-03-10 to delete.\n"


def test_purge_asks_first_on_a_terminal(config: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    boundary_store(default_db_path())
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    assert nudged_cli("data", "purge", "--before", "2026-03-10") == 1
    out = capsys.readouterr().out
    assert out == "Delete 4 rows from before 2026-03-10? [y/N] Nothing was deleted.\n"
    assert counts(default_db_path())["usage"] == 2
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    assert nudged_cli("data", "purge", "--before", "2026-03-10") == 0
    assert capsys.readouterr().out.startswith(
        "Delete 4 rows from before 2026-03-10? [y/N] Deleted 4 rows")
    assert counts(default_db_path())["usage"] == 1


def test_purge_without_a_terminal_and_without_yes_deletes_nothing(
        config: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    boundary_store(default_db_path())
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert nudged_cli("data", "purge", "--before", "2026-03-10") == 2
    err = capsys.readouterr().err
    assert err == ("nudged: purge: 4 rows from before 2026-03-10 would be deleted, and purge "
                   "asks first, but there is no terminal to ask on; nothing was deleted (add "
                   "--yes to delete without asking)\n")
    assert counts(default_db_path())["plugin_journal"] == 2


@pytest.mark.parametrize(("argv", "sentence"), [
    ([], "purge: say which records to delete with --before YYYY-MM-DD"),
    (["--before", "2026-02-30"], '--before: "2026-02-30" is not a date (expected YYYY-MM-DD'),
    (["--before", "yesterday"], '--before: "yesterday" is not a date'),
])
def test_purge_bad_input_is_a_sentence(config: Path, capsys: pytest.CaptureFixture[str],
                                       argv: list[str], sentence: str) -> None:
    boundary_store(default_db_path())
    assert nudged_cli("data", "purge", "--yes", *argv) == 2
    err = capsys.readouterr().err
    assert sentence in err and "Traceback" not in err
    assert counts(default_db_path())["usage"] == 2


def test_purge_with_nothing_recorded(config: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    assert nudged_cli("data", "purge", "--before", "2026-03-10", "--yes") == 0
    assert capsys.readouterr().out == "Nothing to delete: nudged has not recorded anything yet.\n"
    assert not default_db_path().exists()


def test_what_was_purged_is_not_left_in_the_file(config: Path) -> None:
    """Deleted rows are overwritten, and the write-ahead log is emptied: the words of a
    deleted note are nowhere in the database's files."""
    marker = "a very private sentence 7f3a"
    boundary_store(default_db_path(), marker)
    files = [default_db_path(), Path(f"{default_db_path()}-wal")]
    assert any(marker.encode() in f.read_bytes() for f in files if f.exists())
    assert nudged_cli("data", "purge", "--before", CUTOFF.isoformat(), "--yes") == 0
    assert not any(marker.encode() in f.read_bytes() for f in files if f.exists())


# --------------------------------------------------------------------------- retention


def test_keep_is_a_duration_of_at_least_a_week_or_forever() -> None:
    core = load_text("", None).settings.core
    assert core.keep == timedelta(days=365)
    assert load_text('[core]\nkeep = "forever"', None).settings.core.keep is None
    assert load_text('[core]\nkeep = "52w"', None).settings.core.keep == timedelta(weeks=52)
    for value, words in (('"30m"', '"30m" is shorter than a week'),
                         ("30", '30 is not a duration (a number needs a unit: try "30d"'),
                         ('"3 months"', "months and years vary in length")):
        with pytest.raises(ConfigError) as caught:
            load_text(f"[core]\nkeep = {value}", None)
        assert words in str(caught.value)
    assert core.model_dump(mode="json")["keep"] == "365d"
    assert load_text('[core]\nkeep = "forever"', None).settings.core.model_dump(
        mode="json")["keep"] == "forever"


def daemon_with(store: Store, keep: str, now: list[datetime]) -> Daemon:
    loaded = load_text(f'[core]\ntimezone = "Europe/Berlin"\nkeep = "{keep}"\n', None)
    daemon = Daemon()
    daemon.runtime = SimpleNamespace(  # type: ignore[assignment]
        data=store, loaded=loaded, scheduler=SimpleNamespace(now=lambda: now[0]),
        activity=SimpleNamespace(heartbeat=lambda: None))
    return daemon


def test_the_daemon_deletes_what_is_older_than_keep_once_a_day(tmp_path: Path) -> None:
    path = tmp_path / "nudged.db"
    boundary_store(path)
    store = Store.open(path)
    now = [datetime(2026, 4, 8, 10, 0, tzinfo=TZ)]  # 30 days after 2026-03-09
    daemon = daemon_with(store, "30d", now)

    async def beat() -> None:  # the heartbeat, as the running daemon calls it
        daemon._beat()
        assert daemon._heartbeat is not None
        daemon._heartbeat.cancel()

    asyncio.run(beat())
    assert counts(path)["usage"] == 2  # 2026-03-09 is 30 days back: still kept
    now[0] = datetime(2026, 4, 8, 23, 0, tzinfo=TZ)
    store.add_usage("2026-01-01", datetime(2026, 1, 1, 9, tzinfo=TZ),
                    datetime(2026, 1, 1, 10, tzinfo=TZ), "code", None, None)
    asyncio.run(beat())
    assert counts(path)["usage"] == 3  # once a day: not again the same day
    now[0] = datetime(2026, 4, 9, 0, 5, tzinfo=TZ)
    asyncio.run(beat())
    after = counts(path)
    assert after["usage"] == 1 and after["plugin_journal"] == 1 and after["shown"] == 1
    assert after["plugin_state"] == 1 and after["snoozed"] == 1
    store.close()


def test_keep_forever_deletes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nudged.db"
    boundary_store(path)
    store = Store.open(path)
    daemon = daemon_with(store, "forever", [datetime(2030, 1, 1, tzinfo=TZ)])
    daemon._retain()
    assert counts(path)["usage"] == 2
    store.close()


def test_a_failing_purge_never_stops_the_daemon(tmp_path: Path) -> None:
    class Broken(Store):
        def purge_before(self, *_args: Any) -> dict[str, int]:
            raise sqlite3.OperationalError("database is locked")

    store = Broken(sqlite3.connect(":memory:", isolation_level=None), Path(":memory:"))
    store._prepare(True)
    daemon_with(store, "30d", [datetime(2026, 4, 9, tzinfo=TZ)])._retain()  # logged only
