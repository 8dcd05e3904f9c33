"""Lock, sleep and idle from logind and the screensaver, and suspends noticed by clocks.

The logind stories run against python-dbusmock's logind template on a private
dbus-daemon that plays the system bus (TESTBEDS.md section 6); the test plays
logind's part through the mock's own D-Bus API, as ``gdbus call`` would. The
screensaver stories run against a small fake ``org.freedesktop.ScreenSaver`` served
with dbus-fast on a private session bus (there is no headless screensaver to run).
The clock stories need no desktop: the clocks are injected.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusBool, DBusUInt32
from dbus_fast.errors import DBusError
from dbus_fast.service import ServiceInterface, dbus_method, dbus_signal

from nudged.activity.base import Capability, Focus, Health, Session, SessionType
from nudged.activity.clockjump import ClockJumpSleepSource, Clocks
from nudged.activity.logind import (
    LOGIN1,
    MANAGER_IFACE,
    MANAGER_PATH,
    SESSION_IFACE,
    USER_IFACE,
    LogindSource,
    LogindUnavailable,
)
from nudged.activity.screensaver import (
    SCREENSAVER,
    SCREENSAVER_IFACE,
    ScreenSaverSource,
    ScreenSaverUnavailable,
    idle_unit_for,
)
from tests.testbed import LogindMock, SessionBus, require_dbus_daemon, require_logind_tools

desktop = pytest.mark.desktop

T = TypeVar("T")
UID = os.getuid()
MOCK_IFACE = "org.freedesktop.DBus.Mock"
USER_PATH = f"/org/freedesktop/login1/user/{UID}"
WAIT = 5.0  # seconds: the longest any single report may take to arrive


def run(scenario: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    """Run one story on a fresh event loop, bounded."""
    return asyncio.run(asyncio.wait_for(scenario, timeout))


def usec(at: datetime) -> int:
    return (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


# --------------------------------------------------------------------------- sink


@dataclass(frozen=True)
class Report:
    kind: str  # idle | lock | sleep | focus | failed
    source: str
    value: Any
    at: datetime | None = None


class RecordingSink:
    """An ActivitySink that keeps every report and lets a story wait for the next."""

    def __init__(self) -> None:
        self.reports: list[Report] = []
        self._changed = asyncio.Event()

    def _add(self, report: Report) -> None:
        self.reports.append(report)
        self._changed.set()

    def idle_changed(self, source: str, idle: bool, at: datetime) -> None:
        self._add(Report("idle", source, idle, at))

    def lock_changed(self, source: str, locked: bool, at: datetime) -> None:
        self._add(Report("lock", source, locked, at))

    def sleep_changed(self, source: str, asleep: bool, at: datetime) -> None:
        self._add(Report("sleep", source, asleep, at))

    def focus_changed(self, source: str, focus: Focus | None, at: datetime) -> None:
        self._add(Report("focus", source, focus, at))

    def source_failed(self, source: str, reason: str) -> None:
        self._add(Report("failed", source, reason))

    def mark(self) -> int:
        return len(self.reports)

    def of(self, kind: str, since: int = 0) -> list[Report]:
        return [r for r in self.reports[since:] if r.kind == kind]

    def values(self, kind: str, since: int = 0) -> list[Any]:
        return [r.value for r in self.of(kind, since)]

    async def next(self, kind: str, since: int, timeout: float = WAIT) -> Report:
        """The first ``kind`` report at index ``since`` or later, waiting if needed."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = self.of(kind, since)
            if found:
                return found[0]
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(
                    f"no {kind!r} report within {timeout:g}s; got {self.reports[since:]}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)


async def settle(seconds: float = 0.2) -> None:
    """Let signals that should NOT produce a report have their chance to."""
    await asyncio.sleep(seconds)


# --------------------------------------------------------------------------- logind world


@pytest.fixture
def system_bus() -> Iterator[SessionBus]:
    """A private dbus-daemon standing in for the system bus."""
    require_logind_tools()
    with SessionBus() as bus:
        yield bus


@pytest.fixture
def logind(system_bus: SessionBus) -> Iterator[LogindMock]:
    with LogindMock(system_bus.address) as mock:
        yield mock


class LogindDriver:
    """Plays logind: drives python-dbusmock through its D-Bus API (like gdbus call)."""

    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus

    @classmethod
    async def connect(cls, address: str) -> LogindDriver:
        bus = await MessageBus(bus_address=address, bus_type=BusType.SYSTEM).connect()
        return cls(bus)

    async def close(self) -> None:
        self.bus.disconnect()
        await asyncio.wait_for(self.bus.wait_for_disconnect(), WAIT)

    async def call(
        self, path: str, interface: str, member: str, signature: str = "", *body: Any
    ) -> list[Any]:
        reply = await asyncio.wait_for(
            self.bus.call(
                Message(
                    destination=LOGIN1,
                    path=path,
                    interface=interface,
                    member=member,
                    signature=signature,
                    body=list(body),
                )
            ),
            WAIT,
        )
        assert reply is not None
        if reply.message_type == MessageType.ERROR:
            raise AssertionError(f"{interface}.{member} failed: {reply.error_name} {reply.body}")
        return list(reply.body)

    async def fix_get_user(self) -> None:
        """dbusmock 0.28.7's GetUser raises a TypeError; replace it (TESTBEDS.md)."""
        await self.call(
            MANAGER_PATH, MOCK_IFACE, "AddMethod", "sssss", MANAGER_IFACE, "GetUser", "u", "o",
            'ret = "/org/freedesktop/login1/user/%d" % args[0]',
        )

    async def add_session(self, session_id: str = "c1", *, display: bool = True) -> str:
        """A graphical session for this uid; ``display`` makes it the user's Display."""
        path = str(
            (await self.call(
                MANAGER_PATH, MOCK_IFACE, "AddSession", "ssusb",
                session_id, "seat0", UID, "person", True,
            ))[0]
        )
        if display:
            # Properties.Set, not Mock.UpdateProperties: dbusmock 0.28.7 fails to
            # wrap a struct value in UpdateProperties (AttributeError: conjugate).
            await self.call(
                USER_PATH, "org.freedesktop.DBus.Properties", "Set", "ssv",
                USER_IFACE, "Display", Variant("(so)", [session_id, path]),
            )
        return path

    async def set_locked_hint(self, session: str, locked: bool) -> None:
        """What a screen locker does (GNOME Shell, KDE): Session.SetLockedHint."""
        await self.call(session, SESSION_IFACE, "SetLockedHint", "b", locked)

    async def lock_signal(self, session: str, member: str) -> None:
        """``loginctl lock-session``: logind emits Lock (Unlock) on the session."""
        await self.call(session, SESSION_IFACE, member)

    async def set_idle(self, session: str, idle: bool, since: datetime) -> None:
        await self.call(
            session, MOCK_IFACE, "UpdateProperties", "sa{sv}",
            SESSION_IFACE,
            {"IdleHint": Variant("b", idle), "IdleSinceHint": Variant("t", usec(since))},
        )

    async def set_locked_silently(self, session: str, locked: bool) -> None:
        """Change LockedHint without any signal, as if the signal were lost in a suspend."""
        await self.call(
            session, MOCK_IFACE, "AddMethod", "sssss", SESSION_IFACE, "SetLockedSilently",
            "b", "", f"self.props['{SESSION_IFACE}']['LockedHint'] = args[0]",
        )
        await self.call(session, SESSION_IFACE, "SetLockedSilently", "b", locked)

    async def prepare_for_sleep(self, start: bool) -> None:
        await self.call(
            MANAGER_PATH, MOCK_IFACE, "EmitSignal", "sssav",
            MANAGER_IFACE, "PrepareForSleep", "b", [Variant("b", start)],
        )


def on_system_bus(address: str, **environ: str) -> Session:
    return Session(
        SessionType.UNKNOWN, environ={"DBUS_SYSTEM_BUS_ADDRESS": address, **environ}
    )


def logind_source(
    session: Session,
    sink: RecordingSink,
    wanted: frozenset[Capability] | None = None,
) -> LogindSource:
    return LogindSource(session, sink, timedelta(minutes=3), wanted, call_timeout=WAIT)


# --------------------------------------------------------------------------- logind


@desktop
def test_locking_and_unlocking_the_screen_is_reported(
    system_bus: SessionBus, logind: LogindMock
) -> None:
    async def story() -> None:
        driver = await LogindDriver.connect(system_bus.address)
        sink = RecordingSink()
        session = on_system_bus(system_bus.address)  # no XDG_SESSION_ID: User.Display
        source = logind_source(session, sink)
        try:
            await driver.fix_get_user()
            path = await driver.add_session("c1")

            probe = await LogindSource.probe(session)
            assert probe.ok, probe.reason
            assert path in probe.reason

            await source.start()
            assert source.health is Health.RUNNING
            assert source.session_path == path
            assert sink.values("lock") == [False]  # the state at start
            assert sink.values("idle") == [False]

            mark = sink.mark()
            await driver.set_locked_hint(path, True)  # the person locks the screen
            locked = await sink.next("lock", mark)
            assert (locked.source, locked.value) == ("logind", True)

            mark = sink.mark()
            await driver.set_locked_hint(path, False)  # and unlocks it
            assert (await sink.next("lock", mark)).value is False
            await settle()
            assert sink.values("lock", mark) == [False]
            assert sink.of("failed") == []
        finally:
            await source.stop()
            await source.stop()  # safe twice
            await driver.close()
        assert source.health is Health.STOPPED

    run(story())


@desktop
def test_a_locker_that_only_sends_lock_and_unlock_signals(
    system_bus: SessionBus, logind: LogindMock
) -> None:
    async def story() -> None:
        driver = await LogindDriver.connect(system_bus.address)
        sink = RecordingSink()
        # GetUser left broken (dbusmock's TypeError) and no Display: the session is
        # found through XDG_SESSION_ID, the last fallback.
        session = on_system_bus(system_bus.address, XDG_SESSION_ID="c2")
        source = logind_source(session, sink)
        try:
            path = await driver.add_session("c2", display=False)
            await source.start()
            assert source.session_path == path

            mark = sink.mark()
            await driver.lock_signal(path, "Lock")
            assert (await sink.next("lock", mark)).value is True
            # The locker then sets the hint too: still one report, not two.
            await driver.set_locked_hint(path, True)
            await settle()
            assert sink.values("lock", mark) == [True]

            mark = sink.mark()
            await driver.lock_signal(path, "Unlock")
            assert (await sink.next("lock", mark)).value is False
        finally:
            await source.stop()
            await driver.close()

    run(story())


@desktop
def test_suspend_and_resume_and_the_lock_state_after_it(
    system_bus: SessionBus, logind: LogindMock
) -> None:
    async def story() -> None:
        driver = await LogindDriver.connect(system_bus.address)
        sink = RecordingSink()
        session = on_system_bus(system_bus.address)
        source = logind_source(session, sink)
        try:
            await driver.fix_get_user()
            path = await driver.add_session("c1")
            await source.start()
            assert sink.values("lock") == [False]

            mark = sink.mark()
            before = datetime.now(UTC)
            await driver.prepare_for_sleep(True)  # the lid closes
            asleep = await sink.next("sleep", mark)
            assert asleep.value is True and asleep.at is not None and asleep.at >= before

            # The locker locked on the way down, and that signal got lost.
            await driver.set_locked_silently(path, True)
            await settle()
            assert sink.values("lock", mark) == []

            mark = sink.mark()
            await driver.prepare_for_sleep(False)  # the lid opens
            awake = await sink.next("sleep", mark)
            assert awake.value is False
            locked = await sink.next("lock", mark)  # asked afresh after the resume
            assert locked.value is True
            # The lock comes first: nothing may reach a lock screen in between.
            assert sink.reports.index(locked) < sink.reports.index(awake)
            # Idle is re-reported after "awake" (which presence takes as input).
            assert sink.values("idle", mark) == [False]
        finally:
            await source.stop()
            await driver.close()

    run(story())


@desktop
def test_idle_hint_is_back_dated_to_when_it_began(
    system_bus: SessionBus, logind: LogindMock
) -> None:
    async def story() -> None:
        driver = await LogindDriver.connect(system_bus.address)
        sink = RecordingSink()
        session = on_system_bus(system_bus.address)
        source = logind_source(session, sink)
        try:
            await driver.fix_get_user()
            path = await driver.add_session("c1")
            # The person walked away 10 minutes before nudged started.
            long_ago = datetime.now(UTC).replace(microsecond=123456) - timedelta(minutes=10)
            await driver.set_idle(path, True, long_ago)

            await source.start()
            first = sink.of("idle")
            assert [(r.value, r.at) for r in first] == [(True, long_ago)]

            mark = sink.mark()
            back = datetime.now(UTC)
            await driver.set_idle(path, False, back)  # the person is back
            returned = await sink.next("idle", mark)
            assert returned.value is False and returned.at is not None
            assert returned.at >= back

            mark = sink.mark()
            left = datetime.now(UTC) - timedelta(minutes=5)  # the desktop's idle delay
            await driver.set_idle(path, True, left)
            again = await sink.next("idle", mark)
            assert (again.value, again.at) == (True, left)
        finally:
            await source.stop()
            await driver.close()

    run(story())


@desktop
def test_idle_is_reported_once_the_manager_hands_it_over(
    system_bus: SessionBus, logind: LogindMock
) -> None:
    async def story() -> None:
        driver = await LogindDriver.connect(system_bus.address)
        sink = RecordingSink()
        session = on_system_bus(system_bus.address)
        source = logind_source(session, sink, frozenset({Capability.LOCK, Capability.SLEEP}))
        try:
            await driver.fix_get_user()
            path = await driver.add_session("c1")
            since = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=4)
            await source.start()
            await driver.set_idle(path, True, since)  # X11 reports idle, not us
            await settle()
            assert sink.values("idle") == []

            mark = sink.mark()
            source.wanted = frozenset(Capability)  # X11 failed: logind takes over idle
            report = await sink.next("idle", mark)
            assert (report.value, report.at) == (True, since)
        finally:
            await source.stop()
            await driver.close()

    run(story())


def test_probe_says_why_when_there_is_no_system_bus(tmp_path: Path) -> None:
    async def story() -> None:
        session = on_system_bus(f"unix:path={tmp_path}/no-bus-here")
        probe = await LogindSource.probe(session)
        assert not probe.ok
        assert "cannot reach the system bus" in probe.reason
        assert "no-bus-here" in probe.reason
        with pytest.raises(LogindUnavailable, match="cannot reach the system bus"):
            await logind_source(session, RecordingSink()).start()

    run(story())


@desktop
def test_probe_says_why_when_logind_is_not_running(system_bus: SessionBus) -> None:
    async def story() -> None:
        probe = await LogindSource.probe(on_system_bus(system_bus.address))
        assert not probe.ok
        assert "no logind" in probe.reason and LOGIN1 in probe.reason

    run(story())


@desktop
def test_probe_and_start_say_why_when_logind_knows_no_session_for_us(
    system_bus: SessionBus, logind: LogindMock
) -> None:
    async def story() -> None:
        driver = await LogindDriver.connect(system_bus.address)
        try:
            await driver.fix_get_user()
            session = on_system_bus(system_bus.address)
            probe = await LogindSource.probe(session)
            assert not probe.ok
            assert "knows no session" in probe.reason
            assert "XDG_SESSION_ID is not set" in probe.reason
            sink = RecordingSink()
            with pytest.raises(LogindUnavailable, match="knows no session"):
                await logind_source(session, sink).start()
            assert sink.reports == []
        finally:
            await driver.close()

    run(story())


@desktop
def test_logind_going_away_fails_the_source(
    system_bus: SessionBus, logind: LogindMock
) -> None:
    async def story() -> None:
        driver = await LogindDriver.connect(system_bus.address)
        sink = RecordingSink()
        source = logind_source(on_system_bus(system_bus.address), sink)
        try:
            await driver.fix_get_user()
            await driver.add_session("c1")
            await source.start()
            mark = sink.mark()
            await asyncio.to_thread(logind.kill)  # logind crashes (or restarts)
            failed = await sink.next("failed", mark)
            assert failed.source == "logind"
            assert "logind left the system bus" in failed.value
            assert source.health is Health.FAILED
            assert source.reason == failed.value
            await settle()
            assert len(sink.of("failed")) == 1
        finally:
            await source.stop()
            await driver.close()

    run(story())


@desktop
def test_losing_the_system_bus_fails_the_source(
    system_bus: SessionBus, logind: LogindMock
) -> None:
    async def story() -> None:
        driver = await LogindDriver.connect(system_bus.address)
        sink = RecordingSink()
        source = logind_source(on_system_bus(system_bus.address), sink)
        try:
            await driver.fix_get_user()
            await driver.add_session("c1")
            await source.start()
        finally:
            await driver.close()
        try:
            mark = sink.mark()
            # dbus-daemon dies outright (SIGKILL: no goodbye signals on the way out).
            os.kill(system_bus.pid, signal.SIGKILL)
            failed = await sink.next("failed", mark)
            assert failed.source == "logind"
            assert "system bus connection" in failed.value
            assert source.health is Health.FAILED
            await settle()
            assert len(sink.of("failed")) == 1
        finally:
            await source.stop()

    run(story())


# --------------------------------------------------------------------------- screensaver


@pytest.fixture
def session_bus() -> Iterator[SessionBus]:
    require_dbus_daemon()
    with SessionBus() as bus:
        yield bus


class FakeScreenSaver(ServiceInterface):
    """org.freedesktop.ScreenSaver as KDE serves it (idle time in milliseconds)."""

    def __init__(self, unit: float = 0.001) -> None:
        super().__init__(SCREENSAVER_IFACE)
        self.active = False
        self.unit = unit
        self.last_input = time.monotonic()
        self.last_input_at = datetime.now(UTC)
        self.idle_supported = True
        self.get_active_supported = True
        self.idle_questions = 0

    @dbus_method()
    def GetActive(self) -> DBusBool:
        if not self.get_active_supported:  # gsd-screensaver-proxy on GNOME
            raise DBusError(
                "org.freedesktop.DBus.Error.NotSupported",
                "This method is not part of the idle inhibition specification",
            )
        return self.active

    @dbus_method()
    def GetSessionIdleTime(self) -> DBusUInt32:
        self.idle_questions += 1
        if not self.idle_supported:  # KDE on Wayland
            raise DBusError(
                "org.freedesktop.DBus.Error.NotSupported",
                "GetSessionIdleTime is not supported on this platform",
            )
        return int((time.monotonic() - self.last_input) / self.unit)

    @dbus_signal()
    def ActiveChanged(self) -> DBusBool:
        return self.active

    def set_active(self, active: bool) -> None:
        self.active = active
        self.ActiveChanged()

    def touch(self) -> None:
        """The person moves the mouse."""
        self.last_input = time.monotonic()
        self.last_input_at = datetime.now(UTC)


@dataclass
class ScreenSaverWorld:
    bus: MessageBus
    fake: FakeScreenSaver

    @classmethod
    async def serve(
        cls, address: str, path: str = "/org/freedesktop/ScreenSaver", unit: float = 0.001
    ) -> ScreenSaverWorld:
        bus = await MessageBus(bus_address=address).connect()
        fake = FakeScreenSaver(unit)
        bus.export(path, fake)
        await bus.request_name(SCREENSAVER)
        return cls(bus, fake)

    async def close(self) -> None:
        if self.bus.connected:
            self.bus.disconnect()
            await asyncio.wait_for(self.bus.wait_for_disconnect(), WAIT)


def on_session_bus(address: str, desktop: str = "kde") -> Session:
    return Session(
        SessionType.X11, desktop=desktop, environ={"DBUS_SESSION_BUS_ADDRESS": address}
    )


@desktop
def test_screensaver_lock_follows_active_changed(session_bus: SessionBus) -> None:
    async def story() -> None:
        # Older KDE exports only /ScreenSaver.
        world = await ScreenSaverWorld.serve(session_bus.address, "/ScreenSaver")
        sink = RecordingSink()
        session = on_session_bus(session_bus.address)
        source = ScreenSaverSource(session, sink, timedelta(hours=1), call_timeout=WAIT)
        try:
            probe = await ScreenSaverSource.probe(session)
            assert probe.ok, probe.reason
            assert "/ScreenSaver" in probe.reason and "lock and idle time" in probe.reason
            assert probe.provides is None

            await source.start()
            assert source.path == "/ScreenSaver"
            assert sink.values("lock") == [False]
            assert sink.values("idle") == [False]

            mark = sink.mark()
            world.fake.set_active(True)  # the screen locks
            assert (await sink.next("lock", mark)).value is True
            mark = sink.mark()
            world.fake.set_active(False)
            assert (await sink.next("lock", mark)).value is False
        finally:
            await source.stop()
            await world.close()

    run(story())


@desktop
def test_a_screensaver_on_both_paths_is_one_report_per_change(session_bus: SessionBus) -> None:
    async def story() -> None:
        world = await ScreenSaverWorld.serve(session_bus.address)
        twin = FakeScreenSaver()  # Plasma exports both paths and Qt signals on each
        world.bus.export("/ScreenSaver", twin)
        sink = RecordingSink()
        source = ScreenSaverSource(
            on_session_bus(session_bus.address), sink, timedelta(hours=1), call_timeout=WAIT
        )
        try:
            await source.start()
            assert source.path == "/org/freedesktop/ScreenSaver"
            mark = sink.mark()
            world.fake.set_active(True)
            twin.set_active(True)
            assert (await sink.next("lock", mark)).value is True
            await settle()
            assert sink.values("lock", mark) == [True]
        finally:
            await source.stop()
            await world.close()

    run(story())


@desktop
def test_screensaver_idle_is_a_deadline_not_a_poll(session_bus: SessionBus) -> None:
    async def story() -> None:
        world = await ScreenSaverWorld.serve(session_bus.address)
        fake = world.fake
        sink = RecordingSink()
        threshold = timedelta(seconds=0.4)
        source = ScreenSaverSource(
            on_session_bus(session_bus.address), sink, threshold,
            recheck_interval=0.3, call_timeout=WAIT,
        )
        tolerance = timedelta(seconds=0.15)
        try:
            fake.touch()
            await source.start()
            assert sink.values("idle") == [False]

            mark = sink.mark()
            idle = await sink.next("idle", mark)
            assert idle.value is True and idle.at is not None
            assert abs(idle.at - fake.last_input_at) < tolerance  # back-dated to input
            # One question at start, one at the deadline (plus one for rounding).
            assert fake.idle_questions <= 3

            mark = sink.mark()
            fake.touch()  # back at the keyboard; noticed at the next re-check
            back = await sink.next("idle", mark)
            assert back.value is False and back.at is not None
            assert abs(back.at - fake.last_input_at) < tolerance
        finally:
            await source.stop()
            await world.close()
        asked = fake.idle_questions
        await settle(0.5)
        assert fake.idle_questions == asked  # stopped means no more questions

    run(story())


@desktop
def test_unlocking_means_the_person_is_back_at_once(session_bus: SessionBus) -> None:
    async def story() -> None:
        world = await ScreenSaverWorld.serve(session_bus.address)
        fake = world.fake
        sink = RecordingSink()
        source = ScreenSaverSource(
            on_session_bus(session_bus.address), sink, timedelta(seconds=0.2),
            recheck_interval=60, call_timeout=WAIT,
        )
        try:
            fake.touch()
            await source.start()
            mark = sink.mark()
            assert (await sink.next("idle", mark)).value is True
            mark = sink.mark()
            fake.set_active(True)
            assert (await sink.next("lock", mark)).value is True
            mark = sink.mark()
            fake.touch()  # types the password
            fake.set_active(False)
            assert (await sink.next("lock", mark)).value is False
            back = await sink.next("idle", mark, timeout=2)  # not a minute later
            assert back.value is False
        finally:
            await source.stop()
            await world.close()

    run(story())


@desktop
def test_screensaver_without_idle_time_serves_lock_only(session_bus: SessionBus) -> None:
    async def story() -> None:
        world = await ScreenSaverWorld.serve(session_bus.address)
        world.fake.idle_supported = False  # KDE on Wayland
        session = on_session_bus(session_bus.address)
        try:
            probe = await ScreenSaverSource.probe(session)
            assert probe.ok and "lock only" in probe.reason

            with pytest.raises(ScreenSaverUnavailable, match="cannot tell idle time"):
                await ScreenSaverSource(session, RecordingSink(), timedelta(minutes=3)).start()

            sink = RecordingSink()
            source = ScreenSaverSource(
                session, sink, timedelta(minutes=3), frozenset({Capability.LOCK})
            )
            await source.start()
            try:
                assert sink.values("lock") == [False] and sink.values("idle") == []
            finally:
                await source.stop()
        finally:
            await world.close()

    run(story())


@desktop
def test_screensaver_probe_says_why(session_bus: SessionBus, tmp_path: Path) -> None:
    async def story() -> None:
        nobody = await ScreenSaverSource.probe(on_session_bus(f"unix:path={tmp_path}/nope"))
        assert not nobody.ok and "cannot reach the session bus" in nobody.reason

        session = on_session_bus(session_bus.address)
        empty = await ScreenSaverSource.probe(session)
        assert not empty.ok and "has no owner" in empty.reason

        world = await ScreenSaverWorld.serve(session_bus.address)
        world.fake.get_active_supported = False  # GNOME: inhibition only
        try:
            gnome = await ScreenSaverSource.probe(session)
            assert not gnome.ok and "does not answer GetActive" in gnome.reason
        finally:
            await world.close()

    run(story())


@desktop
def test_screensaver_leaving_the_bus_fails_the_source(session_bus: SessionBus) -> None:
    async def story() -> None:
        world = await ScreenSaverWorld.serve(session_bus.address)
        sink = RecordingSink()
        source = ScreenSaverSource(
            on_session_bus(session_bus.address), sink, timedelta(minutes=3), call_timeout=WAIT
        )
        try:
            await source.start()
            mark = sink.mark()
            await world.close()  # kscreenlocker crashed
            failed = await sink.next("failed", mark)
            assert failed.source == "screensaver"
            assert "left the session bus" in failed.value
            assert source.health is Health.FAILED
        finally:
            await source.stop()
            await world.close()

    run(story())


@pytest.mark.parametrize(
    ("desktop_name", "unit"),
    [("KDE", 0.001), ("XFCE", 1.0), ("MATE", 1.0), ("ubuntu:GNOME", 0.001), ("", 0.001)],
)
def test_idle_time_unit_follows_the_desktop(desktop_name: str, unit: float) -> None:
    assert idle_unit_for(desktop_name) == unit


# --------------------------------------------------------------------------- clocks


class FakeClocks:
    """Monotonic stops in a suspend, boottime does not; the wall clock is fixed."""

    def __init__(self) -> None:
        self.mono = 1000.0
        self.boot = 1500.0
        self.wall = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
        self.reads = 0

    def awake(self, seconds: float) -> None:
        self.mono += seconds
        self.boot += seconds
        self.wall += timedelta(seconds=seconds)

    def suspend(self, seconds: float) -> None:
        self.boot += seconds
        self.wall += timedelta(seconds=seconds)

    def clocks(self) -> Clocks:
        def mono() -> float:
            self.reads += 1
            return self.mono

        return Clocks(monotonic=mono, boottime=lambda: self.boot, now=lambda: self.wall)


def clock_source(
    fake: FakeClocks, sink: RecordingSink, interval: float = 60.0
) -> ClockJumpSleepSource:
    return ClockJumpSleepSource(
        Session(SessionType.UNKNOWN), sink, timedelta(minutes=3),
        clocks=fake.clocks(), interval=interval,
    )


def test_a_night_in_suspend_is_reported_with_its_length() -> None:
    async def story() -> None:
        fake, sink = FakeClocks(), RecordingSink()
        source = clock_source(fake, sink)
        await source.start()
        try:
            assert sink.reports == []  # awake at start: nothing to say
            fake.awake(60)
            assert source.check() is None

            fake.awake(20)
            fake.suspend(8 * 3600)  # the lid closes for the night
            fake.awake(40)
            slept = source.check()
            assert slept == pytest.approx(8 * 3600)
            assert [(r.kind, r.value, r.at) for r in sink.reports] == [
                ("sleep", True, fake.wall - timedelta(hours=8)),
                ("sleep", False, fake.wall),
            ]
            fake.awake(60)
            assert source.check() is None  # measured from the last look, not from start
        finally:
            await source.stop()

    run(story())


def test_clock_drift_and_a_busy_machine_are_not_a_suspend() -> None:
    async def story() -> None:
        fake, sink = FakeClocks(), RecordingSink()
        source = clock_source(fake, sink)
        await source.start()
        try:
            fake.awake(60)
            fake.suspend(4.9)  # boottime ahead by less than 5 s
            assert source.check() is None
            assert sink.reports == []
        finally:
            await source.stop()

    run(story())


def test_the_clocks_are_compared_on_a_timer_until_stopped() -> None:
    async def story() -> None:
        fake, sink = FakeClocks(), RecordingSink()
        source = clock_source(fake, sink, interval=0.02)
        await source.start()
        assert source.health is Health.RUNNING
        fake.suspend(600)
        report = await sink.next("sleep", 0, timeout=2)
        assert (report.value, report.at) == (True, fake.wall - timedelta(minutes=10))
        assert (await sink.next("sleep", 1, timeout=2)).value is False
        await source.stop()
        assert source.health is Health.STOPPED
        reads = fake.reads
        await asyncio.sleep(0.1)
        assert fake.reads == reads  # no timer left behind

    run(story())


def test_clock_probe_works_on_linux() -> None:
    probe = run(ClockJumpSleepSource.probe(Session(SessionType.UNKNOWN)))
    assert probe.ok
    assert probe.reason == "suspend noticed within a minute by comparing clocks"


def test_priorities_make_logind_idle_the_last_resort() -> None:
    assert LogindSource.priorities[Capability.LOCK] < ScreenSaverSource.priorities[
        Capability.LOCK
    ]
    assert LogindSource.priorities[Capability.SLEEP] < ClockJumpSleepSource.priority
    assert (
        ScreenSaverSource.priorities[Capability.IDLE]
        < LogindSource.priorities[Capability.IDLE]
    )

