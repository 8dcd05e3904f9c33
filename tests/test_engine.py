"""The path of a due nudge: rate limit, snooze, timeouts, stale nudges, DST."""

from __future__ import annotations

from datetime import UTC, timedelta

from helpers import shown, simulate

from nudged import Decision, NudgeSpec, Response
from nudged.models import Every, Manual


def every(minutes: int, extra: str = "") -> str:
    return f"""
        [core]
        timezone = "Europe/Berlin"
        {extra}
        [[plugins.custom.nudges]]
        id = "often"
        title = "Often"
        every = "{minutes}m"
    """


def test_the_global_rate_limit_defers_rather_than_drops() -> None:
    items, _ = simulate(every(10, "max_per_hour = 3"), start="2026-03-02 09:00", days=1 / 24 * 2,
                        present=["00:00-23:59"])
    times = [t for t, _ in shown(items)]
    # 09:10, 09:20, 09:30 shown; 09:40 waits for 10:10 (an hour after 09:10) and
    # coalesces with the 09:50 and 10:00 occurrences instead of piling up.
    assert times[:4] == ["Mon 09:10", "Mon 09:20", "Mon 09:30", "Mon 10:10"]
    for start in range(len(shown(items))):
        window = [i.at for i in items if i.shown][start:start + 4]
        if len(window) == 4:
            assert window[3] - window[0] >= timedelta(hours=1), "more than 3 in an hour"
    rate_limited = [w for i in items for w in i.why if "rate-limit" in w]
    assert rate_limited and "3 nudges in the last hour already" in rate_limited[0]


def test_snooze_brings_the_nudge_back_after_the_snooze_delay() -> None:
    items, _ = simulate("""
        [core]
        timezone = "Europe/Berlin"
        snooze = "15m"
        [[plugins.custom.nudges]]
        id = "walk"
        title = "A short walk?"
        at = ["10:00"]
    """, days=1, respond="snooze")
    # Answered a minute after each showing; each snooze brings it back 15 min later.
    walk = [(i.at.strftime("%H:%M"), i.nudge.attempt, i.response) for i in items if i.shown]
    assert walk[:3] == [("10:00", 0, "snooze"), ("10:16", 1, "snooze"), ("10:32", 2, "snooze")]


def test_an_unanswered_nudge_times_out_and_is_recorded_so() -> None:
    items, _ = simulate("""
        [core]
        timezone = "Europe/Berlin"
        notification_timeout = "3m"
        [[plugins.custom.nudges]]
        id = "walk"
        title = "A short walk?"
        at = ["10:00"]
    """, days=1, respond="ignore")
    assert [(i.at.strftime("%H:%M"), i.response) for i in items] == [("10:00", "timed_out")]


def test_daily_times_follow_the_wall_clock_across_the_spring_dst_change() -> None:
    # Europe/Berlin springs forward on 2026-03-29 (02:00 -> 03:00).
    items, _ = simulate("""
        [core]
        timezone = "Europe/Berlin"
        [[plugins.custom.nudges]]
        id = "morning"
        title = "Good morning"
        at = ["08:00"]
    """, start="2026-03-28 00:00", days=2)
    ats = [i.at for i in items if i.shown]
    assert [a.strftime("%a %H:%M %z") for a in ats] == ["Sat 08:00 +0100", "Sun 08:00 +0200"]
    assert ats[1].astimezone(UTC) - ats[0].astimezone(UTC) == timedelta(hours=23)


class Recorder:
    """A plugin that observes everything and filters one nudge, as authors would."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.responses: list[tuple[str, Response]] = []

    def nudged_register_nudges(self, register) -> None:  # type: ignore[no-untyped-def]
        register(NudgeSpec("ping", "Ping", "", schedule=Every(timedelta(hours=1))))
        register(NudgeSpec("manual", "Manual", "", schedule=Manual()))

    def nudged_filter_nudge(self, nudge, now):  # type: ignore[no-untyped-def]
        if nudge.spec.id == "ping" and now.hour == 3:
            return Decision.suppress("nobody needs a ping at 3am")
        return None

    def nudged_on_nudge_shown(self, nudge, ctx) -> None:  # type: ignore[no-untyped-def]
        self.shown.append(nudge.key)
        if nudge.spec.id == "ping" and len(self.shown) == 2:
            ctx.fire("manual", title="Fired by hand")

    def nudged_on_response(self, nudge, response) -> None:  # type: ignore[no-untyped-def]
        self.responses.append((nudge.key, response))


def test_plugins_see_nudges_shown_and_answers_and_can_fire_their_own() -> None:
    plugin = Recorder()
    items, runtime = simulate('[core]\ntimezone = "UTC"\n',
                              start="2026-03-02 00:00", days=0.25, present=["00:00-23:59"],
                              plugins={"recorder": plugin}, builtins=False)
    assert runtime.host.records["recorder"].status.value == "ok"
    assert shown(items) == [("Mon 01:00", "recorder:ping"), ("Mon 02:00", "recorder:ping"),
                            ("Mon 02:00", "recorder:manual"), ("Mon 04:00", "recorder:ping"),
                            ("Mon 05:00", "recorder:ping"),
                            ("Mon 06:00", "recorder:ping")]
    assert items[2].nudge.shown_title == "Fired by hand"
    suppressed = [i for i in items if not i.shown]
    assert [i.why for i in suppressed] == [["03:00 suppressed by recorder: nobody needs a ping "
                                            "at 3am"]]
    assert plugin.responses[0] == ("recorder:ping", Response.DONE)
    assert len(plugin.responses) == 5
