"""The signed one-click unsubscribe link of automatic mails."""

from __future__ import annotations

import re

import pytest

from domain.communications import KINDS, read_unsubscribe_token, unsubscribe_token

SECRET = "unit-test-secret-0123456789"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_token_reads_back_for_its_user_and_kind(kind):
    token = unsubscribe_token(SECRET, 12, kind)
    assert re.fullmatch(rf"12\.{kind}\.[0-9a-f]{{32}}", token)
    assert read_unsubscribe_token(SECRET, token) == (12, kind)


def test_a_forged_signature_is_refused():
    token = unsubscribe_token(SECRET, 12, "order_recap")
    user, kind, signature = token.split(".")
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert read_unsubscribe_token(SECRET, f"{user}.{kind}.{flipped}") is None
    assert read_unsubscribe_token(SECRET, f"{user}.{kind}.{signature.upper()}") is None
    assert read_unsubscribe_token(SECRET, f"{user}.{kind}.") is None


def test_the_signature_of_one_user_or_kind_does_not_fit_another():
    signature = unsubscribe_token(SECRET, 12, "order_recap").rsplit(".", 1)[1]
    assert read_unsubscribe_token(SECRET, f"13.order_recap.{signature}") is None
    assert read_unsubscribe_token(SECRET, f"12.orders_open.{signature}") is None


def test_a_token_signed_with_another_key_is_refused():
    token = unsubscribe_token("another-secret-0123456789", 12, "order_recap")
    assert read_unsubscribe_token(SECRET, token) is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        "12",
        "12.order_recap",
        "12.order_recap.abc.def",
        "²1.order_recap.x",
        "-1.order_recap.x",
        "0.order_recap.x",
        "abc.order_recap.x",
    ],
)
def test_malformed_tokens_are_refused(token):
    assert read_unsubscribe_token(SECRET, token) is None


def test_a_kind_that_cannot_be_turned_off_is_refused_even_signed():
    assert "test" not in KINDS
    assert read_unsubscribe_token(SECRET, unsubscribe_token(SECRET, 12, "test")) is None
    assert read_unsubscribe_token(SECRET, unsubscribe_token(SECRET, 12, "invitation")) is None


def test_ids_beyond_32_bits_are_refused_even_signed():
    assert read_unsubscribe_token(SECRET, unsubscribe_token(SECRET, 2**31 - 1, "reminder_4h")) == (
        2**31 - 1,
        "reminder_4h",
    )
    for user_id in (2**31, 2**63, 10**30):
        assert (
            read_unsubscribe_token(SECRET, unsubscribe_token(SECRET, user_id, "reminder_4h"))
            is None
        )
