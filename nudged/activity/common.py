"""Small pieces several activity sources share.

Kept free of any desktop library: the manager imports a source's module only when
the source may apply, and every source imports this one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from abc import abstractmethod
from datetime import UTC, datetime, timedelta

from nudged.activity.base import ActivitySink, ActivitySource, Capability, Focus, Health, Session

__all__ = ["ConnectedSource", "LastFocus", "close_writer", "getenv", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def getenv(session: Session, var: str) -> str | None:
    """``var`` from the session's environment, else from the process's; None if unset."""
    return session.environ.get(var) or os.environ.get(var) or None


async def close_writer(writer: asyncio.StreamWriter) -> None:
    """Close a stream and wait for it; a peer that already hung up is no error."""
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


class LastFocus:
    """The focus a source reported last, so that it reports changes, not every event."""

    def __init__(self) -> None:
        self.focus: Focus | None = None
        self.known = False  # reported since start (or since forget())

    def forget(self) -> None:
        """Let the next report go out even if unchanged (at start, on refresh)."""
        self.known = False

    def changed(self, focus: Focus | None, force: bool = False) -> bool:
        """Remember ``focus``; True if it is news to report."""
        if self.known and not force and focus == self.focus:
            return False
        self.focus = focus
        self.known = True
        return True


class ConnectedSource(ActivitySource):
    """A source that holds one connection to the compositor from start() to stop().

    ``_running`` is true between start() and stop(); ``_live`` once start()
    succeeded. Losing the connection while live makes the source FAILED (the
    manager restarts it with backoff); while starting, start() raises instead.
    """

    def __init__(self, session: Session, sink: ActivitySink, idle_after: timedelta,
                 wanted: frozenset[Capability] | None = None) -> None:
        super().__init__(session, sink, idle_after, wanted)
        self._running = False  # between start() and stop()
        self._live = False     # started successfully: a loss is a failure

    async def stop(self) -> None:
        """Disconnect; safe to call twice, never raises."""
        self._running = self._live = False
        self._teardown()
        if self.health is not Health.FAILED:
            self.health = Health.STOPPED

    @abstractmethod
    def _teardown(self) -> None:
        """Close the connection and forget what came with it. Never raises."""

    def _connection_lost(self, reason: str) -> None:
        """Tear down, and fail with ``reason`` if we were live (once)."""
        self._teardown()
        if not (self._running and self._live):
            return  # stopping, or still starting: start() raises instead
        self._running = self._live = False
        self.fail(reason)
