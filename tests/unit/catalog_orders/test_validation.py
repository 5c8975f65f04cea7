"""« Valider la distribution »: when a distribution may be validated, and what it says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.catalog_orders.validation import STATE_MESSAGES, state_message, state_of
from domain.ordering import VALIDATED_MESSAGE

STARTS = datetime(2026, 3, 29, 17, 0, tzinfo=UTC)  # Sunday 29 March, 19:00 in Paris
LATER = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def dist(**extra) -> dict:
    return {
        "cancelled_at": None,
        "validated_at": None,
        "started": True,
        "starts_at": STARTS,
    } | extra


@pytest.mark.parametrize(
    ("extra", "state"),
    [
        ({}, "open"),
        ({"started": False}, "not_started"),
        ({"validated_at": LATER}, "validated"),
        ({"cancelled_at": LATER}, "cancelled"),
        ({"cancelled_at": LATER, "validated_at": LATER}, "cancelled"),
        ({"validated_at": LATER, "started": False}, "validated"),
        ({"cancelled_at": LATER, "started": False}, "cancelled"),
    ],
)
def test_state_of(extra, state):
    assert state_of(dist(**extra)) == state


def test_an_open_distribution_has_no_message():
    assert state_message(dist()) == ""


def test_messages_of_the_other_states():
    assert state_message(dist(started=False)) == (
        "La distribution n'a pas encore commencé : vous pourrez la valider à partir du "
        "dimanche 29 mars à 19:00."
    )
    assert state_message(dist(validated_at=LATER)) == VALIDATED_MESSAGE
    assert state_message(dist(cancelled_at=LATER)) == STATE_MESSAGES["cancelled"]
    assert "annulée" in STATE_MESSAGES["cancelled"]
