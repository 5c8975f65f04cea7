"""Form values: ASCII digits only, bounded, the same reading everywhere."""

from __future__ import annotations

import pytest

from domain.kernel import forms
from domain.kernel.forms import MAX_ID, an_id, ids, page_number, parse_whole, prefixed, whole


@pytest.mark.parametrize(
    ("value", "number"),
    [("0", 0), ("42", 42), (" 7 ", 7), ("007", 7), (12, 12), (0, 0), ("999999999", 999_999_999)],
)
def test_whole_reads_ascii_digits(value, number):
    assert whole(value) == number


@pytest.mark.parametrize(
    "value",
    ["", "-1", "+1", "1.5", "1,5", "1 000", "²", "①", "٣", "１２", "abc", "1000000000", -1, 10**10],
)
def test_whole_refuses_anything_else(value):
    assert whole(value) is None


def test_whole_refuses_booleans_though_they_are_ints():
    assert whole(True) is None
    assert whole(False) is None


def test_whole_respects_its_maximum():
    assert whole("100", maximum=100) == 100
    assert whole("101", maximum=100) is None
    assert whole(101, maximum=100) is None
    assert whole("0100", maximum=100) is None  # more digits than the maximum has
    assert whole("9" * 10_000) is None


def test_parse_whole_reports_in_french():
    errors: dict[str, str] = {}
    assert parse_whole("", "stock", errors, optional=True) is None
    assert errors == {}
    assert parse_whole("  ", "stock", errors, optional=False) is None
    assert errors == {"stock": "Indiquez un nombre."}
    errors.clear()
    assert parse_whole("²", "stock", errors, optional=True) is None
    assert errors == {"stock": "Indiquez un nombre entier positif ou zéro."}
    errors.clear()
    assert parse_whole(" 12 ", "stock", errors, optional=False) == 12
    assert errors == {}


def test_an_id_is_a_positive_32_bit_integer():
    assert an_id("1") == 1
    assert an_id(MAX_ID) == MAX_ID
    assert an_id(str(MAX_ID)) == MAX_ID
    assert an_id(str(MAX_ID + 1)) is None
    assert an_id("0") is None
    assert an_id(0) is None
    assert an_id(None) is None
    assert an_id(True) is None
    assert an_id("٣") is None


def test_ids_of_a_multi_valued_field():
    assert ids(None) == []
    assert ids("12") == [12]
    assert ids(12) == [12]
    assert ids(["3", "x", "0", "²", "4", str(2**31)]) == [3, 4]
    assert ids(("5", 6)) == [5, 6]


def test_prefixed_fields_by_id():
    form = {"q12": "3", "q7": "", "q0": "1", "q²": "1", "qx": "1", "name": "x", "q99999999999": "1"}
    assert prefixed(form, "q") == {12: "3", 7: ""}
    assert prefixed({}, "q") == {}


@pytest.mark.parametrize(
    ("value", "page"),
    [("3", 3), (3, 3), ("0", 1), ("", 1), (None, 1), ("-2", 1), ("²", 1), (True, 1)],
)
def test_page_number_falls_back_to_the_first_page(value, page):
    assert page_number(value) == page


@pytest.mark.parametrize("value", ["100001", "999999999999", "9" * 200])
def test_a_page_beyond_the_maximum_is_the_maximum(value):
    assert page_number(value) == 100_000


def test_page_number_maximum_is_accepted():
    assert page_number("100000") == 100_000


def test_check_length_names_the_field_and_keeps_an_earlier_message():
    errors: dict[str, str] = {}
    forms.check_length(errors, "address", "a" * 2_000, forms.ADDRESS_TEXT)
    assert errors == {}
    forms.check_length(errors, "address", "a" * 2_001, forms.ADDRESS_TEXT)
    assert errors == {"address": "Ce texte ne doit pas dépasser 2\u202f000 caractères."}
    errors = {"name": "Indiquez le nom."}
    forms.check_length(errors, "name", "x" * 500, 120)
    assert errors == {"name": "Indiquez le nom."}
