"""The manager picks the best working source per capability and keeps it running."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import fake_sources as fakes
import pytest

from nudged.activity import manager
from nudged.activity.base import Capability, Focus, Probe, Session, SessionType

PATHS = ("fake_sources:PreciseIdle", "fake_sources:CoarseIdle",
         "nudged_nowhere.sources:Missing")


class Sink:
    def __init__(self) -> None:
        self.idle: list[tuple[str, bool]] = []
        self.focus: list[Focus | None] = []

    def idle_changed(self, source: str, idle: bool, at: datetime) -> None:
        self.idle.append((source, idle))

    def lock_changed(self, source: str, locked: bool, at: datetime) -> None: ...
    def sleep_changed(self, source: str, asleep: bool, at: datetime) -> None: ...
    def focus_changed(self, source: str, focus: Focus | None, at: datetime) -> None:
        self.focus.append(focus)
    def source_failed(self, source: str, reason: str) -> None: ...


@pytest.fixture(autouse=True)
def clean() -> None:
    fakes.PROBES.clear()
    fakes.STARTED.clear()
    fakes.INSTANCES.clear()


def x11() -> Session:
    return Session(SessionType.X11, "openbox", {"DISPLAY": ":5"})


def test_each_capability_goes_to_the_best_source_that_works() -> None:
    results = asyncio.run(manager.probe_all(x11(), PATHS))
    choices = manager.choose(results)
    assert choices[Capability.IDLE].source == "precise"
    assert choices[Capability.LOCK].source == "coarse"
    assert choices[Capability.URL].source is None
    missing = [r for r in results if r.name == "Missing"]
    assert missing[0].probe.reason.startswith("not available: No module named")


def test_a_source_for_another_session_type_is_not_used_and_doctor_says_why() -> None:
    wayland = Session(SessionType.WAYLAND, "sway", {"WAYLAND_DISPLAY": "wayland-1"})
    results = asyncio.run(manager.probe_all(wayland, PATHS))
    report = manager.report(wayland, manager.choose(results))
    assert report["capabilities"]["idle"]["source"] == "coarse"
    assert report["capabilities"]["focus"] == {
        "source": None,
        "reason": "precise: not used in a Wayland session",
        "tried": [{"source": "precise", "reason": "not used in a Wayland session"}],
    }


def test_a_probe_can_narrow_what_a_source_provides() -> None:
    fakes.PROBES["coarse"] = Probe.yes("lock only", provides=frozenset({Capability.LOCK}))
    fakes.PROBES["precise"] = Probe.no("no display")
    choices = manager.choose(asyncio.run(manager.probe_all(x11(), PATHS)))
    assert choices[Capability.IDLE].source is None
    assert choices[Capability.LOCK].source == "coarse"


def test_only_the_chosen_source_is_heard_and_a_failed_one_is_replaced_then_restarted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(manager, "BACKOFF_START", 0.05)
    sink = Sink()

    async def scenario() -> None:
        m = manager.ActivityManager(x11(), sink, timedelta(minutes=3), PATHS)
        await m.start()
        fakes.INSTANCES["coarse"].report_idle(True)   # coarse is not the idle source
        fakes.INSTANCES["precise"].report_idle(True)
        # The precise source loses its display: coarse takes idle over meanwhile.
        fakes.INSTANCES["precise"].fail("display went away")
        await asyncio.sleep(0.01)
        assert m.choices[Capability.IDLE].source == "coarse"
        fakes.INSTANCES["coarse"].report_idle(False)
        await asyncio.sleep(0.2)  # backoff elapses: precise probes OK again
        assert m.choices[Capability.IDLE].source == "precise"
        await m.stop()
        assert fakes.INSTANCES == {}

    asyncio.run(scenario())
    assert sink.idle == [("precise", True), ("coarse", False)]
    assert fakes.STARTED == ["precise", "coarse", "precise"]


def test_a_focus_change_asks_the_url_source_for_the_tabs_address() -> None:
    fakes.UrlSource.TABS.clear()
    fakes.UrlSource.TABS["Reddit - Dive into anything — Mozilla Firefox"] = "https://www.reddit.com/"
    sink = Sink()
    paths = (*PATHS, "fake_sources:UrlSource")

    async def scenario() -> None:
        m = manager.ActivityManager(x11(), sink, timedelta(minutes=3), paths)
        await m.start()
        assert m.choices[Capability.URL].source == "urls"
        fakes.INSTANCES["urls"].report_focus(Focus("Firefox", "ignored: not the focus source"))
        reddit = Focus("Firefox", "Reddit - Dive into anything — Mozilla Firefox")
        fakes.INSTANCES["precise"].report_focus(reddit)
        await asyncio.sleep(0.01)
        # Switching away before the answer arrives: the late answer is dropped.
        fakes.INSTANCES["precise"].report_focus(Focus("code", "notes.md"))
        fakes.INSTANCES["precise"].report_focus(reddit)
        fakes.INSTANCES["precise"].report_focus(Focus("code", "notes.md"))
        await asyncio.sleep(0.01)
        await m.stop()

    asyncio.run(scenario())
    assert [(f.app, f.url) for f in sink.focus if f] == [
        ("Firefox", None), ("Firefox", "https://www.reddit.com/"),
        ("code", None), ("Firefox", None), ("code", None)]


def test_the_list_of_known_sources_says_the_same_as_the_source_classes() -> None:
    for candidate in manager.KNOWN_SOURCES:
        assert isinstance(candidate, manager.Candidate)
        cls = manager.load_source(candidate.path)
        assert (candidate.name, candidate.capabilities) == (cls.name, cls.capabilities), \
            candidate.path
        assert candidate.sessions <= cls.sessions, candidate.path


def test_sources_that_cannot_apply_are_not_even_imported() -> None:
    import sys

    session = Session(SessionType.UNKNOWN, "", {})
    sys.modules.pop("nudged.activity.sway", None)
    results = {r.name: r for r in asyncio.run(manager.probe_all(session))}
    assert "nudged.activity.sway" not in sys.modules
    assert results["sway"].probe.reason == "not used in an unknown session"
    assert results["x11"].probe.reason == "not used in an unknown session"
    assert results["mutter"].probe.reason == "DBUS_SESSION_BUS_ADDRESS is not set"
    choices = manager.choose(list(results.values()))
    assert ("x11", "not used in an unknown session") in choices[Capability.FOCUS].tried
