"""``nudged gnome-extension install|uninstall``: the GNOME Shell extension that tells
nudged the focused window on GNOME under Wayland (see :mod:`nudged.gnome`)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parsers(sub: Any) -> None:
    """The command's argument parser (``sub`` is the subparsers action)."""
    ext = sub.add_parser(
        "gnome-extension",
        help="install nudged's GNOME Shell extension (the focused app on GNOME Wayland)",
        description="On GNOME under Wayland only GNOME Shell knows which window has the "
        "focus. nudged's small extension tells nudged that window's title, app and "
        "process id on the session bus, and nothing else; it writes nothing to disk.")
    ext_sub = ext.add_subparsers(dest="gnome_extension_command", metavar="ACTION",
                                 required=True)
    inst = ext_sub.add_parser(
        "install", help="copy it to ~/.local/share/gnome-shell/extensions and enable it "
        "(then log out and back in)")
    inst.add_argument("--shell-version", type=int, metavar="N",
                      help="GNOME Shell's major version (default: ask `gnome-shell --version`)")
    ext_sub.add_parser("uninstall", help="switch it off and remove it")


def cmd_gnome_extension(args: argparse.Namespace) -> int:
    from nudged import gnome

    if args.gnome_extension_command == "install":
        return gnome.install(version=args.shell_version)
    return gnome.uninstall()


COMMANDS = {"gnome-extension": cmd_gnome_extension}


def main(argv: list[str] | None = None) -> int:
    """``python -m nudged.gnomecli install|uninstall``: the same command on its own."""
    import sys

    from nudged.errors import NudgedError

    parser = argparse.ArgumentParser(prog="nudged")
    add_parsers(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(["gnome-extension", *(sys.argv[1:] if argv is None else argv)])
    try:
        return COMMANDS[args.command](args)
    except NudgedError as exc:
        print(f"nudged: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
