"""What an admin records on a member's account (a payment, a refund, the correction of a
debt) and what a member says (« Je paierai par chèque »): the forms' rules, each form in one
transaction with its key, so that the same form sent twice records once.

Every correction is a new operation that says who made it and why; nothing is edited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from domain.database import transaction
from domain.kernel import forms
from domain.kernel.clock import now
from domain.kernel.dates import paris_day
from domain.kernel.errors import FieldErrors
from domain.kernel.money import parse_euros
from domain.payments import DEBT_KINDS, PLEDGES, TYPES, ledger
from domain.payments.account import has_account
from domain.payments.settings import settings_of
from domain.tables import Operation

AMOUNT_MESSAGE = "Indiquez un montant en euros, par exemple 15 ou 12,50."
PAID_WITH = {
    "especes": "Paiement en espèces",
    "cheque": "Paiement par chèque",
    "virement": "Paiement par virement",
    "carte": "Paiement par carte bancaire",
}
REFUND_WITH = {
    "especes": "Remboursement en espèces",
    "cheque": "Remboursement par chèque",
    "virement": "Remboursement par virement",
    "carte": "Remboursement sur la carte bancaire",
}
REASON_MAX = 200
REFERENCE_MAX = 100


def today() -> date:
    return paris_day(now())


def parse_amount(value: str, field: str, errors: dict[str, str]) -> int:
    cents = parse_euros(value or "")
    if cents is None or cents <= 0:
        errors[field] = AMOUNT_MESSAGE
        return 0
    return cents


def parse_day(value: str, field: str, errors: dict[str, str]) -> date:
    """A day in the last ten years, not after today; empty: today."""
    text = (value or "").strip()
    if not text:
        return today()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[field] = "Indiquez la date, par exemple 05/12/2026."
        return today()
    if day > today():
        errors[field] = "La date ne peut pas être dans le futur."
    elif day < today() - timedelta(days=3650):
        errors[field] = "Cette date est trop ancienne."
    return day


def parse_means(value: str, field: str, errors: dict[str, str]) -> str:
    if value not in TYPES:
        errors[field] = "Choisissez le moyen de paiement."
    return value


def parse_reference(value: str, field: str, errors: dict[str, str]) -> str:
    text = " ".join((value or "").split())
    if len(text) > REFERENCE_MAX:
        errors[field] = f"Pas plus de {REFERENCE_MAX} caractères."
    return text


def payment_label(means: str, reference: str, *, refund: bool = False) -> str:
    text = (REFUND_WITH if refund else PAID_WITH).get(means, "Paiement")
    if reference and means == "cheque":
        text += f" n° {reference}"
    elif reference:
        text += f" (réf. {reference})"
    return text


@dataclass
class PaymentForm:
    amount: str = ""
    means: str = ""
    paid_on: str = ""
    reference: str = ""
    reason: str = ""


async def _debt_subjects(group_id: int, user_id: int) -> set[str]:
    rows = await Operation.select(Operation.subject).where(
        (Operation.group == group_id)
        & (Operation.user == user_id)
        & Operation.kind.is_in(list(DEBT_KINDS))
    )
    return {r["subject"] for r in rows}


async def _account_or_refuse(group_id: int, user_id: int) -> None:
    if not await has_account(group_id, user_id):
        raise FieldErrors({"form": "Cette personne n'a pas de compte dans ce groupe."})


async def record_payment(
    *,
    group_id: int,
    user_id: int,
    by_user_id: int,
    form: PaymentForm,
    settles: list[str],
    key: str | None,
    refund: bool = False,
) -> int | None:
    """A payment received (or, `refund`, money given back) for this member of the group.
    `settles`: the member's debts it pays (others, and what it does not use, go to the
    oldest debts). Returns the operation's id; None for a replayed form."""
    errors: dict[str, str] = {}
    cents = parse_amount(form.amount, "amount", errors)
    means = parse_means(form.means, "means", errors)
    day = parse_day(form.paid_on, "paid_on", errors)
    reference = parse_reference(form.reference, "reference", errors)
    reason = " ".join((form.reason or "").split())
    if len(reason) > REASON_MAX:
        errors["reason"] = f"Pas plus de {REASON_MAX} caractères."
    if errors:
        raise FieldErrors(errors)
    await _account_or_refuse(group_id, user_id)
    async with transaction():
        if not await ledger.claim_key(key, by_user_id):
            return None
        await ledger.lock_accounts([(group_id, user_id)])
        mine = await _debt_subjects(group_id, user_id)
        label = payment_label(means, reference, refund=refund)
        if reason:
            label += f" : {reason}"
        return await ledger.add_payment(
            group_id=group_id,
            user_id=user_id,
            amount_cents=cents,
            means=means,
            paid_on=day,
            label=label,
            by_user_id=by_user_id,
            reference=reference,
            settles=[s for s in settles if s in mine],
            kind="refund" if refund else "payment",
        )


async def correct_debt(
    *,
    group_id: int,
    user_id: int,
    by_user_id: int,
    subject: str,
    amount: str,
    reason: str,
    key: str | None,
) -> int | None:
    """The debt `subject` now asks `amount` (« 0 » to cancel it): a correction operation for
    the difference, with its reason, who made it and when. None for a replayed form."""
    errors: dict[str, str] = {}
    wanted = parse_euros(amount or "")
    if wanted is None:
        errors["amount"] = "Indiquez le montant dû en euros, par exemple 12,50 (0 pour l'annuler)."
    why = " ".join((reason or "").split())
    if not why:
        errors["reason"] = "Indiquez la raison de la correction."
    elif len(why) > REASON_MAX:
        errors["reason"] = f"Pas plus de {REASON_MAX} caractères."
    if not subject or len(subject) > 40:
        errors["subject"] = "Choisissez la dette à corriger."
    if errors:
        raise FieldErrors(errors)
    async with transaction():
        await ledger.lock_accounts([(group_id, user_id)])
        lines = await Operation.select(Operation.amount_cents).where(
            (Operation.group == group_id)
            & (Operation.user == user_id)
            & (Operation.subject == subject)
            & Operation.kind.is_in(list(DEBT_KINDS))
        )
        if not lines:
            raise FieldErrors({"subject": "Choisissez la dette à corriger."})
        if not await ledger.claim_key(key, by_user_id):
            return None
        due = -sum(line["amount_cents"] for line in lines)
        if wanted == due:
            raise FieldErrors({"amount": "C'est déjà le montant de cette dette."})
        return await ledger.add_adjustment(
            group_id=group_id,
            user_id=user_id,
            subject=subject,
            amount_cents=wanted - due,
            label=f"Correction : {why}",
            by_user_id=by_user_id,
        )


async def pledge(*, group_id: int, user_id: int, subject: str, means: str) -> None:
    """« Je paierai par chèque »: the member's own debt, a type the group accepts."""
    options = await settings_of(group_id)
    if means not in options["types"] or means not in PLEDGES:
        raise FieldErrors({"means": "Choisissez un moyen de paiement accepté par le groupe."})
    if not forms.digits(subject.partition(":")[2]) or subject not in await _debt_subjects(
        group_id, user_id
    ):
        raise FieldErrors({"means": "Cette commande n'a rien à payer."})
    await ledger.set_pledge(group_id, user_id, subject, means)
