"""Random link tokens and signed payloads, on the domain's clock."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from domain.kernel import clock, tokens

SECRET = "unit-test-secret-0123456789"
PAYLOAD = {"g": 12, "rows": [[2, "camille@example.org", "Camille", "Martin", ""]]}


def test_sign_then_unsign_gives_the_payload_back():
    token = tokens.sign(PAYLOAD, SECRET, "member-import")
    assert isinstance(token, str) and "camille" not in token  # encoded, not plain text
    assert tokens.unsign(token, SECRET, "member-import", 3600) == PAYLOAD
    assert tokens.unsign(f"  {token}\n", SECRET, "member-import", 3600) == PAYLOAD


def test_unsign_refuses_another_purpose_or_key():
    token = tokens.sign(PAYLOAD, SECRET, "member-import")
    assert tokens.unsign(token, SECRET, "import-produits:1", 3600) is None
    assert tokens.unsign(token, SECRET + "x", "member-import", 3600) is None


def test_unsign_refuses_a_tampered_token():
    token = tokens.sign(PAYLOAD, SECRET, "p")
    payload, signature = token.rsplit(".", 1)
    swapped = "A" if payload[5] != "A" else "B"
    assert (
        tokens.unsign(payload[:5] + swapped + payload[6:] + "." + signature, SECRET, "p", 60)
        is None
    )
    assert tokens.unsign(token + "0", SECRET, "p", 60) is None
    assert tokens.unsign("", SECRET, "p", 60) is None
    assert tokens.unsign("n'importe quoi", SECRET, "p", 60) is None


def test_unsign_expires_on_the_domains_clock():
    start = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    with clock.frozen(start):
        token = tokens.sign([1, 2], SECRET, "p")
    with clock.frozen(start + timedelta(seconds=3600)):
        assert tokens.unsign(token, SECRET, "p", 3600) == [1, 2]
    with clock.frozen(start + timedelta(seconds=3601)), pytest.raises(tokens.Expired):
        tokens.unsign(token, SECRET, "p", 3600)


def test_expiry_with_travel_and_only_for_a_good_signature():
    token = tokens.sign("x", SECRET, "p")
    with clock.travel(timedelta(hours=2)):
        with pytest.raises(tokens.Expired):
            tokens.unsign(token, SECRET, "p", 3600)
        assert tokens.unsign(token, "another-secret-0123456789", "p", 3600) is None


def test_new_token_is_random_and_stores_its_digest():
    raw, stored = tokens.new_token()
    other, _ = tokens.new_token()
    assert raw != other and len(raw) >= 40
    assert stored == hashlib.sha256(raw.encode()).hexdigest() == tokens.digest(raw)
    assert raw not in stored


def test_short_mac_is_a_cut_hmac():
    full = hmac.new(SECRET.encode(), b"message", hashlib.sha256).hexdigest()
    assert tokens.short_mac(SECRET, "message") == full[:32]
    assert tokens.short_mac(SECRET, "message", 10) == full[:10]
    assert tokens.short_mac(SECRET, "message2") != full[:32]
    assert tokens.short_mac(SECRET + "x", "message") != full[:32]


def test_same_compares_texts():
    assert tokens.same("abc", "abc")
    assert not tokens.same("abc", "abd")
    assert not tokens.same("abc", "ab")
