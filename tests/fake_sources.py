"""Activity sources that report what a test tells them to: for the manager's tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from nudged.activity.base import ActivitySource, Capability, Focus, Probe, Session, SessionType

#: name -> Probe to answer; tests set these.
PROBES: dict[str, Probe] = {}
STARTED: list[str] = []
INSTANCES: dict[str, ActivitySource] = {}


class _Fake(ActivitySource):
    @classmethod
    async def probe(cls, session: Session) -> Probe:
        return PROBES.get(cls.name, Probe.yes("fake"))

    async def start(self) -> None:
        STARTED.append(self.name)
        INSTANCES[self.name] = self

    async def stop(self) -> None:
        INSTANCES.pop(self.name, None)

    def report_idle(self, idle: bool) -> None:
        self.sink.idle_changed(self.name, idle, datetime(2026, 3, 2, tzinfo=UTC))

    def report_focus(self, focus: Focus) -> None:
        self.sink.focus_changed(self.name, focus, datetime(2026, 3, 2, tzinfo=UTC))


class PreciseIdle(_Fake):
    name = "precise"
    capabilities = frozenset({Capability.IDLE, Capability.FOCUS})
    priority = 10
    sessions = frozenset({SessionType.X11})


class CoarseIdle(_Fake):
    name = "coarse"
    capabilities = frozenset({Capability.IDLE, Capability.LOCK, Capability.SLEEP})
    priority = 10
    priorities: ClassVar[dict[Capability, int]] = {Capability.IDLE: 90}


class UrlSource(_Fake):
    """Knows the browser tab's address, as ActivityWatch's web watcher does."""

    name = "urls"
    capabilities = frozenset({Capability.URL})
    priority = 10
    TABS: ClassVar[dict[str, str]] = {}

    async def current(self) -> Focus | None:
        title = next(iter(self.TABS), "")
        return Focus("Firefox", title, url=self.TABS[title]) if title else None

    def report_focus(self, focus: Focus) -> None:
        self.sink.focus_changed(self.name, focus, datetime(2026, 3, 2, tzinfo=UTC))
