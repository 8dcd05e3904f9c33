"""The report's charts, drawn with matplotlib as inline SVG. The only module that
imports matplotlib, and only inside :func:`render` (``pip install 'nudged[report]'``).

Each chart is one ``<svg>`` element for the HTML page: no XML prolog, its ids
prefixed with the chart's name (several SVGs share one document), sized by its
``viewBox`` so it scales to the page. Every artist that draws data has an id with
``-mark-`` in it, so a test can find the marks and check they have a size.
Colours are the Okabe-Ito palette, told apart with colour vision deficiencies and
in grey print.
"""

from __future__ import annotations

import importlib.util
import io
import math
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from statistics import mean
from typing import Any, TypeVar, cast

from nudged.report.facts import CATEGORY_LABELS, Facts
from nudged.report.tables import by_week, social_targets, weekly

INSTALL_HINT = "pip install 'nudged[report]'"
WIDTH = 7.0  # inches: the text width of an A4 page with 15 mm margins, near enough
COLOURS = {"social": "#CC79A7", "video": "#E69F00", "other": "#56B4E9", "natural": "#009E73",
           "done": "#56B4E9", "snoozed": "#E69F00", "skipped": "#999999", "mood": "#0072B2",
           "energy": "#D55E00", "line": "#333333", "kept": "#009E73", "late": "#D55E00",
           "over": "#D55E00", "bar": "#0072B2"}
STYLE = {"svg.fonttype": "none", "font.family": "sans-serif", "font.size": 8,
         "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 9,
         "axes.titleweight": "bold", "axes.titlelocation": "left", "legend.frameon": False,
         "legend.fontsize": 7.5, "svg.hashsalt": "nudged-report"}
T = TypeVar("T")


def available() -> bool:
    """Whether matplotlib can be imported (without importing it)."""
    return importlib.util.find_spec("matplotlib") is not None


def render(facts: Facts) -> dict[str, str]:
    """Topic -> inline ``<svg>``, for every topic with something to draw."""
    import matplotlib

    charts: dict[str, str] = {}
    drawers: list[tuple[str, Callable[[Facts], Any]]] = [
        ("nights", _nights), ("days", _days), ("social", _social), ("breaks", _breaks),
        ("contacts", _contacts), ("checkins", _checkins)]
    with matplotlib.rc_context(cast(Any, STYLE)):
        for name, draw in drawers:
            figure = draw(facts)
            if figure is not None:
                charts[name] = _svg(figure, name)
    return charts


# --------------------------------------------------------------------------- helpers


def _figure(height: float, rows: int = 1, *, left: float = 0.62, hspace: float = 0.2,
            **kwargs: Any) -> tuple[Any, Any]:
    """A figure ``height`` inches high with ``rows`` axes, fixed margins (constrained
    layout costs more time than all the drawing): ``left`` inches for the y labels,
    room above for a title and a legend."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, height))
    axes = figure.subplots(rows, 1, squeeze=False, **kwargs)[:, 0]
    figure.subplots_adjust(left=left / WIDTH, right=1 - 0.12 / WIDTH, bottom=0.45 / height,
                           top=1 - 0.42 / height, hspace=hspace)
    return figure, axes


def _svg(figure: Any, name: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    prefix = f"{name}-"
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', text)
    text = text.replace("url(#", f"url(#{prefix}")
    text = re.sub(r'(href=")#', lambda m: f"{m.group(1)}#{prefix}", text)
    # Sized by the page (CSS), not in points: keep the viewBox only.
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", text, count=1)
    return text.replace("<svg", f'<svg class="chart" data-chart="{name}" role="img"', 1)


def _mark(artists: Any, series: str) -> None:
    """Name every data artist (``<series>-mark-<n>``) so the marks can be found."""
    for n, artist in enumerate(artists if isinstance(artists, Sequence) else [artists]):
        artist.set_gid(f"mark-{series}-{n}")


def _x(day: date) -> float:
    from matplotlib.dates import date2num

    return float(date2num(datetime(day.year, day.month, day.day, 12)))


def _dates(ax: Any, facts: Facts) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    period = facts.period
    first, last = period.start, period.end
    if weekly(facts):  # the bars of the first and the last week are whole weeks
        first = first - timedelta(days=first.weekday())
        last = last + timedelta(days=6 - last.weekday())
    ax.set_xlim(_x(first) - 0.6, _x(last) + 0.6)
    locator = AutoDateLocator(minticks=3, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.grid(axis="y", color="#dddddd", linewidth=0.5)
    ax.set_axisbelow(True)


def _group(facts: Facts, items: Sequence[T], day_of: Callable[[T], date]
           ) -> list[tuple[float, list[T]]]:
    """(x, items) per day or, for a long period, per week (x in the week's middle)."""
    if not weekly(facts):
        return [(_x(day_of(item)), [item]) for item in items]
    return [(_x(monday) + 3, group) for monday, group in by_week(items, day_of)]


def _bars(ax: Any, facts: Facts, xs: Sequence[float], lows: Sequence[float],
          highs: Sequence[float], colour: Any, series: str, label: str | None = None,
          daily: bool = False) -> None:
    """Bars as one collection of thick vertical lines, one a day (or a week, unless
    ``daily``): as readable as rectangles and far quicker to draw and to write out."""
    keep = [i for i in range(len(xs)) if highs[i] > lows[i]]
    if not keep:
        return
    figure = ax.get_figure()
    box = ax.get_position()
    span = 7 if weekly(facts) and not daily else 1
    points = span * box.width * figure.get_figwidth() * 72 / max(facts.period.length, 1)
    colours = [colour[i] for i in keep] if isinstance(colour, list) else colour
    lines = ax.vlines([xs[i] for i in keep], [lows[i] for i in keep],
                      [highs[i] for i in keep], colors=colours, label=label,
                      linewidth=max(0.6, min(14.0, points * 0.8)), capstyle="butt")
    _mark(lines, series)


def _minutes_axis(ax: Any, top: float) -> None:
    """Minutes as hours on the axis once there are hours to show."""
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    if top > 150:
        step = 60 * max(1, math.ceil(top / 60 / 6))
        ax.yaxis.set_major_locator(MultipleLocator(step))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v / 60:g} h"))
    else:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g} min"))


def _title(ax: Any, text: str, legend: int = 0) -> None:
    """A title above the axes, and the legend (``legend`` columns) between the two."""
    if legend:
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=legend,
                  borderaxespad=0.2, handlelength=1.6)
    ax.set_title(text, pad=15 if legend else 4)


# --------------------------------------------------------------------------- charts


def _nights(facts: Facts) -> Any:
    nights = facts.nights
    if not nights:
        return None
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    figure, (clock, amount) = _figure(3.4, 2, sharex=True, height_ratios=[3, 2], hspace=0.12)
    xs = [_x(n.night) for n in nights]

    def hours(moment: datetime, night: date) -> float:
        return (moment.replace(tzinfo=None) - datetime(night.year, night.month, night.day)
                ) / timedelta(hours=1)

    beds = [hours(n.bedtime, n.night) for n in nights]
    dense = weekly(facts)
    bed = clock.step(xs, beds, where="mid", color=COLOURS["line"], label="bedtime",
                     linewidth=0.6 if dense else 1, linestyle="-" if dense else "--",
                     alpha=0.5 if dense else 1)
    _mark(bed, "bedtime")
    late = [(x, b, hours(n.last_present, n.night))
            for x, b, n in zip(xs, beds, nights, strict=True)
            if not n.kept and n.last_present is not None]
    if late:
        stems = clock.vlines([x for x, _b, _l in late], [b for _x, b, _l in late],
                             [last for _x, _b, last in late], color=COLOURS["late"],
                             linewidth=0.8 if dense else 1.2)
        _mark(stems, "late")
        dots = clock.scatter([x for x, _b, _l in late], [last for _x, _b, last in late],
                             s=4 if dense else 9, color=COLOURS["late"], zorder=3,
                             label="last at the screen, after bedtime")
        _mark(dots, "last")
    kept = [(x, b) for x, b, n in zip(xs, beds, nights, strict=True) if n.kept]
    if kept:
        dots = clock.scatter([x for x, _b in kept], [b for _x, b in kept], s=4 if dense else 9,
                             color=COLOURS["kept"], zorder=3, label="bedtime kept")
        _mark(dots, "kept")
    values = beds + [last for _x, _b, last in late]
    low, high = math.floor(min(values)) - 1, math.ceil(max(values)) + 1
    clock.set_ylim(high, low)  # later is lower down: "later into the night"
    clock.yaxis.set_major_locator(MultipleLocator(1 if high - low <= 8 else 2))
    clock.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{int(v) % 24:02d}:00"))
    _title(clock, "Nights: bedtime, and the last time at the screen after it", legend=3)
    minutes = [float(n.present_minutes) for n in nights]
    _bars(amount, facts, xs, [0.0] * len(xs), minutes, COLOURS["late"], "minutes", daily=True)
    _minutes_axis(amount, max([*minutes, 10.0]))
    amount.set_ylim(0, max([*minutes, 10.0]) * 1.05)
    amount.set_ylabel("in the window", fontsize=7)
    _dates(clock, facts)
    _dates(amount, facts)
    return figure


def _days(facts: Facts) -> Any:
    if not facts.days:
        return None
    figure, (ax,) = _figure(2.9)
    groups = _group(facts, facts.days, lambda d: d.day)
    xs = [x for x, _ds in groups]
    bottom = [0.0] * len(groups)
    for key in ("social", "video", "other"):
        values = [mean(getattr(d, key) for d in ds) for _x, ds in groups]
        top = [b + v for b, v in zip(bottom, values, strict=True)]
        _bars(ax, facts, xs, bottom, top, COLOURS[key], key, CATEGORY_LABELS[key])
        bottom = top
    budgets = [_mean([d.budget for d in ds if d.budget is not None]) for _x, ds in groups]
    if any(not math.isnan(b) for b in budgets):
        line = ax.step(xs, budgets, where="mid", color=COLOURS["line"], linestyle="--",
                       linewidth=1, label="budget")
        _mark(line, "budget")
    top_value = max(bottom + [b for b in budgets if not math.isnan(b)] + [10.0])
    ax.set_ylim(0, top_value * 1.05)
    _minutes_axis(ax, top_value)
    _title(ax, "Days: time at the screen, by category, against the budget"
           + (" (weekly averages a day)" if weekly(facts) else ""), legend=4)
    _dates(ax, facts)
    return figure


def _mean(values: Sequence[float]) -> float:
    return mean(values) if values else math.nan


def _social(facts: Facts) -> Any:
    targets = social_targets(facts)
    if not any(d.minutes for t in targets for d in t.days):
        return None
    figure, axes = _figure(0.6 + 1.3 * len(targets), len(targets), sharex=True, hspace=0.55)
    for index, (ax, target) in enumerate(zip(axes, targets, strict=True)):
        groups = _group(facts, target.days, lambda d: d.day)
        xs = [x for x, _ds in groups]
        minutes = [mean(d.minutes for d in ds) for _x, ds in groups]
        limits = [_mean([d.limit for d in ds if d.limit is not None]) for _x, ds in groups]
        colours = [COLOURS["over"] if m > lim else COLOURS["bar"]
                   for m, lim in zip(minutes, limits, strict=True)]  # nan: never over
        _bars(ax, facts, xs, [0.0] * len(xs), minutes, colours, f"target{index}")
        if target.limited:
            line = ax.step(xs, limits, where="mid", color=COLOURS["line"], linestyle="--",
                           linewidth=1)
            _mark(line, f"limit{index}")
        top = max(minutes + [x for x in limits if not math.isnan(x)] + [10.0])
        ax.set_ylim(0, top * 1.05)
        _minutes_axis(ax, top)
        name = target.label[:1].upper() + target.label[1:] if target.kind == "category" \
            else f"{target.label} (site)"
        a_day = "weekly average a day" if weekly(facts) else "time a day"
        ax.set_title(f"{name}: {a_day}" + (" against its limit (dashed), over it in orange"
                                           if target.limited else " (no limit set)"),
                     fontweight="normal", pad=4)
        _dates(ax, facts)
    return figure


def _breaks(facts: Facts) -> Any:
    if not facts.breaks:
        return None
    from matplotlib.ticker import MaxNLocator

    figure, (ax,) = _figure(2.5)
    groups = _group(facts, facts.breaks, lambda b: b.day)
    xs = [x for x, _bs in groups]
    bottom = [0.0] * len(groups)
    labels = {"natural": "taken without a reminder", "done": "taken after a reminder",
              "snoozed": "snoozed", "skipped": "skipped"}
    for key, label in labels.items():
        values = [float(sum(getattr(b, key) for b in bs)) for _x, bs in groups]
        top = [b + v for b, v in zip(bottom, values, strict=True)]
        _bars(ax, facts, xs, bottom, top, COLOURS[key], key, label)
        bottom = top
    ax.set_ylim(0, max([*bottom, 1.0]) * 1.05)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _title(ax, "Movement breaks a " + ("week" if weekly(facts) else "day"), legend=4)
    _dates(ax, facts)
    return figure


def _contacts(facts: Facts) -> Any:
    overdue = [p for p in facts.people if p.overdue and p.due_on is not None]
    if not facts.contacts and not overdue:
        return None
    names = [p.name for p in facts.people]
    names += sorted({c.name for c in facts.contacts} - set(names))
    row = {name: i for i, name in enumerate(names)}
    left = min(2.0, 0.25 + 0.065 * max(len(n) for n in names))
    figure, (ax,) = _figure(0.85 + 0.28 * len(names), left=left)
    if facts.contacts:
        dots = ax.scatter([_x(c.at.date()) for c in facts.contacts],
                          [row[c.name] for c in facts.contacts], s=18, color=COLOURS["mood"],
                          zorder=3, label="in touch")
        _mark(dots, "contact")
    if overdue:
        end = _x(min(facts.period.end, facts.period.today))
        starts = [max(_x(p.due_on), _x(facts.period.start)) - 0.5
                  for p in overdue if p.due_on is not None]
        lines = ax.hlines([row[p.name] for p in overdue], starts, end + 0.5,
                          color=COLOURS["late"], linewidth=4, alpha=0.6,
                          label="overdue at the end of the period")
        _mark(lines, "overdue")
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.5, -0.5)
    _title(ax, "Contacts: who, when, and who is overdue", legend=2)
    _dates(ax, facts)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.5)
    return figure


def _checkins(facts: Facts) -> Any:
    checkins = [c for c in facts.checkins if c.mood is not None or c.energy is not None]
    if not checkins:
        return None
    from matplotlib.dates import date2num

    figure, (ax,) = _figure(2.4)
    for key in ("mood", "energy"):
        points = [(float(date2num(c.at.replace(tzinfo=None))), getattr(c, key))
                  for c in checkins if getattr(c, key) is not None]
        if points:
            line = ax.plot([p[0] for p in points], [p[1] for p in points],
                           color=COLOURS[key], linewidth=1,
                           marker="o" if len(points) <= 62 else None, markersize=3,
                           label=key)
            _mark(line, key)
    ax.set_ylim(0.6, 5.4)
    ax.set_yticks([1, 2, 3, 4, 5])
    _title(ax, "Check-ins: mood and energy (1 low, 5 high)", legend=2)
    _dates(ax, facts)
    return figure
