"""The Mutter idle source against a real, headless mutter on a private session bus.

Every story starts its own dbus-daemon and ``mutter --headless --wayland`` (see
TESTBEDS.md section 3), moves the pointer for real through mutter's RemoteDesktop
interface, and watches what the source tells a recording sink. The source runs in
this process on a real asyncio loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nudged.activity.base import Capability, Health, Session, SessionType
from nudged.activity.manager import choose, probe_all
from nudged.activity.mutter import IDLE_MONITOR, MutterIdleSource
from tests.testbed import (
    ActivityRecorder,
    HeadlessMutter,
    MutterRemoteInput,
    SessionBus,
    require_mutter,
)

desktop = pytest.mark.desktop

#: Generous: a shared CI machine can be slow, but never this slow.
REPORT_TIMEOUT = 5.0
#: How precise the idle start's back-dating must be (mutter fires at the threshold
#: to the millisecond; the rest is bus and scheduling latency).
BACKDATE_TOLERANCE = 0.3
#: CPU seconds the loop thread may use while the source only waits for a signal.
IDLE_CPU_BUDGET = 0.1


@dataclass
class Gnome:
    """A private session bus with a headless mutter on it."""

    bus: SessionBus
    mutter: HeadlessMutter

    def session(self) -> Session:
        return Session(type=SessionType.WAYLAND, desktop="gnome",
                       environ={"DBUS_SESSION_BUS_ADDRESS": self.bus.address})

    def remote_input(self) -> MutterRemoteInput:
        return MutterRemoteInput(self.bus.address)


@pytest.fixture
def gnome() -> Iterator[Gnome]:
    """dbus-daemon + mutter, each stopped by its PID after the test."""
    require_mutter()
    with SessionBus() as bus, HeadlessMutter(bus.address) as mutter:
        yield Gnome(bus, mutter)


@pytest.fixture
def bare_bus() -> Iterator[SessionBus]:
    """A session bus with nothing on it."""
    require_mutter()
    with SessionBus() as bus:
        yield bus


@contextlib.asynccontextmanager
async def running(gnome: Gnome, sink: ActivityRecorder,
                  idle_after: float = 1.0) -> AsyncIterator[MutterIdleSource]:
    source = MutterIdleSource(gnome.session(), sink, timedelta(seconds=idle_after))
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


def seconds(a: datetime | None, b: datetime) -> float:
    assert a is not None
    return (a - b).total_seconds()


# --------------------------------------------------------------------------- stories


@desktop
def test_the_person_steps_away_and_comes_back(gnome: Gnome) -> None:
    async def scenario() -> None:
        sink = ActivityRecorder()
        async with gnome.remote_input() as hands:
            await hands.move()
            touched = datetime.now(UTC)
            async with running(gnome, sink, idle_after=1.0) as source:
                first = await sink.wait_for("idle")
                assert first.value is False, "just touched the mouse: present"
                assert source.health is Health.RUNNING

                # One second without input: idle, dated back to the last input.
                went = await sink.wait_for("idle", lambda idle: idle is True)
                assert abs(seconds(went.at, went.seen) + 1.0) <= BACKDATE_TOLERANCE, (
                    "the idle start is back-dated by the threshold"
                )
                assert abs(seconds(went.at, touched)) <= BACKDATE_TOLERANCE

                # A nudge of the mouse: back within half a second.
                mark = sink.mark()
                await hands.move()
                moved = datetime.now(UTC)
                back = await sink.wait_for("idle", lambda idle: idle is False, since=mark)
                assert seconds(back.seen, moved) <= 0.5
                assert abs(seconds(back.at, moved)) <= BACKDATE_TOLERANCE

                # The watches are re-armed: away again, back again.
                mark = sink.mark()
                again = await sink.wait_for("idle", lambda idle: idle is True, since=mark)
                assert abs(seconds(again.at, moved)) <= BACKDATE_TOLERANCE
                await hands.move()
                await sink.wait_for("idle", lambda idle: idle is False, since=mark)

            assert sink.values("idle") == [False, True, False, True, False], (
                "each change once, in order, nothing else"
            )
            assert sink.of("failed") == []

    run(scenario)


@desktop
def test_a_session_already_idle_at_start_is_reported_idle_since_the_last_input(
    gnome: Gnome,
) -> None:
    async def scenario() -> None:
        sink = ActivityRecorder()
        async with gnome.remote_input() as hands:
            await hands.move()
            touched = datetime.now(UTC)
            await asyncio.sleep(1.5)  # nobody at the desk
            async with running(gnome, sink, idle_after=1.0):
                first = await sink.wait_for("idle")
                assert first.value is True
                assert abs(seconds(first.at, touched)) <= BACKDATE_TOLERANCE, (
                    "dated at the last input, not at the threshold after start"
                )
                await asyncio.sleep(0.3)  # the already-passed watch must not report twice
                assert sink.values("idle") == [True]

                await hands.move()
                await sink.wait_for("idle", lambda idle: idle is False)

    run(scenario)


@desktop
def test_refresh_reports_the_state_again_even_if_unchanged(gnome: Gnome) -> None:
    async def scenario() -> None:
        sink = ActivityRecorder()
        async with gnome.remote_input() as hands:
            await hands.move()
            touched = datetime.now(UTC)
            async with running(gnome, sink, idle_after=1.0) as source:
                await sink.wait_for("idle", lambda idle: idle is True)
                mark = sink.mark()
                await source.refresh()
                again = await sink.wait_for("idle", since=mark)
                assert again.value is True
                assert abs(seconds(again.at, touched)) <= BACKDATE_TOLERANCE

    run(scenario)


@desktop
def test_waiting_for_the_person_costs_no_cpu(gnome: Gnome) -> None:
    async def scenario() -> None:
        sink = ActivityRecorder()
        async with running(gnome, sink, idle_after=600.0):
            await sink.wait_for("idle")
            before = time.thread_time()
            await asyncio.sleep(2.0)
            used = time.thread_time() - before
        assert used < IDLE_CPU_BUDGET, f"the loop used {used:.3f}s of CPU while waiting"

    run(scenario)


class MethodLog:
    """``dbus-monitor`` recording the IdleMonitor calls every client makes."""

    def __init__(self, address: str, timeout: float = 10.0) -> None:
        self.lines: list[str] = []
        self._lock = threading.Condition()
        self._proc = subprocess.Popen(
            ["dbus-monitor", "--address", address,
             f"type='method_call',interface='{IDLE_MONITOR}'"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            text=True)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        # Once dbus-monitor is a monitor it loses its own name: from then on it sees all.
        with self._lock:
            ready = self._lock.wait_for(
                lambda: any("member=NameLost" in line for line in self.lines), timeout)
        if not ready:
            self.stop()
            raise AssertionError(f"dbus-monitor did not start: {self.lines}")

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            with self._lock:
                self.lines.append(line)
                self._lock.notify_all()

    def members(self) -> list[str]:
        with self._lock:
            return [line.split("member=")[1].split()[0] for line in self.lines
                    if line.startswith("method call") and "member=" in line]

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self.members()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"calls seen: {self.members()}")
                self._lock.wait(remaining)

    def stop(self) -> None:
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(10)
        self._thread.join(10)
        if self._proc.stdout is not None:
            self._proc.stdout.close()


@desktop
def test_stop_removes_the_watches_it_added(gnome: Gnome) -> None:
    calls = MethodLog(gnome.bus.address)
    try:
        async def scenario() -> None:
            sink = ActivityRecorder()
            async with gnome.remote_input() as hands:
                await hands.move()
                async with running(gnome, sink, idle_after=1.0):
                    # idle: both the idle watch and the user-active watch exist
                    await sink.wait_for("idle", lambda idle: idle is True)
                    await asyncio.to_thread(
                        calls.wait_for, lambda m: "AddUserActiveWatch" in m)

        run(scenario)
        calls.wait_for(lambda m: m.count("RemoveWatch") >= 2)
        time.sleep(0.2)  # a third RemoveWatch would be a bug too
    finally:
        calls.stop()
    members = calls.members()
    assert members.count("AddIdleWatch") == 1
    assert members.count("AddUserActiveWatch") == 1
    assert members.count("RemoveWatch") == 2, members


@desktop
def test_mutter_crashing_fails_the_source(gnome: Gnome) -> None:
    async def scenario() -> None:
        sink = ActivityRecorder()
        async with running(gnome, sink, idle_after=600.0) as source:
            await sink.wait_for("idle")
            await asyncio.to_thread(gnome.mutter.kill, signal.SIGKILL)
            failed = await sink.wait_for("failed")
            assert failed.source == "mutter"
            assert "mutter left the session bus" in failed.value
            assert source.health is Health.FAILED
            assert len(sink.of("failed")) == 1
            await source.stop()  # stop twice (again on leaving): must not raise

    run(scenario)


@desktop
def test_losing_the_session_bus_fails_the_source(gnome: Gnome) -> None:
    async def scenario() -> None:
        sink = ActivityRecorder()
        async with running(gnome, sink, idle_after=600.0) as source:
            await sink.wait_for("idle")
            await asyncio.to_thread(gnome.bus.stop)
            failed = await sink.wait_for("failed")
            assert "session bus" in failed.value
            assert source.health is Health.FAILED

    run(scenario)


# --------------------------------------------------------------------------- probe


@desktop
def test_probe_finds_mutter_and_the_manager_picks_it_for_idle(gnome: Gnome) -> None:
    probe = asyncio.run(MutterIdleSource.probe(gnome.session()))
    assert probe.ok, probe.reason
    results = asyncio.run(probe_all(gnome.session(), ["nudged.activity.mutter:MutterIdleSource"]))
    assert choose(results)[Capability.IDLE].source == "mutter"


@desktop
def test_probe_says_no_when_mutter_is_not_on_the_bus(bare_bus: SessionBus) -> None:
    session = Session(type=SessionType.WAYLAND,
                      environ={"DBUS_SESSION_BUS_ADDRESS": bare_bus.address})
    probe = asyncio.run(MutterIdleSource.probe(session))
    assert not probe.ok
    assert IDLE_MONITOR in probe.reason and "no owner" in probe.reason


def test_probe_says_no_when_there_is_no_session_bus(tmp_path: Any) -> None:
    session = Session(type=SessionType.X11, environ={
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-such-bus"})
    probe = asyncio.run(MutterIdleSource.probe(session))
    assert not probe.ok
    assert "cannot reach the session bus" in probe.reason
