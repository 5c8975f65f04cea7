"""Payments received at a distribution (« Valider la distribution »): for each member with
an order at that date, what they owe and how they said they would pay, and the money the
admin takes at the table (amount, type, a cheque's number), all members in one form.

The form's key makes it count once however often it is sent; each payment settles that
member's order of the date first."""

from __future__ import annotations

from dataclasses import dataclass

from domain.database import transaction
from domain.kernel import forms
from domain.kernel.errors import FieldErrors
from domain.payments import PAYMENT_KINDS, order_subject
from domain.payments.account import settlements_of
from domain.payments.ledger import add_payment, claim_key, day_of, lock_accounts
from domain.payments.records import parse_amount, parse_means, parse_reference, payment_label, today
from domain.payments.settings import settings_of
from domain.payments.status import settle
from domain.tables import Distribution, Operation, Order, PaymentPledge


@dataclass
class Received:
    order_id: int
    user_id: int
    cents: int
    means: str
    reference: str


async def dues_at(group_id: int, distribution_id: int) -> dict:
    """{"ledger": on, "types": accepted, "members": {order id: {...}}}: for each validated
    order of the date, the order's debt (left to pay, state), the member's balance, their
    pledge and what they paid at this date already. Four queries whatever the number of
    members (their operations are read at once)."""
    options = await settings_of(group_id)
    orders = await Order.select(Order.id, Order.user).where(
        (Order.distribution == distribution_id) & (Order.state == "validated")
    )
    users = sorted({o["user"] for o in orders})
    ops = (
        await Operation.select(
            Operation.id,
            Operation.user,
            Operation.kind,
            Operation.amount_cents,
            Operation.subject,
            Operation.label,
            Operation.distribution,
        )
        .where((Operation.group == group_id) & Operation.user.is_in(users))
        .order_by(Operation.id)
        if users
        else []
    )
    links = await settlements_of([o["id"] for o in ops if o["kind"] in PAYMENT_KINDS])
    pledges = {
        p["subject"]: p["means"]
        for p in (
            await PaymentPledge.select(PaymentPledge.subject, PaymentPledge.means).where(
                (PaymentPledge.group == group_id) & PaymentPledge.user.is_in(users)
            )
            if users
            else []
        )
    }
    by_user: dict[int, list[dict]] = {}
    for op in ops:
        by_user.setdefault(op["user"], []).append(op)
    settled = {u: settle(by_user.get(u, []), links) for u in users}
    members = {}
    for order in orders:
        account = settled[order["user"]]
        debt = account.debts.get(order_subject(order["id"]))
        received = sum(
            op["amount_cents"]
            for op in by_user.get(order["user"], [])
            if op["kind"] == "payment" and op["distribution"] == distribution_id
        )
        members[order["id"]] = {
            "debt": debt,
            "left_cents": debt.left_cents if debt else 0,
            "balance_cents": account.balance_cents,
            "owes_cents": max(0, -account.balance_cents),
            "pledge": pledges.get(order_subject(order["id"]), ""),
            "received_cents": received,
        }
    return {"ledger": options["ledger"], "types": options["types"], "members": members}


def parse_received(values: dict[str, str], orders: dict[int, int]) -> tuple[list, dict]:
    """The form's payments: paid<order> (empty: nothing received), means<order>,
    ref<order>, for orders of the date ({order: user}); errors keyed by field."""
    errors: dict[str, str] = {}
    found: list[Received] = []
    for order_id, raw in sorted(forms.prefixed(values, "paid").items()):
        if not str(raw).strip():
            continue
        if order_id not in orders:
            errors["form"] = (
                "Ce membre n'a pas de commande à cette distribution : rechargez la page."
            )
            continue
        cents = parse_amount(str(raw), f"paid{order_id}", errors)
        means = parse_means(values.get(f"means{order_id}", ""), f"means{order_id}", errors)
        reference = parse_reference(values.get(f"ref{order_id}", ""), f"ref{order_id}", errors)
        found.append(Received(order_id, orders[order_id], cents, means, reference))
    return found, errors


async def orders_at(distribution_id: int) -> dict[int, int]:
    rows = await Order.select(Order.id, Order.user).where(
        (Order.distribution == distribution_id) & (Order.state == "validated")
    )
    return {r["id"]: r["user"] for r in rows}


async def add_received(
    *, group_id: int, distribution_id: int, received: list[Received], by_user_id: int
) -> int:
    """Inside the form's transaction (its key claimed): one payment per member."""
    if not received:
        return 0
    dist = (
        await Distribution.select(Distribution.starts_at)
        .where(Distribution.id == distribution_id)
        .first()
    )
    await lock_accounts((group_id, r.user_id) for r in received)
    day = today()
    for r in received:
        await add_payment(
            group_id=group_id,
            user_id=r.user_id,
            amount_cents=r.cents,
            means=r.means,
            paid_on=day,
            label=f"{payment_label(r.means, r.reference)} à la distribution du "
            f"{day_of(dist['starts_at'])}",
            by_user_id=by_user_id,
            reference=r.reference,
            settles=[order_subject(r.order_id)],
            distribution_id=distribution_id,
        )
    return len(received)


async def record_received(
    *, group_id: int, distribution_id: int, by_user_id: int, values: dict[str, str], key: str | None
) -> int:
    """The payments alone (a distribution not started yet, or validated already): the
    form in one transaction. Returns how many were recorded (0 for a replayed form)."""
    dist = (
        await Distribution.select(Distribution.id, Distribution.cancelled_at)
        .where((Distribution.id == distribution_id) & (Distribution.group == group_id))
        .first()
    )
    if dist is None or dist["cancelled_at"] is not None:
        raise FieldErrors({"form": "Cette distribution est annulée."})
    if not (await settings_of(group_id))["ledger"]:
        raise FieldErrors({"form": "Le suivi des paiements n'est pas activé pour ce groupe."})
    received, errors = parse_received(values, await orders_at(distribution_id))
    if errors:
        raise FieldErrors(errors)
    if not received:
        raise FieldErrors({"form": "Indiquez au moins un montant reçu."})
    async with transaction():
        if not await claim_key(key, by_user_id):
            return 0
        return await add_received(
            group_id=group_id,
            distribution_id=distribution_id,
            received=received,
            by_user_id=by_user_id,
        )
