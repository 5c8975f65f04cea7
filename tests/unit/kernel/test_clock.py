"""The domain's clock: frozen or moved by tests, restored afterwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.kernel import clock

MOMENT = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_now_is_aware_utc_and_close_to_the_wall_clock():
    moment = clock.now()
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
    assert abs(moment - datetime.now(UTC)) < timedelta(seconds=5)


def test_frozen_fixes_now_and_restores_it():
    with clock.frozen(MOMENT):
        assert clock.now() == MOMENT
        assert clock.now() == MOMENT
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_travel_moves_the_clock_from_where_it_is():
    with clock.frozen(MOMENT):
        with clock.travel(timedelta(hours=1)):
            assert clock.now() == MOMENT + timedelta(hours=1)
            with clock.travel(timedelta(minutes=-90)):
                assert clock.now() == MOMENT - timedelta(minutes=30)
            assert clock.now() == MOMENT + timedelta(hours=1)
        assert clock.now() == MOMENT


def test_travel_on_the_wall_clock():
    with clock.travel(timedelta(days=3)):
        ahead = clock.now() - datetime.now(UTC)
    assert timedelta(days=3) - timedelta(seconds=5) < ahead <= timedelta(days=3)


def test_the_clock_is_restored_after_an_exception():
    with pytest.raises(RuntimeError), clock.frozen(MOMENT):
        raise RuntimeError("boom")
    assert clock.now() != MOMENT
    with pytest.raises(RuntimeError), clock.travel(timedelta(days=400)):
        raise RuntimeError("boom")
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
