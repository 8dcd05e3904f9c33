"""A person writes their own nudges in config and protects their lunch break."""

from __future__ import annotations

from helpers import shown, simulate

WATER = """
[core]
timezone = "Europe/Berlin"

[[plugins.custom.nudges]]
id = "water"
title = "A glass of water?"
body = "A few sips now."
every = "2h"
window = "mon-fri 09:00-18:00"
"""


def test_every_inside_a_window_fires_from_the_window_start_on_weekdays_only() -> None:
    # 2026-03-06 is a Friday: the weekend brings no water nudges.
    items, _ = simulate(WATER, start="2026-03-06 00:00", days=3)
    assert shown(items) == [
        ("Fri 11:00", "custom:water"),
        ("Fri 13:00", "custom:water"),
        ("Fri 15:00", "custom:water"),
        ("Fri 17:00", "custom:water"),
    ]


def test_fixed_times_on_chosen_days() -> None:
    items, _ = simulate("""
        [core]
        timezone = "Europe/Berlin"
        [[plugins.custom.nudges]]
        id = "call"
        title = "Message a friend?"
        at = ["18:30", "10:00"]
        days = "sat,sun"
    """, start="2026-03-06 00:00", days=3)
    assert shown(items) == [("Sat 10:00", "custom:call"), ("Sat 18:30", "custom:call"),
                            ("Sun 10:00", "custom:call"), ("Sun 18:30", "custom:call")]


def test_quiet_hours_defer_a_nudge_to_their_end_instead_of_dropping_it() -> None:
    items, _ = simulate(WATER + """
        [plugins.quiet]
        hours = ["12:30-13:15"]
    """.replace("\n        ", "\n"), days=1)
    assert ("Mon 13:15", "custom:water") in shown(items)
    assert ("Mon 13:00", "custom:water") not in shown(items)
    deferred = next(i for i in items if i.at.strftime("%H:%M") == "13:15")
    assert deferred.why == ["13:00 deferred by quiet until 13:15: quiet hours 12:30-13:15"]


def test_a_late_nudge_held_by_overnight_quiet_hours_is_stale_by_morning() -> None:
    items, _ = simulate("""
        [core]
        timezone = "Europe/Berlin"
        [plugins.quiet]
        hours = ["22:00-07:00"]
        [[plugins.custom.nudges]]
        id = "stretch"
        title = "Stretch"
        at = ["22:30"]
    """, days=2, present=["00:00-23:59"])
    # Deferred to 07:00, but by then it is 8.5 hours late: not shown at breakfast.
    assert shown(items) == []
    assert [i.why for i in items] == [[
        "22:30 deferred by quiet until 07:00: quiet hours 22:00-07:00",
        "07:00 suppressed by nudged: stale: due 8h30m ago",
    ]]


def test_a_deferred_nudge_and_its_next_occurrence_coalesce_into_one() -> None:
    items, _ = simulate("""
        [core]
        timezone = "Europe/Berlin"
        [plugins.quiet]
        hours = ["12:00-14:00"]
        [[plugins.custom.nudges]]
        id = "stretch"
        title = "Stretch"
        every = "50m"
        window = "11:00-15:30"
    """, days=1)
    # 12:40 and 13:30 come due in quiet hours: one stretch nudge at 14:00, not two.
    assert shown(items) == [("Mon 11:50", "custom:stretch"), ("Mon 14:00", "custom:stretch"),
                            ("Mon 14:20", "custom:stretch"), ("Mon 15:10", "custom:stretch")]
    assert items[1].why == ["12:40 deferred by quiet until 14:00: quiet hours 12:00-14:00",
                            "13:30 deferred by quiet until 14:00: quiet hours 12:00-14:00"]


def test_a_nudge_can_opt_out_of_quiet_hours() -> None:
    items, _ = simulate("""
        [core]
        timezone = "Europe/Berlin"
        [plugins.quiet]
        hours = ["21:00-23:59"]
        [[plugins.custom.nudges]]
        id = "bed"
        title = "Wind down"
        at = ["22:00"]
        quiet_hours_apply = false
    """, days=1)
    assert shown(items) == [("Mon 22:00", "custom:bed")]


def test_nothing_is_shown_while_the_person_is_away_and_held_nudges_come_when_back() -> None:
    items, _ = simulate(WATER, days=1, present=["08:00-12:30", "13:15-16:00"])
    # 13:00 came due during lunch away from the screen: shown when they are back.
    # 17:00 came due after they left for the day: an hour later it is stale, so it is
    # not shown in the evening or the next morning.
    assert shown(items) == [("Mon 11:00", "custom:water"), ("Mon 13:15", "custom:water"),
                            ("Mon 15:00", "custom:water")]


def test_enabled_false_turns_a_plugin_off() -> None:
    items, runtime = simulate(WATER.replace("[[plugins.custom.nudges]]",
                                            "[plugins.custom]\nenabled = false\n\n"
                                            "[[plugins.custom.nudges]]"), days=1)
    assert shown(items) == []
    assert runtime.host.records["custom"].status.value == "disabled"
    assert runtime.host.records["custom"].reason == "enabled = false in the config"
