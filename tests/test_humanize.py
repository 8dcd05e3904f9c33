"""The human values a person writes in config.toml, read the way they meant them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from nudged.humanize import (
    DAY_NAMES,
    DaySet,
    Duration,
    HumanValueError,
    TimeOfDay,
    TimeWindow,
    Window,
    format_days,
    format_duration,
    format_time,
    parse_days,
    parse_duration,
    parse_time,
    parse_window,
)

# A week in January 2025 that starts on a Monday, so weekdays are easy to read.
MON, TUE, WED, THU, FRI, SAT, SUN = (datetime(2025, 1, 6 + i) for i in range(7))
PREV_FRI = FRI - timedelta(days=7)
assert MON.weekday() == 0 and FRI.weekday() == 4


def at(day: datetime, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return day.replace(hour=hour, minute=minute)


def message(excinfo: pytest.ExceptionInfo[HumanValueError]) -> str:
    return str(excinfo.value)


# ----------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("90s", timedelta(seconds=90)),
        ("50m", timedelta(minutes=50)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        (".5m", timedelta(seconds=30)),
        ("0s", timedelta(0)),
        ("5 minutes", timedelta(minutes=5)),
        ("1 hour 30 mins", timedelta(hours=1, minutes=30)),
        ("1 hour, 30 minutes", timedelta(hours=1, minutes=30)),
        ("10 Seconds", timedelta(seconds=10)),
        ("2 WEEKS", timedelta(weeks=2)),
        ("3 days", timedelta(days=3)),
        ("1 sec", timedelta(seconds=1)),
        ("  20m  ", timedelta(minutes=20)),
        ("1.1h", timedelta(seconds=3960)),
    ],
)
def test_a_person_writes_a_duration_the_way_they_would_say_it(
    written: str, meant: timedelta
) -> None:
    assert parse_duration(written) == meant


def test_a_misspelled_unit_gets_the_short_form_as_a_suggestion() -> None:
    with pytest.raises(HumanValueError) as excinfo:
        parse_duration("5 minuts")
    assert message(excinfo) == '"5 minuts" is not a duration (try "5m")'


def test_a_misspelled_unit_in_a_longer_duration_suggests_the_whole_value() -> None:
    with pytest.raises(HumanValueError, match=r'\(try "1h30m"\)'):
        parse_duration("1 hour 30 minuts")
    with pytest.raises(HumanValueError, match=r'\(try "5h"\)'):
        parse_duration("5hrs")


def test_a_bare_number_is_ambiguous_and_the_hint_says_so() -> None:
    with pytest.raises(HumanValueError) as excinfo:
        parse_duration("10")
    assert message(excinfo) == '"10" is not a duration (a number needs a unit: try "10m")'


def test_a_forgotten_last_unit_is_guessed_from_the_unit_before_it() -> None:
    with pytest.raises(HumanValueError, match=r'a number needs a unit: try "1h30m"'):
        parse_duration("1h30")


def test_nonsense_gets_examples() -> None:
    for written in ("soon", "", "1:30", "h"):
        with pytest.raises(HumanValueError) as excinfo:
            parse_duration(written)
        assert message(excinfo).endswith('(for example "90s", "50m", "1h30m", "7d")')


def test_a_negative_duration_is_refused() -> None:
    with pytest.raises(HumanValueError) as excinfo:
        parse_duration("-5m")
    assert message(excinfo) == '"-5m" is not a duration (a duration cannot be negative: try "5m")'


def test_milliseconds_and_months_are_not_mistaken_for_minutes() -> None:
    with pytest.raises(HumanValueError) as excinfo:
        parse_duration("500ms")
    assert 'try "500m"' not in message(excinfo)
    with pytest.raises(HumanValueError, match="months and years vary in length") as excinfo:
        parse_duration("3 months")
    assert 'try "3m"' not in message(excinfo)


def test_an_absurdly_long_duration_is_an_error_not_a_crash() -> None:
    with pytest.raises(HumanValueError, match="far too long"):
        parse_duration("99999999999999999999d")


@pytest.mark.parametrize(
    ("td", "written"),
    [
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(minutes=50), "50m"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(0), "0s"),
        (timedelta(days=7), "1w"),
        (timedelta(days=14), "2w"),
        (timedelta(days=10), "10d"),
        (timedelta(days=1, seconds=1), "1d1s"),
        (timedelta(seconds=1, milliseconds=500), "1.5s"),
    ],
)
def test_durations_are_written_back_compactly(td: timedelta, written: str) -> None:
    assert format_duration(td) == written
    assert parse_duration(written) == td


def test_a_negative_duration_has_no_text_form() -> None:
    with pytest.raises(ValueError):
        format_duration(timedelta(seconds=-1))


@given(st.integers(min_value=0, max_value=400 * 86400))
def test_every_whole_second_duration_survives_a_round_trip(seconds: int) -> None:
    td = timedelta(seconds=seconds)
    assert parse_duration(format_duration(td)) == td


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)))
def test_even_microseconds_survive_a_round_trip(td: timedelta) -> None:
    assert parse_duration(format_duration(td)) == td


# ------------------------------------------------------------------------- times of day


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("22:30", time(22, 30)),
        ("7:05", time(7, 5)),
        ("00:00", time(0, 0)),
        (" 23:59 ", time(23, 59)),
    ],
)
def test_a_person_writes_a_24_hour_time(written: str, meant: time) -> None:
    assert parse_time(written) == meant
    assert parse_time(format_time(meant)) == meant


@pytest.mark.parametrize("written", ["24:00", "25:00", "22.30", "10pm", "22:60", "22:30:00", ""])
def test_other_ways_of_writing_a_time_are_pointed_out(written: str) -> None:
    with pytest.raises(HumanValueError) as excinfo:
        parse_time(written)
    assert message(excinfo) == (
        f'"{written}" is not a time of day (use 24-hour "HH:MM", for example "22:30")'
    )


def test_times_are_written_with_two_digit_hours() -> None:
    assert format_time(time(7, 5)) == "07:05"


# --------------------------------------------------------------------------------- days


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("sat,sun", {5, 6}),
        ("mon-sun", set(range(7))),
        ("daily", set(range(7))),
        ("every day", set(range(7))),
        ("Every  Day", set(range(7))),
        ("all", set(range(7))),
        ("weekdays", {0, 1, 2, 3, 4}),
        ("weekends", {5, 6}),
        ("fri-mon", {4, 5, 6, 0}),
        ("monday", {0}),
        ("Tuesday, Thursday", {1, 3}),
        ("thurs", {3}),
        ("mon,wed-fri", {0, 2, 3, 4}),
        (" Mon - Wed , Sat ", {0, 1, 2, 5}),
        ("weekends,mon", {5, 6, 0}),
        ("wed-wed", {2}),
    ],
)
def test_a_person_names_the_days_they_mean(written: str, meant: set[int]) -> None:
    assert parse_days(written) == frozenset(meant)


def test_day_names_are_monday_first() -> None:
    assert DAY_NAMES == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def test_a_misspelled_day_gets_a_did_you_mean() -> None:
    with pytest.raises(HumanValueError) as excinfo:
        parse_days("mon-fir")
    assert message(excinfo) == (
        '"mon-fir" is not a set of days (did you mean "mon-fri"? '
        'write days like "mon-fri", "sat,sun" or "daily")'
    )


@pytest.mark.parametrize(
    ("written", "suggestion"),
    [("wendsday", "wednesday"), ("wekdays", "weekdays"), ("mon fri", "mon,fri"), ("mon,", "mon")],
)
def test_close_misses_are_corrected(written: str, suggestion: str) -> None:
    with pytest.raises(HumanValueError, match=f'did you mean "{suggestion}"'):
        parse_days(written)


def test_unknown_or_empty_days_get_an_example() -> None:
    with pytest.raises(HumanValueError) as excinfo:
        parse_days("xyz")
    assert message(excinfo) == (
        '"xyz" is not a set of days (unknown day "xyz"; '
        'write days like "mon-fri", "sat,sun" or "daily")'
    )
    with pytest.raises(HumanValueError) as excinfo:
        parse_days("  ")
    assert message(excinfo) == (
        '"  " is not a set of days (write days like "mon-fri", "sat,sun" or "daily")'
    )
    with pytest.raises(HumanValueError, match="write days like"):
        parse_days("mon-tue-wed")


@pytest.mark.parametrize(
    ("days", "written"),
    [
        ({0, 1, 2, 3, 4}, "mon-fri"),
        ({5, 6}, "sat,sun"),
        (set(range(7)), "mon-sun"),
        ({0, 2, 4}, "mon,wed,fri"),
        ({0, 2, 3, 4}, "mon,wed-fri"),
        ({4, 5, 6, 0}, "fri-mon"),
        ({6, 0}, "mon,sun"),
    ],
)
def test_day_sets_are_written_back_compactly(days: set[int], written: str) -> None:
    assert format_days(frozenset(days)) == written


def test_an_empty_day_set_has_no_text_form() -> None:
    with pytest.raises(ValueError):
        format_days(frozenset())


@given(st.frozensets(st.integers(min_value=0, max_value=6), min_size=1))
def test_every_day_set_survives_a_round_trip(days: frozenset[int]) -> None:
    assert parse_days(format_days(days)) == days


# ------------------------------------------------------------------------------ windows


def test_a_person_writes_a_window_with_or_without_days() -> None:
    assert parse_window("09:00-18:00") == Window(frozenset(range(7)), time(9), time(18))
    assert parse_window("mon-fri 09:00-18:00") == Window(frozenset(range(5)), time(9), time(18))
    assert parse_window("sat,sun 10:00-12:00") == Window(frozenset({5, 6}), time(10), time(12))
    assert parse_window("22:00-07:00") == Window(frozenset(range(7)), time(22), time(7))
    assert parse_window("Mon - Fri  9:00 - 18:00").days == frozenset(range(5))


@pytest.mark.parametrize(
    "written",
    ["09:00-18:00", "mon-fri 09:00-18:00", "sat,sun 10:00-12:00", "22:00-07:00", "fri 23:00-01:00"],
)
def test_a_window_is_written_back_as_it_was_written(written: str) -> None:
    assert str(parse_window(written)) == written


def test_window_mistakes_are_explained() -> None:
    with pytest.raises(HumanValueError) as excinfo:
        parse_window("09:00-09:00")
    assert "a window needs a length" in message(excinfo)
    with pytest.raises(HumanValueError) as excinfo:
        parse_window("mon-fri")
    assert message(excinfo) == (
        '"mon-fri" is not a time window (for example "mon-fri 09:00-18:00" or "22:00-07:00")'
    )
    with pytest.raises(HumanValueError) as excinfo:
        parse_window("mon-fri 10pm-6am")
    assert message(excinfo) == (
        '"mon-fri 10pm-6am" is not a time window: "10pm" is not a time of day '
        '(use 24-hour "HH:MM", for example "22:30")'
    )
    with pytest.raises(HumanValueError, match='did you mean "mon-fri"'):
        parse_window("mon-fir 09:00-18:00")


def test_a_window_built_in_code_also_needs_a_length_and_a_day() -> None:
    with pytest.raises(HumanValueError, match="a window needs a length"):
        Window(frozenset({0}), time(9), time(9))
    with pytest.raises(HumanValueError):
        Window(frozenset(), time(9), time(10))


def test_an_office_window_contains_office_hours_only_on_office_days() -> None:
    office = parse_window("mon-fri 09:00-18:00")
    assert office.contains(at(MON, "09:00"))
    assert office.contains(at(FRI, "17:59"))
    assert not office.contains(at(FRI, "18:00"))  # the end is outside
    assert not office.contains(at(MON, "08:59"))
    assert not office.contains(at(SAT, "12:00"))


def test_a_midnight_crossing_window_belongs_to_the_day_it_starts() -> None:
    friday_night = parse_window("fri 23:00-01:00")
    assert friday_night.contains(at(FRI, "23:30"))
    assert friday_night.contains(at(SAT, "00:30"))  # still Friday night
    assert not friday_night.contains(at(FRI, "00:30"))  # that is Thursday night
    assert not friday_night.contains(at(SAT, "23:30"))
    assert not friday_night.contains(at(SAT, "01:00"))


def test_a_window_that_ends_at_midnight_stops_there() -> None:
    evening = parse_window("sun 22:00-00:00")
    assert evening.contains(at(SUN, "23:59"))
    assert not evening.contains(at(SUN + timedelta(days=1), "00:00"))
    assert evening.end_of_occurrence(at(SUN, "22:00")) == at(SUN + timedelta(days=1), "00:00")


def test_an_aware_datetime_is_read_by_its_wall_clock() -> None:
    tz = timezone(timedelta(hours=-5))
    friday_night = parse_window("fri 23:00-01:00")
    saturday_early = at(SAT, "00:30").replace(tzinfo=tz)
    assert friday_night.contains(saturday_early)
    start, end = friday_night.occurrence_containing(saturday_early) or (None, None)
    assert start == at(FRI, "23:00").replace(tzinfo=tz)
    assert end == at(SAT, "01:00").replace(tzinfo=tz)
    assert start is not None and start.tzinfo is tz


def test_the_occurrence_around_a_moment_is_found() -> None:
    sleep = parse_window("22:00-07:00")
    assert sleep.occurrence_containing(at(TUE, "03:00")) == (at(MON, "22:00"), at(TUE, "07:00"))
    assert sleep.occurrence_containing(at(TUE, "22:00")) == (at(TUE, "22:00"), at(WED, "07:00"))
    assert sleep.occurrence_containing(at(TUE, "12:00")) is None
    assert sleep.end_of_occurrence(at(TUE, "03:00")) == at(TUE, "07:00")
    assert sleep.end_of_occurrence(at(TUE, "12:00")) is None


def test_the_next_start_is_strictly_later() -> None:
    office = parse_window("mon-fri 09:00-18:00")
    assert office.next_start(at(TUE, "08:00")) == at(TUE, "09:00")
    assert office.next_start(at(TUE, "09:00")) == at(WED, "09:00")  # strictly after
    assert office.next_start(at(TUE, "10:00")) == at(WED, "09:00")


def test_the_next_start_crosses_a_week_boundary() -> None:
    office = parse_window("mon-fri 09:00-18:00")
    next_monday = MON + timedelta(days=7)
    assert office.next_start(at(FRI, "10:00")) == at(next_monday, "09:00")
    assert office.next_start(at(SUN, "23:59")) == at(next_monday, "09:00")
    monday_only = parse_window("mon 09:00-10:00")
    assert monday_only.next_start(at(MON, "09:00")) == at(next_monday, "09:00")
    friday_night = parse_window("fri 23:00-01:00")
    assert friday_night.next_start(at(SAT, "00:30")) == at(FRI + timedelta(days=7), "23:00")
    assert friday_night.next_start(at(PREV_FRI, "23:30")) == at(FRI, "23:00")


def test_the_next_start_keeps_the_time_zone() -> None:
    tz = timezone(timedelta(hours=2))
    start = parse_window("sat,sun 10:00-12:00").next_start(at(FRI, "12:00").replace(tzinfo=tz))
    assert start == at(SAT, "10:00").replace(tzinfo=tz)
    assert start.tzinfo is tz


# ------------------------------------------------------------------------ pydantic types


class Reminder(BaseModel):
    every: Duration = timedelta(minutes=50)
    bedtime: TimeOfDay = time(22, 30)
    days: DaySet = frozenset(range(7))
    window: TimeWindow | None = None


def test_a_config_table_with_human_values_validates() -> None:
    reminder = Reminder.model_validate(
        {"every": "1h30m", "bedtime": "23:00", "days": "mon-fri", "window": "fri 23:00-01:00"}
    )
    assert reminder.every == timedelta(hours=1, minutes=30)
    assert reminder.bedtime == time(23, 0)
    assert reminder.days == frozenset(range(5))
    assert reminder.window == Window(frozenset({4}), time(23), time(1))


def test_values_already_in_python_form_are_accepted() -> None:
    window = parse_window("22:00-07:00")
    reminder = Reminder(
        every=timedelta(minutes=5), bedtime=time(23, 0), days=frozenset({1}), window=window
    )
    assert reminder.every == timedelta(minutes=5)
    assert reminder.window is window


def test_toml_native_times_and_day_lists_are_accepted() -> None:
    # TOML reads `bedtime = 23:00:00` (unquoted) as a time, and a person may list days.
    reminder = Reminder.model_validate({"bedtime": time(23, 0), "days": ["mon", "wed-fri"]})
    assert reminder.bedtime == time(23, 0)
    assert reminder.days == frozenset({0, 2, 3, 4})


def test_a_dump_prints_the_values_a_person_would_write() -> None:
    reminder = Reminder.model_validate(
        {"every": "90m", "bedtime": "7:05", "days": "sat,sun", "window": "mon-fri 09:00-18:00"}
    )
    dumped = reminder.model_dump(mode="json")
    assert dumped == {
        "every": "1h30m",
        "bedtime": "07:05",
        "days": "sat,sun",
        "window": "mon-fri 09:00-18:00",
    }
    assert Reminder.model_validate(dumped) == reminder


def only_error(excinfo: pytest.ExceptionInfo[ValidationError]) -> tuple[str, str]:
    (error,) = excinfo.value.errors()
    return str(error["loc"][0]), error["msg"]


@pytest.mark.parametrize(
    ("table", "key", "sentence"),
    [
        ({"every": "5 minuts"}, "every", '"5 minuts" is not a duration (try "5m")'),
        ({"every": 10}, "every", '10 is not a duration (a number needs a unit: try "10m")'),
        ({"every": -5}, "every", "-5 is not a duration (a duration cannot be negative)"),
        ({"every": timedelta(seconds=-1)}, "every", "a duration cannot be negative"),
        ({"every": True}, "every", "true is not a duration"),
        ({"bedtime": "10pm"}, "bedtime", '"10pm" is not a time of day (use 24-hour "HH:MM"'),
        ({"bedtime": time(22, 30, 15)}, "bedtime", '"22:30:15" is not a time of day'),
        ({"days": "mon-fir"}, "days", 'did you mean "mon-fri"?'),
        ({"days": []}, "days", "is not a set of days"),
        ({"days": [7]}, "days", "7 is not a day"),
        ({"window": "09:00-09:00"}, "window", "a window needs a length"),
        ({"window": 9}, "window", "9 is not a time window"),
    ],
)
def test_a_bad_value_in_a_model_carries_our_sentence(
    table: dict[str, object], key: str, sentence: str
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Reminder.model_validate(table)
    loc, msg = only_error(excinfo)
    assert loc == key
    assert msg.startswith("Value error, ")
    assert sentence in msg


# ---------------------------------------------------------------------- any text at all

PARSERS = [parse_duration, parse_time, parse_days, parse_window]


@pytest.mark.parametrize("parse", PARSERS, ids=lambda parse: parse.__name__)
@given(text=st.text())
def test_any_text_either_parses_or_raises_our_error(
    parse: Callable[[str], object], text: str
) -> None:
    try:
        parse(text)
    except HumanValueError as error:
        assert str(error).startswith('"')


OUR_WORDS = [*"0123456789:.,- hmsdwHMSDW", *DAY_NAMES, "day", "min", "daily", "weekdays"]


@pytest.mark.parametrize("parse", PARSERS, ids=lambda parse: parse.__name__)
@given(text=st.lists(st.sampled_from(OUR_WORDS), max_size=12).map("".join))
def test_text_made_of_our_own_words_never_crashes_either(
    parse: Callable[[str], object], text: str
) -> None:
    try:
        parse(text)
    except HumanValueError as error:
        assert " is not a " in str(error)


@given(
    days=st.frozensets(st.integers(min_value=0, max_value=6), min_size=1),
    start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    end=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
)
def test_every_window_survives_a_round_trip(days: frozenset[int], start: time, end: time) -> None:
    if start == end:
        return
    window = Window(days, start, end)
    assert parse_window(str(window)) == window
