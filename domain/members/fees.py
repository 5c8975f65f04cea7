"""Adhésions: the yearly membership fee, recorded by the group's admins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.accounts import (
    display_name,
)
from domain.database import transaction
from domain.kernel import forms
from domain.kernel.errors import FieldErrors
from domain.kernel.money import parse_euros
from domain.members import MEANS, claim_key, consent, is_member
from domain.payments import ledger
from domain.tables import (
    Membership,
    MembershipFee,
)


@dataclass
class Fee:
    """An adhésion payment, checked."""

    year: int
    amount_cents: int
    paid_on: date
    means: str


def check_fee(year: str, amount: str, paid_on: str, means: str) -> tuple[Fee | None, dict]:
    errors: dict[str, str] = {}
    year_value = forms.whole(year) or 0
    if not 2000 <= year_value <= 2100:
        errors["year"] = "Indiquez l'année de l'adhésion (par exemple 2026)."
    cents = parse_euros(amount)
    if cents is None or cents <= 0:
        errors["amount"] = "Indiquez un montant en euros, par exemple 15 ou 12,50."
    day = None
    try:
        day = date.fromisoformat(paid_on.strip())
    except ValueError:
        errors["paid_on"] = "Indiquez la date du paiement."
    if means not in MEANS:
        errors["means"] = "Choisissez le moyen de paiement."
    if errors:
        return None, errors
    return Fee(year_value, cents, day, means), {}


# ---- adhésions --------------------------------------------------------------------------


async def insert_fee(group_id: int, user_id: int, fee: Fee, by_user_id: int) -> None:
    """The adhésion, and in the ledger its debt and its payment (same transaction)."""
    rows = await MembershipFee.insert(
        MembershipFee(
            group=group_id,
            user=user_id,
            year=fee.year,
            amount_cents=fee.amount_cents,
            paid_on=fee.paid_on,
            means=fee.means,
            recorded_by=by_user_id,
        )
    ).returning(MembershipFee.id)
    await ledger.fee_recorded(
        fee_id=rows[0]["id"],
        group_id=group_id,
        user_id=user_id,
        year=fee.year,
        amount_cents=fee.amount_cents,
        paid_on=fee.paid_on,
        means=fee.means,
        by_user_id=by_user_id,
    )


async def record_fee(
    group_id: int, *, user_id: str, fee: Fee | None, errors: dict, by_user_id: int, key: str | None
) -> None:
    """A payment of a member of this group; a double click records it once."""
    member = forms.an_id(user_id) or 0
    if not member or member > 2**31 - 1 or not await is_member(group_id, member):
        errors = errors | {"user_id": "Choisissez un membre du groupe."}
    if errors or fee is None:
        raise FieldErrors(errors)
    async with transaction():
        if await claim_key(key, by_user_id):
            await insert_fee(group_id, member, fee, by_user_id)


async def fees_overview(group_id: int, year: int) -> dict:
    """Gestion adhérents: who is up to date for `year` (they or the person they share their
    membership with paid), who is not. Two queries whatever the number of members."""
    members = (
        await Membership.select(
            Membership.shared_with,
            Membership.user.id.as_alias("id"),
            Membership.user.email.as_alias("email"),
            consent.shown("first_name"),
            consent.shown("last_name"),
        )
        .where(Membership.group == group_id)
        .order_by(consent.shown("last_name"))
        .order_by(consent.shown("first_name"))
        .order_by(Membership.user.email)
    )
    fees = (
        await MembershipFee.select(
            MembershipFee.id,
            MembershipFee.user,
            MembershipFee.amount_cents,
            MembershipFee.paid_on,
            MembershipFee.means,
        )
        .where((MembershipFee.group == group_id) & (MembershipFee.year == year))
        .order_by(MembershipFee.paid_on)
    )
    paid: dict[int, list[dict]] = {}
    for fee in fees:
        fee["means_label"] = MEANS.get(fee["means"], fee["means"])
        paid.setdefault(fee["user"], []).append(fee)
    up_to_date, late = [], []
    for member in members:
        member["name"] = display_name(member)
        member["fees"] = paid.get(member["id"], [])
        shared = member["shared_with"]
        if member["fees"] or (shared and paid.get(shared)):
            up_to_date.append(member)
        else:
            late.append(member)
    total = sum(f["amount_cents"] for f in fees)
    return {"up_to_date": up_to_date, "late": late, "total_cents": total, "members": members}
