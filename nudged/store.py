"""Local state in SQLite: every nudge shown, when, what became of it, and every deferral.

The file lives at ``$XDG_STATE_HOME/nudged/nudged.db``, mode 0600, in WAL mode.
It is marked with an ``application_id`` so a foreign or corrupt file is reported
and never overwritten. Schema changes are numbered migrations (``PRAGMA
user_version``), applied in one transaction each.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from typing import Any, ClassVar

from nudged.errors import StoreError
from nudged.models import Answer, Nudge, Response

APPLICATION_ID = 0x6E756467  # "nudg"

MIGRATIONS: list[str] = [
    # 1: what was shown and what became of it; what filters decided.
    """
    CREATE TABLE shown (
        id INTEGER PRIMARY KEY,
        plugin TEXT NOT NULL,
        nudge_id TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        due_at TEXT NOT NULL,
        shown_at TEXT NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 0,
        response TEXT,
        responded_at TEXT
    );
    CREATE INDEX shown_at_idx ON shown (shown_at);
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        plugin TEXT NOT NULL,
        nudge_id TEXT NOT NULL,
        at TEXT NOT NULL,
        verdict TEXT NOT NULL,
        decided_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        until TEXT
    );
    CREATE INDEX decisions_at_idx ON decisions (at);
    """,
    # 2: present time, attributed to the focused app and a matched site/category.
    # Window titles are never stored.
    """
    CREATE TABLE usage (
        id INTEGER PRIMARY KEY,
        day TEXT NOT NULL,
        start TEXT NOT NULL,
        end TEXT NOT NULL,
        seconds REAL NOT NULL,
        app TEXT,
        category TEXT,
        site TEXT
    );
    CREATE INDEX usage_day_idx ON usage (day);
    """,
    # 3: plugins' own data: a little state (JSON per key) and an append-only journal
    # (what happened, when: a night's bedtime kept, a contact made, a check-in).
    """
    CREATE TABLE plugin_state (
        plugin TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (plugin, key)
    );
    CREATE TABLE plugin_journal (
        id INTEGER PRIMARY KEY,
        plugin TEXT NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX plugin_journal_idx ON plugin_journal (plugin, kind, at);
    """,
    # 4: the person's controls outlive a restart: a pause (key "paused_until") and
    # every snoozed nudge, with the words it was shown with.
    """
    CREATE TABLE control (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE snoozed (
        key TEXT PRIMARY KEY,
        plugin TEXT NOT NULL,
        nudge_id TEXT NOT NULL,
        title TEXT,
        body TEXT,
        attempt INTEGER NOT NULL,
        until TEXT NOT NULL
    );
    """,
]


def state_home(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")


def default_db_path(environ: Mapping[str, str] = os.environ) -> Path:
    return state_home(environ) / "nudged" / "nudged.db"


def _seconds(start: datetime, end: datetime) -> float:
    """Real seconds between two instants (in UTC: not the wall-clock difference)."""
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


class Store:
    """The SQLite store. Open with :meth:`open`; every method is one short transaction."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @classmethod
    def memory(cls) -> Store:
        """A throw-away store for previews and tests."""
        store = cls(sqlite3.connect(":memory:", isolation_level=None), Path(":memory:"))
        store._prepare(True)
        return store

    @classmethod
    def open(cls, path: Path) -> Store:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fresh = not path.exists() or path.stat().st_size == 0
        try:
            # Create it 0600 ourselves: sqlite3 would use the umask.
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            os.chmod(path, 0o600)
        except OSError as exc:
            raise StoreError(f"{path}: cannot open the state database ({exc.strerror})") from None
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{path}: is not a nudged database or is damaged ({exc}); it was left "
                "untouched. Move it away to start a new one."
            ) from None
        if not fresh and app_id != APPLICATION_ID and (tables or app_id):
            conn.close()
            raise StoreError(
                f"{path}: belongs to another program (it is not a nudged database); it "
                "was left untouched. Move it away or point XDG_STATE_HOME elsewhere."
            )
        store = cls(conn, path)
        try:
            store._prepare(fresh or app_id != APPLICATION_ID)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"{path}: could not be prepared ({exc}); it was left as it was.") \
                from None
        return store

    def _prepare(self, new: bool) -> None:
        c = self._conn
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=NORMAL")
        c.execute("PRAGMA busy_timeout=2000")
        if new:
            c.execute(f"PRAGMA application_id={APPLICATION_ID}")
        version = c.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path}: was written by a newer nudged (schema {version}, this one "
                f"knows {len(MIGRATIONS)}); it was left untouched."
            )
        for number in range(version, len(MIGRATIONS)):
            c.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        c.execute(statement)
                c.execute(f"PRAGMA user_version={number + 1}")
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        if str(self.path) == ":memory:":
            return
        for suffix in ("-wal", "-shm"):
            extra = Path(str(self.path) + suffix)
            if extra.exists():
                os.chmod(extra, 0o600)

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    # -- the engine's Recorder ---------------------------------------------------
    def record_shown(self, nudge: Nudge, at: datetime) -> int:
        cur = self._conn.execute(
            "INSERT INTO shown (plugin, nudge_id, title, body, due_at, shown_at, attempt) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (nudge.plugin, nudge.spec.id, nudge.shown_title, nudge.shown_body,
             _iso(nudge.due_at), _iso(at), nudge.attempt),
        )
        return int(cur.lastrowid or 0)

    def record_decision(self, nudge: Nudge, at: datetime, verdict: str, by: str, reason: str,
                        until: datetime | None) -> None:
        self._conn.execute(
            "INSERT INTO decisions (plugin, nudge_id, at, verdict, decided_by, reason, until) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (nudge.plugin, nudge.spec.id, _iso(at), verdict, by, reason,
             _iso(until) if until else None),
        )

    def record_response(self, shown_id: int, response: Response | Answer,
                        at: datetime) -> None:
        self._conn.execute(
            "UPDATE shown SET response = ?, responded_at = ? WHERE id = ? AND response IS NULL",
            (response.value, _iso(at), shown_id),
        )

    # -- the engine's Memory: pauses and snoozes -------------------------------------
    def save_pause(self, until: datetime | None) -> None:
        if until is None:
            self._conn.execute("DELETE FROM control WHERE key = 'paused_until'")
        else:
            self._conn.execute(
                "INSERT INTO control (key, value) VALUES ('paused_until', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (_iso(until),))

    def paused_until(self) -> datetime | None:
        row = self._conn.execute(
            "SELECT value FROM control WHERE key = 'paused_until'").fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def save_snooze(self, nudge: Nudge, until: datetime) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO snoozed (key, plugin, nudge_id, title, body, attempt, until) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (nudge.key, nudge.plugin, nudge.spec.id, nudge.title, nudge.body, nudge.attempt,
             _iso(until)))

    def drop_snooze(self, key: str) -> None:
        self._conn.execute("DELETE FROM snoozed WHERE key = ?", (key,))

    def snoozes(self) -> list[dict[str, Any]]:
        """Remembered snoozes: plugin, nudge_id, title, body, attempt, until (datetime)."""
        rows = self._conn.execute(
            "SELECT plugin, nudge_id, title, body, attempt, until FROM snoozed ORDER BY until"
        ).fetchall()
        return [{"plugin": r[0], "nudge_id": r[1], "title": r[2], "body": r[3],
                 "attempt": r[4], "until": datetime.fromisoformat(r[5])} for r in rows]

    # -- queries -----------------------------------------------------------------
    def shown_since(self, since: datetime) -> list[datetime]:
        rows = self._conn.execute(
            "SELECT shown_at FROM shown WHERE shown_at >= ? ORDER BY shown_at", (_iso(since),)
        ).fetchall()
        return [datetime.fromisoformat(r[0]) for r in rows]

    def history(self, limit: int = 50) -> list[dict[str, Any]]:
        self._conn.row_factory = sqlite3.Row
        try:
            rows = self._conn.execute(
                "SELECT * FROM shown ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        finally:
            self._conn.row_factory = None
        return [dict(r) for r in rows]

    def timeline(self, since: datetime) -> list[dict[str, Any]]:
        """What was shown (with the answer) and what filters decided since ``since``,
        oldest first. Times are ISO 8601 in UTC."""
        shown = self._conn.execute(
            "SELECT plugin || ':' || nudge_id, shown_at, title, response, responded_at "
            "FROM shown WHERE shown_at >= ?", (_iso(since),)).fetchall()
        decided = self._conn.execute(
            "SELECT plugin || ':' || nudge_id, at, verdict, decided_by, reason, until "
            "FROM decisions WHERE at >= ?", (_iso(since),)).fetchall()
        rows: list[dict[str, Any]] = [
            {"at": r[1], "id": r[0], "event": "shown", "title": r[2], "response": r[3],
             "responded_at": r[4]} for r in shown]
        rows += [{"at": r[1], "id": r[0], "event": r[2], "by": r[3], "reason": r[4],
                  "until": r[5]} for r in decided]
        return sorted(rows, key=lambda row: (row["at"], row["event"] != "shown"))

    def decisions(self, limit: int = 50) -> list[dict[str, Any]]:
        self._conn.row_factory = sqlite3.Row
        try:
            rows = self._conn.execute(
                "SELECT * FROM decisions ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        finally:
            self._conn.row_factory = None
        return [dict(r) for r in rows]

    # -- usage ledger -----------------------------------------------------------------
    def add_usage(self, day: str, start: datetime, end: datetime, app: str | None,
                  category: str | None, site: str | None) -> int:
        cur = self._conn.execute(
            "INSERT INTO usage (day, start, end, seconds, app, category, site) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (day, _iso(start), _iso(end), _seconds(start, end), app, category, site),
        )
        return int(cur.lastrowid or 0)

    def extend_usage(self, row: int, start: datetime, end: datetime) -> None:
        self._conn.execute("UPDATE usage SET end = ?, seconds = ? WHERE id = ?",
                           (_iso(end), _seconds(start, end), row))

    def usage_totals(self, day: str) -> list[tuple[str | None, str | None, str | None, float]]:
        """(app, category, site, seconds) summed for one local day."""
        return [tuple(r) for r in self._conn.execute(
            "SELECT app, category, site, sum(seconds) FROM usage WHERE day = ? "
            "GROUP BY app, category, site", (day,))]

    # -- plugins' own data -----------------------------------------------------------
    def state_get(self, plugin: str, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM plugin_state WHERE plugin = ? AND key = ?",
                                 (plugin, key)).fetchone()
        return None if row is None else str(row[0])

    def state_set(self, plugin: str, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO plugin_state (plugin, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value",
            (plugin, key, value))

    def journal_add(self, plugin: str, kind: str, at: datetime, data: str) -> None:
        self._conn.execute(
            "INSERT INTO plugin_journal (plugin, kind, at, data) VALUES (?, ?, ?, ?)",
            (plugin, kind, _iso(at), data))

    def journal(self, plugin: str | None, kind: str | None = None,
                since: datetime | None = None) -> list[tuple[str, str, datetime, str]]:
        """(plugin, kind, at, data) in time order, filtered by what is given."""
        sql = "SELECT plugin, kind, at, data FROM plugin_journal WHERE 1=1"
        args: list[Any] = []
        if plugin is not None:
            sql += " AND plugin = ?"
            args.append(plugin)
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        if since is not None:
            sql += " AND at >= ?"
            args.append(_iso(since))
        rows = self._conn.execute(sql + " ORDER BY at, id", args).fetchall()
        return [(p, k, datetime.fromisoformat(a), d) for p, k, a, d in rows]

    # -- reports and data rights (`nudged report`, `nudged data`, [core] keep) --------
    #: Every table a person's data is in, for `nudged data export`.
    TABLES: ClassVar[tuple[str, ...]] = (
        "shown", "decisions", "usage", "plugin_state", "plugin_journal", "control", "snoozed")
    #: The dated tables a purge deletes from: table -> (column, what it holds). Plugin
    #: state, a pause and snoozes are the present, not history: they stay.
    DATED: ClassVar[dict[str, tuple[str, str]]] = {
        "shown": ("shown_at", "instant"), "decisions": ("at", "instant"),
        "usage": ("day", "day"), "plugin_journal": ("at", "instant")}

    def usage_by_day(self, first: str, last: str
                     ) -> list[tuple[str, str | None, str | None, float]]:
        """(day, category, site, seconds) summed per local day, ``first`` to ``last``
        (ISO dates, both included)."""
        return [tuple(r) for r in self._conn.execute(
            "SELECT day, category, site, sum(seconds) FROM usage WHERE day >= ? AND day <= ? "
            "GROUP BY day, category, site ORDER BY day", (first, last))]

    def journal_between(self, plugin: str, kind: str, start: datetime, end: datetime
                        ) -> list[tuple[datetime, str]]:
        """(at, data) of one plugin's entries of one kind with ``start <= at < end``."""
        rows = self._conn.execute(
            "SELECT at, data FROM plugin_journal WHERE plugin = ? AND kind = ? AND at >= ? "
            "AND at < ? ORDER BY at, id", (plugin, kind, _iso(start), _iso(end))).fetchall()
        return [(datetime.fromisoformat(a), d) for a, d in rows]

    def dump(self, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """A whole table: its column names and every row, oldest first."""
        if table not in self.TABLES:
            raise ValueError(f"no table {table!r}")
        cur = self._conn.execute(f"SELECT * FROM {table} ORDER BY rowid")
        return [d[0] for d in cur.description], [tuple(r) for r in cur.fetchall()]

    def _purge_where(self, day: date, tz: tzinfo) -> dict[str, tuple[str, str]]:
        """Per dated table: a WHERE clause for "before local midnight starting ``day``"
        and its argument (a UTC instant, or the local date for the usage ledger)."""
        cutoff = _iso(datetime.combine(day, time(0), tz))
        return {table: (f"{column} < ?", day.isoformat() if what == "day" else cutoff)
                for table, (column, what) in self.DATED.items()}

    def count_before(self, day: date, tz: tzinfo) -> dict[str, int]:
        """How many rows :meth:`purge_before` would delete, per table."""
        return {table: int(self._conn.execute(
            f"SELECT count(*) FROM {table} WHERE {where}", (arg,)).fetchone()[0])
            for table, (where, arg) in self._purge_where(day, tz).items()}

    def purge_before(self, day: date, tz: tzinfo) -> dict[str, int]:
        """Delete every dated row from before local midnight at the start of ``day``.

        Nothing from ``day`` on is touched. One transaction; ``secure_delete`` overwrites
        the freed space, and the WAL is checkpointed and truncated, so what was deleted
        does not linger in the file. Returns the rows deleted per table.
        """
        c = self._conn
        deleted: dict[str, int] = {}
        c.execute("PRAGMA secure_delete=ON")
        c.execute("BEGIN IMMEDIATE")
        try:
            for table, (where, arg) in self._purge_where(day, tz).items():
                deleted[table] = c.execute(
                    f"DELETE FROM {table} WHERE {where}", (arg,)).rowcount
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        if any(deleted.values()) and str(self.path) != ":memory:":
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    def close(self) -> None:
        self._conn.close()
