"""The ``nudged`` command.

argparse (standard library) keeps ``nudged --help`` fast: every heavy import
(pydantic, APScheduler, desktop-notifier) happens inside the command that needs it.
Errors a person can cause end as one sentence on stderr and a non-zero exit code,
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nudged import __version__, datacli, gnomecli, remote

EPILOG = """\
Quick tour:
  nudged run --demo           see nudges every few seconds (no desktop needed)
  nudged config init          write a commented config to ~/.config/nudged/config.toml
  nudged preview --days 7     see what your config will do over a week
  nudged pause 1h             hold every nudge for an hour (nudged resume ends it)
  nudged status               running or paused, and what comes next
  nudged service install      run nudged as a systemd user service
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nudged",
        description="Gentle, plugin-based wellbeing nudges for the Linux desktop.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"nudged {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def config_opt(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", type=Path, metavar="PATH",
                        help="config file (default: $XDG_CONFIG_HOME/nudged/config.toml)")

    run = sub.add_parser("run", help="run the daemon in the foreground")
    config_opt(run)
    run.add_argument("--demo", action="store_true",
                     help="built-in demo config: nudges every few seconds, separate state file")
    run.add_argument("--log-format", choices=["auto", "console", "logfmt", "json"],
                     default="auto", help="log format (auto: console on a terminal, "
                     "key=value lines otherwise)")

    plugins = sub.add_parser("plugins", help="list plugins and their status, or start one")
    config_opt(plugins)
    plugins.add_argument("--json", action="store_true", help="print JSON")
    plugins_sub = plugins.add_subparsers(dest="plugins_command", metavar="ACTION")
    new = plugins_sub.add_parser("new", help="write a new plugin package to start from "
                                 "(never overwrites)")
    new.add_argument("name", help="the plugin's name: lowercase letters, digits and _, "
                     "like hydrate")
    new.add_argument("--dir", type=Path, default=Path("."), metavar="PATH",
                     help="where to write the folder nudged-NAME (default: here)")

    cfg = sub.add_parser("config", help="check, create, locate or show the config")
    cfg_sub = cfg.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = cfg_sub.add_parser("check", help="validate a config file (exit 0 when valid)")
    check.add_argument("path", nargs="?", type=Path)
    cfg_sub.add_parser("init", help="write the commented example config (never overwrites)")
    cfg_sub.add_parser("path", help="print where the config file is read from")
    show = cfg_sub.add_parser("show", help="print the effective config, defaults included")
    config_opt(show)

    prev = sub.add_parser("preview", help="simulate days of nudges with your config")
    config_opt(prev)
    prev.add_argument("--from", dest="start", metavar='"YYYY-MM-DD HH:MM"',
                      help="start of the simulation (default: today 00:00)")
    prev.add_argument("--days", type=float, default=7, help="days to simulate (default 7)")
    prev.add_argument("--present", action="append", metavar='"HH:MM-HH:MM"',
                      help='when the person is at the screen; repeatable; may start with '
                      'days ("mon-fri 09:00-17:00"); default "08:00-23:00"')
    prev.add_argument("--activity", type=Path, metavar="FILE",
                      help="replay a CSV of start,end,app,title[,url][,fullscreen] rows (local "
                      '"YYYY-MM-DD HH:MM") instead of --present')
    prev.add_argument("--respond", choices=["done", "snooze", "skip", "ignore"],
                      default="done", help="how the simulated person answers (default done)")
    prev.add_argument("--json", action="store_true", help="print a JSON array")

    doc = sub.add_parser("doctor", help="what nudged can see on this desktop, and what not")
    doc.add_argument("--json", action="store_true", help="print JSON")

    usage = sub.add_parser("usage", help="present time on a day: total, per app and category")
    usage.add_argument("--day", metavar="YYYY-MM-DD", help="default: today")
    usage.add_argument("--json", action="store_true", help="print JSON")

    remote.add_parsers(sub)
    datacli.add_parsers(sub)
    gnomecli.add_parsers(sub)

    svc = sub.add_parser("service", help="install the systemd user service")
    svc_sub = svc.add_subparsers(dest="service_command", metavar="ACTION", required=True)
    inst = svc_sub.add_parser("install", help="write ~/.config/systemd/user/nudged.service")
    inst.add_argument("--force", action="store_true", help="replace an existing unit file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # `nudged ... | head`: the reader left; say nothing more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None and first not in COMMANDS:
        # Not a built-in command: perhaps a plugin's (loading plugins only now keeps
        # `nudged --help` and the built-in commands fast).
        return _plugin_command(parser, argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from nudged.errors import NudgedError

    if args.command != "run":
        from nudged import logs

        logs.setup("auto", "warning")  # the daemon configures its own logging
    try:
        return int(COMMANDS[args.command](args) or 0)
    except NudgedError as exc:
        print(f"nudged: {exc}" if "\n" not in str(exc) else str(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def _plugin_command(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    from nudged import commands, logs
    from nudged.errors import NudgedError

    logs.setup("auto", "warning")
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", type=Path)
    known, _rest = pre.parse_known_args(argv)
    try:
        found, store = commands.discover(known.config)
    except NudgedError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    first = next((a for a in argv if not a.startswith("-")), "")
    if first not in {c.name for c in found}:
        off = commands.switched_off(known.config).get(first)
        if off is not None:
            print(f"nudged: `nudged {first}` belongs to the {first} plugin, which is not "
                  f"running: {off}", file=sys.stderr)
            store.close()
            return 2
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command in found:
        sp = sub.add_parser(command.name, help=f"{command.help} (plugin {command.plugin})")
        sp.add_argument("--config", type=Path, metavar="PATH",
                        help="config file (default: $XDG_CONFIG_HOME/nudged/config.toml)")
        command.build(sp)
    args = parser.parse_args(argv)
    chosen = next(c for c in found if c.name == args.command)
    try:
        return int(chosen.run(args, chosen.ctx) or 0)
    except NudgedError as exc:
        print(f"nudged: {exc}" if "\n" not in str(exc) else str(exc), file=sys.stderr)
        return exc.exit_code
    finally:
        store.close()


# -- commands -------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    # The daemon never speaks TLS and needs no OpenSSL hashes (D-Bus, X11, Wayland and
    # a local ActivityWatch are all plain). asyncio imports ssl, and pydantic imports
    # hashlib through secrets, only if they can: both fall back cleanly without them
    # (hashlib to Python's built-in hashes). Keeping libssl and libcrypto out saves
    # about 5 MiB for the daemon's whole life.
    sys.modules.setdefault("ssl", None)  # type: ignore[arg-type]
    sys.modules.setdefault("_hashlib", None)  # type: ignore[arg-type]
    from nudged import daemon

    return daemon.run(args.config, args.demo, args.log_format)


def cmd_plugins(args: argparse.Namespace) -> int:
    if getattr(args, "plugins_command", None) == "new":
        from nudged import scaffold

        return scaffold.run(args.name, args.dir)
    from nudged import config as configmod
    from nudged.errors import ConfigError
    from nudged.runtime import build_host

    try:
        loaded = configmod.load(args.config)
    except ConfigError:
        # Still list what is installed; the config problems show up in `config check`.
        loaded = configmod.load_text("", None)
    host, _problems = build_host(loaded, os.environ)
    rows = host.statuses()
    for row in rows:
        if row["status"] == "loaded":
            row["status"] = "ok"
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max([len(r["name"]) for r in rows] + [4])
    status_width = max([len(r["status"]) for r in rows] + [13])
    for r in rows:
        dist = f"{r['distribution'] or '-'} {r['version'] or ''}".strip()
        reason = f"  {r['reason']}" if r["reason"] else ""
        first, *rest = reason.splitlines() or [""]
        print(f"{r['name']:<{width}}  {r['status']:<{status_width}} {dist}{first}")
        for line in rest:
            print(f"{'':<{width}}  {'':<{status_width}} {line}")
    if not rows:
        print("No plugins found.")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from nudged import config as configmod

    action = args.config_command
    if action == "path":
        print(configmod.default_config_path())
        return 0
    if action == "init":
        return _config_init()
    if action == "check":
        return _config_check(args.path)
    if action == "show":
        return _config_show(args.config)
    raise AssertionError(action)


def _config_init() -> int:
    from importlib import resources

    from nudged import config as configmod

    target = configmod.default_config_path()
    if target.exists():
        print(f"nudged: {target} already exists; it was left as it is.", file=sys.stderr)
        return 1
    text = resources.files("nudged").joinpath("data/config.example.toml").read_text("utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "x", encoding="utf-8") as fh:
        fh.write(text)
    print(f"Wrote {target}. Edit it, then check it with: nudged config check")
    return 0


def _config_check(path: Path | None) -> int:
    from nudged import config as configmod
    from nudged.errors import ConfigError
    from nudged.runtime import build_host, config_problems

    try:
        loaded = configmod.load(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    host, unknown_tables = build_host(loaded, os.environ)
    problems = config_problems(host, unknown_tables)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    where = loaded.source.label if loaded.source.exists else f"{loaded.source.label} (not " \
        "present; defaults)"
    print(f"{where}: OK")
    for record in host.records.values():
        if not record.active and record.status.value != "disabled":
            print(f"  note: plugin {record.name} is {record.status.value}"
                  + (f" ({record.reason.splitlines()[0]})" if record.reason else ""))
    return 0


def _config_show(path: Path | None) -> int:
    from nudged import config as configmod
    from nudged.runtime import build_host
    from nudged.tomlwrite import dumps

    loaded = configmod.load(path)
    host, _ = build_host(loaded, os.environ)
    doc: dict[str, Any] = {"core": loaded.settings.core.model_dump(mode="json")}
    plugins: dict[str, Any] = {}
    for record in sorted(host.records.values(), key=lambda r: r.name):
        table = loaded.settings.plugins.get(record.name, {})
        if record.config is not None:
            plugins[record.name] = record.config.model_dump(mode="json")
        elif record.status.value == "disabled":
            plugins[record.name] = {"enabled": False}
        elif table:
            plugins[record.name] = table
    doc["plugins"] = plugins
    print(f"# effective config: {loaded.source.label}"
          + ("" if loaded.source.exists else " (not present; defaults)"))
    print(dumps(doc), end="")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    from datetime import datetime

    from nudged import config as configmod
    from nudged import preview
    from nudged.errors import ConfigError
    from nudged.humanize import HumanValueError

    loaded = configmod.load(args.config)
    tz = loaded.settings.core.tz()
    if args.start:
        try:
            start = datetime.strptime(args.start, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
        except ValueError:
            raise ConfigError([f'--from: "{args.start}" is not a date and time '
                               '(expected "YYYY-MM-DD HH:MM", for example "2026-03-02 08:00")'])\
                from None
    else:
        start = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    if not 0 < args.days <= 366:
        raise ConfigError([f"--days: {args.days:g} is out of range (more than 0, at most 366)"])
    try:
        present = preview.presence_windows(args.present or ["08:00-23:00"])
    except HumanValueError as exc:
        raise ConfigError([f"--present: {exc}"]) from None
    activity = preview.read_activity(args.activity, tz) if args.activity else None
    if activity and not args.start:
        start = activity[0].start.replace(hour=0, minute=0)
    items, runtime = preview.run(loaded, start, args.days, present, args.respond,
                                 activity=activity)
    for record in runtime.host.records.values():
        if not record.active and record.status.value != "disabled":
            print(f"note: plugin {record.name} is {record.status.value}: "
                  f"{record.reason.splitlines()[0] if record.reason else ''}", file=sys.stderr)
    if args.json:
        print(json.dumps([item.as_json() for item in items], indent=2, ensure_ascii=False))
    else:
        preview.render_text(items, sys.stdout)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    import asyncio

    from nudged.activity import manager, session

    found = session.detect()

    async def probe() -> dict[str, Any]:
        return manager.report(found, manager.choose(await manager.probe_all(found)))

    report = asyncio.run(probe())
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    desktop = f" ({report['desktop']})" if report["desktop"] else ""
    print(f"session: {report['session']}{desktop}")
    for cap, info in report["capabilities"].items():
        if info["source"]:
            print(f"  {cap:<6} {info['source']}")
        else:
            print(f"  {cap:<6} none" + ("" if info["tried"] else f" ({info['reason']})"))
            for tried in info["tried"]:
                print(f"           {tried['source']}: {tried['reason']}")
    return 0


def cmd_usage(args: argparse.Namespace) -> int:
    from datetime import date, datetime

    from nudged import config as configmod
    from nudged.activity.ledger import UsageLedger
    from nudged.errors import ConfigError
    from nudged.store import Store, default_db_path

    loaded = configmod.load(getattr(args, "config", None))
    tz = loaded.settings.core.tz()
    if args.day:
        try:
            day = date.fromisoformat(args.day)
        except ValueError:
            raise ConfigError([f'--day: "{args.day}" is not a date (expected YYYY-MM-DD)'])\
                from None
    else:
        day = datetime.now(tz).date()
    path = default_db_path()
    if not path.exists():
        usage_json: dict[str, Any] = {"day": day.isoformat(), "total_minutes": 0.0,
                                      "by_app": {}, "by_category": {}, "by_site": {}}
    else:
        store = Store.open(path)
        try:
            usage_json = UsageLedger(store, tz).day(day).as_json()
        finally:
            store.close()
    if args.json:
        print(json.dumps(usage_json, indent=2))
        return 0
    print(f"{usage_json['day']}: {_hm(usage_json['total_minutes'])} at the screen")
    for title, key in (("apps", "by_app"), ("categories", "by_category"), ("sites", "by_site")):
        if usage_json[key]:
            print(f"  {title}:")
            for name, minutes in usage_json[key].items():
                print(f"    {name:<28} {_hm(minutes)}")
    return 0


def _hm(minutes: float) -> str:
    whole = round(minutes)
    return f"{whole // 60}h{whole % 60:02d}m" if whole >= 60 else f"{whole}m"


def cmd_service(args: argparse.Namespace) -> int:
    from nudged.service import install

    return install(force=args.force)


COMMANDS = {
    "run": cmd_run,
    "plugins": cmd_plugins,
    "config": cmd_config,
    "preview": cmd_preview,
    "service": cmd_service,
    "doctor": cmd_doctor,
    "usage": cmd_usage,
    **remote.COMMANDS,
    **datacli.COMMANDS,
    **gnomecli.COMMANDS,
}
