"""Amounts as people type them (parse_euros) and as the pages and files write them."""

from __future__ import annotations

import pytest

from domain.kernel.money import decimal, euros, parse_euros

NNBSP = "\u202f"  # narrow no-break space: thousands
NBSP = "\u00a0"  # no-break space: before €


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("12,50", 1250),
        ("12.5", 1250),
        ("12", 1200),
        ("12 €", 1200),
        ("12€", 1200),
        (f"12,50{NBSP}€", 1250),
        ("  3,05  ", 305),
        ("0", 0),
        ("0,01", 1),
        ("1 234,56", 123456),
        (f"1{NBSP}234,56", 123456),
        ("9999999,99", 999999999),
    ],
)
def test_parse_euros_reads_french_forms(typed, cents):
    assert parse_euros(typed) == cents


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "€",
        "abc",
        "12,345",  # three decimals: not cents
        "-3",
        "+3",
        "²",
        "１２",  # full-width digits
        "٣",  # Arabic-Indic digit
        "1" * 99,
        "10000000",  # eight digits of euros: above the maximum
        "12,5,0",
        "12.5.0",
        ",50",
        "12,",
        "1e3",
    ],
)
def test_parse_euros_refuses_what_is_not_an_amount(typed):
    assert parse_euros(typed) is None


def test_parse_euros_reads_back_what_euros_writes():
    assert parse_euros(euros(123456)) == 123456


def test_euros_writes_cents_with_french_separators():
    assert euros(1250) == f"12,50{NBSP}€"
    assert euros(0) == f"0,00{NBSP}€"
    assert euros(5) == f"0,05{NBSP}€"
    assert euros(123456789) == f"1{NNBSP}234{NNBSP}567,89{NBSP}€"


def test_euros_of_a_negative_amount_keeps_its_sign():
    assert euros(-123456) == f"-1{NNBSP}234,56{NBSP}€"
    assert euros(-5) == f"-0,05{NBSP}€"


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (1234, "12,34"),
        (0, "0,00"),
        (5, "0,05"),
        (-5, "-0,05"),
        (-1234, "-12,34"),
        (123456, "1234,56"),
    ],
)
def test_decimal_is_a_spreadsheet_number_without_thousands(cents, text):
    assert decimal(cents) == text


def test_decimal_reads_back_through_parse_euros():
    for cents in (0, 1, 99, 100, 350, 123456, 999999999):
        assert parse_euros(decimal(cents)) == cents
