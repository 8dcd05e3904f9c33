"""Activity sources that report what a test tells them to: for the manager's tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from nudged.activity.base import ActivitySource, Capability, Probe, Session, SessionType

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
