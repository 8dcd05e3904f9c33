"""Social-media limits: Sam set 30 minutes of social media a day and 45 of YouTube,
and a friend mentions the time when they are reached, without taking anything away.

The title tables check how a browser window is recognised, one title at a time. The
stories replay ``--activity`` CSV files (``start,end,app,title[,url]``) through the
real plugin and the real engine on a simulated clock (``nudged.preview.run``) and
assert exactly which nudges appear and when. The desktop test runs the real daemon
under Xvfb + openbox with an xterm titled like a Reddit tab in Firefox.
"""

from __future__ import annotations

import json
import re
import sqlite3
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import load
from nudged_plugins.quiet import QuietHoursPlugin
from nudged_plugins.social_media import (
    GRACE,
    Category,
    Limit,
    SocialMediaConfig,
    SocialMediaPlugin,
    build_matcher,
)
from nudged_plugins.social_media import words as W
from nudged_plugins.social_media.matching import (
    BUILTIN_CATEGORIES,
    Match,
    browser_page,
    normalize_site,
)

from nudged import Focus, PluginContext
from nudged.activity.ledger import Usage
from nudged.cli import main
from nudged.control import Control
from nudged.pluginstore import Journal, State
from nudged.preview import PreviewItem, read_activity, run
from nudged.runtime import PluginSelection, Runtime
from nudged.store import Store
from tests import testbed
from tests.test_daemon_service import Nudged, run_nudged, until, write_config
from tests.testbed import DesktopStack, Openbox, Typist, XWindow

__all__ = ["run_nudged"]  # a fixture, imported to be used here

BERLIN = ZoneInfo("Europe/Berlin")

REDDIT = "Reddit - Dive into anything — Mozilla Firefox"
REDDIT_POST = "r/linux on Reddit: Which distro for an old laptop? - Google Chrome"
LOFI = "Lo-fi beats to relax to - YouTube - Chromium"
WORK = "report.py - Visual Studio Code"

LIMITS = """
[core]
timezone = "Europe/Berlin"
max_per_hour = 20

[plugins.social_media]
[[plugins.social_media.limits]]
category = "social"
daily = "30m"
warn_before = "5m"
over_every = "10m"
[[plugins.social_media.limits]]
site = "youtube.com"
daily = "45m"
"""


# --------------------------------------------------------------------------- titles


def matcher(config: dict[str, Any] | None = None) -> Callable[..., Match | None]:
    built = build_matcher(SocialMediaConfig.model_validate(config or {}))

    def match(title: str, app: str = "x", url: str | None = None) -> Match | None:
        return built.match(app, title, url)

    return match


@pytest.mark.parametrize(("title", "browser", "page"), [
    # Firefox: an em dash, or a hyphen in older and some localised versions.
    ("Reddit - Dive into anything — Mozilla Firefox", "Firefox", "Reddit - Dive into anything"),
    ("Reddit - Dive into anything - Mozilla Firefox", "Firefox", "Reddit - Dive into anything"),
    ("Home / X — Mozilla Firefox Private Browsing", "Firefox", "Home / X"),
    ("Mozilla Firefox", "Firefox", ""),
    ("Lo-fi beats to relax to - YouTube - Chromium", "Chromium",
     "Lo-fi beats to relax to - YouTube"),
    ("(3) Home / X - Google Chrome", "Google Chrome", "Home / X"),
    ("Home / X - Google Chrome (Incognito)", "Google Chrome", "Home / X"),
    ("Lo-fi - YouTube - Brave", "Brave", "Lo-fi - YouTube"),
    ("Lo-fi - YouTube - Personal - Microsoft\u200b Edge", "Microsoft Edge",
     "Lo-fi - YouTube - Personal"),
    ("Lo-fi - YouTube - Microsoft Edge", "Microsoft Edge", "Lo-fi - YouTube"),
    ("Lo-fi - YouTube - Vivaldi", "Vivaldi", "Lo-fi - YouTube"),
    ("Ютуб — Mozilla Firefox", "Firefox", "Ютуб"),
])
def test_each_browser_s_title_form_gives_the_page_title(title: str, browser: str,
                                                        page: str) -> None:
    found = browser_page(title)
    assert found is not None and (found.browser, found.page) == (browser, page)


@pytest.mark.parametrize(("title", "app"), [
    ("", "xterm"), ("report.py - Visual Studio Code", "code"), ("notes - YouTube", "xterm"),
    ("Firefox is great - Mozilla Thunderbird", "thunderbird"),
])
def test_windows_of_other_apps_are_no_browser_pages(title: str, app: str) -> None:
    assert browser_page(title, app) is None


def test_a_browser_known_by_its_app_id_has_its_whole_title_as_page_title() -> None:
    found = browser_page("Lo-fi - YouTube", "org.gnome.Epiphany")
    assert found is not None and (found.browser, found.page) == (None, "Lo-fi - YouTube")


SOCIAL = ("social", None)


@pytest.mark.parametrize(("title", "expected"), [
    # The site's name as the last segment of the page title, in every browser.
    ("Reddit - Dive into anything — Mozilla Firefox", ("social", "reddit.com")),
    ("Reddit - Dive into anything - Mozilla Firefox", ("social", "reddit.com")),
    ("Lo-fi beats to relax to - YouTube - Chromium", ("video", "youtube.com")),
    ("Lo-fi beats to relax to - YouTube - Google Chrome", ("video", "youtube.com")),
    ("Lo-fi beats to relax to - YouTube - Brave", ("video", "youtube.com")),
    ("Lo-fi beats to relax to - YouTube - Microsoft Edge", ("video", "youtube.com")),
    ("Lo-fi beats to relax to - YouTube - Vivaldi", ("video", "youtube.com")),
    ("Lo-fi beats to relax to - YouTube — Mozilla Firefox", ("video", "youtube.com")),
    ("YouTube - Chromium", ("video", "youtube.com")),
    ("(12) YouTube — Mozilla Firefox", ("video", "youtube.com")),
    ("(3) Home / X - Google Chrome", ("social", "x.com")),
    ("(2) Facebook - Brave", ("social", "facebook.com")),
    ("Jo (@jo) • Instagram photos and videos - Chromium", ("social", "instagram.com")),
    ("Ask HN: What do you read? | Hacker News - Vivaldi", ("news", "news.ycombinator.com")),
    ("Streamer plays a game - Twitch — Mozilla Firefox", ("video", "twitch.tv")),
    # The site's name in the middle: fixed forms of some sites, and Edge's profile.
    ("r/linux on Reddit: Which distro for an old laptop? - Google Chrome",
     ("social", "reddit.com")),
    ("What is this bird? : r/whatsthisbird - Chromium", ("social", "reddit.com")),
    ("Jo on X: \"A morning walk\" / X — Mozilla Firefox", ("social", "x.com")),
    ("TikTok - Make Your Day - Brave", ("social", "tiktok.com")),
    ("Lo-fi beats - YouTube - Personal - Microsoft\u200b Edge", ("video", "youtube.com")),
    # Non-ASCII titles.
    ("日本の夜景 4K - YouTube — Mozilla Firefox", ("video", "youtube.com")),
    ("Лучшая музыка 🎵 - YouTube - Chromium", ("video", "youtube.com")),
    ("Café talk ☕ | Hacker News - Google Chrome", ("news", "news.ycombinator.com")),
    ("Ｒｅｄｄｉｔ風 — Mozilla Firefox", None),
    # A site named elsewhere in the title is another site's page.
    ("Why I left Reddit - Medium — Mozilla Firefox", None),
    ("YouTube Premium review | The Verge - Google Chrome", None),
    ("Twitter - Wikipedia - Chromium", None),
    ("AC/DC - Wikipedia - Chromium", None),
    # Empty titles, and a browser with no page.
    ("", None),
    ("   ", None),
    ("Mozilla Firefox", None),
    ("New Tab - Google Chrome", None),
    # Not a browser: not read as one.
    ("notes - YouTube", None),
])
def test_browser_titles_name_the_site_and_its_category(
    title: str, expected: tuple[str | None, str | None] | None
) -> None:
    found = matcher()(title)
    assert (None if found is None else (found.category, found.site)) == expected


def test_empty_titles_of_every_kind_are_nothing() -> None:
    match = matcher()
    for app in ("", "firefox", "chromium", "org.gnome.Epiphany", "xterm"):
        assert match("", app) is None
    assert matcher({"categories": {"social": {"titles": ["Lemmy"]}}})("", "firefox") is None


def test_the_url_decides_where_a_source_provides_one() -> None:
    match = matcher()
    assert match("anything", url="https://old.reddit.com/r/linux") == Match("social",
                                                                           "reddit.com")
    assert match("Watch later", url="https://m.youtube.com/watch?v=x") == Match(
        "video", "youtube.com")
    assert match("x", url="https://www.youtube.com/") == Match("video", "youtube.com")
    # The URL is the page: a title that looks like Reddit on a bug tracker is the tracker.
    assert match(REDDIT, url="https://bugs.example.org/1") is None
    assert match(REDDIT, url="about:blank") is None
    # A domain is not a suffix of a word: notreddit.com is not reddit.com.
    assert match("x", url="https://notreddit.com/") is None


def test_native_clients_count_by_their_app_id() -> None:
    match = matcher({"categories": {"social": {"apps": ["org.telegram.desktop"]},
                                    "chat": {"apps": ["discord"]}}})
    assert match("Telegram (3)", app="org.telegram.desktop") == Match("social", None)
    assert match("Friends - Discord", app="Discord") == Match("chat", None)  # any case
    assert match("FreeTube", app="FreeTube") == Match("video", None)  # built in
    # Messengers are not social media by default: talking with people is good.
    assert matcher()("Telegram", app="org.telegram.desktop") is None


def test_a_person_s_table_adds_to_a_built_in_category() -> None:
    match = matcher({"categories": {"social": {"sites": ["lemmy.world"], "titles": ["Lemmy"]}}})
    assert match("x", url="https://lemmy.world/post/1") == Match("social", "lemmy.world")
    assert match("Linux memes - Lemmy.World - Chromium") == Match("social", "lemmy.world")
    assert match("Lemmy - Front page — Mozilla Firefox") == Match("social", None)
    assert match("Front page - Lemmy — Mozilla Firefox") == Match("social", "lemmy.world")
    assert match(REDDIT) == Match("social", "reddit.com")  # the built-in ones remain


def test_replace_true_replaces_the_built_in_rules_and_alone_switches_them_off() -> None:
    match = matcher({"categories": {"news": {"replace": True},
                                    "social": {"replace": True, "sites": ["reddit.com"]}}})
    assert match("Ask HN: Anything | Hacker News - Vivaldi") is None
    assert match(REDDIT) == Match("social", "reddit.com")
    assert match("(3) Home / X - Google Chrome") is None


def test_the_person_s_rules_come_first_and_a_site_limit_needs_no_category() -> None:
    match = matcher({"categories": {"social": {"sites": ["youtube.com"]},
                                    "study": {"titles": ["^Lecture"]}},
                     "limits": [{"site": "github.com", "daily": "1h"},
                                {"site": "old.reddit.com", "daily": "10m"}]})
    assert match(LOFI) == Match("social", "youtube.com")
    assert match("Lecture 3: Graphs - YouTube - Chromium") == Match("social", "youtube.com")
    assert match("Lecture 3: Graphs — Mozilla Firefox") == Match("study", None)
    assert match("nudged/nudged: gentle nudges - GitHub - Chromium") == Match(None,
                                                                             "github.com")
    # The most specific domain is the site; the category comes from the broader one.
    assert match("x", url="https://old.reddit.com/r/a") == Match("social", "old.reddit.com")
    # A well-known name keeps its domain when a person adds a namesake.
    assert matcher({"categories": {"video": {"sites": ["youtube.de"]}}})(LOFI) == Match(
        "video", "youtube.com")
    # GitHub is in the table of names, but without a limit naming it, it is nothing.
    assert matcher()("nudged - GitHub - Chromium") is None


@pytest.mark.parametrize(("text", "site"), [
    ("reddit.com", "reddit.com"), ("https://www.Reddit.com/r/linux", "reddit.com"),
    ("www.youtube.com/", "youtube.com"), ("news.ycombinator.com", "news.ycombinator.com"),
    ("bücher.de", "bücher.de"), ("reddit", None), ("", None), ("two words.com", None),
    ("https://", None),
])
def test_sites_are_written_as_domains_and_pasted_urls_are_forgiven(text: str,
                                                                    site: str | None) -> None:
    assert normalize_site(text) == site


def test_the_built_in_categories_are_social_video_and_news() -> None:
    assert list(BUILTIN_CATEGORIES) == ["social", "video", "news"]
    social = BUILTIN_CATEGORIES["social"].sites
    assert {"reddit.com", "x.com", "twitter.com", "instagram.com", "facebook.com",
            "tiktok.com"} <= set(social)
    assert "youtube.com" in BUILTIN_CATEGORIES["video"].sites


# --------------------------------------------------------------------------- stories


def activity_file(tmp_path: Path, *rows: tuple[str, ...]) -> Path:
    """A CSV of ``(start, end, app, title[, url])``; "09:00" means Monday 2026-03-02."""
    def when(text: str) -> str:
        return text if " " in text else f"2026-03-02 {text}"

    lines = ["start,end,app,title,url"]
    for start, end, app, title, *url in rows:
        quoted = '"' + title.replace('"', '""') + '"'
        lines.append(f"{when(start)},{when(end)},{app},{quoted},{url[0] if url else ''}")
    path = tmp_path / "activity.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def replay(tmp_path: Path, rows: Sequence[tuple[str, ...]], config: str = LIMITS, *,
           days: float = 1, respond: str = "done", extra: dict[str, object] | None = None,
           ) -> tuple[list[PreviewItem], Runtime]:
    loaded = load(config)
    path = activity_file(tmp_path, *rows)
    selection = PluginSelection(objects={"social_media": SocialMediaPlugin(), **(extra or {})},
                                discover=False)
    return run(loaded, datetime(2026, 3, 2, 0, 0, tzinfo=BERLIN), days, [], respond,
               environ={}, selection=selection, activity=read_activity(path, BERLIN))


def seen(items: Sequence[PreviewItem]) -> list[tuple[str, str, str]]:
    """("Mon 10:45", nudge id, title) of every nudge shown."""
    return [(i.at.strftime("%a %H:%M"), i.nudge.spec.id, i.nudge.shown_title)
            for i in items if i.shown]


def usage(runtime: Runtime, day: date = date(2026, 3, 2)) -> Usage:
    return runtime.activity.ledger.day(day)


def plugin_ctx(runtime: Runtime) -> PluginContext:
    ctx = runtime.host.records["social_media"].ctx
    assert ctx is not None
    return ctx


MIXED = [
    ("09:00", "09:20", "firefox", REDDIT),
    ("09:20", "10:00", "code", WORK),
    ("10:00", "11:00", "chromium", LOFI),
    ("11:00", "11:38", "google-chrome", REDDIT_POST),
]


def test_mixed_browsing_reddit_work_youtube_and_reddit_again(tmp_path: Path) -> None:
    items, runtime = replay(tmp_path, MIXED)
    assert seen(items) == [
        ("Mon 10:45", "youtube.com/limit", "45 minutes of YouTube today"),
        ("Mon 10:55", "youtube.com/limit", "55 minutes of YouTube today"),
        # Reddit: 20 minutes in the morning, so 25 at 11:05 and 30 at 11:10.
        ("Mon 11:05", "social/warning", "5 minutes left for social media today"),
        ("Mon 11:10", "social/limit", "30 minutes of social media today"),
        ("Mon 11:20", "social/limit", "40 minutes of social media today"),
        ("Mon 11:30", "social/limit", "50 minutes of social media today"),
    ]
    assert [i.nudge.shown_body for i in items if i.shown][2:4] == [
        "You set 30 minutes for social media today. A good moment to look for a stopping "
        "point.",
        "That's the limit you set. A good moment to put it down?",
    ]
    assert all(i.shown for i in items)
    # The ledger counted the time where the plugin said.
    day = usage(runtime)
    assert day.by_category["social"] == timedelta(minutes=58)
    assert day.by_category["video"] == timedelta(minutes=60)
    assert day.by_site == {"reddit.com": timedelta(minutes=58),
                           "youtube.com": timedelta(minutes=60)}
    assert day.by_app["code"] == timedelta(minutes=40)
    stages = [(e.at.strftime("%H:%M"), e.data["limit"], e.data["stage"], e.data["used_minutes"])
              for e in plugin_ctx(runtime).journal.entries("limit")]
    assert stages == [
        ("10:45", "youtube.com", "limit", 45.0), ("10:55", "youtube.com", "over", 55.0),
        ("11:05", "social", "warning", 25.0), ("11:10", "social", "limit", 30.0),
        ("11:20", "social", "over", 40.0), ("11:30", "social", "over", 50.0)]


def test_idle_gaps_are_not_counted(tmp_path: Path) -> None:
    # Away from 09:20 to 10:00 (the gap between rows is idle): 20 + 28 minutes.
    items, runtime = replay(tmp_path, [("09:00", "09:20", "firefox", REDDIT),
                                       ("10:00", "10:28", "firefox", REDDIT)])
    assert [(at, spec) for at, spec, _ in seen(items)] == [
        ("Mon 10:05", "social/warning"), ("Mon 10:10", "social/limit"),
        ("Mon 10:20", "social/limit")]
    assert usage(runtime).by_category["social"] == timedelta(minutes=48)


def test_repeats_stop_when_sam_switches_away_and_carry_on_when_back(tmp_path: Path) -> None:
    items, _ = replay(tmp_path, [
        ("09:00", "09:45", "firefox", REDDIT),        # limit 09:30, then 09:40
        ("09:45", "12:00", "code", WORK),             # work: nothing, however long
        ("12:00", "12:20", "firefox", REDDIT),        # 45 + 5 = 50 at 12:05, 60 at 12:15
    ])
    assert [(at, title) for at, _, title in seen(items)] == [
        ("Mon 09:25", "5 minutes left for social media today"),
        ("Mon 09:30", "30 minutes of social media today"),
        ("Mon 09:40", "40 minutes of social media today"),
        ("Mon 12:05", "50 minutes of social media today"),
        ("Mon 12:15", "1 hour of social media today"),
    ]


def test_repeats_stop_when_sam_leaves(tmp_path: Path) -> None:
    items, _ = replay(tmp_path, [
        ("09:00", "09:42", "firefox", REDDIT),        # limit 09:30, 09:40; leaves at 09:42
        ("14:00", "14:10", "firefox", REDDIT),        # 42 + 8 = 50 at 14:08
    ])
    assert [at for at, _, _ in seen(items)] == ["Mon 09:25", "Mon 09:30", "Mon 09:40",
                                                 "Mon 14:08"]


def test_midnight_starts_every_limit_again(tmp_path: Path) -> None:
    items, runtime = replay(tmp_path, [
        ("2026-03-02 23:20", "2026-03-03 00:40", "firefox", REDDIT),
    ], days=2)
    # Monday: 25 minutes at 23:45, 30 at 23:50; the next would be at 40 minutes, 00:00,
    # but a new day has begun: from zero, so 00:25 and 00:30.
    assert [(at, spec) for at, spec, _ in seen(items)] == [
        ("Mon 23:45", "social/warning"), ("Mon 23:50", "social/limit"),
        ("Tue 00:25", "social/warning"), ("Tue 00:30", "social/limit")]
    assert usage(runtime).by_category["social"] == timedelta(minutes=40)
    assert usage(runtime, date(2026, 3, 3)).by_category["social"] == timedelta(minutes=40)


def test_a_site_limit_counts_urls_and_subdomains(tmp_path: Path) -> None:
    config = LIMITS.replace('site = "youtube.com"\ndaily = "45m"',
                            'site = "youtube.com"\ndaily = "20m"\nwarn_before = "2m"')
    items, runtime = replay(tmp_path, [
        ("10:00", "10:10", "chromium", "Watch later", "https://www.youtube.com/playlist?list=WL"),
        ("10:10", "10:35", "firefox", "Lo-fi", "https://m.youtube.com/watch?v=jfKfPfyJRdk"),
    ], config)
    assert [(at, title) for at, _, title in seen(items)] == [
        ("Mon 10:18", "2 minutes left for YouTube today"),
        ("Mon 10:20", "20 minutes of YouTube today"),
        ("Mon 10:30", "30 minutes of YouTube today")]
    assert usage(runtime).by_site == {"youtube.com": timedelta(minutes=35)}


def test_five_more_minutes_is_a_grace_counted_and_offered_twice_a_day(tmp_path: Path) -> None:
    day = [("10:00", "11:30", "chromium", LOFI)]
    tuesday = [("2026-03-03 10:00", "2026-03-03 10:50", "chromium", LOFI)]
    items, runtime = replay(tmp_path, day + tuesday, days=1.9, respond="snooze")
    shown = [i for i in items if i.shown]
    assert [(i.at.strftime("%a %H:%M"), i.nudge.shown_title, i.nudge.spec.buttons)
            for i in shown] == [
        ("Mon 10:45", "45 minutes of YouTube today", ("done", "snooze")),
        # "5 more minutes" at 10:46: five more minutes on YouTube, to 10:51.
        ("Mon 10:51", "Those five minutes are up", ("done", "snooze")),
        # The second grace at 10:52; after two, the button is not offered.
        ("Mon 10:57", "Those five minutes are up", ("done",)),
        ("Mon 11:07", "1 hour 7 minutes of YouTube today", ("done",)),
        ("Mon 11:17", "1 hour 17 minutes of YouTube today", ("done",)),
        ("Mon 11:27", "1 hour 27 minutes of YouTube today", ("done",)),
        # A new day, two new graces.
        ("Tue 10:45", "45 minutes of YouTube today", ("done", "snooze")),
    ]
    assert shown[0].nudge.spec.labels == {"done": "OK", "snooze": "5 more minutes"}
    assert shown[0].nudge.spec.snooze == GRACE
    assert shown[1].nudge.shown_body == "51 minutes of YouTube today. A good moment to put it down?"
    # nudged's own copy of a snoozed nudge is let go: the plugin checks back itself.
    dropped = [i for i in items if not i.shown and i.nudge.spec.id == "youtube.com/limit"]
    assert dropped and all("five more minutes on YouTube" in i.why[-1] for i in dropped
                           if "the person is away" not in i.why[0])
    ctx = plugin_ctx(runtime)
    graces = [(e.at.strftime("%a %H:%M"), e.data["count"]) for e in ctx.journal.entries("grace")]
    assert graces == [("Mon 10:46", 1), ("Mon 10:52", 2), ("Tue 10:46", 1)]
    today = ctx.state.get("today")
    assert (today["day"], today["graces"], today["graces_left"]) == ("2026-03-03", 1, 1)
    assert today["limits"]["youtube.com"]["reached"] is True
    # `nudged status` shows the graces under the plugin's name.
    status = Control(lambda: runtime, lambda n: []).status()
    [mine] = [p for p in status["plugins"] if p["name"] == "social_media"]
    assert mine["facts"]["graces_today"] == 1 and mine["facts"]["graces_left"] == 1
    assert mine["facts"]["today"]["YouTube"] == "50 of 45 min"


def test_a_grace_is_counted_on_the_site_so_a_break_does_not_use_it_up(tmp_path: Path) -> None:
    items, _ = replay(tmp_path, [
        ("10:00", "10:48", "chromium", LOFI),   # limit 10:45, grace at 10:46: to 51 minutes
        ("10:48", "11:00", "code", WORK),       # 48 minutes so far
        ("11:00", "11:10", "chromium", LOFI),   # 3 more: 11:03
    ], respond="snooze")
    assert [(at, title) for at, _, title in seen(items)][:2] == [
        ("Mon 10:45", "45 minutes of YouTube today"), ("Mon 11:03", "Those five minutes are up")]


def test_a_nudge_held_by_quiet_hours_is_dropped_once_sam_has_moved_on(tmp_path: Path) -> None:
    config = LIMITS + '\n[plugins.quiet]\nhours = ["09:25-09:40"]\n'
    items, _ = replay(tmp_path, [
        ("09:00", "09:35", "firefox", REDDIT),
        ("09:35", "10:00", "code", WORK),
        ("10:00", "10:15", "firefox", REDDIT),   # 35 + 5 = 40 at 10:05
    ], config, extra={"quiet": QuietHoursPlugin()})
    assert [(at, title) for at, _, title in seen(items)] == [
        ("Mon 10:05", "40 minutes of social media today")]
    dropped = [(i.at.strftime("%H:%M"), i.nudge.spec.id, i.why[-1].split(": ", 1)[1])
               for i in items if not i.shown]
    assert dropped == [("09:40", "social/warning", "no longer on social media"),
                       ("09:40", "social/limit", "no longer on social media")]


def test_without_limits_it_only_counts(tmp_path: Path) -> None:
    config = '[core]\ntimezone = "Europe/Berlin"\n[plugins.social_media]\n'
    items, runtime = replay(tmp_path, MIXED, config)
    assert items == []
    assert usage(runtime).by_category == {"social": timedelta(minutes=58),
                                          "video": timedelta(minutes=60)}


def test_nudged_preview_with_an_activity_file(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # The installed plugin, through its entry point, as a person would run it.
    others = sorted({ep.name for ep in entry_points(group="nudged")} - {"social_media"})
    monkeypatch.setenv("NUDGED_DISABLE_PLUGINS", ",".join(others))
    config = tmp_path / "config.toml"
    config.write_text(LIMITS)
    path = activity_file(tmp_path, *MIXED)
    code = main(["preview", "--config", str(config), "--activity", str(path),
                 "--from", "2026-03-02 00:00", "--days", "1", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    shown = [(e["at"][11:16], e["nudge"]) for e in json.loads(out.out) if e["shown"]]
    assert shown == [("10:45", "social_media:youtube.com/limit"),
                     ("10:55", "social_media:youtube.com/limit"),
                     ("11:05", "social_media:social/warning"),
                     ("11:10", "social_media:social/limit"),
                     ("11:20", "social_media:social/limit"),
                     ("11:30", "social_media:social/limit")]


# --------------------------------------------------------------------------- a restart


@dataclass
class FakeActivity:
    """``ctx.activity`` with the person on one window and today's totals as given."""

    focus_: Focus | None = None
    here: bool = True
    by_category: dict[str, timedelta] = field(default_factory=dict)

    def present(self) -> bool:
        return self.here

    def focus(self) -> Focus | None:
        return self.focus_

    def today(self) -> Usage:
        day = Usage(date(2026, 3, 2))
        day.by_category.update(self.by_category)
        return day


@dataclass
class FakeTimers:
    pending: dict[str, datetime] = field(default_factory=dict)

    def call_at(self, when: datetime, callback: Callable[[], None], key: str) -> None:
        self.pending[key] = when

    def cancel(self, key: str) -> None:
        self.pending.pop(key, None)


def started(store: Store, activity: FakeActivity, now: datetime,
            fired: list[str]) -> tuple[SocialMediaPlugin, FakeTimers]:
    loaded = load(LIMITS)
    config = SocialMediaConfig.model_validate(loaded.settings.plugins["social_media"])
    timers = FakeTimers()
    ctx = PluginContext(
        name="social_media", config=config, tz=BERLIN, log=None, _now=lambda: now,
        _fire=lambda plugin, nudge_id, title, body: fired.append(f"{nudge_id}: {title}"),
        activity=activity, state=State(store, "social_media"),
        journal=Journal(store, "social_media", BERLIN), configured=True, _timers=timers)
    plugin = SocialMediaPlugin()
    plugin.nudged_startup(ctx)
    return plugin, timers


def test_a_restart_on_the_same_day_neither_repeats_nor_forgets() -> None:
    store = Store.memory()
    reddit = Focus("firefox", REDDIT)
    fired: list[str] = []
    at_1010 = datetime(2026, 3, 2, 10, 10, tzinfo=BERLIN)
    activity = FakeActivity(reddit, by_category={"social": timedelta(minutes=30)})
    plugin, timers = started(store, activity, at_1010, fired)
    assert timers.pending["plugin:social_media:limit:social"] == at_1010
    plugin._due("social")
    assert fired == ["social/limit: 30 minutes of social media today"]
    plugin.nudged_shutdown(plugin._ctx)
    assert "plugin:social_media:limit:social" not in timers.pending

    # Back at 10:12 with 32 minutes: the limit was given; the next is at 40.
    at_1012 = at_1010 + timedelta(minutes=2)
    activity.by_category["social"] = timedelta(minutes=32)
    plugin, timers = started(store, activity, at_1012, fired)
    assert timers.pending["plugin:social_media:limit:social"] == at_1012 + timedelta(minutes=8)
    assert fired == ["social/limit: 30 minutes of social media today"]
    # The next day starts afresh.
    tomorrow = datetime(2026, 3, 3, 9, 0, tzinfo=BERLIN)
    activity.by_category["social"] = timedelta(minutes=0)
    plugin, timers = started(store, activity, tomorrow, fired)
    assert timers.pending["plugin:social_media:limit:social"] == tomorrow + timedelta(minutes=25)
    assert timers.pending["plugin:social_media:midnight"] == datetime(2026, 3, 4, tzinfo=BERLIN)


# --------------------------------------------------------------------------- words

GUILT = re.compile(r"\b(should|must|have to|need to|failed|fail|again you|you forgot|"
                   r"too much|too long|wasted?|wasting|addict\w*|doom\w*|mindless\w*|"
                   r"guilt\w*|shame\w*|bad|lazy|finally|stop|cure|cures|treat|treats|"
                   r"treatment|depression|depressed|therapy|heal|healthy|dopamine)\b",
                   re.IGNORECASE)


def every_text() -> list[str]:
    texts = [*W.SPEC_WARNING, *W.SPEC_LIMIT, W.OK, W.GRACE]
    for label in ("social media", "videos", "news", "YouTube", "short videos"):
        for daily, used in ((timedelta(minutes=30), timedelta(minutes=40)),
                            (timedelta(minutes=1), timedelta(hours=2, minutes=5)),
                            (timedelta(seconds=45), timedelta(minutes=61))):
            texts += [*W.warning_words(label, daily, timedelta(minutes=5)),
                      *W.limit_words(label, daily), *W.over_words(label, used, daily),
                      *W.after_grace_words(label, used)]
    return texts


@pytest.mark.parametrize("text", every_text())
def test_the_words_are_calm_and_kind(text: str) -> None:
    assert "!" not in text
    assert not GUILT.search(text), text
    assert text == text.strip() and "  " not in text
    assert "?." not in text and ".?" not in text


def test_the_limit_nudge_reads_like_the_issue_asks() -> None:
    title, body = W.limit_words("social media", timedelta(minutes=30))
    assert f"{title}. {body}" == ("30 minutes of social media today. That's the limit you "
                                  "set. A good moment to put it down?")
    assert W.amount(timedelta(minutes=90)) == "1 hour 30 minutes"
    assert W.amount(timedelta(seconds=59)) == "59 seconds"
    assert W.amount(timedelta(minutes=1, seconds=20)) == "1 minute"
    assert W.category_label("short_videos") == "short videos"


def test_every_reason_the_filter_gives_is_calm_too(tmp_path: Path) -> None:
    items, _ = replay(tmp_path, [("10:00", "11:00", "chromium", LOFI)], respond="snooze")
    reasons = [why for i in items for why in i.why]
    assert reasons
    for reason in reasons:
        assert not GUILT.search(reason) and "!" not in reason, reason


# --------------------------------------------------------------------------- config errors


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str) -> tuple[int, str]:
    path = tmp_path / "config.toml"
    path.write_text('[core]\ntimezone = "Europe/Berlin"\n\n[plugins.social_media]\n'
                    + textwrap.dedent(body).strip() + "\n", encoding="utf-8")
    code = main(["config", "check", str(path)])
    out = capsys.readouterr()
    return code, (out.err + out.out).replace(str(path), "config.toml").strip()


P = "plugins.social_media"


@pytest.mark.parametrize(("body", "sentence"), [
    ("""
     [plugins.social_media.categories.social]
     titles = ["Reddit", "(oops"]
     """,
     f'config.toml:6: {P}.categories.social.titles[1]: "(oops" is not a regular expression '
     "(missing ), unterminated subpattern at position 0); write it like \"Reddit\" or "
     '"/ X$", with a backslash before ( ) [ ] . * + ? | to mean the character itself'),
    ("""
     [plugins.social_media.categories.games]
     titles = [
       "Steam",
       ".*",
     ]
     """,
     f'config.toml:8: {P}.categories.games.titles[1]: ".*" would match every title (write '
     'part of the title, like "Reddit")'),
    ("""
     [[plugins.social_media.limits]]
     category = "socail"
     daily = "30m"
     """,
     f'config.toml:6: {P}.limits[0].category: "socail" is not a category (did you mean '
     '"social"?)'),
    ("""
     [[plugins.social_media.limits]]
     category = "social"
     daily = "30m"
     [[plugins.social_media.limits]]
     category = "games"
     daily = "1h"
     """,
     f'config.toml:9: {P}.limits[1].category: "games" is not a category (known: news, '
     f"social, video; add [{P}.categories.games] to make one)"),
    ("""
     [[plugins.social_media.limits]]
     daily = "30m"
     """,
     f'config.toml:5: {P}.limits[0]: names neither a category nor a site (add category = '
     '"social" or site = "youtube.com")'),
    ("""
     [[plugins.social_media.limits]]
     category = "social"
     site = "x.com"
     daily = "30m"
     """,
     f"config.toml:5: {P}.limits[0]: names both a category and a site; a limit is for one "
     f"of them (write two [[{P}.limits]])"),
    ("""
     [[plugins.social_media.limits]]
     category = "social"
     daily = "0m"
     """,
     f'config.toml:7: {P}.limits[0].daily: "0s" is too short (it needs a length, like "30m")'),
    ("""
     [[plugins.social_media.limits]]
     category = "social"
     daily = "-30m"
     """,
     f'config.toml:7: {P}.limits[0].daily: "-30m" is not a duration (a duration cannot be '
     'negative: try "30m")'),
    ("""
     [[plugins.social_media.limits]]
     category = "social"
     daily = "30m"
     over_every = "0s"
     """,
     f'config.toml:8: {P}.limits[0].over_every: "0s" is too short (it needs a length, like '
     '"10m")'),
    ("""
     [[plugins.social_media.limits]]
     category = "social"
     daily = "30m"
     warn_before = "-5m"
     """,
     f'config.toml:8: {P}.limits[0].warn_before: "-5m" is not a duration (a duration cannot '
     'be negative: try "5m")'),
    ("""
     [[plugins.social_media.limits]]
     category = "social"
     daily = "30m"
     warn_before = "30m"
     """,
     f'config.toml:8: {P}.limits[0].warn_before: "30m" is not shorter than daily ("30m"): '
     "the heads-up comes that long before the limit"),
    ("""
     [[plugins.social_media.limits]]
     category = "social"
     """,
     f"config.toml:5: {P}.limits[0].daily: is required but missing"),
    ("""
     [[plugins.social_media.limits]]
     site = "youtube"
     daily = "30m"
     """,
     f'config.toml:6: {P}.limits[0].site: "youtube" is not a site (write its domain, like '
     '"reddit.com")'),
    ("""
     [[plugins.social_media.limits]]
     site = "youtube.com"
     daily = "30m"
     [[plugins.social_media.limits]]
     site = "https://www.youtube.com/"
     daily = "1h"
     """,
     f'config.toml:9: {P}.limits[1].site: "youtube.com" already has a limit (limits[0]); '
     "one limit each"),
    ("""
     [plugins.social_media.categories.social]
     sites = "reddit.com"
     """,
     f'config.toml:6: {P}.categories.social.sites: "reddit.com" is not a list of sites (put '
     'it in brackets: ["reddit.com"])'),
    ("""
     [plugins.social_media.categories."a.b"]
     sites = ["reddit.com"]
     """,
     f'config.toml:5: {P}.categories.a.b: "a.b" is not a category name (letters, digits, '
     'spaces, "-" and "_", at most 40 characters, like "games")'),
    ("""
     [plugins.social_media.categories.social]
     extend = true
     """,
     f"config.toml:6: {P}.categories.social.extend: is not needed: a table with a built-in "
     "category's name adds to it already (write replace = true to replace it instead)"),
    ("""
     [plugins.social_media.categories.social]
     site = ["reddit.com"]
     """,
     f"config.toml:6: {P}.categories.social.site: unknown key; did you mean 'sites'?"),
    ("""
     [[plugins.social_media.limits]]
     category = "social"
     daily = "30m"
     warn = "5m"
     """,
     f"config.toml:8: {P}.limits[0].warn: unknown key (known keys: category, site, daily, "
     "warn_before, over_every)"),
])
def test_invalid_values_end_in_the_config_error_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, sentence: str
) -> None:
    assert check(tmp_path, capsys, body) == (2, sentence)


def test_the_example_section_is_valid_and_names_every_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = (Path(__file__).resolve().parent.parent / "plugins" / "social_media"
               / "example.toml").read_text()
    path = tmp_path / "config.toml"
    path.write_text('[core]\ntimezone = "Europe/Berlin"\n' + example)
    assert main(["config", "check", str(path)]) == 0, capsys.readouterr()
    for model in (SocialMediaConfig, Category, Limit):
        for key in model.model_fields:
            assert re.search(rf"^(# )?{key} = |\[plugins\.social_media\.{key}\b", example,
                             re.MULTILINE), key
    defaults = Limit.model_validate({"category": "social", "daily": "30m"})
    assert (defaults.warn_before, defaults.over_every) == (None, timedelta(minutes=10))
    assert Category() == Category(sites=(), titles=(), apps=(), replace=False)


def test_the_plugin_is_opt_in_and_loads_through_its_entry_point(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert SocialMediaPlugin.opt_in is True
    (ep,) = [ep for ep in entry_points(group="nudged") if ep.name == "social_media"]
    assert ep.load() is SocialMediaPlugin


# --------------------------------------------------------------------------- the desktop

DESKTOP_CONFIG = """
    [core]
    idle_after = "30s"
    max_per_hour = 60
    notification_timeout = "5m"

    [plugins.social_media]
    [[plugins.social_media.limits]]
    category = "social"
    daily = "1m"
"""
LIMIT_TITLE = "1 minute of social media today"
#: Seconds the limit nudge may come after the minute on Reddit is full (a noisy machine).
ON_TIME = 4.0


@dataclass
class Desk:
    stack: DesktopStack
    openbox: Openbox
    person: Typist

    def focus(self, window: XWindow) -> float:
        """Give ``window`` the focus; the moment the window manager says it has it."""
        display = self.stack.xvfb.display
        testbed.xdotool(display, "windowactivate", "--sync", str(window.wid))
        until(lambda: f"{window.wid:#x}" in testbed.root_property(display, "_NET_ACTIVE_WINDOW"),
              10, f"{window.title!r} to have the focus")
        return time.time()

    def nudges(self) -> list[testbed.NotifyCall]:
        return [c for c in self.stack.monitor.notifies() if c.app_name == "nudged"]


@pytest.fixture
def desk() -> Iterator[Desk]:
    testbed.require_desktop_tools()
    testbed.require_x11_tools()
    with testbed.desktop_stack_context(
        dunst_extra_config="[global]\n    stack_duplicates = false\n"
    ) as stack, Openbox(stack.xvfb.display) as openbox, \
            Typist(stack.xvfb.display, interval=0.5) as person:
        yield Desk(stack, openbox, person)


def plugin_rows(daemon: Nudged, table: str, key: str) -> list[Any]:
    conn = sqlite3.connect(daemon.state_dir / "nudged.db", timeout=5)
    try:
        column = "value" if table == "plugin_state" else "data"
        where = "key" if table == "plugin_state" else "kind"
        rows = conn.execute(f"SELECT {column} FROM {table} WHERE plugin = 'social_media' "
                            f"AND {where} = ? ORDER BY rowid", (key,)).fetchall()
    finally:
        conn.close()
    return [json.loads(value) for (value,) in rows]


@pytest.mark.desktop
def test_on_x11_a_minute_on_reddit_brings_the_limit_nudge_and_only_then(
    desk: Desk, run_nudged: Callable[..., Nudged], tmp_path: Path
) -> None:
    env = desk.stack.env()
    env["DBUS_SYSTEM_BUS_ADDRESS"] = f"unix:path={tmp_path}/no-system-bus"
    env["NUDGED_AW_URL"] = f"http://127.0.0.1:{testbed.free_tcp_port()}"
    others = sorted({ep.name for ep in entry_points(group="nudged")} - {"social_media"})
    env["NUDGED_DISABLE_PLUGINS"] = ",".join(others)
    path = write_config(env, textwrap.dedent(DESKTOP_CONFIG))

    reddit = desk.openbox.xterm(REDDIT, "Firefox")
    desk.focus(reddit)
    desk.person.start()  # Sam scrolls: real input, so Sam is present
    daemon = run_nudged(env, "--config", str(path))
    chosen = daemon.wait_event("activity sources chosen", timeout=20)
    on_reddit = time.time()  # the x11 source reported the focus just before this
    assert (chosen["idle"], chosen["focus"], chosen["title"]) == ("x11", "x11", "x11"), chosen

    # 48 seconds on Reddit, then Sam switches to a terminal before the minute is full.
    time.sleep(max(0.0, on_reddit + 48 - time.time()))
    terminal = desk.openbox.xterm("sam@desk: ~/notes", "XTerm")
    away = desk.focus(terminal)
    first = away - on_reddit
    # The minute since Reddit first had the focus passes: nothing, since Sam is elsewhere.
    time.sleep(max(0.0, on_reddit + 60 + ON_TIME + 2 - time.time()))
    assert desk.nudges() == [], daemon.diagnostics()
    assert daemon.shown() == []

    # Back on Reddit (a new tab window): the rest of the minute, and then the nudge.
    reddit_again = desk.openbox.xterm(REDDIT, "Firefox")
    back = desk.focus(reddit_again)
    due = back + (60 - first)
    call = desk.stack.monitor.wait_for(
        lambda c: c.app_name == "nudged" and c.summary == LIMIT_TITLE, 60 - first + 15)
    assert call.id is not None, call.error
    late = call.time - due
    assert -2.0 <= late <= ON_TIME, f"the limit nudge came {late:+.2f}s after the minute"
    assert call.body == "That's the limit you set. A good moment to put it down?"
    assert call.labels == ["OK", "5 more minutes"]
    desk.stack.dunst.wait_count("displayed", 1)

    # "5 more minutes" through dunst's menu: recorded, and counted as a grace.
    desk.stack.press("5 more minutes")
    rows = daemon.wait_shown(lambda rows: bool(rows) and rows[0]["response"] == "snooze",
                             what="the grace in the store")
    assert (rows[0]["plugin"], rows[0]["nudge_id"], rows[0]["title"]) == (
        "social_media", "social/limit", LIMIT_TITLE)
    graces = until(lambda: plugin_rows(daemon, "plugin_journal", "grace") or None, 10,
                   "the grace in the journal", daemon.diagnostics)
    assert graces[0]["count"] == 1 and graces[0]["limit"] == "social"
    (today,) = plugin_rows(daemon, "plugin_state", "today")
    assert (today["graces"], today["graces_left"]) == (1, 1)

    code, _took = daemon.terminate(within=3.0)
    desk.person.stop()
    assert code == 0, daemon.diagnostics()
    assert "Traceback" not in daemon.log_text()
    assert desk.person.errors == []
