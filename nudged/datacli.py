"""``nudged report`` and ``nudged data export|purge``: the person's records, to read,
to take away, and to delete.

``report`` reads the local store (the daemon may be running) and writes an HTML
page (default), Markdown or CSV files; ``data export`` copies every table out as
CSV and JSON; ``data purge`` deletes what is older than a date, after asking. Every
heavy import (pydantic, the plugins, matplotlib) happens inside the command, so
``nudged --help`` stays fast. Bad input is one sentence on stderr and exit 2.
What each part of the report means: docs/report.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nudged.errors import ConfigError

if TYPE_CHECKING:
    from nudged.config import LoadedConfig
    from nudged.report.facts import Facts, Setup
    from nudged.store import Store

FORMATS = ("html", "md", "csv")


def add_parsers(sub: Any) -> None:
    """The report and data commands' argument parsers (``sub``: the subparsers action)."""
    def config_opt(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", type=Path, metavar="PATH",
                        help="config file (default: $XDG_CONFIG_HOME/nudged/config.toml)")

    report = sub.add_parser(
        "report", help="a report of recent weeks, to read or to bring to your clinician",
        description="A report of what nudged recorded: nights, screen time, social media, "
        "movement breaks, contacts and check-ins, with a short plain summary. HTML (one "
        "file, charts included, prints on A4), Markdown, or CSV tables for a spreadsheet. "
        "Default: the last 4 weeks, as HTML.")
    report.add_argument("--since", metavar="YYYY-MM-DD", help="the first day of the report")
    report.add_argument("--last", metavar="N{d,w,m}",
                        help='how far back, today included: "7d", "4w", "3m" (default "4w")')
    report.add_argument("--until", metavar="YYYY-MM-DD",
                        help="the last day of the report (default: today)")
    report.add_argument("--format", choices=FORMATS, default="html",
                        help="html (default), md or csv")
    report.add_argument("--output", metavar="PATH",
                        help="where to write it: a file for html and md (\"-\": standard "
                        "output), a folder for csv (default: nudged-report-START_END.html or "
                        "a folder of that name here; md goes to standard output)")
    report.add_argument("--open", action="store_true", help="open it when it is written")
    config_opt(report)

    data = sub.add_parser("data", help="export everything nudged recorded, or delete old "
                          "records")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    export = data_sub.add_parser(
        "export", help="write every record as CSV and JSON files into a new folder",
        description="Write everything nudged recorded into a new folder: one CSV file per "
        "table of its database, the plugins' journal and state as JSON, and a manifest.")
    export.add_argument("--output", metavar="DIR", type=Path,
                        help="the folder to write (new or empty; default: "
                        "nudged-export-YYYY-MM-DD here)")
    config_opt(export)
    purge = data_sub.add_parser(
        "purge", help="delete the records from before a day, for good",
        description="Delete every record from before a day (local midnight at its start): "
        "nudges shown, decisions, screen time, and the plugins' journals (nights, breaks, "
        "contacts, check-ins). That day and later are never touched. Asks first unless "
        "--yes. [core] keep does the same every day for what is older than it.")
    purge.add_argument("--before", metavar="YYYY-MM-DD",
                       help="the first day to keep; everything before it is deleted")
    purge.add_argument("--yes", action="store_true", help="do not ask")
    config_opt(purge)


# -- shared ------------------------------------------------------------------------------
def _load(args: argparse.Namespace) -> tuple[LoadedConfig, tzinfo]:
    from nudged import config as configmod

    loaded = configmod.load(getattr(args, "config", None))
    return loaded, loaded.settings.core.tz()


def _open_store() -> Store:
    """The state database; an empty in-memory one when nudged has recorded nothing yet
    (a report or an export need not create the file)."""
    from nudged.store import Store, default_db_path

    path = default_db_path()
    if path.exists():
        return Store.open(path)
    return Store.memory()


def setup_of(loaded: LoadedConfig) -> Setup:
    """Budgets, limits and people from the configured plugins."""
    from nudged.report.facts import setup_from_configs
    from nudged.runtime import build_host

    host, _problems = build_host(loaded, os.environ)
    return setup_from_configs({record.name: record.config for record in host.active()
                               if record.config is not None})


def _write_text(path: Path, text: str) -> None:
    """Write a report file, private to the person (0600)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except IsADirectoryError:
        raise ConfigError([f"--output: {path} is a folder; give a file name"]) from None
    except FileNotFoundError:
        raise ConfigError([f"--output: {path.parent} does not exist"]) from None
    except PermissionError:
        raise ConfigError([f"--output: {path} cannot be written (permission denied)"]) \
            from None
    with open(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


# -- report ------------------------------------------------------------------------------
def build_facts(args: argparse.Namespace, now: datetime | None = None) -> Facts:
    """The facts for a ``report`` command line (also used by the benchmark)."""
    from nudged.report import facts as factsmod

    loaded, tz = _load(args)
    now = now or datetime.now(tz)
    period = factsmod.parse_period(args.since, args.last, args.until, now.date())
    store = _open_store()
    try:
        return factsmod.gather(store, period, tz, setup_of(loaded), now)
    finally:
        store.close()


def cmd_report(args: argparse.Namespace) -> int:
    output: str | None = args.output
    if args.format == "csv" and output == "-":
        raise ConfigError(["--output: CSV is several tables, one file each; give a folder "
                           "(or use --format md for standard output)"])
    if args.open and (output == "-" or (args.format == "md" and output is None)):
        raise ConfigError(["--open needs a file to open: give --output PATH"])
    facts = build_facts(args)
    stem = f"nudged-report-{facts.period.start.isoformat()}_{facts.period.end.isoformat()}"
    if args.format == "csv":
        from nudged.report import render_csv

        target = Path(output or stem)
        if target.exists() and not target.is_dir():
            raise ConfigError([f"--output: {target} is a file; CSV goes into a folder"])
        try:
            files = render_csv.write(facts, target)
        except OSError as exc:
            raise ConfigError([f"--output: {target} cannot be written ({exc.strerror})"]) \
                from None
        print(f"Wrote {len(files)} tables to {target}/: "
              + ", ".join(p.name for p in files))
    else:
        if args.format == "md":
            from nudged.report import render_md

            text = render_md.render(facts)
        else:
            text = _html(facts)
        if output == "-" or (output is None and args.format == "md"):
            sys.stdout.write(text)
            return 0
        target = Path(output or f"{stem}.html")
        _write_text(target, text)
        print(f"Wrote {target}")
    if facts.empty:
        print(facts.summary[0], file=sys.stderr)
    if args.open:
        import webbrowser

        webbrowser.open(target.resolve().as_uri())
    return 0


def _html(facts: Facts) -> str:
    from nudged.report import charts, render_html

    if not charts.available():
        return render_html.render(facts, None, "Charts are drawn when matplotlib is "
                                  f"installed: {charts.INSTALL_HINT}")
    return render_html.render(facts, charts.render(facts))


# -- data --------------------------------------------------------------------------------
def cmd_data(args: argparse.Namespace) -> int:
    if args.data_command == "export":
        return _export(args)
    return _purge(args)


def _export(args: argparse.Namespace) -> int:
    from nudged.report import export

    _loaded, tz = _load(args)
    now = datetime.now(tz)
    target: Path = args.output or Path(f"nudged-export-{now.date().isoformat()}")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigError([f"--output: {target} already exists and is not an empty folder; "
                           "nothing was written (choose a new folder)"])
    store = _open_store()
    try:
        files = export.write(store, target, tz, now)
    except OSError as exc:
        raise ConfigError([f"--output: {target} cannot be written ({exc.strerror})"]) from None
    finally:
        store.close()
    print(f"Wrote {len(files)} files to {target}/: {', '.join(p.name for p in files)}")
    return 0


def _ask(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _purge(args: argparse.Namespace) -> int:
    from nudged.report.facts import parse_day
    from nudged.store import default_db_path

    if not args.before:
        raise ConfigError(["purge: say which records to delete with --before YYYY-MM-DD "
                           "(everything from before that day; that day and later are kept)"])
    day: date = parse_day(args.before, "--before")
    _loaded, tz = _load(args)
    if not default_db_path().exists():
        print("Nothing to delete: nudged has not recorded anything yet.")
        return 0
    store = _open_store()
    try:
        counts = store.count_before(day, tz)
        total = sum(counts.values())
        if total == 0:
            print(f"Nothing from before {day.isoformat()} to delete.")
            return 0
        if not args.yes:
            if not (sys.stdin is not None and sys.stdin.isatty()):
                raise ConfigError([
                    f"purge: {_rows(total)} from before {day.isoformat()} would be deleted, "
                    "and purge asks first, but there is no terminal to ask on; nothing was "
                    "deleted (add --yes to delete without asking)"])
            if not _ask(f"Delete {_rows(total)} from before {day.isoformat()}? [y/N] "):
                print("Nothing was deleted.")
                return 1
        deleted = store.purge_before(day, tz)
    finally:
        store.close()
    detail = ", ".join(f"{n} {table}" for table, n in deleted.items() if n)
    print(f"Deleted {_rows(sum(deleted.values()))} from before {day.isoformat()} ({detail}).")
    return 0


def _rows(n: int) -> str:
    return f"{n} row{'' if n == 1 else 's'}"


COMMANDS = {
    "report": cmd_report,
    "data": cmd_data,
}
