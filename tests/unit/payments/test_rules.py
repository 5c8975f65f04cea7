"""Pure rules of Paiements: the settings' checks (IBAN), a payment's label, the period of
the statement per producer."""

from __future__ import annotations

from datetime import date

from domain.payments import producers, records, settings, subject_id


def test_an_iban_is_checked_by_its_digits_and_shown_in_groups_of_four():
    number = settings.normalize_iban("fr76 3000-6000 0112 3456 7890 189")
    assert number == "FR7630006000011234567890189"
    assert settings.iban_valid(number)
    assert not settings.iban_valid("FR7630006000011234567890188")  # one digit off
    assert not settings.iban_valid("FR76")
    assert not settings.iban_valid("FR76300060000112345678901٨٩")  # not ASCII digits
    assert settings.format_iban(number) == "FR76 3000 6000 0112 3456 7890 189"


def test_the_settings_need_what_their_types_need():
    values, errors = settings.check(
        ledger=True, types=["cheque", "virement"], cheque_payee=" ", iban="", instructions=""
    )
    assert set(errors) == {"cheque_payee", "iban"}
    values, errors = settings.check(
        ledger=False, types=[], cheque_payee="", iban="", instructions=""
    )
    assert errors == {} and values["ledger"] is False
    _, errors = settings.check(
        ledger=True, types=["bitcoin"], cheque_payee="", iban="", instructions=""
    )
    assert errors == {"types": "Choisissez parmi les moyens de paiement proposés."}


def test_a_payments_label_says_how_and_its_reference():
    assert records.payment_label("cheque", "123") == "Paiement par chèque n° 123"
    assert records.payment_label("virement", "VIR-9") == "Paiement par virement (réf. VIR-9)"
    assert records.payment_label("especes", "") == "Paiement en espèces"
    assert records.payment_label("carte", "", refund=True) == (
        "Remboursement sur la carte bancaire"
    )


def test_the_statements_period_defaults_to_this_month_and_is_checked():
    today = date(2026, 12, 9)
    assert producers.period("", "", today) == (date(2026, 12, 1), today, {})
    _, _, errors = producers.period("2026-12-10", "2026-12-01", today)
    assert errors == {"au": "La fin de la période doit venir après son début."}
    _, _, errors = producers.period("2024-01-01", "2026-12-01", today)
    assert errors == {"au": "Choisissez une période d'un an au plus."}
    _, _, errors = producers.period("31/12/2026", "", today)
    assert "du" in errors


def test_a_subject_names_its_debt():
    assert subject_id("order:12", "order") == 12
    assert subject_id("subscription:12", "order") is None
    assert subject_id("order:١٢", "order") is None
