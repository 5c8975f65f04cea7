"""Paiements: each member's account in a group, an append-only ledger of operations.

Operations are debts (an order the member validated, a subscription's total, an adhésion,
an admin's correction), negative, and payments (a refund is a negative one), positive, in
integer cents. The balance (« Solde ») is their sum, computed whenever it is shown, never
stored. A debt is named by its `subject` ("order:12", "subscription:3", "fee:5"): its
amount is the sum of its operations, and it follows its order (a changed quantity, the
quantities handed over at the distribution, a deleted order) by new operations, never by
changing an old one.

The parts: `settings` (the group's « Paiements » settings: the ledger on or off, the
payment types it accepts, the instructions for members), `ledger` (every write: debts
arising and following, payments, refunds, corrections, pledges, the validation records
used once), `status` (which debts are « Payé » or « À payer », a pure rule), `account` (one
member's operations and balance), `overview` (the Paiements page and its CSV), `collect`
(payments received at a distribution) and `producers` (a market's statement per producer).

Other areas call `ledger` inside their own transactions (ordering, subscriptions,
catalog_orders, members): this area imports none of them."""

from __future__ import annotations

# Payment types a group may accept (Cagette's words), and what older adhésions say.
TYPES = {
    "especes": "Espèces",
    "cheque": "Chèque",
    "virement": "Virement",
    "carte": "Carte bancaire sur place",
}
MEANS = TYPES | {"autre": "Autre"}
# How a member says they will pay (« Je paierai par chèque »).
PLEDGES = {
    "especes": "en espèces",
    "cheque": "par chèque",
    "virement": "par virement",
    "carte": "par carte bancaire sur place",
}

DEBT_KINDS = ("order", "subscription", "membership", "adjustment")
PAYMENT_KINDS = ("payment", "refund")
# The lines of a debt that follow what it is the debt of (an admin's correction does not).
FOLLOWING_KINDS = ("order", "subscription")

KIND_LABELS = {
    "order": "Commande",
    "subscription": "Souscription",
    "membership": "Adhésion",
    "adjustment": "Correction",
    "payment": "Paiement",
    "refund": "Remboursement",
}


def order_subject(order_id: int) -> str:
    return f"order:{order_id}"


def subscription_subject(subscription_id: int) -> str:
    return f"subscription:{subscription_id}"


def fee_subject(fee_id: int) -> str:
    return f"fee:{fee_id}"


def subject_id(subject: str, kind: str) -> int | None:
    """12 for ("order:12", "order"); None for another kind of subject."""
    prefix, _, number = subject.partition(":")
    return int(number) if prefix == kind and number.isascii() and number.isdigit() else None
