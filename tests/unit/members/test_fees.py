"""Adhésions: the checks of a payment, before any database."""

from __future__ import annotations

from datetime import date

import pytest

from domain.members import MEANS
from domain.members.fees import Fee, check_fee


def test_a_good_payment():
    assert check_fee(" 2026 ", "12,50", "2026-01-10", "cheque") == (
        Fee(year=2026, amount_cents=1250, paid_on=date(2026, 1, 10), means="cheque"),
        {},
    )


@pytest.mark.parametrize("means", sorted(MEANS))
def test_every_means_of_payment(means):
    fee, errors = check_fee("2026", "15", "2026-01-10", means)
    assert errors == {} and fee is not None and fee.means == means


def test_every_field_is_refused_with_its_message():
    fee, errors = check_fee("1999", "0", "10/01/2026", "bitcoin")
    assert fee is None
    assert errors == {
        "year": "Indiquez l'année de l'adhésion (par exemple 2026).",
        "amount": "Indiquez un montant en euros, par exemple 15 ou 12,50.",
        "paid_on": "Indiquez la date du paiement.",
        "means": "Choisissez le moyen de paiement.",
    }


@pytest.mark.parametrize(
    ("year", "ok"),
    [
        ("2000", True),
        ("2100", True),
        ("2101", False),
        ("", False),
        ("deux", False),
        ("-2026", False),
    ],
)
def test_year_bounds(year, ok):
    _, errors = check_fee(year, "15", "2026-01-10", "cheque")
    assert ("year" not in errors) is ok


@pytest.mark.parametrize("amount", ["", "-5", "abc", "12,345", "0,00"])
def test_amount_refusals(amount):
    _, errors = check_fee("2026", amount, "2026-01-10", "cheque")
    assert set(errors) == {"amount"}


def test_a_superscript_year_is_refused_with_a_message():
    fee, errors = check_fee("²", "15", "2026-01-10", "cheque")
    assert fee is None and "year" in errors
