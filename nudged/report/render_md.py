"""The report as Markdown: the same facts as the HTML page, in text tables."""

from __future__ import annotations

import re
from typing import Any

from nudged.report.facts import Facts
from nudged.report.render_html import EXTRA, SECTIONS
from nudged.report.tables import Table, reading_tables

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#])")


def text(value: Any) -> str:
    """One line of plain text, with Markdown's special characters escaped (a name or a
    note is shown as written, never read as markup or HTML)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def _cell(value: Any) -> str:
    return text(value) or " "


def table_md(table: Table) -> str:
    if not table.rows:
        return ""
    lines = ["| " + " | ".join(_cell(c) for c in table.columns) + " |",
             "|" + "|".join(" ---: " if isinstance(v, int | float) and not isinstance(v, bool)
                            else " --- " for v in table.rows[0]) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table.rows]
    return "\n".join(lines)


def render(facts: Facts) -> str:
    tables = reading_tables(facts)
    out = ["# nudged report", "",
           f"{facts.period.label()}; days are local days in {facts.tz}; made "
           f"{facts.generated_at:%Y-%m-%d %H:%M}.", "", "## Summary", ""]
    out += [f"- {text(line)}" for line in facts.summary]
    for topic, heading, about, empty in SECTIONS:
        main = tables[topic]
        extra = [tables[name] for name in EXTRA.get(topic, [])]
        out += ["", f"## {heading}", ""]
        if not main.rows and not any(t.rows for t in extra):
            out.append(f"_{empty}_")
            continue
        out.append(about)
        if main.rows:
            out += ["", table_md(main)]
        for table in extra:
            if table.rows:
                out += ["", f"### {table.title}", "", table_md(table)]
    out += ["", "---", "", "Counts only what nudged saw while it was running: days without "
            "records are days it was not running or not counting."]
    return "\n".join(out) + "\n"
