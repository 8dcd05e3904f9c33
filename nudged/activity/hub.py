"""Presence, the ledger and the plugin-facing view, kept across config reloads.

The hub is the activity sink the sources report to (through the manager), and
the ``ctx.activity`` object plugins query: ``present()``, ``continuous()``,
``today()``, ``focus()``. It tells the engine when the person comes and goes, and
plugins through ``nudged_on_activity``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

import structlog

from nudged.activity.base import Focus
from nudged.activity.ledger import Attribution, Usage, UsageLedger
from nudged.activity.presence import Presence
from nudged.models import ActivityChange

if TYPE_CHECKING:
    from nudged.engine import Engine
    from nudged.plugins import PluginHost
    from nudged.store import Store

log = structlog.get_logger("nudged.activity")


class ActivityHub:
    def __init__(self, now: Callable[[], datetime], tz: tzinfo, store: Store) -> None:
        self._now = now
        self.tz = tz
        #: The SQLite store (or an in-memory one in previews): the ledger's and the
        #: plugins' state and journal live there.
        self.store = store
        self.presence = Presence(started=now())
        self.ledger = UsageLedger(store, tz, self.classify)
        self.presence.on_segment.append(self._segment)
        #: Whether present time goes to the ledger: only while some source can tell
        #: idle time. Without one (over SSH, a bare X server), uptime is not screen time.
        self.counting = True
        self.presence.on_presence.append(self._presence_changed)
        self.presence.on_focus.append(self._focus_changed)
        self.host: PluginHost | None = None
        self.engine: Engine | None = None
        self._classified: tuple[Focus | None, Attribution] | None = None
        #: Called when the machine wakes from sleep (the daemon wakes its scheduler).
        self.on_resume: list[Callable[[], None]] = []

    def attach(self, host: PluginHost, engine: Engine) -> None:
        """Point at the current plugins and engine (again after a reload)."""
        self.host = host
        self.engine = engine
        self._classified = None
        engine.set_present(self.presence.present)

    # -- the sink sources report to -------------------------------------------------
    def idle_changed(self, source: str, idle: bool, at: datetime) -> None:
        self.presence.idle_changed(source, idle, at)

    def lock_changed(self, source: str, locked: bool, at: datetime) -> None:
        self.presence.lock_changed(source, locked, at)

    def sleep_changed(self, source: str, asleep: bool, at: datetime) -> None:
        self.presence.sleep_changed(source, asleep, at)
        if not asleep:
            for callback in self.on_resume:
                callback()

    def focus_changed(self, source: str, focus: Focus | None, at: datetime) -> None:
        self.presence.focus_changed(source, focus, at)

    def source_failed(self, source: str, reason: str) -> None:
        self.presence.source_failed(source, reason)

    def set_counting(self, counting: bool) -> None:
        """Start or stop counting present time from now on."""
        if counting == self.counting:
            return
        self.presence.flush(self._now())  # the stretch so far, under the old rule
        self.counting = counting

    def _segment(self, start: datetime, end: datetime, focus: Focus | None) -> None:
        if self.counting:
            self.ledger.add_segment(start, end, focus)

    def heartbeat(self) -> None:
        """Write the open stretch of present time, so a crash loses at most this much."""
        self.presence.flush(self._now())

    # -- what plugins query (``ctx.activity``) --------------------------------------
    def present(self) -> bool:
        return self.presence.present

    def continuous(self) -> timedelta:
        """Present time without a break (idle, lock or sleep) up to now."""
        return self.presence.continuous(self._now())

    def focus(self) -> Focus | None:
        return self.presence.state.focus

    def today(self) -> Usage:
        now = self._now()
        start = self.presence.segment_start
        open_segment = ((start, now, self.presence.state.focus)
                        if self.counting and start and now > start else None)
        return self.ledger.day(now.astimezone(self.tz).date(), open_segment)

    def classify(self, focus: Focus | None) -> Attribution:
        if focus is None:
            return Attribution()
        cached = self._classified
        if cached is not None and cached[0] == focus:
            return cached[1]
        answer = None
        if self.host is not None:
            found = self.host.call_first("nudged_classify_focus", focus=focus)
            if found is not None and isinstance(found[1], Attribution):
                answer = found[1]
        result = answer or Attribution(app=focus.app)
        if result.app is None:
            result = Attribution(focus.app, result.category, result.site)
        self._classified = (focus, result)
        return result

    # -- listeners ------------------------------------------------------------------
    def _presence_changed(self, present: bool, at: datetime) -> None:
        state = self.presence.state
        away = [why for why, on in (("idle", state.idle), ("locked", state.locked),
                                    ("asleep", state.asleep)) if on]
        log.info("presence changed", state="present" if present else "away",
                 **({"because": ",".join(away)} if away else {}),
                 at=at.astimezone(self.tz).isoformat(timespec="milliseconds"))
        # Plugins hear it first, so their filters know the person is back before the
        # nudges held meanwhile come due again.
        if self.host is not None:
            self.host.call_each("nudged_on_activity", change=ActivityChange(
                "presence", at, present, self.presence.state.focus))
        if self.engine is not None:
            self.engine.set_present(present)

    def _focus_changed(self, focus: Focus | None, at: datetime) -> None:
        if self.host is not None:
            self.host.call_each("nudged_on_activity", change=ActivityChange(
                "focus", at, self.presence.present, focus))
