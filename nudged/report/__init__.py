"""``nudged report``: what the store holds about a stretch of days, for a clinician.

:mod:`.facts` gathers plain data per topic from the store (nights, days, social media,
movement breaks, contacts, check-ins) and writes the summary sentences; the
renderers turn those facts into HTML (:mod:`.render_html`, with charts from
:mod:`.charts`, the only module that imports matplotlib), Markdown (:mod:`.render_md`)
or CSV (:mod:`.render_csv`). :mod:`.tables` holds the rows all three share, so the
formats cannot disagree. The daemon never imports this package.

What each section shows and how each number is counted: docs/report.md.
"""
