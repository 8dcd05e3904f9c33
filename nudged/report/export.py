"""``nudged data export``: everything nudged recorded, as CSV and JSON files.

One CSV per table of the state database, exactly as stored (times in UTC, ISO 8601;
``usage.day`` is the local day); the plugins' journal and state also as JSON with
their values parsed (``journal.json``, ``plugin_state.json``); and ``manifest.json``
saying what is where. The folder is made private (0700, files 0600): it holds what
nudged knows about a person's days.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, tzinfo
from pathlib import Path
from typing import IO, Any

from nudged import __version__
from nudged.store import Store


@contextmanager
def _private(path: Path, newline: str | None = None) -> Iterator[IO[str]]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8", newline=newline) as fh:
        yield fh


def _parsed(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def write(store: Store, directory: Path, tz: tzinfo, now: datetime) -> list[Path]:
    """Write the export into ``directory`` (made if missing); the files written."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    written: list[Path] = []
    counts: dict[str, int] = {}
    tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    for table in Store.TABLES:
        columns, rows = store.dump(table)
        tables[table] = (columns, rows)
        counts[table] = len(rows)
        path = directory / f"{table}.csv"
        with _private(path, newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            writer.writerows(rows)
        written.append(path)
    columns, rows = tables["plugin_journal"]
    journal = [dict(zip(columns, row, strict=True)) for row in rows]
    for entry in journal:
        entry["data"] = _parsed(entry["data"])
    path = directory / "journal.json"
    with _private(path) as fh:
        json.dump(journal, fh, indent=1, ensure_ascii=False)
    written.append(path)
    state: dict[str, dict[str, Any]] = {}
    for plugin, key, value in tables["plugin_state"][1]:
        state.setdefault(plugin, {})[key] = _parsed(value)
    path = directory / "plugin_state.json"
    with _private(path) as fh:
        json.dump(state, fh, indent=1, ensure_ascii=False, sort_keys=True)
    written.append(path)
    manifest = {
        "exported_at": now.isoformat(timespec="seconds"),
        "nudged_version": __version__,
        "schema_version": store.schema_version,
        "time_zone": getattr(tz, "key", str(tz)),
        "rows": counts,
        "files": [p.name for p in written] + ["manifest.json"],
        "about": "Each <table>.csv is a table of nudged's state database as stored: times "
                 "are UTC (ISO 8601); usage.day is the local day in time_zone. "
                 "journal.json and plugin_state.json hold the plugins' journal and state "
                 "with their JSON values parsed. docs/report.md describes every table.",
    }
    path = directory / "manifest.json"
    with _private(path) as fh:
        json.dump(manifest, fh, indent=1, ensure_ascii=False)
    written.append(path)
    return written
