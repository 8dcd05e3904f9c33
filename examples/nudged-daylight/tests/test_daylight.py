"""The daylight plugin through simulated days, with nudged's own test helpers."""

from nudged_daylight import DaylightPlugin

from nudged.testing import AtScreen, press

CONFIG = """
[core]
timezone = "Europe/Berlin"

[plugins.daylight]
"""


def daylight(nudged_simulate, config=CONFIG, **kwargs):
    """Simulated days with only the daylight plugin (Monday 2 March 2026 onwards)."""
    return nudged_simulate(config, plugins={"daylight": DaylightPlugin()}, builtins=False,
                           **kwargs)


def test_a_morning_at_the_screen_earns_a_suggestion_at_one(nudged_simulate):
    sim = daylight(nudged_simulate, present=["08:00-18:00"])
    assert sim.shown() == [("Mon 13:00", "daylight:outside")]
    (seen,) = sim.seen()
    assert seen.title == "Some daylight?"
    assert seen.buttons == ("Going out", "Snooze 10 min", "Not today")
    assert sim.status("daylight") == ("ok", "")


def test_a_morning_mostly_away_earns_nothing(nudged_simulate):
    sim = daylight(nudged_simulate, present=["11:00-18:00"])  # one hour of four
    assert sim.shown() == []
    (morning,) = sim.journal("daylight", "morning")
    assert morning.data == {"minutes": 60, "earned": False}


def test_short_breaks_in_the_morning_still_count_as_a_morning_at_the_screen(nudged_simulate):
    sim = daylight(nudged_simulate, activity=[
        AtScreen("08:30", "10:15", "code", "report.py"),
        AtScreen("10:30", "12:00", "firefox", "Mail"),
        AtScreen("12:50", "15:00", "code", "report.py"),
    ])
    assert sim.shown() == [("Mon 13:00", "daylight:outside")]
    assert sim.journal("daylight", "morning")[0].data == {"minutes": 195, "earned": True}


def test_once_a_day_whatever_the_answer(nudged_simulate):
    sim = daylight(nudged_simulate, days=3, present=["08:00-18:00"], respond="skip")
    assert [when for when, _ in sim.shown()] == ["Mon 13:00", "Tue 13:00", "Wed 13:00"]


def test_out_for_lunch_at_one_it_waits_until_the_person_is_back(nudged_simulate):
    sim = daylight(nudged_simulate, present=["08:00-12:00", "14:30-18:00"])
    assert sim.shown() == [("Mon 14:30", "daylight:outside")]


def test_no_suggestion_once_the_light_is_going(nudged_simulate):
    sim = daylight(nudged_simulate, present=["08:00-12:00", "17:30-20:00"])
    assert sim.shown() == []
    ((when, _, why),) = sim.not_shown()
    assert when == "Mon 17:00"
    assert why == ["13:00 held by presence: the person is away",
                   "17:00 suppressed by nudged: stale: due 4h00m ago"]


def test_a_suggestion_snoozed_again_and_again_stops_at_before(nudged_simulate):
    sim = daylight(nudged_simulate, present=["08:00-18:00"], respond="snooze")
    times = [when for when, _ in sim.shown()]
    assert times[:3] == ["Mon 13:00", "Mon 13:11", "Mon 13:22"]
    assert max(times) < "Mon 17:00"
    when, _, why = sim.not_shown()[-1]
    assert when == "Mon 17:00"
    assert why[-1] == "17:00 suppressed by daylight: only between 13:00 and 17:00"


def test_going_out_is_journaled_and_shown_in_the_status(nudged_simulate):
    sim = daylight(nudged_simulate, days=0.75, present=["08:00-18:00"],
                   respond=press("snooze", "done"))
    assert [seen.response for seen in sim.seen()] == ["snooze", "done"]
    (went_out,) = sim.journal("daylight", "outside")
    assert went_out.at.strftime("%H:%M") == "13:12"
    assert sim.facts("daylight") == {"morning_at_the_screen": "4h", "suggested": True}


def test_started_in_the_middle_of_the_morning_it_counts_what_it_saw(nudged_simulate):
    # nudged starts at 10:00: two hours of the morning are half of it, not enough.
    sim = daylight(nudged_simulate, start="2026-03-02 10:00", days=2, present=["08:00-18:00"])
    assert sim.shown() == [("Tue 13:00", "daylight:outside")]


def test_weekday_mornings_only(nudged_simulate):
    config = CONFIG + 'morning = "mon-fri 08:30-12:30"\nafter = "14:00"\n'
    sim = daylight(nudged_simulate, config, days=7, present=["08:00-18:00"])
    assert [when for when, _ in sim.shown()] == [
        "Mon 14:00", "Tue 14:00", "Wed 14:00", "Thu 14:00", "Fri 14:00"]


def test_the_config_is_checked_key_by_key(nudged_load_plugins):
    plugins = nudged_load_plugins(CONFIG + 'after = "11:30"\npresent_at_least = 1.5\n',
                                  plugins={"daylight": DaylightPlugin()}, builtins=False)
    assert plugins.status("daylight")[0] == "config-error"
    assert plugins.problems == [
        "config.toml:7: plugins.daylight.present_at_least: "
        "1.5: input should be less than or equal to 1",
        'config.toml:6: plugins.daylight.after: "11:30" is before the morning ends (12:00); '
        "make it 12:00 or later",
    ]


def test_nudged_finds_the_installed_plugin(nudged_load_plugins):
    # Needs `pip install -e .`: nudged finds the plugin through its entry point.
    plugins = nudged_load_plugins(CONFIG + 'before = "18:30"\n')
    assert plugins.status("daylight") == ("ok", "")
    assert plugins.config("daylight").before.hour == 18
