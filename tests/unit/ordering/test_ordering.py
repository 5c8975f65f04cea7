"""The ordering rules every part applies: quantities and the order windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.kernel import clock
from domain.ordering import (
    CATALOG_WINDOW_MESSAGES,
    MAX_QUANTITY,
    WINDOW_MESSAGES,
    OrderingError,
    catalog_window_state,
    parse_delta,
    parse_quantity,
    window_state,
)

OPENS = datetime(2026, 3, 22, 18, 0, tzinfo=UTC)
CLOSES = datetime(2026, 3, 28, 18, 0, tzinfo=UTC)


def dist(**extra) -> dict:
    return {"orders_open_at": OPENS, "orders_close_at": CLOSES, "cancelled_at": None} | extra


@pytest.mark.parametrize(
    ("value", "quantity"),
    [("3", 3), (" 12 ", 12), ("", 0), ("  ", 0), (0, 0), (7, 7), ("9999", 9999)],
)
def test_parse_quantity_reads_whole_numbers(value, quantity):
    assert parse_quantity(value) == quantity


@pytest.mark.parametrize("value", ["-1", "1,5", "2.0", "abc", "1e3", -1])
def test_parse_quantity_refuses_what_is_not_a_whole_number(value):
    with pytest.raises(OrderingError, match="nombre entier positif ou zéro"):
        parse_quantity(value)


@pytest.mark.parametrize("value", ["10000", MAX_QUANTITY + 1, "9" * 50])
def test_parse_quantity_refuses_above_the_maximum(value):
    with pytest.raises(OrderingError, match="ne peut pas dépasser 9999"):
        parse_quantity(value)


def test_parse_quantity_refuses_a_superscript_digit_with_a_message():
    with pytest.raises(OrderingError):
        parse_quantity("²")


@pytest.mark.parametrize("value", ["１２", "٣"])
def test_parse_quantity_reads_ascii_digits_only(value):
    with pytest.raises(OrderingError):
        parse_quantity(value)


@pytest.mark.parametrize(
    ("value", "delta"), [("1", 1), ("-1", -1), ("+1", 1), (" -1 ", -1), (-1, -1), ("9999", 9999)]
)
def test_parse_delta_reads_a_tap(value, delta):
    assert parse_delta(value) == delta


@pytest.mark.parametrize("value", ["", "un", "--1", "1.5", "- 1", "10000", "-10000", "²", True])
def test_parse_delta_refuses_what_no_tap_sends(value):
    with pytest.raises(OrderingError, match="Changement de quantité invalide"):
        parse_delta(value)


@pytest.mark.parametrize(
    ("moment", "state"),
    [
        (OPENS - timedelta(seconds=1), "not_open"),
        (OPENS, "open"),
        (CLOSES - timedelta(seconds=1), "open"),
        (CLOSES, "closed"),
        (CLOSES + timedelta(days=30), "closed"),
    ],
)
def test_window_state_at_a_given_moment(moment, state):
    assert window_state(dist(), moment) == state


def test_a_cancelled_distribution_is_cancelled_at_any_moment():
    cancelled = dist(cancelled_at=OPENS)
    for moment in (OPENS - timedelta(days=1), OPENS, CLOSES + timedelta(days=1)):
        assert window_state(cancelled, moment) == "cancelled"


def test_a_validated_distribution_refuses_changes_while_the_window_is_open():
    validated = dist(validated_at=OPENS + timedelta(days=1))
    assert window_state(validated, OPENS + timedelta(days=2)) == "validated"
    assert window_state(validated, CLOSES) == "closed"
    assert window_state(validated, OPENS - timedelta(days=1)) == "not_open"
    assert window_state(dist(validated_at=None), OPENS) == "open"


def test_window_state_defaults_to_the_domains_clock():
    with clock.frozen(OPENS - timedelta(minutes=1)):
        assert window_state(dist()) == "not_open"
    with clock.frozen(OPENS + timedelta(minutes=1)):
        assert window_state(dist()) == "open"


def test_every_refusing_state_has_a_french_message():
    assert set(WINDOW_MESSAGES) == {"not_open", "closed", "cancelled", "validated"}
    assert set(CATALOG_WINDOW_MESSAGES) == {"not_open", "closed"}


def test_catalog_window_state_with_its_own_dates():
    link = {"orders_open_at": OPENS, "orders_close_at": CLOSES}
    assert catalog_window_state(link, OPENS - timedelta(seconds=1)) == "not_open"
    assert catalog_window_state(link, OPENS) == "open"
    assert catalog_window_state(link, CLOSES) == "closed"


def test_catalog_window_state_without_dates_follows_the_distribution():
    free = {"orders_open_at": None, "orders_close_at": None}
    assert catalog_window_state(free, OPENS - timedelta(days=365)) == "open"
    only_close = {"orders_open_at": None, "orders_close_at": CLOSES}
    assert catalog_window_state(only_close, OPENS - timedelta(days=365)) == "open"
    assert catalog_window_state(only_close, CLOSES) == "closed"
    only_open = {"orders_open_at": OPENS, "orders_close_at": None}
    assert catalog_window_state(only_open, CLOSES + timedelta(days=365)) == "open"
