"""What was shown and answered is kept safely, and nobody's file is ever overwritten."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nudged import NudgeSpec, Response
from nudged.errors import StoreError
from nudged.models import Nudge
from nudged.store import APPLICATION_ID, MIGRATIONS, Store, default_db_path

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def a_nudge() -> Nudge:
    return Nudge("custom", NudgeSpec("water", "Water", "Sip"), due_at=AT)


def test_the_database_is_private_in_wal_mode_and_at_the_xdg_path(private_home: Path) -> None:
    path = default_db_path()
    assert path == private_home / ".local" / "state" / "nudged" / "nudged.db"
    store = Store.open(path)
    row = store.record_shown(a_nudge(), AT)
    store.record_response(row, Response.SNOOZE, AT + timedelta(minutes=1))
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("SELECT plugin, nudge_id, response FROM shown").fetchall() == [
        ("custom", "water", "snooze")]


def test_reopening_keeps_history_and_a_second_answer_does_not_overwrite_the_first(
    tmp_path: Path,
) -> None:
    path = tmp_path / "nudged.db"
    store = Store.open(path)
    row = store.record_shown(a_nudge(), AT)
    store.record_response(row, Response.DONE, AT)
    store.close()
    store = Store.open(path)
    store.record_response(row, Response.TIMED_OUT, AT)
    assert [(h["nudge_id"], h["response"]) for h in store.history()] == [("water", "done")]
    assert store.shown_since(AT - timedelta(minutes=5)) == [AT]
    store.close()


def test_a_foreign_database_is_reported_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "nudged.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.execute("INSERT INTO recipes VALUES ('soup')")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="belongs to another program"):
        Store.open(path)
    assert path.read_bytes() == before


def test_a_corrupt_file_is_reported_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "nudged.db"
    path.write_bytes(b"this is my diary, not a database" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="is not a nudged database or is damaged"):
        Store.open(path)
    assert path.read_bytes() == before


def test_a_database_from_a_newer_nudged_is_not_downgraded(tmp_path: Path) -> None:
    path = tmp_path / "nudged.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="written by a newer nudged"):
        Store.open(path)


def test_the_daemon_refuses_to_start_on_a_foreign_file_with_a_sentence(
    private_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nudged.cli import main

    path = default_db_path()
    path.parent.mkdir(parents=True)
    path.write_text("not sqlite at all, and longer than a header would be " * 10)
    assert main(["run"]) == 3
    err = capsys.readouterr().err
    assert "is not a nudged database or is damaged" in err
    assert "Traceback" not in err
