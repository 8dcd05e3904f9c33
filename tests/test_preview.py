"""A person tries a config on a simulated week before living with it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from nudged.cli import main

CONFIG = """
[core]
timezone = "Europe/Berlin"

[plugins.quiet]
hours = ["12:30-13:15"]

[[plugins.custom.nudges]]
id = "water"
title = "A glass of water?"
body = "A few sips now."
every = "2h"
window = "mon-fri 09:00-18:00"

[[plugins.custom.nudges]]
id = "lunch"
title = "Lunch away from the screen?"
at = ["12:45"]
"""


def preview(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    code = main(["preview", "--config", str(path), "--from", "2026-03-02 00:00", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_week_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = preview(tmp_path, capsys, "--days", "7", "--json")
    assert code == 0
    items = json.loads(out)
    shown = [i for i in items if i["shown"]]
    # 5 weekdays x 4 water nudges, and lunch every day of the week.
    assert sum(i["nudge"] == "custom:water" for i in shown) == 20
    assert sum(i["nudge"] == "custom:lunch" for i in shown) == 7
    first = shown[0]
    assert set(first) >= {"at", "nudge", "title", "body"}
    assert first == {**first, "at": "2026-03-02T11:00:00+01:00", "nudge": "custom:water",
                     "title": "A glass of water?", "body": "A few sips now."}
    lunch = next(i for i in shown if i["nudge"] == "custom:lunch")
    assert lunch["at"] == "2026-03-02T13:15:00+01:00"
    assert lunch["why"] == ["12:45 deferred by quiet until 13:15: quiet hours 12:30-13:15"]
    assert all(datetime.fromisoformat(i["at"]).utcoffset() is not None for i in items)


def test_the_text_view_explains_deferrals(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out = preview(tmp_path, capsys, "--days", "1", "--present", "09:00-12:00",
                        "--present", "14:00-18:00", "--respond", "skip")
    assert code == 0
    assert "Mon 2026-03-02" in out
    assert "11:00  custom:water" in out and "→ skip" in out
    assert "deferred by presence until the person is back: the person is away" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "tomorrow"], '--from: "tomorrow" is not a date and time (expected '
                             '"YYYY-MM-DD HH:MM"'),
    (["--present", "9-5"], '--present: "9-5" is not a time window'),
    (["--days", "0"], "--days: 0 is out of range (more than 0, at most 366)"),
])
def test_bad_arguments_get_a_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      args: list[str], message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    assert main(["preview", "--config", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
