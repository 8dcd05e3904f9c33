"""The report as one self-contained HTML file: summary, then a chart and a table per
topic. No scripts, no links to fetch: it opens offline, and prints on A4."""

from __future__ import annotations

from html import escape
from typing import Any

from nudged import __version__
from nudged.report.facts import Facts
from nudged.report.tables import Table, reading_tables

#: (topic, heading, what it shows, what an empty section says)
SECTIONS = [
    ("nights", "Nights",
     "Each night of the sleep window as nudged recorded it: the bedtime, and the time at "
     "the screen between bedtime and wake-up. Bedtime kept means less than a minute at the "
     "screen in that window.",
     "No nights recorded in this period (the sleep_window plugin records them)."),
    ("days", "Days",
     "Time at the screen each day (present time only: idle, a locked screen and sleep do "
     "not count), split into social media, videos and everything else, against the day's "
     "screen-time budget.",
     "No screen time recorded in this period."),
    ("social", "Social media",
     "Time a day on each category or site that has a limit, and on the other categories "
     "seen, against the limit of that day.",
     "No time on social media, videos or news recorded in this period."),
    ("breaks", "Movement breaks",
     "Breaks a day: taken without a reminder (a natural break), taken after a reminder, "
     "snoozed, or skipped.",
     "No movement breaks recorded in this period (the movement plugin records them)."),
    ("contacts", "Contacts",
     "Contacts logged, after a prompt or by hand (nudged contact log), and where everyone "
     "stands at the end of the period.",
     "No contacts logged in this period."),
    ("checkins", "Check-ins",
     "Mood and energy from check-ins, on a scale of 1 (low) to 5 (high), and the notes "
     "written with them.",
     "No check-ins recorded in this period."),
]
#: Tables shown in a section besides its own.
EXTRA = {"contacts": ["people"], "checkins": ["notes"]}

CSS = """
@page { size: A4; margin: 14mm 15mm; }
* { box-sizing: border-box; }
body { font: 10pt/1.45 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #222;
       max-width: 190mm; margin: 0 auto; padding: 10mm 8mm; background: #fff; }
@media print { body { padding: 0; max-width: none; } }
header { border-bottom: 2px solid #0072B2; margin-bottom: 4mm; }
h1 { font-size: 16pt; margin: 0 0 1mm; }
h2 { font-size: 12.5pt; margin: 6mm 0 1.5mm; padding-bottom: 0.5mm;
     border-bottom: 1px solid #ccc; break-after: avoid; }
h3 { font-size: 10pt; margin: 3mm 0 1mm; break-after: avoid; }
p { margin: 1mm 0 2mm; }
.meta { color: #555; font-size: 9pt; }
.about { color: #444; font-size: 9pt; }
.empty { font-style: italic; color: #555; }
.note { background: #f4f4f4; border-left: 3px solid #999; padding: 1.5mm 3mm; }
#summary ul { margin: 1mm 0; padding-left: 5mm; }
#summary li { margin: 1mm 0; }
figure { margin: 1mm 0 3mm; break-inside: avoid; }
svg.chart { display: block; width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; margin-bottom: 3mm; }
thead { display: table-header-group; }
th { text-align: left; border-bottom: 1px solid #888; padding: 0.6mm 1.5mm; }
td { border-bottom: 0.5px solid #ddd; padding: 0.5mm 1.5mm; vertical-align: top; }
tr { break-inside: avoid; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
footer { margin-top: 8mm; font-size: 8pt; color: #666; border-top: 1px solid #ccc; }
"""


def _cell(value: Any, header: bool = False) -> str:
    tag = "th" if header else "td"
    number = isinstance(value, int | float) and not isinstance(value, bool)
    css = ' class="n"' if number else ""
    return f"<{tag}{css}>{escape(str(value))}</{tag}>"


def table_html(table: Table, heading: bool = False) -> str:
    if not table.rows:
        return ""
    out = [f"<h3>{escape(table.title)}</h3>" if heading else ""]
    out.append(f'<table data-table="{escape(table.name)}"><thead><tr>'
               + "".join(_cell(c, True) for c in table.columns) + "</tr></thead><tbody>")
    out.extend("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in table.rows)
    out.append("</tbody></table>")
    return "\n".join(x for x in out if x)


def render(facts: Facts, charts: dict[str, str] | None, note: str | None = None) -> str:
    """The whole page. ``charts``: topic -> inline SVG (None: no charts); ``note``: a
    line shown under the summary (how to get charts)."""
    charts = charts or {}
    tables = reading_tables(facts)
    period = facts.period
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>nudged report: {escape(period.label())}</title>",
        f"<style>{CSS}</style></head><body>",
        "<header><h1>nudged report</h1>",
        f'<p class="meta">{escape(period.label())} · days are local days in '
        f"{escape(facts.tz)} · made {facts.generated_at:%Y-%m-%d %H:%M}</p></header>",
        '<section id="summary"><h2>Summary</h2><ul>',
        *(f"<li>{escape(line)}</li>" for line in facts.summary),
        "</ul>",
    ]
    if note:
        parts.append(f'<p class="note">{escape(note)}</p>')
    parts.append("</section>")
    for topic, heading, about, empty in SECTIONS:
        main = tables[topic]
        extra = [tables[name] for name in EXTRA.get(topic, [])]
        has_data = bool(main.rows or any(t.rows for t in extra) or topic in charts)
        parts.append(f'<section id="{topic}"><h2>{escape(heading)}</h2>')
        if not has_data:
            parts.append(f'<p class="empty">{escape(empty)}</p></section>')
            continue
        parts.append(f'<p class="about">{escape(about)}</p>')
        if topic in charts:
            parts.append(f'<figure>{charts[topic]}</figure>')
        parts.append(table_html(main))
        parts.extend(table_html(t, heading=True) for t in extra)
        parts.append("</section>")
    parts.append(
        f"<footer>Made by nudged {escape(__version__)} from the records on this computer. "
        "It counts only what nudged saw while it was running: days without records are "
        "days it was not running or not counting, not days of nothing.</footer>")
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p) + "\n"
