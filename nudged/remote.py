"""``nudged status|pause|resume|snooze|trigger|next|history``: the person's controls.

All but ``history`` ask the running daemon over its D-Bus control interface
(:mod:`nudged.bus`); ``history`` reads the local store, so it works with the
daemon stopped. Each has ``--json``. With no daemon running, a command says so in
one line and exits 3 (``status --json`` still prints ``{"state": "stopped", ...}``
for status bars).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from typing import Any

from nudged.errors import ConfigError

STOPPED: dict[str, Any] = {"state": "stopped", "paused_until": None, "plugins": [],
                           "next": [], "held": []}


def add_parsers(sub: Any) -> None:
    """The control commands' argument parsers (``sub`` is the subparsers action)."""
    def json_opt(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--json", action="store_true", help="print JSON")

    json_opt(sub.add_parser("status", help="running or paused, plugins, what comes next"))
    pause = sub.add_parser("pause", help='hold every nudge for a while ("1h", "until 14:00")',
                           description="Hold every nudge for a while. Nudges that come due "
                           "meanwhile are shown once when the pause ends, unless they went "
                           "stale. A pause survives a restart of nudged.")
    pause.add_argument("duration", nargs="+", metavar="DURATION",
                       help='how long ("45m", "1h30m") or "until HH:MM"')
    json_opt(pause)
    json_opt(sub.add_parser("resume", help="end a pause now"))
    snooze = sub.add_parser("snooze", help="not now: show a nudge again after a while")
    snooze.add_argument("nudge", metavar="ID", help='a nudge, "plugin:id" or just "id" '
                        "(`nudged next` lists them)")
    snooze.add_argument("duration", nargs="?", default="15m", help='how long (default "15m")')
    json_opt(snooze)
    trigger = sub.add_parser("trigger", help="make a nudge due now, to try a config")
    trigger.add_argument("nudge", metavar="ID", help='a nudge, "plugin:id" or just "id"')
    trigger.add_argument("--force", action="store_true",
                         help="show it even when a pause, do-not-disturb or another filter "
                         "would hold it")
    json_opt(trigger)
    nxt = sub.add_parser("next", help="the nudges coming up, with times")
    nxt.add_argument("count", nargs="?", type=int, default=5, help="how many (default 5)")
    json_opt(nxt)
    history = sub.add_parser("history", help="what was shown, when, and what became of it")
    history.add_argument("--since", default="1d", metavar="DURATION",
                         help='how far back ("7d", "12h"; default "1d")')
    history.add_argument("--config", metavar="PATH", help="config file (for the time zone)")
    json_opt(history)


def _ask(member: str, signature: str = "", body: list[Any] | None = None) -> Any:
    import asyncio

    from nudged import bus

    return asyncio.run(bus.call(member, signature, body))


def _duration(text: str, what: str) -> timedelta:
    from nudged.humanize import HumanValueError, parse_duration

    try:
        return parse_duration(text)
    except HumanValueError as exc:
        raise ConfigError([f"{what}: {exc}"]) from None


def _local(iso: str | None) -> str:
    """``HH:MM`` today, else ``Mon 14:00`` within a week, else the date too."""
    if not iso:
        return ""
    at = datetime.fromisoformat(iso)
    now = datetime.now(at.tzinfo)
    if at.date() == now.date():
        return f"{at:%H:%M}"
    if abs((at.date() - now.date()).days) < 7:
        return f"{at:%a %H:%M}"
    return f"{at:%Y-%m-%d %H:%M}"


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


# -- commands ---------------------------------------------------------------------------
def cmd_status(args: argparse.Namespace) -> int:
    from nudged.bus import NotRunning

    try:
        status = _ask("Status")
    except NotRunning as exc:
        if args.json:
            _print_json(STOPPED)
        print(f"nudged: {exc}", file=sys.stderr)
        return exc.exit_code
    status.setdefault("paused_until", None)
    for key in ("plugins", "next", "held"):
        status.setdefault(key, [])
    if args.json:
        _print_json(status)
        return 0
    if status["state"] == "paused":
        print(f"nudged is paused until {_local(status['paused_until'])} "
              "(`nudged resume` ends it now)")
    else:
        print(f"nudged is running (pid {status.get('pid', '?')})")
    today = status.get("today", {})
    if today:
        note = "" if today.get("counting", True) else " (not counted: no idle source here)"
        print(f"Today: {today.get('present', '0s')} at the screen{note}")
    _print_upcoming(status["next"], heading="Next:")
    print("Plugins:")
    width = max([len(p["name"]) for p in status["plugins"]] + [4])
    for plugin in status["plugins"]:
        reason = plugin.get("reason", "").splitlines()
        facts = ", ".join(f"{k.replace('_', ' ')}: {_fact(v)}"
                          for k, v in plugin.get("facts", {}).items())
        detail = "  ".join(x for x in (reason[0] if reason else "", facts) if x)
        print(f"  {plugin['name']:<{width}}  {plugin['status']:<9} {detail}".rstrip())
    return 0


def _fact(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fact(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_fact(v) for v in value)
    return str(value)


def _print_upcoming(items: list[dict[str, Any]], heading: str) -> None:
    if not items:
        print(f"{heading} nothing scheduled")
        return
    print(heading)
    width = max(len(i["id"]) for i in items)
    for item in items:
        when = "held" if item["why"] == "held" else _local(item["at"])
        why = {"scheduled": "", "held": f"until {item.get('by', '?')} lets go",
               "snoozed": "snoozed", "deferred": f"deferred by {item.get('by', '?')}"}
        extra = why.get(item["why"], item["why"])
        print(f"  {when:>9}  {item['id']:<{width}}  {item['title']}"
              + (f"  ({extra})" if extra else ""))


def cmd_pause(args: argparse.Namespace) -> int:
    from nudged.humanize import HumanValueError, parse_time

    words = " ".join(args.duration).strip()
    if words.lower().startswith("until "):
        try:
            clock = parse_time(words[6:])
        except HumanValueError as exc:
            raise ConfigError([f"pause: {exc}"]) from None
        now = datetime.now().astimezone()
        until = now.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)
        if until <= now:
            until += timedelta(days=1)  # "until 07:00" said at night means tomorrow
        seconds = (until - now).total_seconds()
    else:
        seconds = _duration(words, "pause").total_seconds()
    until_iso = _ask("Pause", "t", [max(1, round(seconds))])
    if args.json:
        _print_json({"state": "paused", "paused_until": until_iso})
    else:
        print(f"Paused until {_local(until_iso)}. `nudged resume` ends the pause sooner.")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    was_paused = bool(_ask("Resume"))
    if args.json:
        _print_json({"state": "running", "was_paused": was_paused})
    else:
        print("Resumed." if was_paused else "nudged was not paused.")
    return 0


def cmd_snooze(args: argparse.Namespace) -> int:
    seconds = _duration(args.duration, "snooze").total_seconds()
    until_iso = _ask("Snooze", "st", [args.nudge, max(1, round(seconds))])
    if args.json:
        _print_json({"id": args.nudge, "until": until_iso})
    else:
        print(f"Snoozed {args.nudge} until {_local(until_iso)}.")
    return 0


def cmd_trigger(args: argparse.Namespace) -> int:
    outcome = str(_ask("Trigger", "sb", [args.nudge, bool(args.force)]))
    if args.json:
        _print_json({"id": args.nudge, "outcome": outcome, "shown": outcome == "shown"})
    elif outcome == "shown":
        print(f"{args.nudge}: shown.")
    else:
        print(f"{args.nudge}: {outcome}" + ("" if args.force else
              " (`--force` shows it anyway)"))
    return 0


def cmd_next(args: argparse.Namespace) -> int:
    if args.count < 1:
        raise ConfigError([f"next: {args.count} is not a number of nudges (1 or more)"])
    items = _ask("Upcoming", "u", [args.count])
    if args.json:
        _print_json(items)
    else:
        _print_upcoming(items, heading="Coming up:")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from pathlib import Path

    from nudged import config as configmod
    from nudged.humanize import format_duration
    from nudged.store import Store, default_db_path

    back = _duration(args.since, "--since")
    loaded = configmod.load(Path(args.config) if args.config else None)
    tz = loaded.settings.core.tz()
    since = datetime.now(tz) - back
    path = default_db_path()
    rows: list[dict[str, Any]] = []
    if path.exists():
        store = Store.open(path)
        try:
            rows = store.timeline(since)
        finally:
            store.close()
    for row in rows:
        for key in ("at", "responded_at", "until"):
            if row.get(key):
                row[key] = datetime.fromisoformat(row[key]).astimezone(tz).isoformat(
                    timespec="seconds")
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print(f"Nothing in the last {format_duration(back)}.")
        return 0
    width = max(len(r["id"]) for r in rows)
    for row in rows:
        when = _local(row["at"])
        if row["event"] == "shown":
            answer = row["response"] or "showing"
            answer = answer.replace("_", " ")
            if row["responded_at"]:
                answer += f" at {_local(row['responded_at'])}"
            print(f"{when:>9}  {row['id']:<{width}}  shown: {row['title']} -> {answer}")
        else:
            until = f" until {_local(row['until'])}" if row.get("until") else ""
            print(f"{when:>9}  {row['id']:<{width}}  {row['event']} by {row['by']}{until}: "
                  f"{row['reason']}")
    return 0


COMMANDS = {
    "status": cmd_status,
    "pause": cmd_pause,
    "resume": cmd_resume,
    "snooze": cmd_snooze,
    "trigger": cmd_trigger,
    "next": cmd_next,
    "history": cmd_history,
}
