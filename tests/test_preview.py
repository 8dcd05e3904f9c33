"""A person tries a config on a simulated week before living with it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from nudged.cli import main
from nudged.preview import read_activity
from tests.helpers import BERLIN

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
    assert "held by presence: the person is away" in out


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


def test_an_activity_file_may_say_which_stretches_were_fullscreen(tmp_path: Path) -> None:
    path = tmp_path / "evening.csv"
    path.write_text("start,end,app,title,url,fullscreen\n"
                    "2026-03-02 20:00,2026-03-02 20:30,firefox,Film night,,\n"
                    "2026-03-02 20:30,2026-03-02 21:00,mpv,Big Buck Bunny,,TRUE\n"
                    "2026-03-02 21:00,2026-03-02 21:30,mpv,Big Buck Bunny,, no \n"
                    "2026-03-02 21:30,2026-03-02 22:00,mpv,Big Buck Bunny,,1\n"
                    "2026-03-02 22:00,2026-03-02 22:30,mpv,Big Buck Bunny,,Yes\n"
                    "2026-03-02 22:30,2026-03-02 23:00,mpv,Big Buck Bunny,,0\n")
    rows = read_activity(path, BERLIN)
    assert [r.focus.fullscreen for r in rows] == [False, True, False, True, True, False]
    # Files written before the column existed read as they always did.
    old = tmp_path / "old.csv"
    old.write_text("start,end,app,title\n2026-03-02 20:00,2026-03-02 20:30,mpv,Film\n")
    assert [r.focus.fullscreen for r in read_activity(old, BERLIN)] == [False]


def test_a_fullscreen_value_that_is_not_yes_or_no_names_line_and_column(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evening.csv"
    path.write_text("start,end,app,title,fullscreen\n"
                    "2026-03-02 20:00,2026-03-02 20:30,firefox,Film night,\n"
                    "2026-03-02 20:30,2026-03-02 22:00,mpv,Big Buck Bunny,maybe\n")
    config = tmp_path / "config.toml"
    config.write_text("")
    assert main(["preview", "--config", str(config), "--activity", str(path)]) == 2
    err = capsys.readouterr().err
    assert (f'{path}:3:5: fullscreen "maybe" is neither true nor false (write true, false, '
            "yes, no, 1 or 0, or leave it empty)") in err
    assert "Traceback" not in err
