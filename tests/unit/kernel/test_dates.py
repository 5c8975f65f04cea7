"""Dates in Paris time, whatever the zone of the datetime given, across the DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from domain.kernel.dates import (
    day_label,
    format_moment,
    label,
    long_date,
    paris_datetime,
    paris_day,
    paris_midnight,
    short_date,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_label_in_winter_and_summer_time():
    assert label(utc(2026, 1, 6, 18, 0)) == "mardi 6 janvier à 19:00"  # UTC+1
    assert label(utc(2026, 4, 7, 17, 0)) == "mardi 7 avril à 19:00"  # UTC+2


def test_spring_forward_2026_03_29():
    # 01:00 UTC: Paris jumps from 02:00 (UTC+1) to 03:00 (UTC+2).
    assert short_date(utc(2026, 3, 29, 0, 59)) == "29/03/2026 01:59"
    assert short_date(utc(2026, 3, 29, 1, 0)) == "29/03/2026 03:00"
    assert label(utc(2026, 3, 29, 1, 30)) == "dimanche 29 mars à 03:30"


def test_fall_back_2026_10_25():
    # 01:00 UTC: Paris goes back from 03:00 (UTC+2) to 02:00 (UTC+1); 02:30 happens twice.
    assert short_date(utc(2026, 10, 25, 0, 30)) == "25/10/2026 02:30"
    assert short_date(utc(2026, 10, 25, 1, 30)) == "25/10/2026 02:30"
    assert long_date(utc(2026, 10, 25, 2, 0)) == "25 octobre 2026 à 03:00"


def test_the_paris_day_may_differ_from_the_utc_day():
    late = utc(2026, 12, 31, 23, 30)
    assert paris_day(late) == date(2027, 1, 1)
    assert long_date(late) == "1 janvier 2027 à 00:30"
    assert short_date(late) == "01/01/2027 00:30"


def test_a_datetime_in_another_zone_is_shown_in_paris_time():
    new_york = timezone(timedelta(hours=-5))
    assert short_date(datetime(2026, 1, 6, 13, 0, tzinfo=new_york)) == "06/01/2026 19:00"


def test_day_label_has_no_time():
    assert day_label(date(2026, 4, 7)) == "mardi 7 avril 2026"
    assert day_label(date(2026, 8, 15)) == "samedi 15 août 2026"
    assert day_label(date(2026, 2, 1)) == "dimanche 1 février 2026"


def test_paris_wall_clock_to_utc_on_both_sides_of_the_change():
    assert paris_datetime(date(2026, 3, 28), time(19, 0)) == utc(2026, 3, 28, 18, 0)
    assert paris_datetime(date(2026, 3, 29), time(19, 0)) == utc(2026, 3, 29, 17, 0)
    assert paris_midnight(date(2026, 10, 25)) == utc(2026, 10, 24, 22, 0)
    assert paris_midnight(date(2026, 10, 26)) == utc(2026, 10, 25, 23, 0)


@pytest.mark.parametrize(
    ("style", "text"),
    [
        ("label", "dimanche 29 mars à 19:00"),
        ("long", "29 mars 2026 à 19:00"),
        ("short", "29/03/2026 19:00"),
        ("time", "19:00"),
        ("day", "29/03/2026"),
        ("input", "2026-03-29T19:00"),
    ],
)
def test_format_moment_styles(style, text):
    assert format_moment(utc(2026, 3, 29, 17, 0), style) == text


def test_format_moment_of_a_day_or_nothing():
    assert format_moment(None) == ""
    assert format_moment(None, "short") == ""
    assert format_moment(date(2026, 4, 7)) == "mardi 7 avril 2026"
    assert format_moment(date(2026, 4, 7), "short") == "07/04/2026"


def test_format_moment_refuses_an_unknown_style():
    with pytest.raises(KeyError):
        format_moment(utc(2026, 3, 29, 17, 0), "roman")
