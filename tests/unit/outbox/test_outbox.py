"""The outbox's pure parts: retry delays and the `headers` column."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.outbox import MAX_RETRY_DELAY, decode_headers, encode_headers, retry_delay

BASE = timedelta(seconds=30)


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(0, 30), (1, 30), (2, 60), (3, 120), (4, 240), (7, 1920), (8, 3600), (12, 3600), (42, 3600)],
)
def test_retry_delay_doubles_up_to_an_hour(attempts, seconds):
    assert retry_delay(attempts, BASE) == timedelta(seconds=seconds)


def test_retry_delay_stays_capped_for_any_number_of_attempts():
    assert retry_delay(43, BASE) == MAX_RETRY_DELAY


def test_retry_delay_cap_is_an_hour_whatever_the_base():
    assert MAX_RETRY_DELAY == timedelta(hours=1)
    assert retry_delay(1, timedelta(hours=2)) == timedelta(hours=1)
    assert retry_delay(3, timedelta(seconds=1)) == timedelta(seconds=4)


def test_headers_and_conditions_round_trip():
    expires = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    starts = datetime(2026, 10, 25, 17, 0, tzinfo=UTC)
    raw = encode_headers(
        {"List-Id": "AMAP des Lilas <lilas.example.org>", "X-Count": 3},
        expires_at=expires,
        starts_at=starts,
        distribution=42,
        unused=None,
    )
    headers, conditions = decode_headers(raw)
    assert headers == {"List-Id": "AMAP des Lilas <lilas.example.org>", "X-Count": "3"}
    assert conditions == {"expires_at": expires, "starts_at": starts, "distribution": 42}


def test_encode_headers_keeps_accents_readable():
    raw = encode_headers({"X-Groupe": "Épicerie"})
    assert "Épicerie" in raw
    assert decode_headers(raw) == ({"X-Groupe": "Épicerie"}, {})


def test_nothing_to_encode_is_an_empty_column():
    assert encode_headers() == ""
    assert encode_headers(None, expires_at=None) == ""
    assert decode_headers("") == ({}, {})


def test_conditions_are_not_headers():
    raw = encode_headers(distribution=5)
    assert decode_headers(raw) == ({}, {"distribution": 5})
