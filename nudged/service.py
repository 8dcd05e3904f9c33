"""``nudged service install``: the user unit, pointing at this installation of nudged."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from importlib import resources
from pathlib import Path

from nudged.config import config_home


def exec_start() -> str:
    """The command systemd should run: this environment's ``nudged``, absolutely."""
    beside = Path(sys.executable).parent / "nudged"
    if beside.exists():
        return f"{shlex.quote(str(beside))} run"
    found = shutil.which("nudged")
    if found:
        return f"{shlex.quote(str(Path(found).resolve()))} run"
    return f"{shlex.quote(sys.executable)} -m nudged run"


def unit_text() -> str:
    template = resources.files("nudged").joinpath("data/nudged.service").read_text("utf-8")
    return re.sub(r"^ExecStart=.*$", f"ExecStart={exec_start()}", template, flags=re.M)


def install(force: bool = False) -> int:
    target = config_home(os.environ) / "systemd" / "user" / "nudged.service"
    if target.exists() and not force:
        print(f"nudged: {target} already exists; use --force to replace it.", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(unit_text(), encoding="utf-8")
    print(f"Wrote {target}.")
    print("Start it now and at every login with:")
    print("  systemctl --user daemon-reload && systemctl --user enable --now nudged")
    return 0
