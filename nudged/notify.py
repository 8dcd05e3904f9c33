"""Showing nudges: desktop notifications with buttons, or the terminal when there is no desktop.

The only module that imports ``desktop_notifier``. Button presses come back through
``respond(shown_id, Response)`` on the event loop. When the session bus or the
notification server is missing, the nudge is written to the terminal/log and the
daemon keeps going; the next nudge tries the desktop again with a fresh
connection, so a restarted notification server (or a late one) needs no restart.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TextIO

import structlog

from nudged.models import ANSWER_PREFIX, Answer, Nudge, Response

if TYPE_CHECKING:
    from desktop_notifier import DesktopNotifier

log = structlog.get_logger("nudged.notify")
Respond = Callable[[int, Response | Answer], None]

LABELS = {"done": "Done", "snooze": "Snooze", "skip": "Skip"}
RESPONSES = {"done": Response.DONE, "snooze": Response.SNOOZE, "skip": Response.SKIP}


def snooze_label(snooze: timedelta) -> str:
    minutes = int(snooze.total_seconds() // 60)
    if minutes <= 0:
        return f"Snooze {int(snooze.total_seconds())}s"
    if minutes % 60 == 0:
        return f"Snooze {minutes // 60}h"
    return f"Snooze {minutes} min"


def button_labels(nudge: Nudge, snooze: timedelta) -> list[tuple[str, str]]:
    """``(button, label)`` for each of the nudge's buttons, as the desktop shows them:
    the nudge's own label, else "Snooze 10 min" (its snooze, or ``snooze``), else
    the standard word, else an answer's own word ("3" for ``answer:3``)."""
    labels = []
    for name in nudge.spec.buttons:
        if name in nudge.spec.labels:
            label = nudge.spec.labels[name]
        elif name == "snooze":
            label = snooze_label(nudge.spec.snooze or snooze)
        else:
            label = LABELS.get(name, name.removeprefix(ANSWER_PREFIX))
        labels.append((name, label))
    return labels


def pressed(button: str) -> Response | Answer:
    """What pressing ``button`` answers: ``Response.DONE`` for "done", ``Answer("3")``
    for "answer:3"."""
    return RESPONSES[button] if button in RESPONSES else Answer.of(button)


class ConsoleSink:
    """Writes nudges to a terminal (or the journal) when no desktop can show them."""

    def __init__(self, respond: Respond, stream: TextIO | None = None,
                 interactive: bool = False) -> None:
        self.respond = respond
        self.stream = stream or sys.stdout
        self.interactive = interactive
        self._latest: int | None = None
        self._answers: dict[str, Answer] = {}

    def show(self, nudge: Nudge, shown_id: int) -> None:
        self._latest = shown_id
        self._answers = {a.word: a for a in map(pressed, nudge.spec.buttons)
                         if isinstance(a, Answer)}
        hint = ""
        if self.interactive and self._answers:
            hint = f"   (answer: {', '.join(self._answers)}, then Enter)"
        elif self.interactive:
            hint = "   (answer: d = done, s = snooze, k = skip, then Enter)"
        print(f"\n  ● {nudge.shown_title}\n    {nudge.shown_body}\n    [{nudge.key}]{hint}",
              file=self.stream, flush=True)

    def withdraw(self, shown_id: int) -> None:
        if self._latest == shown_id:
            self._latest = None

    def answer(self, line: str) -> None:
        """A line typed on the terminal answers the latest nudge."""
        typed = line.strip().lower()
        answer: Response | Answer | None = self._answers.get(typed)
        if answer is None:
            choice = {"d": "done", "s": "snooze", "k": "skip"}.get(typed[:1])
            answer = RESPONSES[choice] if choice else None
        if answer is not None and self._latest is not None:
            shown_id, self._latest = self._latest, None
            self.respond(shown_id, answer)


class DesktopSink:
    """desktop-notifier on the session bus, falling back to a :class:`ConsoleSink`."""

    def __init__(self, respond: Respond, fallback: ConsoleSink, *,
                 snooze: timedelta = timedelta(minutes=10), app_name: str = "nudged") -> None:
        self.respond = respond
        self.fallback = fallback
        self.snooze = snooze
        self.app_name = app_name
        self._notifier: DesktopNotifier | None = None
        self._identifiers: dict[int, str] = {}   # shown_id -> notification identifier
        self._by_key: dict[str, int] = {}        # nudge key -> latest shown_id
        self._server_ids: dict[int, int] = {}    # shown_id -> the server's notification id
        self._tasks: set[asyncio.Task[Any]] = set()
        self.desktop_ok: bool | None = None

    def _make_notifier(self) -> DesktopNotifier:
        from desktop_notifier import DesktopNotifier

        return DesktopNotifier(app_name=self.app_name, app_icon=None)

    def show(self, nudge: Nudge, shown_id: int) -> None:
        task = asyncio.ensure_future(self._send(nudge, shown_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def withdraw(self, shown_id: int) -> None:
        self._server_ids.pop(shown_id, None)
        ident = self._identifiers.pop(shown_id, None)
        if ident is not None and self._notifier is not None:
            task = asyncio.ensure_future(self._clear(ident))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _clear(self, ident: str) -> None:
        try:
            if self._notifier is not None:
                await self._notifier.clear(ident)
        except Exception as exc:  # the server may be gone; nothing to clear then
            log.debug("could not withdraw notification", error=str(exc))

    async def _send(self, nudge: Nudge, shown_id: int) -> None:
        from desktop_notifier import Button, ReplyField

        if self._notifier is None:
            self._notifier = self._make_notifier()
        previous = self._by_key.get(nudge.key)
        if previous is not None and previous in self._identifiers:
            self._server_ids.pop(previous, None)
            await self._clear(self._identifiers.pop(previous))
        dispatched = False

        def on_dispatched() -> None:
            nonlocal dispatched
            dispatched = True

        def answer(response: Response | Answer) -> Callable[[], None]:
            return lambda: self._answered(shown_id, response)

        buttons = [Button(title=label, on_pressed=answer(pressed(name)))
                   for name, label in button_labels(nudge, self.snooze)]
        reply = None
        if nudge.spec.reply:  # shown only where the server has an inline reply field
            reply = ReplyField(
                title=nudge.spec.reply, button_title="Save",
                on_replied=lambda text: self._answered(shown_id, Answer("reply", text)))
        try:
            ident = await self._notifier.send(
                title=nudge.shown_title,
                message=nudge.shown_body,
                buttons=buttons,
                reply_field=reply,
                on_dispatched=on_dispatched,
                on_dismissed=answer(Response.DISMISSED),
                timeout=-1,
            )
        except Exception as exc:  # desktop-notifier logs most failures itself
            log.debug("desktop notification raised", error=str(exc))
            dispatched = False
            ident = ""
        if dispatched:
            server_id = self._server_id(ident)
            if server_id is not None:
                self._server_ids[shown_id] = server_id
            if self.desktop_ok is not True:
                log.info("desktop notifications work", app=self.app_name)
            self.desktop_ok = True
            self._identifiers[shown_id] = ident
            self._by_key[nudge.key] = shown_id
            return
        if self.desktop_ok is not False:
            log.warning("no desktop notification server; nudges go to the terminal/log")
        self.desktop_ok = False
        self._drop_notifier()  # reconnect from scratch next time
        self.fallback.show(nudge, shown_id)

    def notice(self, title: str, body: str) -> None:
        """A plain message from nudged itself (no buttons, not a nudge)."""
        task = asyncio.ensure_future(self._notice(title, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notice(self, title: str, body: str) -> None:
        if self._notifier is None:
            self._notifier = self._make_notifier()
        dispatched = False

        def on_dispatched() -> None:
            nonlocal dispatched
            dispatched = True

        try:
            await self._notifier.send(title=title, message=body, on_dispatched=on_dispatched)
        except Exception:
            dispatched = False
        if not dispatched:
            self._drop_notifier()
            print(f"\n  ! {title}\n    {body}", file=self.fallback.stream, flush=True)

    def _drop_notifier(self) -> None:
        """Forget the notifier after a failure, closing the bus connection it opened
        (desktop-notifier keeps it open even when the server never answered)."""
        notifier, self._notifier = self._notifier, None
        self._server_ids.clear()  # ids of a server we no longer talk to
        bus = getattr(getattr(notifier, "_backend", None), "bus", None)
        if bus is not None:
            try:
                bus.disconnect()
            except Exception as exc:
                log.debug("could not close the old bus connection", error=str(exc))

    def _server_id(self, ident: str) -> int | None:
        """The server's id for a notification desktop-notifier just sent (private API:
        desktop-notifier forgets it before it calls a button's ``on_pressed``)."""
        backend = getattr(self._notifier, "_backend", None)
        ids = getattr(backend, "_platform_to_interface_notification_identifier", None)
        try:
            found = ids.inverse.get(ident) if ids is not None else None
        except Exception:
            return None
        return found if isinstance(found, int) else None

    async def _close_answered(self, server_id: int) -> None:
        interface = getattr(getattr(self._notifier, "_backend", None), "interface", None)
        try:
            if interface is not None:
                await interface.call_close_notification(server_id)
        except Exception as exc:  # already closed, or the server is gone
            log.debug("could not close an answered notification", error=str(exc))

    def _answered(self, shown_id: int, response: Response | Answer) -> None:
        # Some servers (dunst) leave a notification on screen after a button press.
        # desktop-notifier has already forgotten it by now (``clear()`` would do
        # nothing), so close it by the server's id.
        self._identifiers.pop(shown_id, None)
        server_id = self._server_ids.pop(shown_id, None)
        if server_id is not None and response is not Response.DISMISSED:
            task = asyncio.ensure_future(self._close_answered(server_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self.respond(shown_id, response)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
