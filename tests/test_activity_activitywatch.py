"""The ActivityWatch source against a real aw-server, fed like its watchers feed it.

Each story starts ``aw-server --testing`` (from a venv of its own, built once and
cached; see TESTBEDS.md section 7) on a free port with private XDG dirs, creates the
buckets that aw-watcher-window, aw-watcher-afk and aw-watcher-web would create, and
sends their heartbeats through the REST API. The source then answers at decision
points and reports to a recording sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nudged.activity.activitywatch import (
    DEFAULT_URL,
    ActivityWatchSource,
    ActivityWatchUnavailable,
    AwBuckets,
    AwHttpError,
    aw_url,
    http_get_json,
    tab_matches,
)
from nudged.activity.base import Capability, Focus, Health, Session, SessionType
from nudged.activity.manager import choose, probe_all
from tests.testbed import ActivityRecorder, AwServer, free_tcp_port, require_aw_server

desktop = pytest.mark.desktop

REDDIT_WINDOW = "Reddit - Dive into anything — Mozilla Firefox"
REDDIT_TAB = "Reddit - Dive into anything"
REDDIT_URL = "https://www.reddit.com/"
LOFI_WINDOW = "Lo-fi beats to relax to - YouTube - Chromium"
LOFI_TAB = "Lo-fi beats to relax to - YouTube"
LOFI_URL = "https://www.youtube.com/watch?v=jfKfPfyJRdk"


# --------------------------------------------------------------------------- harness


@pytest.fixture(scope="session")
def aw_venv() -> Path:
    """aw-server's venv (built on first use, ~15 s; cached across runs)."""
    return require_aw_server()


@pytest.fixture
def aw(aw_venv: Path) -> Iterator[AwServer]:
    """A fresh aw-server, stopped by its PID after the test."""
    with AwServer(aw_venv) as server:
        yield server


class Watchers:
    """What ActivityWatch's own watchers would send, for one host."""

    def __init__(self, server: AwServer) -> None:
        self.server = server
        host = server.hostname
        self.window = f"aw-watcher-window_{host}"
        self.afk = f"aw-watcher-afk_{host}"
        self.firefox = f"aw-watcher-web-firefox_{host}"
        self.chrome = f"aw-watcher-web-chrome_{host}"

    def install(self, window: bool = True, afk: bool = True, web: bool = True) -> Watchers:
        if window:
            self.server.create_bucket(self.window, "currentwindow")
        if afk:
            self.server.create_bucket(self.afk, "afkstatus")
        if web:
            self.server.create_bucket(self.firefox, "web.tab.current")
            self.server.create_bucket(self.chrome, "web.tab.current")
        return self

    def focus(self, app: str, title: str, at: datetime | None = None) -> None:
        self.server.heartbeat(self.window, {"app": app, "title": title}, at)

    def tab(self, bucket: str, url: str, title: str, at: datetime | None = None) -> None:
        self.server.heartbeat(bucket, {"url": url, "title": title, "audible": False,
                                       "incognito": False, "tabCount": 3}, at)

    def status(self, afk: bool, at: datetime) -> None:
        self.server.heartbeat(self.afk, {"status": "afk" if afk else "not-afk"}, at)


def session_for(url: str) -> Session:
    return Session(type=SessionType.WAYLAND, environ={"NUDGED_AW_URL": url})


@contextlib.asynccontextmanager
async def running(aw: AwServer, sink: ActivityRecorder,
                  wanted: frozenset[Capability] | None = None,
                  **kwargs: Any) -> AsyncIterator[ActivityWatchSource]:
    source = ActivityWatchSource(session_for(aw.url), sink, timedelta(minutes=3), wanted,
                                 **kwargs)
    await source.start()
    try:
        yield source
    finally:
        await source.stop()


def run(scenario: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Run one story on a fresh event loop, bounded in time."""
    async def bounded() -> Any:
        return await asyncio.wait_for(scenario(), timeout)
    return asyncio.run(bounded())


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


# --------------------------------------------------------------------------- stories


@desktop
def test_the_focused_browser_tab_brings_its_url(aw: AwServer) -> None:
    watchers = Watchers(aw).install()
    watchers.tab(watchers.firefox, REDDIT_URL, REDDIT_TAB)
    watchers.focus("Firefox", REDDIT_WINDOW)

    async def scenario() -> None:
        sink = ActivityRecorder()
        async with running(aw, sink) as source:
            assert source.health is Health.RUNNING
            reddit = Focus(app="Firefox", title=REDDIT_WINDOW, url=REDDIT_URL)
            assert sink.values("focus") == [reddit], "the focus, reported once at start"
            assert await source.current() == reddit
            assert sink.values("focus") == [reddit], "unchanged: not reported again"

            # The person switches to a terminal: no URL there.
            await asyncio.to_thread(watchers.focus, "kitty", "~/src/nudged")
            terminal = await source.current()
            assert terminal == Focus(app="kitty", title="~/src/nudged", url=None)
            assert sink.values("focus") == [reddit, terminal]

    run(scenario)


@desktop
def test_a_tab_in_another_browser_is_not_the_focused_windows_url(aw: AwServer) -> None:
    watchers = Watchers(aw).install()
    watchers.tab(watchers.firefox, REDDIT_URL, REDDIT_TAB)
    watchers.focus("Chromium", LOFI_WINDOW)

    async def scenario() -> None:
        sink = ActivityRecorder()
        async with running(aw, sink) as source:
            focus = await source.current()
            assert focus == Focus(app="Chromium", title=LOFI_WINDOW, url=None), (
                "Firefox's tab is not what Chromium shows"
            )
            # Chromium's extension catches up (it heartbeats on its own schedule).
            await asyncio.to_thread(watchers.tab, watchers.chrome, LOFI_URL, LOFI_TAB)
            focus = await source.current()
            assert focus is not None and focus.url == LOFI_URL

    run(scenario)


@desktop
def test_afk_follows_the_afk_watcher_with_its_own_timestamps(aw: AwServer) -> None:
    watchers = Watchers(aw).install(web=False)
    watchers.focus("Firefox", REDDIT_WINDOW)
    back_at = ago(30).replace(microsecond=0)
    watchers.status(False, back_at)

    async def scenario() -> None:
        sink = ActivityRecorder()
        async with running(aw, sink, frozenset({Capability.IDLE})) as source:
            first = sink.of("idle")
            assert [r.value for r in first] == [False]
            assert first[0].at == back_at
            assert sink.of("focus") == [], "not chosen for focus: no focus reports"

            # aw-watcher-afk decides the person left; it dates that at the last input.
            last_input = datetime.now(UTC).replace(microsecond=0)
            await asyncio.to_thread(watchers.status, True, last_input)
            assert await source.afk() is True
            went = sink.of("idle")[-1]
            assert (went.value, went.at) == (True, last_input)
            assert await source.afk() is True
            assert len(sink.of("idle")) == 2, "unchanged: not reported again"

    run(scenario)


@desktop
def test_a_watcher_that_stopped_long_ago_counts_as_unknown(aw: AwServer) -> None:
    watchers = Watchers(aw).install(web=False)
    watchers.focus("Firefox", REDDIT_WINDOW, at=ago(3600))
    watchers.status(False, ago(3600))

    async def scenario() -> None:
        sink = ActivityRecorder()
        async with running(aw, sink) as source:
            assert await source.current() is None
            assert await source.afk() is None
            assert sink.values("focus") == [None]
            assert sink.of("idle") == [], "unknown idle is not reported as present"

    run(scenario)


@desktop
def test_refresh_asks_again_and_reports_even_if_unchanged(aw: AwServer) -> None:
    watchers = Watchers(aw).install()
    watchers.focus("Firefox", REDDIT_WINDOW)
    watchers.status(False, ago(5))

    async def scenario() -> None:
        sink = ActivityRecorder()
        async with running(aw, sink) as source:
            assert len(sink.of("focus")) == 1 and len(sink.of("idle")) == 1
            mark = sink.mark()
            await source.refresh()
            assert sink.values("focus", since=mark) == [
                Focus(app="Firefox", title=REDDIT_WINDOW)]
            assert sink.values("idle", since=mark) == [False]

    run(scenario)


@desktop
def test_a_browser_installed_later_is_found(aw: AwServer) -> None:
    watchers = Watchers(aw).install(web=False)
    watchers.focus("Firefox", REDDIT_WINDOW)

    async def scenario() -> None:
        sink = ActivityRecorder()
        async with running(aw, sink) as source:
            assert (await source.current()) == Focus(app="Firefox", title=REDDIT_WINDOW)
            await asyncio.to_thread(aw.create_bucket, watchers.firefox, "web.tab.current")
            await asyncio.to_thread(watchers.tab, watchers.firefox, REDDIT_URL, REDDIT_TAB)
            await source.refresh()  # e.g. after a resume: the bucket list is read again
            assert sink.values("focus")[-1] == Focus(app="Firefox", title=REDDIT_WINDOW,
                                                     url=REDDIT_URL)

    run(scenario)


@desktop
def test_aw_server_going_away_fails_the_source(aw: AwServer) -> None:
    Watchers(aw).install().focus("Firefox", REDDIT_WINDOW)

    async def scenario() -> None:
        sink = ActivityRecorder()
        async with running(aw, sink) as source:
            await asyncio.to_thread(aw.kill)
            assert await source.current() is None
            failed = sink.of("failed")
            assert len(failed) == 1 and failed[0].source == "activitywatch"
            assert "aw-server" in failed[0].value and "gone" in failed[0].value
            assert source.health is Health.FAILED
            assert await source.afk() is None
            assert len(sink.of("failed")) == 1, "failed once, not at every question"

    run(scenario)


@desktop
def test_start_says_why_when_the_server_is_gone(aw: AwServer) -> None:
    url = aw.url
    aw.kill()

    async def scenario() -> None:
        source = ActivityWatchSource(session_for(url), ActivityRecorder(),
                                     timedelta(minutes=3))
        with pytest.raises(ActivityWatchUnavailable, match="connection refused"):
            await source.start()
        await source.stop()
        await source.stop()

    run(scenario)


# --------------------------------------------------------------------------- probe


@desktop
def test_probe_finds_the_server_and_the_manager_picks_it_for_urls(aw: AwServer) -> None:
    Watchers(aw).install()
    session = session_for(aw.url)
    probe = asyncio.run(ActivityWatchSource.probe(session))
    assert probe.ok, probe.reason
    assert "aw-watcher-window_" in probe.reason
    results = asyncio.run(probe_all(session, ["nudged.activity.activitywatch:"
                                              "ActivityWatchSource"]))
    choices = choose(results)
    for cap in (Capability.URL, Capability.FOCUS, Capability.TITLE, Capability.IDLE):
        assert choices[cap].source == "activitywatch"


@desktop
def test_probe_says_no_without_a_window_bucket(aw: AwServer) -> None:
    Watchers(aw).install(window=False)
    probe = asyncio.run(ActivityWatchSource.probe(session_for(aw.url)))
    assert not probe.ok
    assert "no window bucket" in probe.reason and "aw-watcher-window" in probe.reason


def test_probe_says_no_quickly_when_nothing_listens() -> None:
    url = f"http://127.0.0.1:{free_tcp_port()}"
    began = time.monotonic()
    probe = asyncio.run(ActivityWatchSource.probe(session_for(url)))
    assert not probe.ok
    assert f"no aw-server answers at {url}" in probe.reason
    assert time.monotonic() - began < 1.0


def test_probe_gives_up_on_a_server_that_never_answers() -> None:
    async def scenario() -> None:
        accepted: list[asyncio.StreamWriter] = []

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(writer)  # accept, read nothing, say nothing

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            began = time.monotonic()
            probe = await ActivityWatchSource.probe(session_for(f"http://127.0.0.1:{port}"))
            took = time.monotonic() - began
        finally:
            for writer in accepted:
                writer.close()
            server.close()
            await server.wait_closed()
        assert not probe.ok and "no answer in time" in probe.reason
        assert 0.4 <= took < 1.5
        assert accepted, "the probe did connect"

    run(scenario)


def test_the_server_address_comes_from_the_environment() -> None:
    assert aw_url(Session(type=SessionType.X11, environ={})) == DEFAULT_URL
    assert aw_url(session_for("http://localhost:5666/")) == "http://localhost:5666"


# --------------------------------------------------------------------------- pieces


def test_buckets_of_this_host_win_over_synced_ones() -> None:
    buckets = {
        "aw-watcher-window_laptop": {"type": "currentwindow", "hostname": "laptop",
                                     "last_updated": "2026-01-02T10:00:00+00:00"},
        "aw-watcher-window_desk": {"type": "currentwindow", "hostname": "desk",
                                   "last_updated": "2026-01-01T10:00:00+00:00"},
        "aw-watcher-afk_desk": {"type": "afkstatus", "hostname": "desk"},
        "aw-watcher-web-firefox_desk": {"type": "web.tab.current", "hostname": "desk"},
        "aw-watcher-web-chrome_laptop": {"type": "web.tab.current", "hostname": "laptop"},
        "aw-stopwatch": {"type": "general.stopwatch", "hostname": "desk"},
    }
    chosen = AwBuckets.choose(buckets, "desk")
    assert chosen == AwBuckets("aw-watcher-window_desk", "aw-watcher-afk_desk",
                               ("aw-watcher-web-firefox_desk",))
    elsewhere = AwBuckets.choose(buckets, "server")
    assert elsewhere.window == "aw-watcher-window_laptop", "else the most recently updated"


def test_a_browser_window_title_is_its_tab_title_plus_the_browser() -> None:
    assert tab_matches(REDDIT_WINDOW, REDDIT_TAB)
    assert tab_matches(LOFI_WINDOW, LOFI_TAB)
    assert not tab_matches(LOFI_WINDOW, REDDIT_TAB)
    assert not tab_matches(REDDIT_WINDOW, "")


def test_the_http_client_reads_chunked_answers_and_reports_errors() -> None:
    answers = {
        "/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                    b"Content-Type: application/json\r\n\r\n"
                    b"7\r\n{\"a\": [\r\n5\r\n1, 2]\r\n1\r\n}\r\n0\r\n\r\n",
        "/missing": b"HTTP/1.1 404 NOT FOUND\r\nContent-Length: 20\r\n\r\n"
                    b"{\"message\": \"nope\"}\n",
        "/garbage": b"SSH-2.0-OpenSSH_9.2\r\n",
        "/keep-alive": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                       b"Connection: keep-alive\r\n\r\n{}",
    }

    async def scenario() -> None:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            request = await reader.readuntil(b"\r\n\r\n")
            path = request.split()[1].decode()
            writer.write(answers[path])
            await writer.drain()
            if path == "/keep-alive":  # ignores "Connection: close"
                await asyncio.sleep(5)
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        try:
            assert await http_get_json(base, "/chunked", 2.0) == {"a": [1, 2]}
            began = time.monotonic()
            assert await http_get_json(base, "/keep-alive", 2.0) == {}
            assert time.monotonic() - began < 1.0, "stops reading at Content-Length"
            with pytest.raises(AwHttpError, match="404") as missing:
                await http_get_json(base, "/missing", 2.0)
            assert missing.value.status == 404
            with pytest.raises(AwHttpError, match="not an HTTP response"):
                await http_get_json(base, "/garbage", 2.0)
        finally:
            server.close()
            await server.wait_closed()

    run(scenario)
