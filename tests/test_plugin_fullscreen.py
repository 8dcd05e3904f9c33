"""Fullscreen: Sam watches a film in the evening, and the nudges wait for the credits.

The first stories replay ``--activity`` CSV files with a ``fullscreen`` column
through the real ``custom`` and ``fullscreen`` plugins and the real engine on a
simulated clock (``nudged.testing.simulate``). The last one runs the real
``nudged run`` on Xvfb + openbox + dunst with an xterm standing in for the video
player, made fullscreen the way a player asks for it (EWMH ``_NET_WM_STATE``), and
reads what reached the screen off the session bus.
"""

from __future__ import annotations

import json
import re
import textwrap
import time
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from nudged_plugins.custom import CustomPlugin
from nudged_plugins.fullscreen import FullscreenPlugin, app_name

from nudged.cli import main
from nudged.preview import ActivityRow, PreviewItem, read_activity
from nudged.testing import simulate
from tests import testbed
from tests.helpers import BERLIN
from tests.test_daemon_activity import Desk, desk, isolated
from tests.test_daemon_service import Nudged, run_nudged, write_config, write_plugin
from tests.testbed_fullscreen import is_fullscreen, set_fullscreen

__all__ = ["desk", "run_nudged"]  # fixtures, imported to be used here

STRETCH = """
[core]
timezone = "Europe/Berlin"
max_per_hour = 10

[[plugins.custom.nudges]]
id = "stretch"
title = "Time to stretch"
at = ["21:00"]
"""

#: A glass of water every 20 minutes of the evening; each is stale after 20 minutes.
WATER = """
[core]
timezone = "Europe/Berlin"
max_per_hour = 10

[[plugins.custom.nudges]]
id = "water"
title = "A glass of water?"
every = "20m"
window = "20:00-21:50"
"""

FILM = ("mpv", "Big Buck Bunny")
BROWSER = ("firefox", "Film night - Mozilla Firefox")


def evening(tmp_path: Path, *rows: tuple[str, str, tuple[str, str], str]) -> list[ActivityRow]:
    """``(start, end, (app, title), fullscreen)`` rows on Monday 2026-03-02, as a CSV
    file a person would write for ``nudged preview --activity``."""
    lines = ["start,end,app,title,fullscreen"]
    for start, end, (app, title), fullscreen in rows:
        lines.append(f"2026-03-02 {start},2026-03-02 {end},{app},{title},{fullscreen}")
    path = tmp_path / "evening.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return read_activity(path, BERLIN)


def live(config: str, rows: Sequence[ActivityRow]) -> list[PreviewItem]:
    """The evening with only the custom nudges and the fullscreen filter."""
    return simulate(config, activity=rows, builtins=False,
                    plugins={"custom": CustomPlugin(), "fullscreen": FullscreenPlugin()}).items


def shown(items: Sequence[PreviewItem]) -> list[str]:
    return [f"{i.at:%H:%M} {i.nudge.spec.id}" for i in items if i.shown]


# --------------------------------------------------------------------------- the film


def test_the_nine_oclock_stretch_waits_for_the_end_of_the_film(tmp_path: Path) -> None:
    rows = evening(tmp_path, ("20:00", "20:45", BROWSER, ""),
                   ("20:45", "21:20", FILM, "true"),
                   ("21:20", "22:00", FILM, "false"))  # the credits: Sam leaves fullscreen
    items = live(STRETCH, rows)
    assert shown(items) == ["21:20 stretch"], "shown once, the moment the film ends"
    assert [i for i in items if not i.shown] == []
    assert items[0].why == ["21:00 held by fullscreen: mpv is fullscreen"]


def test_a_glance_at_another_window_lets_the_waiting_nudge_through(tmp_path: Path) -> None:
    # The film stays fullscreen while Sam reads a message in another window.
    rows = evening(tmp_path, ("20:45", "21:10", FILM, "yes"),
                   ("21:10", "21:15", ("thunderbird", "Inbox"), "no"),
                   ("21:15", "22:00", FILM, "yes"))
    assert shown(live(STRETCH, rows)) == ["21:10 stretch"]


def test_a_long_film_lets_the_nudge_go_stale_and_it_is_dropped(tmp_path: Path) -> None:
    rows = evening(tmp_path, ("20:00", "20:45", BROWSER, ""),
                   ("20:45", "22:10", FILM, "1"),
                   ("22:10", "23:00", FILM, "0"))
    items = live(STRETCH, rows)
    assert shown(items) == [], "a stretch at 22:10 would be about a moment long gone"
    (dropped,) = items
    assert dropped.at.strftime("%H:%M") == "21:30"  # 30 minutes after it came due
    assert dropped.why == ["21:00 held by fullscreen: mpv is fullscreen",
                           "21:30 suppressed by nudged: stale: due 30m ago"]


def test_nudges_that_come_due_during_the_film_make_one_afterwards(tmp_path: Path) -> None:
    rows = evening(tmp_path, ("20:00", "20:30", BROWSER, ""),
                   ("20:30", "21:25", FILM, "TRUE"),
                   ("21:25", "22:10", BROWSER, ""))
    items = live(WATER, rows)
    # 20:40, 21:00 and 21:20 came due during the film: the newest is shown, once.
    assert shown(items) == ["20:20 water", "21:25 water", "21:40 water"]
    after_film = next(i for i in items if i.shown and i.at.strftime("%H:%M") == "21:25")
    assert after_film.nudge.due_at.strftime("%H:%M") == "21:20"
    assert after_film.why == [f"{at} held by fullscreen: mpv is fullscreen"
                              for at in ("20:40", "21:00", "21:20")]


def test_stepping_away_during_the_film_the_nudge_comes_when_sam_is_back(
        tmp_path: Path) -> None:
    # Sam leaves at 21:10 with the film still fullscreen, and is back at 21:20 at the
    # browser: fullscreen let go, presence took over, and the nudge comes on return.
    rows = evening(tmp_path, ("20:45", "21:10", FILM, "true"),
                   ("21:20", "22:00", BROWSER, ""))
    items = live(STRETCH, rows)
    assert shown(items) == ["21:20 stretch"]
    assert items[0].why == ["21:00 held by fullscreen: mpv is fullscreen",
                            "21:20 held by presence: the person is away"]


def test_a_fullscreen_terminal_on_the_ignore_list_holds_nothing(tmp_path: Path) -> None:
    rows = evening(tmp_path, ("20:00", "22:00", ("kitty", "~/notes"), "true"))
    config = STRETCH + '\n[plugins.fullscreen]\nignore_apps = ["Kitty"]\n'
    assert shown(live(config, rows)) == ["21:00 stretch"]
    assert shown(live(STRETCH, rows)) == [], "without the list, it is a fullscreen window"


@pytest.mark.parametrize(("app", "name"), [
    ("mpv", "mpv"),
    ("Firefox", "Firefox"),
    ("org.gnome.Totem", "Totem"),
    ("io.github.celluloid_player.Celluloid", "Celluloid"),
    ("firefox-esr", "firefox-esr"),
    ("", "the focused window"),
])
def test_the_reason_names_the_app_as_people_know_it(app: str, name: str) -> None:
    assert app_name(app) == name


# --------------------------------------------------------------------------- nudged preview


def test_the_text_preview_says_which_filter_held_the_nudge(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The installed plugins, through their entry points, as a person would run them.
    others = sorted({ep.name for ep in entry_points(group="nudged")}
                    - {"custom", "fullscreen"})
    monkeypatch.setenv("NUDGED_DISABLE_PLUGINS", ",".join(others))
    config = tmp_path / "config.toml"
    config.write_text(STRETCH)
    activity = tmp_path / "evening.csv"
    activity.write_text("start,end,app,title,fullscreen\n"
                        "2026-03-02 20:45,2026-03-02 21:20,org.gnome.Totem,Big Buck Bunny,yes\n"
                        "2026-03-02 21:20,2026-03-02 22:00,org.gnome.Totem,Big Buck Bunny,\n")
    args = ["preview", "--config", str(config), "--activity", str(activity),
            "--from", "2026-03-02 00:00", "--days", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"21:20  custom:stretch +Time to stretch", out), out
    assert "· 21:00 held by fullscreen: Totem is fullscreen" in out, out
    assert "1 nudges shown, 0 not shown." in out

    assert main([*args, "--json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)
    assert item["at"] == "2026-03-02T21:20:00+01:00" and item["shown"]


# --------------------------------------------------------------------------- config


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str) -> tuple[int, str]:
    path = tmp_path / "config.toml"
    path.write_text('[core]\ntimezone = "Europe/Berlin"\n\n[plugins.fullscreen]\n'
                    + textwrap.dedent(body).strip() + "\n", encoding="utf-8")
    code = main(["config", "check", str(path)])
    out = capsys.readouterr()
    return code, (out.err + out.out).replace(str(path), "config.toml").strip()


@pytest.mark.parametrize(("body", "sentence"), [
    ('ignore_apps = "kitty"',
     'config.toml:5: plugins.fullscreen.ignore_apps: "kitty" is not a list of app ids (put '
     'it in brackets: ignore_apps = ["kitty"])'),
    ("ignore_apps = 3",
     'config.toml:5: plugins.fullscreen.ignore_apps: 3 is not a list of app ids (write them '
     'like ignore_apps = ["kitty"])'),
    ('ignore_apps = ["kitty", " "]',
     'config.toml:5: plugins.fullscreen.ignore_apps[1]: " " is not an app id (write it as '
     '`nudged usage` shows it, like "kitty")'),
    ('ignore_app = ["kitty"]',
     "config.toml:5: plugins.fullscreen.ignore_app: unknown key; did you mean 'ignore_apps'?"),
])
def test_a_mistake_in_the_config_gets_a_sentence(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, sentence: str) -> None:
    assert check(tmp_path, capsys, body) == (2, sentence)


def test_the_example_config_and_an_empty_table_are_valid(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(tmp_path, capsys, "")[0] == 0
    assert check(tmp_path, capsys, 'ignore_apps = ["kitty", "code"]')[0] == 0


# --------------------------------------------------------------------------- the real daemon

#: seconds a held nudge may take to appear once the film leaves fullscreen (noisy machine)
RELEASE_WITHIN = 3.0
POSTURE = "How are you sitting?"


def posture_plugin(delay: float) -> str:
    """A single-file plugin whose one nudge comes due once, ``delay`` seconds after start."""
    return f'''
        import asyncio
        from nudged import Manual, NudgeSpec

        def nudged_register_nudges(register):
            register(NudgeSpec(id="check", title="{POSTURE}",
                               body="Feet flat, shoulders down.", schedule=Manual()))

        async def nudged_startup(ctx):
            asyncio.get_running_loop().call_later({delay!r}, ctx.fire, "check")
    '''


@pytest.mark.desktop
def test_on_the_desktop_a_fullscreen_film_holds_the_nudge_until_it_ends(
    desk: Desk, run_nudged: Callable[..., Nudged], tmp_path: Path
) -> None:
    film = desk.openbox.xterm("Big Buck Bunny - mpv", "mpv")
    testbed.xdotool(desk.display, "windowactivate", "--sync", str(film.wid))
    set_fullscreen(desk.display, film.wid, True)
    env = isolated(desk.stack.env(), tmp_path)
    # Only the story's nudge, and the filter under test.
    env["NUDGED_DISABLE_PLUGINS"] = ",".join(
        p for p in env["NUDGED_DISABLE_PLUGINS"].split(",") if p != "fullscreen")
    write_plugin(env, "posture", posture_plugin(2.0))
    path = write_config(env, """
        [core]
        idle_after = "10m"
        max_per_hour = 60
    """)
    daemon = run_nudged(env, "--config", str(path))

    held = daemon.wait_event("nudge deferred", by="fullscreen", timeout=20)
    assert held["nudge"] == "posture:check" and held["reason"] == "mpv is fullscreen"
    time.sleep(2.0)  # a nudge let through would have reached the bus by now
    assert desk.nudges() == [] and daemon.shown() == []
    assert is_fullscreen(desk.display, film.wid)

    # The film ends: Sam leaves fullscreen.
    mark = desk.stack.monitor.mark()
    left = time.time()
    set_fullscreen(desk.display, film.wid, False)
    call = desk.wait_nudge(POSTURE, since=mark, timeout=RELEASE_WITHIN + 5)
    assert call.time - left <= RELEASE_WITHIN, f"it took {call.time - left:.2f}s to appear"
    time.sleep(2.0)
    assert [c.summary for c in desk.nudges()] == [POSTURE], "once"
    assert len(daemon.events("nudge shown")) == 1

    code, _took = daemon.terminate(within=3.0)
    assert code == 0, daemon.diagnostics()
    assert "Traceback" not in daemon.log_text()
