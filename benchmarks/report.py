#!/usr/bin/env python3
"""How long `nudged report` and `nudged data export` take over a year of records.

Run from the repository root with the project's virtualenv::

    /work/venv/bin/python benchmarks/report.py            # 5 timed runs each
    /work/venv/bin/python benchmarks/report.py --runs 9 --json out.json

A fresh private home (``HOME``, ``XDG_*``) gets the seeded person's config and a
365-day store from ``tests/seed.py``; each command then runs as its own process, the
way a person runs it: 1 untimed run (warms the page cache), then ``--runs`` timed
ones; the median is printed next to the target with ``ok`` or ``over``, and as a
ratio to ``python -c pass``. An in-process breakdown of the HTML report (gathering the
facts, drawing the charts, writing the page) follows. It is not a test: a missed
target is printed, never a failure (exit 0); exit 1 only when it could not measure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TARGET_S = 2.0
#: Until `nudged report` is wired into nudged.cli, the same parsers are run directly.
HARNESS = ("import argparse, sys\n"
           "from nudged import datacli, logs\n"
           "logs.setup('auto', 'warning')\n"
           "parser = argparse.ArgumentParser(prog='nudged')\n"
           "datacli.add_parsers(parser.add_subparsers(dest='command'))\n"
           "args = parser.parse_args(sys.argv[1:])\n"
           "sys.exit(datacli.COMMANDS[args.command](args))\n")


def command(*argv: str) -> list[str]:
    from nudged import cli

    if "report" in cli.COMMANDS:
        return [PYTHON, "-m", "nudged", *argv]
    return [PYTHON, "-c", HARNESS, *argv]


def timed(argv_of: Callable[[int], list[str]], runs: int, env: dict[str, str],
          cwd: Path) -> list[float]:
    """Wall times of ``runs`` runs after one untimed one; ``argv_of(n)`` for run n."""
    times = []
    for n in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(argv_of(n), env=env, cwd=cwd, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"could not measure: {' '.join(argv_of(n)[-4:])} exited "
                             f"{done.returncode}: {done.stderr.strip()[-500:]}")
        if n:
            times.append(elapsed)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (5)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests"))
    import seed

    from nudged.store import Store

    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="nudged-bench-report-") as tmp:
        home = Path(tmp)
        env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
               "XDG_STATE_HOME": str(home / "state"), "PYTHONHASHSEED": "0"}
        env = {k: v for k, v in env.items() if not k.startswith("NUDGED_")}
        (home / "config" / "nudged").mkdir(parents=True)
        (home / "config" / "nudged" / "config.toml").write_text(seed.CONFIG, encoding="utf-8")
        db = home / "state" / "nudged" / "nudged.db"
        store = Store.open(db)
        today = datetime.now(seed.TZ).date()
        seed.seed(store, today, days=365)
        rows = {t: len(store.dump(t)[1]) for t in Store.TABLES}
        store.close()
        print(f"store: 365 days ending {today}, {db.stat().st_size / 1024:.0f} KiB, "
              + ", ".join(f"{n} {t}" for t, n in rows.items()))
        pass_times = timed(lambda _n: [PYTHON, "-c", "pass"], 15, env, home)
        baseline = statistics.median(pass_times)
        print(f"python -c pass: median {baseline * 1000:.1f} ms (15 runs)")
        cases = {
            "report_html_365d": lambda n: command("report", "--last", "365d", "--output",
                                                  str(home / f"r{n}.html")),
            "report_md_365d": lambda n: command("report", "--last", "365d", "--format", "md",
                                                "--output", str(home / f"r{n}.md")),
            "report_csv_365d": lambda n: command("report", "--last", "365d", "--format", "csv",
                                                 "--output", str(home / f"csv{n}")),
            "report_html_4w": lambda n: command("report", "--output", str(home / f"w{n}.html")),
            "export_365d": lambda n: command("data", "export", "--output",
                                             str(home / f"export{n}")),
        }
        width = max(len(name) for name in cases)
        print(f"{'figure':<{width}}  {'target':>7}  {'median':>7}  {'min-max':>13}  "
              f"{'x pass':>6}  verdict")
        for name, argv_of in cases.items():
            times = timed(argv_of, options.runs, env, home)
            median = statistics.median(times)
            verdict = "ok" if median <= TARGET_S else "over"
            figures[name] = {"median_s": round(median, 3), "min_s": round(min(times), 3),
                             "max_s": round(max(times), 3),
                             "ratio_to_python": round(median / baseline, 1)}
            target = f"<= {TARGET_S:g} s" if name.endswith("365d") else "(info)"
            print(f"{name:<{width}}  {target:>7}  {median:>6.3f}s  "
                  f"{min(times):>5.3f}-{max(times):.3f}s  {median / baseline:>6.1f}  "
                  f"{verdict if name.endswith('365d') else '-'}")
        figures["python_pass_ms"] = round(baseline * 1000, 1)
        figures["breakdown"] = breakdown(env)
        print("in one process, report over 365 days: " + ", ".join(
            f"{k} {v * 1000:.0f} ms" for k, v in figures["breakdown"].items()))
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


def breakdown(env: dict[str, str]) -> dict[str, float]:
    """Where the time of an HTML report goes, measured in a fresh process."""
    code = """
import json, sys, time
t0 = time.perf_counter()
from nudged import config as configmod
from nudged.datacli import setup_of
from nudged.report import facts as F, render_html
from nudged.store import Store, default_db_path
t1 = time.perf_counter()
loaded = configmod.load()
tz = loaded.settings.core.tz()
setup = setup_of(loaded)
t2 = time.perf_counter()
store = Store.open(default_db_path())
import datetime
facts = F.gather(store, F.parse_period(None, "365d", None, datetime.datetime.now(tz).date()),
                 tz, setup)
t3 = time.perf_counter()
from nudged.report import charts
import matplotlib.figure
t4 = time.perf_counter()
svgs = charts.render(facts)
t5 = time.perf_counter()
render_html.render(facts, svgs)
t6 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "config_and_plugins": t2 - t1, "facts": t3 - t2,
                  "matplotlib_import": t4 - t3, "charts": t5 - t4, "html": t6 - t5}))
"""
    done = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True,
                          check=True)
    return {k: round(v, 4) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}


if __name__ == "__main__":
    sys.exit(main())
