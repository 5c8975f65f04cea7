"""The distribution form: dates and times as the browser sends them, Paris time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from domain.distributions import (
    DEFAULT_CLOSE_BEFORE,
    DEFAULT_OPEN_BEFORE,
    DistributionForm,
    _check_window,
    _parse_date,
    _parse_moment,
    _parse_time,
)


def form(**changes) -> DistributionForm:
    fields = {"place_id": "3", "day": "2026-03-29", "start": "18:00", "end": "19:30"} | changes
    return DistributionForm(group_id=1, **fields)


def test_parse_date():
    errors: dict[str, str] = {}
    assert _parse_date(" 2026-03-29 ", "day", errors) == date(2026, 3, 29)
    assert errors == {}
    for bad in ("", "29/03/2026", "2026-02-30", "demain"):
        errors.clear()
        assert _parse_date(bad, "day", errors) is None
        assert errors == {"day": "Indiquez une date valide (jj/mm/aaaa)."}


def test_parse_time():
    errors: dict[str, str] = {}
    assert _parse_time("18:30", "start", errors) == time(18, 30)
    assert _parse_time("07:05:00", "start", errors) == time(7, 5)
    assert errors == {}
    for bad in ("", "25:00", "18h30", "midi"):
        errors.clear()
        assert _parse_time(bad, "start", errors) is None
        assert errors == {"start": "Indiquez une heure valide (hh:mm)."}


def test_parse_moment_is_paris_time_stored_in_utc():
    errors: dict[str, str] = {}
    assert _parse_moment("2026-03-28T12:00", "opens", errors) == datetime(
        2026, 3, 28, 11, 0, tzinfo=UTC
    )
    assert _parse_moment("2026-03-30T12:00", "opens", errors) == datetime(
        2026, 3, 30, 10, 0, tzinfo=UTC
    )
    assert _parse_moment("  ", "opens", errors) is None
    assert errors == {}
    assert _parse_moment("2026-13-01T12:00", "opens", errors) is None
    assert errors == {"opens": "Indiquez une date et une heure valides."}


def test_a_good_form_and_its_default_order_window():
    f = form()
    assert f.errors == {}
    assert (f.place_id, f.day, f.start, f.end) == (3, date(2026, 3, 29), time(18), time(19, 30))
    m = f.moments(f.day)
    # 29 March 2026 is the first day of summer time: 18:00 in Paris is 16:00 UTC.
    assert m["starts_at"] == datetime(2026, 3, 29, 16, 0, tzinfo=UTC)
    assert m["ends_at"] == datetime(2026, 3, 29, 17, 30, tzinfo=UTC)
    assert m["opens"] == m["starts_at"] - DEFAULT_OPEN_BEFORE
    assert m["closes"] == m["starts_at"] - DEFAULT_CLOSE_BEFORE
    assert m["closes"] == datetime(2026, 3, 28, 16, 0, tzinfo=UTC)  # not 17:00: before the change


def test_given_order_dates_win():
    f = form(opens="2026-03-20T08:00", closes="2026-03-27T20:00")
    m = f.moments(f.day)
    assert m["opens"] == datetime(2026, 3, 20, 7, 0, tzinfo=UTC)
    assert m["closes"] == datetime(2026, 3, 27, 19, 0, tzinfo=UTC)


def test_every_field_has_its_error():
    f = form(place_id="", day="x", start="y", end="z", opens="bad", closes="bad")
    assert set(f.errors) == {"place_id", "day", "start", "end", "opens", "closes"}
    assert f.errors["place_id"] == "Choisissez un lieu."


@pytest.mark.parametrize("end", ["18:00", "17:59"])
def test_the_end_must_follow_the_start(end):
    assert form(end=end).errors == {"end": "L'heure de fin doit être après l'heure de début."}


def test_the_order_window_is_checked():
    m = form().moments(date(2026, 3, 29))
    errors: dict[str, str] = {}
    _check_window(m, errors)
    assert errors == {}
    _check_window(m | {"closes": m["opens"]}, errors)
    assert errors == {"closes": "La fermeture des commandes doit être après leur ouverture."}
    errors.clear()
    _check_window(m | {"closes": m["starts_at"] + timedelta(minutes=1)}, errors)
    assert errors == {"closes": "Les commandes doivent fermer avant le début de la distribution."}


def test_a_superscript_place_id_is_refused_with_a_message():
    assert form(place_id="²").errors == {"place_id": "Choisissez un lieu."}


@pytest.mark.parametrize("place_id", [str(2**31), "٣"])
def test_a_place_id_that_names_no_row_is_refused(place_id):
    assert form(place_id=place_id).place_id is None
