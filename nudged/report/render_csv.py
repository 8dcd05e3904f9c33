"""The report as CSV: one tidy table per topic, a file each, for a spreadsheet.

UTF-8 with a byte-order mark, so that spreadsheet programs read names and notes with
accents correctly. A text cell that starts like a formula (``=``, ``+``, ``-``,
``@``) gets a leading apostrophe, so a spreadsheet shows it rather than runs it.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from nudged.report.facts import Facts
from nudged.report.tables import data_tables

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write(facts: Facts, directory: Path) -> list[Path]:
    """Write ``<topic>.csv`` files into ``directory`` (made if missing); their paths."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = []
    for table in data_tables(facts):
        path = directory / f"{table.name}.csv"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(table.columns)
            writer.writerows([safe(v) for v in row] for row in table.rows)
        written.append(path)
    return written
