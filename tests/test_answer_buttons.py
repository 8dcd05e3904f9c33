"""A nudge's own answer buttons (plugin API 3): ``answer:<word>`` in ``NudgeSpec.buttons``,
an ``Answer`` in ``nudged_on_response``. The desktop side is tested with the checkin
plugin against dunst (tests/test_plugin_checkin.py)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest

from nudged import Answer, Manual, NudgeSpec, Response
from nudged.models import Nudge
from nudged.notify import ConsoleSink, button_labels, pressed
from nudged.testing import press, simulate


def test_answer_buttons_are_checked_like_the_others() -> None:
    spec = NudgeSpec(id="q", title="T", body="B", buttons=("answer:yes", "answer:no", "skip"),
                     labels={"answer:yes": "Yes, thanks"})
    nudge = Nudge("p", spec, datetime(2026, 3, 2, 9))
    assert button_labels(nudge, timedelta(minutes=10)) == [
        ("answer:yes", "Yes, thanks"), ("answer:no", "no"), ("skip", "Skip")]
    assert pressed("answer:no") == Answer("no") and pressed("skip") is Response.SKIP
    assert Answer("no").value == "answer:no"
    for buttons, message in [(("answer:",), "unknown button 'answer:'"),
                             (("answer:Yes",), "unknown button 'answer:Yes'")]:
        with pytest.raises(ValueError, match=message):
            NudgeSpec(id="q", title="T", body="B", buttons=buttons)


def test_a_typed_answer_on_the_terminal() -> None:
    got: list[tuple[int, object]] = []
    sink = ConsoleSink(lambda i, r: got.append((i, r)), io.StringIO(), interactive=True)
    spec = NudgeSpec(id="q", title="T", body="B", buttons=tuple(f"answer:{n}" for n in range(1, 6)))
    sink.show(Nudge("p", spec, datetime(2026, 3, 2, 9)), 7)
    assert "(answer: 1, 2, 3, 4, 5, then Enter)" in sink.stream.getvalue()  # type: ignore[attr-defined]
    sink.answer("9\n")
    sink.answer("3\n")
    assert got == [(7, Answer("3"))]


class Asking:
    def __init__(self) -> None:
        self.heard: list[object] = []

    def nudged_register_nudges(self, register):  # type: ignore[no-untyped-def]
        register(NudgeSpec(id="tea", title="Tea?", body="A cup now?", schedule=Manual(),
                           buttons=("answer:yes", "answer:no")))

    def nudged_startup(self, ctx):  # type: ignore[no-untyped-def]
        ctx.call_at(ctx.now() + timedelta(hours=10), lambda: ctx.fire("tea"), key="tea")

    def nudged_on_response(self, nudge, response):  # type: ignore[no-untyped-def]
        self.heard.append(response)


def test_the_answer_reaches_the_plugin_and_the_record() -> None:
    plugin = Asking()
    sim = simulate("", plugins={"tea": plugin}, builtins=False, respond=press("answer:yes"))
    assert [(s.when, s.buttons, s.response) for s in sim.seen()] == [
        ("Mon 10:00", ("yes", "no"), "answer:yes")]
    assert plugin.heard == [Answer("yes")]
