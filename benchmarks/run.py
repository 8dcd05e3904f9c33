#!/usr/bin/env python3
"""Resource figures of the nudged daemon on a real desktop stack (Xvfb + D-Bus + dunst).

Run from the repository root with the project's virtualenv::

    /work/venv/bin/python benchmarks/run.py            # full: ~1 min warm-up, 1 min window
    /work/venv/bin/python benchmarks/run.py --quick    # smoke run, about 30 s
    /work/venv/bin/python benchmarks/run.py --json out.json

It prints figures next to their targets with "ok" or "over"; it never fails on a
missed target (exit 0), only when it could not measure (exit 1). See README.md here
for what each figure means and how noisy it is.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.testbed import DesktopStack, NotifySocket

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MIB = 1024 * 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")

# name -> (target, unit, lower is better: verdict is "ok" when measured <= target)
TARGETS: dict[str, tuple[float, str]] = {
    "rss_mib": (45.0, "MiB"),
    "cpu_s_per_hour": (0.3, "s/h"),
    "wakeups_per_min": (12.0, "/min"),
    "ready_s": (0.5, "s"),
    "help_ms": (150.0, "ms"),
}

# From the issue, measured on the same kind of stack: (name, RSS MiB, CPU s/h, wake-ups/min)
REFERENCES = [
    ("Safe Eyes 2.1.5", 75.5, 1.2, 253.0),
    ("Workrave 1.10", 96.4, 3.6, 452.0),
]

# The packages whose import cost puts the memory target in context.
FIVE_PACKAGES = ["pluggy", "apscheduler", "desktop_notifier", "pydantic_settings", "structlog"]

# A nudge added to a copy of the example config for the optional "after a notification"
# phase; quiet_hours_apply = false so that it also fires inside the example's quiet hours.
BENCH_NUDGE = """
[[plugins.custom.nudges]]
id = "benchmark"
title = "Benchmark nudge"
body = "Shown once by benchmarks/run.py, then the config is reloaded without it."
every = "8s"
quiet_hours_apply = false
"""


@dataclass(frozen=True)
class Mode:
    name: str
    warmup: float        # seconds before the idle window
    window: float        # seconds of the idle window
    ready_runs: int      # daemon starts timed to READY=1
    help_runs: int       # `nudged --help` runs
    baseline_runs: int   # `python -c pass` runs
    rss_runs: int        # runs of each import-RSS probe
    after_notification: bool


FULL = Mode("full", warmup=65.0, window=60.0, ready_runs=7, help_runs=15, baseline_runs=15,
            rss_runs=3, after_notification=True)
QUICK = Mode("quick", warmup=4.0, window=10.0, ready_runs=3, help_runs=5, baseline_runs=5,
             rss_runs=1, after_notification=False)


class BenchError(RuntimeError):
    """Something needed for a measurement did not work (not a missed target)."""


# --------------------------------------------------------------------------- /proc


def read_status(pid: int | str, tid: int | str | None = None) -> dict[str, str]:
    path = f"/proc/{pid}/status" if tid is None else f"/proc/{pid}/task/{tid}/status"
    out = {}
    with open(path) as fh:
        for line in fh:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def status_kib(status: dict[str, str], key: str) -> int:
    return int(status[key].split()[0])


def cpu_ticks(pid: int) -> int:
    """utime + stime of the whole thread group, in clock ticks (/proc/PID/stat 14, 15)."""
    with open(f"/proc/{pid}/stat") as fh:
        text = fh.read()
    fields = text[text.rindex(")") + 2:].split()  # fields[0] is field 3 (state)
    return int(fields[11]) + int(fields[12])


@dataclass
class Snapshot:
    """Counters of a process and each of its threads at one moment."""

    at: float
    ticks: int
    voluntary: dict[str, int] = field(default_factory=dict)
    involuntary: dict[str, int] = field(default_factory=dict)
    runtime_ns: dict[str, int] = field(default_factory=dict)  # schedstat: on-CPU time

    @classmethod
    def take(cls, pid: int) -> Snapshot:
        snap = cls(at=time.monotonic(), ticks=cpu_ticks(pid))
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                st = read_status(pid, tid)
                with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                    runtime = int(fh.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                continue  # the thread ended meanwhile
            snap.voluntary[tid] = int(st["voluntary_ctxt_switches"])
            snap.involuntary[tid] = int(st["nonvoluntary_ctxt_switches"])
            snap.runtime_ns[tid] = runtime
        return snap


def _delta(end: dict[str, int], start: dict[str, int]) -> int:
    # A thread born inside the window counts from 0; one that ended is lost (reported).
    return sum(value - start.get(tid, 0) for tid, value in end.items())


@dataclass
class Idle:
    seconds: float
    cpu_s_ticks: float
    cpu_s_precise: float
    voluntary: int
    involuntary: int
    threads: int
    threads_lost: int

    @classmethod
    def between(cls, a: Snapshot, b: Snapshot) -> Idle:
        return cls(
            seconds=b.at - a.at,
            cpu_s_ticks=(b.ticks - a.ticks) / CLK_TCK,
            cpu_s_precise=_delta(b.runtime_ns, a.runtime_ns) / 1e9,
            voluntary=_delta(b.voluntary, a.voluntary),
            involuntary=_delta(b.involuntary, a.involuntary),
            threads=len(b.voluntary),
            threads_lost=len(set(a.voluntary) - set(b.voluntary)),
        )

    def per_hour(self, cpu_s: float) -> float:
        return cpu_s * 3600.0 / self.seconds

    @property
    def tick_resolution_s_per_hour(self) -> float:
        return (1.0 / CLK_TCK) * 3600.0 / self.seconds

    @property
    def wakeups_per_min(self) -> float:
        return self.voluntary * 60.0 / self.seconds


def memory(pid: int) -> dict[str, float]:
    st = read_status(pid)
    return {key: status_kib(st, key) / 1024.0 for key in
            ("VmRSS", "VmHWM", "RssAnon", "RssFile")}


# --------------------------------------------------------------------------- helpers


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def wall_times(cmd: Sequence[str], runs: int, env: dict[str, str] | None = None) -> list[float]:
    """Wall time of ``cmd`` (stdout/stderr discarded), once untimed to warm caches."""
    times = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, check=False)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            raise BenchError(f"{' '.join(cmd)} exited {proc.returncode}: "
                             f"{proc.stderr.decode(errors='replace')[-500:]}")
        if i:
            times.append(elapsed)
    return times


_PROBE = """\
import sys
for _name in sys.argv[1:]:
    __import__(_name)
sys.stdout.write("ready\\n%d\\n" % len(sys.modules))
sys.stdout.flush()
import time
time.sleep(60)
"""


def import_rss(modules: Sequence[str], runs: int) -> tuple[float, int]:
    """Median VmRSS (MiB) of a python that imported ``modules`` and sleeps; modules loaded."""
    values = []
    n_modules = 0
    for _ in range(runs):
        proc = subprocess.Popen([PYTHON, "-c", _PROBE, *modules], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != "ready":
                raise BenchError(f"import probe {modules} failed: {proc.communicate()[1][-500:]}")
            n_modules = int(proc.stdout.readline())
            values.append(status_kib(read_status(proc.pid), "VmRSS") / 1024.0)
        finally:
            stop(proc)
    return median(values), n_modules


def bare_python_rss(runs: int) -> float:
    """VmRSS of ``python -c 'import time; time.sleep(5)'`` while it sleeps (MiB, median)."""
    values = []
    for _ in range(runs):
        proc = subprocess.Popen([PYTHON, "-c", "import time; time.sleep(5)"],
                                stdin=subprocess.DEVNULL)
        try:
            # wait until it sleeps (state S, and its RSS stopped growing)
            deadline = time.monotonic() + 4.0
            last = -1
            while time.monotonic() < deadline:
                st = read_status(proc.pid)
                rss = status_kib(st, "VmRSS")
                if st["State"].startswith("S") and rss == last:
                    break
                last = rss
                time.sleep(0.05)
            values.append(last / 1024.0)
        finally:
            stop(proc)
    return median(values)


def stop(proc: subprocess.Popen[Any], timeout: float = 10.0) -> float | None:
    """SIGTERM a child we started; returns seconds until it exited (None: it had exited)."""
    if proc.poll() is not None:
        return None
    t0 = time.monotonic()
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)
    return time.monotonic() - t0


def importtime(args: Sequence[str], top: int = 10) -> tuple[list[tuple[int, int, str]], float]:
    """``python -X importtime ARGS``: the slowest imports up to two levels deep, by
    cumulative time; returns (rows, total ms). Rows: (self us, cumulative us, name), the
    name indented by its nesting level."""
    proc = subprocess.run([PYTHON, "-X", "importtime", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=False, cwd=ROOT)
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m[1]), int(m[2]), len(m[3]) // 2, m[4]))
    total = sum(r[0] for r in rows) / 1000.0
    shallow = sorted((r for r in rows if r[2] <= 2), key=lambda r: -r[1])[:top]
    return [(r[0], r[1], "  " * r[2] + r[3]) for r in shallow], total


# --------------------------------------------------------------------------- daemon


class Daemon:
    """``nudged run --config CONFIG`` on the stack, its readiness seen on NOTIFY_SOCKET."""

    def __init__(self, config: Path, env: dict[str, str], notify: NotifySocket,
                 log_path: Path) -> None:
        self.config = config
        self.env = env
        self.notify = notify
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_after: float | None = None
        self.status_line = ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 30.0) -> float:
        """Start it; returns seconds from just before the fork to READY=1 arriving."""
        since = len(self.notify.datagrams())
        with open(self.log_path, "ab") as log:
            t0 = time.perf_counter()
            self.proc = subprocess.Popen(
                [nudged_binary(), "run", "--config", str(self.config), "--log-format",
                 "logfmt"],
                env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        try:
            datagram = self.notify.wait_for("READY=1", timeout, since)
        except Exception as exc:
            self.stop()
            raise BenchError(f"daemon not ready: {exc}\n{self.log_tail()}") from None
        self.ready_after = time.perf_counter() - t0
        if datagram.pid is not None and datagram.pid != self.proc.pid:
            raise BenchError(f"READY=1 came from pid {datagram.pid}, not {self.proc.pid}")
        for line in datagram.text.splitlines():
            if line.startswith("STATUS="):
                self.status_line = line[len("STATUS="):]
        return self.ready_after

    def alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise BenchError(f"the daemon exited ({code}):\n{self.log_tail()}")

    def reload(self, timeout: float = 15.0) -> None:
        since = len(self.notify.datagrams())
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)
        self.notify.wait_for("READY=1", timeout, since)

    def stop(self) -> float | None:
        if self.proc is None:
            return None
        return stop(self.proc)

    def log_tail(self, limit: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""


def nudged_binary() -> str:
    beside = Path(PYTHON).parent / "nudged"
    return str(beside) if beside.exists() else (shutil.which("nudged") or "nudged")


def daemon_env(stack: DesktopStack, notify: NotifySocket, state: Path) -> dict[str, str]:
    env = {k: v for k, v in stack.env().items() if not k.startswith("NUDGED_")}
    env.update(notify.env())
    env["XDG_STATE_HOME"] = str(state)
    return env


def sleep_watching(seconds: float, daemon: Daemon) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 1.0))
        daemon.alive()


# --------------------------------------------------------------------------- output


class Report:
    def __init__(self) -> None:
        self.figures: dict[str, Any] = {}
        self.verdicts: dict[str, str] = {}

    def heading(self, text: str) -> None:
        print(f"\n== {text}", flush=True)

    def line(self, label: str, value: str, note: str = "") -> None:
        print(f"  {label:<46} {value:>14}  {note}".rstrip(), flush=True)

    def target(self, key: str, label: str, value: float, fmt: str, extra: str = "") -> None:
        target, unit = TARGETS[key]
        verdict = "ok" if value <= target else "over"
        self.verdicts[key] = verdict
        self.figures[key] = value
        self.line(label, f"{value:{fmt}} {unit}",
                  f"target <= {target:g} {unit}  {verdict}"
                  + (f"  {extra}" if extra else ""))


def machine() -> dict[str, Any]:
    try:
        debian = Path("/etc/debian_version").read_text().strip()
    except OSError:
        debian = "?"
    return {
        "cpus": os.cpu_count(),
        "debian": debian,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_start": os.getloadavg(),
    }


# --------------------------------------------------------------------------- phases


def phase_python_baseline(mode: Mode, rep: Report) -> dict[str, float]:
    rep.heading("python baseline (same interpreter as the daemon)")
    startup = wall_times([PYTHON, "-c", "pass"], mode.baseline_runs)
    start_med = median(startup)
    rep.line("`python -c pass` wall time, median", f"{start_med * 1000:.1f} ms",
             f"min {min(startup) * 1000:.1f} / max {max(startup) * 1000:.1f} ms, "
             f"n={len(startup)}")
    bare = bare_python_rss(mode.rss_runs)
    rep.line("RSS of `python -c 'import time; time.sleep(5)'`", f"{bare:.1f} MiB")
    five, n_five = import_rss(FIVE_PACKAGES, mode.rss_runs)
    rep.line("RSS after importing the five packages", f"{five:.1f} MiB",
             f"{n_five} modules: {', '.join(FIVE_PACKAGES)}")
    daemon_imports, n_daemon = import_rss(["nudged.daemon"], mode.rss_runs)
    rep.line("RSS after `import nudged.daemon` (no loop yet)", f"{daemon_imports:.1f} MiB",
             f"{n_daemon} modules")
    per_package = {}
    for name in FIVE_PACKAGES:
        alone, _ = import_rss([name], mode.rss_runs)
        per_package[name] = alone - bare
    rep.line("  each package alone, above bare python:", "")
    for name, delta in sorted(per_package.items(), key=lambda kv: -kv[1]):
        rep.line(f"    {name}", f"+{delta:.1f} MiB")
    rep.figures["python"] = {
        "startup_ms_median": start_med * 1000, "startup_ms": [t * 1000 for t in startup],
        "bare_rss_mib": bare, "five_packages_rss_mib": five,
        "nudged_daemon_import_rss_mib": daemon_imports,
        "per_package_rss_mib": per_package,
    }
    return {"startup_s": start_med, "bare_rss": bare, "five_rss": five,
            "daemon_imports_rss": daemon_imports}


def phase_help(mode: Mode, rep: Report, base: dict[str, float], explain: bool) -> None:
    rep.heading("`nudged --help`")
    times = wall_times([nudged_binary(), "--help"], mode.help_runs)
    med = median(times) * 1000
    rep.target("help_ms", "`nudged --help` wall time, median", med, ".1f",
               f"min {min(times) * 1000:.1f} / max {max(times) * 1000:.1f}, n={len(times)}")
    rep.line("  ratio to `python -c pass`", f"{med / 1000 / base['startup_s']:.1f}x")
    rep.figures["help_ms_all"] = [t * 1000 for t in times]
    if med > TARGETS["help_ms"][0] or explain:
        rows, total = importtime(["-m", "nudged", "--help"])
        rep.line("  `python -X importtime -m nudged --help`", f"{total:.1f} ms", "(sum of self)")
        for self_us, cum_us, name in rows:
            rep.line(f"    {name}", f"{cum_us / 1000:.1f} ms", f"self {self_us / 1000:.1f} ms")


def phase_ready(mode: Mode, rep: Report, stack: DesktopStack, notify: NotifySocket,
                config: Path, tmp: Path, base: dict[str, float], explain: bool) -> None:
    rep.heading(f"start to READY=1 ({mode.ready_runs} runs after 1 untimed)")
    state = tmp / "ready-state"
    env = daemon_env(stack, notify, state)
    readies, stops = [], []
    for i in range(mode.ready_runs + 1):
        daemon = Daemon(config, env, notify, tmp / "ready.log")
        ready = daemon.start()
        time.sleep(0.2)
        daemon.alive()
        stopped = daemon.stop()
        if i:  # the first run creates the state database and warms the page cache
            readies.append(ready)
            if stopped is not None:
                stops.append(stopped)
    med = median(readies)
    rep.target("ready_s", "process start -> READY=1, median", med, ".3f",
               f"min {min(readies):.3f} / max {max(readies):.3f}")
    rep.line("  ratio to `python -c pass`", f"{med / base['startup_s']:.1f}x")
    if stops:
        rep.line("SIGTERM -> exit, median (info; unit promises 2 s)", f"{median(stops):.3f} s",
                 f"max {max(stops):.3f}")
    rep.figures["ready_s_all"] = readies
    rep.figures["stop_s_all"] = stops
    if med > TARGETS["ready_s"][0] or explain:
        rows, total = importtime(["-c", "import nudged.daemon"])
        rep.line("  `python -X importtime -c 'import nudged.daemon'`", f"{total:.1f} ms",
                 "(sum of self)")
        for self_us, cum_us, name in rows:
            rep.line(f"    {name}", f"{cum_us / 1000:.1f} ms", f"self {self_us / 1000:.1f} ms")


def measure_idle(daemon: Daemon, stack: DesktopStack, warmup: float,
                 window: float) -> tuple[dict[str, float], Idle, dict[str, float], int]:
    sleep_watching(warmup, daemon)
    mem_warm = memory(daemon.pid)
    mark = stack.monitor.mark()
    a = Snapshot.take(daemon.pid)
    sleep_watching(window, daemon)
    b = Snapshot.take(daemon.pid)
    mem_end = memory(daemon.pid)
    notified = len(stack.monitor.notifies(mark))
    return mem_warm, Idle.between(a, b), mem_end, notified


def report_idle(rep: Report, prefix: str, mem_warm: dict[str, float], idle: Idle,
                mem_end: dict[str, float], notified: int, base: dict[str, float],
                targets: bool) -> dict[str, Any]:
    def show(key: str, label: str, value: float, fmt: str, extra: str = "") -> None:
        if targets:
            rep.target(key, label, value, fmt, extra)
        else:
            target, unit = TARGETS[key]
            rep.line(label, f"{value:{fmt}} {unit}", f"(target {target:g} applies to idle)")

    show("rss_mib", f"{prefix}VmRSS after warm-up", mem_warm["VmRSS"], ".1f",
         f"anon {mem_warm['RssAnon']:.1f} + file {mem_warm['RssFile']:.1f}")
    rep.line("  VmHWM (peak RSS)", f"{mem_warm['VmHWM']:.1f} MiB",
             f"at window end: RSS {mem_end['VmRSS']:.1f}, HWM {mem_end['VmHWM']:.1f}")
    rep.line("  ratio to bare python / to the five packages",
             f"{mem_warm['VmRSS'] / base['bare_rss']:.1f}x",
             f"{mem_warm['VmRSS'] / base['five_rss']:.2f}x")
    cpu = idle.per_hour(idle.cpu_s_precise)
    show("cpu_s_per_hour", f"{prefix}CPU per hour idle (schedstat, ns)", cpu, ".3f",
         f"{idle.cpu_s_precise * 1000:.2f} ms in {idle.seconds:.0f} s")
    rep.line("  same from utime+stime (/proc/PID/stat)",
             f"{idle.per_hour(idle.cpu_s_ticks):.3f} s/h",
             f"{idle.cpu_s_ticks * 1000:.0f} ms; resolution "
             f"{idle.tick_resolution_s_per_hour:.2f} s/h (1 tick)")
    show("wakeups_per_min", f"{prefix}wake-ups per minute", idle.wakeups_per_min, ".1f",
         f"{idle.voluntary} voluntary ctx switches, {idle.threads} thread(s)"
         + (f", {idle.threads_lost} ended" if idle.threads_lost else ""))
    rep.line("  involuntary ctx switches in the window", f"{idle.involuntary}")
    if notified:
        rep.line("  WARNING: notifications during the window", f"{notified}",
                 "(not idle: a nudge came due; re-run)")
    return {
        "rss_after_warmup_mib": mem_warm, "rss_window_end_mib": mem_end,
        "window_s": idle.seconds, "cpu_ms_precise": idle.cpu_s_precise * 1000,
        "cpu_ms_ticks": idle.cpu_s_ticks * 1000, "cpu_s_per_hour": cpu,
        "cpu_s_per_hour_ticks": idle.per_hour(idle.cpu_s_ticks),
        "voluntary_ctxt_switches": idle.voluntary, "involuntary_ctxt_switches":
        idle.involuntary, "wakeups_per_min": idle.wakeups_per_min, "threads": idle.threads,
        "notifications_in_window": notified,
    }


def phase_idle(mode: Mode, rep: Report, stack: DesktopStack, notify: NotifySocket,
               config: Path, tmp: Path, base: dict[str, float]) -> None:
    rep.heading(f"idle daemon: {mode.warmup:.0f} s warm-up, then a {mode.window:.0f} s window")
    daemon = Daemon(config, daemon_env(stack, notify, tmp / "idle-state"), notify,
                    tmp / "idle.log")
    daemon.start()
    try:
        rep.line("daemon status", daemon.status_line)
        mem_warm, idle, mem_end, notified = measure_idle(daemon, stack, mode.warmup,
                                                         mode.window)
    finally:
        daemon.stop()
    rep.figures["idle"] = report_idle(rep, "", mem_warm, idle, mem_end, notified, base, True)


def phase_after_notification(mode: Mode, rep: Report, stack: DesktopStack,
                             notify: NotifySocket, config: Path, tmp: Path,
                             base: dict[str, float]) -> None:
    """Info only: the idle daemon has not imported desktop-notifier or opened the bus yet.
    Here a copy of the config gets one extra nudge; after it was shown on dunst, the
    config is put back and reloaded (SIGHUP) and the daemon measured idle again."""
    rep.heading("after one notification and a reload (info: desktop-notifier + bus loaded)")
    copy = tmp / "after-notification.toml"
    original = config.read_text(encoding="utf-8")
    copy.write_text(original + BENCH_NUDGE, encoding="utf-8")
    daemon = Daemon(copy, daemon_env(stack, notify, tmp / "notify-state"), notify,
                    tmp / "notify.log")
    mark = stack.monitor.mark()
    daemon.start()
    try:
        sleep_watching(1.0, daemon)
        ready_mem = memory(daemon.pid)
        call = stack.monitor.wait_for(lambda c: c.summary == "Benchmark nudge", 30.0, mark)
        rep.line("notification shown by dunst", f"id {call.id}")
        sleep_watching(2.0, daemon)
        shown = memory(daemon.pid)
        rep.line("VmRSS 2 s after it was shown", f"{shown['VmRSS']:.1f} MiB",
                 f"(+{shown['VmRSS'] - ready_mem['VmRSS']:.1f} over "
                 f"{ready_mem['VmRSS']:.1f} at READY=1 + 1 s)")
        copy.write_text(original, encoding="utf-8")
        daemon.reload()
        warmup = min(mode.warmup, 30.0)
        mem_warm, idle, mem_end, notified = measure_idle(daemon, stack, warmup, mode.window)
    finally:
        daemon.stop()
    after = report_idle(rep, "", mem_warm, idle, mem_end, notified, base, False)
    after["rss_at_ready_mib"] = ready_mem
    after["rss_after_shown_mib"] = shown
    rep.figures["after_notification"] = after


def print_references(rep: Report) -> None:
    rep.heading("reference (from the issue, same stack)")
    rep.line("", "RSS MiB", "CPU s/h   wake-ups/min")
    for name, rss, cpu, wakeups in REFERENCES:
        rep.line(name, f"{rss:.1f}", f"{cpu:7.1f}   {wakeups:8.0f}")
    idle = rep.figures.get("idle")
    if idle:
        rep.line("nudged (this run)", f"{idle['rss_after_warmup_mib']['VmRSS']:.1f}",
                 f"{idle['cpu_s_per_hour']:7.3f}   {idle['wakeups_per_min']:8.1f}")


# --------------------------------------------------------------------------- main


@contextlib.contextmanager
def testbed() -> Iterator[tuple[DesktopStack, NotifySocket]]:
    sys.path.insert(0, str(ROOT))
    from tests.testbed import DesktopStack, NotifySocket, Openbox, missing_desktop_tools

    missing = missing_desktop_tools()
    if missing:
        raise BenchError(f"missing desktop tools: {', '.join(missing)} "
                         "(apt-get install -y xvfb dbus dbus-x11 dunst openbox xterm)")
    with DesktopStack() as stack, NotifySocket() as notify:
        # The X11 stack as a person has it: a window manager and the focus on one
        # window, so the daemon's X11 activity source watches focus and idle too.
        wm = Openbox(stack.xvfb.display).start()
        try:
            window = wm.xterm("Reddit - Dive into anything — Mozilla Firefox", "Firefox")
            subprocess.run(["xdotool", "windowactivate", "--sync", str(window.wid)],
                           env={**os.environ, "DISPLAY": stack.xvfb.display}, check=True,
                           timeout=10, capture_output=True)
            yield stack, notify
        finally:
            wm.stop()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Measure nudged's resource use on Xvfb + dunst.")
    p.add_argument("--quick", action="store_true",
                   help="short windows and few repeats (a smoke run, about 30 s)")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    p.add_argument("--config", type=Path, default=ROOT / "config.example.toml",
                   help="config for the daemon (default: config.example.toml)")
    p.add_argument("--warmup", type=float, help="seconds of warm-up before the idle window")
    p.add_argument("--window", type=float, help="seconds of the idle window")
    p.add_argument("--explain", action="store_true",
                   help="print import-time breakdowns even when targets are met")
    p.add_argument("--no-after-notification", action="store_true",
                   help="skip the extra phase after one notification (full mode)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    mode = QUICK if args.quick else FULL
    overrides: dict[str, Any] = {}
    if args.warmup is not None:
        overrides["warmup"] = args.warmup
    if args.window is not None:
        overrides["window"] = args.window
    if args.no_after_notification:
        overrides["after_notification"] = False
    if overrides:
        mode = Mode(**{**mode.__dict__, **overrides})
    config = args.config.resolve()
    rep = Report()
    info = machine()
    started = dt.datetime.now().astimezone()
    print(f"nudged benchmarks ({mode.name}) {started:%Y-%m-%d %H:%M %Z}: {info['cpus']} cpus, "
          f"Debian {info['debian']}, kernel {info['kernel']}, Python {info['python']}, "
          f"load {' '.join(f'{x:.2f}' for x in info['loadavg_start'])}")
    print(f"daemon: {nudged_binary()} run --config {config}")
    try:
        base = phase_python_baseline(mode, rep)
        phase_help(mode, rep, base, args.explain)
        with testbed() as (stack, notify), tempfile.TemporaryDirectory(
                prefix="nudged-bench-") as tmpname:
            tmp = Path(tmpname)
            phase_ready(mode, rep, stack, notify, config, tmp, base, args.explain)
            phase_idle(mode, rep, stack, notify, config, tmp, base)
            if mode.after_notification:
                phase_after_notification(mode, rep, stack, notify, config, tmp, base)
    except BenchError as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        return 1
    print_references(rep)
    info["loadavg_end"] = os.getloadavg()
    over = [k for k, v in rep.verdicts.items() if v == "over"]
    rep.heading("summary")
    print(f"  {len(rep.verdicts) - len(over)}/{len(rep.verdicts)} targets met"
          + (f"; over: {', '.join(over)}" if over else "")
          + f"  (load {' '.join(f'{x:.2f}' for x in info['loadavg_end'])} at the end)")
    if args.json:
        payload = {
            "date": started.isoformat(timespec="seconds"), "mode": mode.__dict__,
            "machine": info, "config": str(config),
            "targets": {k: {"target": t, "unit": u} for k, (t, u) in TARGETS.items()},
            "verdicts": rep.verdicts, "figures": rep.figures,
            "references": [dict(zip(("name", "rss_mib", "cpu_s_per_hour", "wakeups_per_min"),
                                    r, strict=True)) for r in REFERENCES],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"  figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
