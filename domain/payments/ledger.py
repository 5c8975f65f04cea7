"""Every write of the ledger. Each function runs inside the caller's transaction (or opens
one, which then joins the caller's): a debt arises, follows its order or is paid in the
same transaction as what it is the debt of, so none is lost to a crash in between.

Append-only: nothing here updates or deletes an operation. A debt that must change gets a
new operation for the difference (« Commande du … – modifiée »), a debt that is gone one
that brings it to zero.

Money never doubled: a form's key (domain/idempotency) makes a replayed payment one
payment; the lines that follow a debt are computed under a lock of the member's account
(PostgreSQL; SQLite's write transaction is exclusive already), so two changes at once add
their differences once each. Two admins recording payments at once both count: a payment
is an INSERT, never a read-modify-write."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from domain import idempotency
from domain.database import is_sqlite, transaction
from domain.kernel.dates import label as moment_label
from domain.kernel.errors import FieldErrors
from domain.payments import (
    FOLLOWING_KINDS,
    fee_subject,
    order_subject,
    subscription_subject,
)
from domain.payments.settings import ledgers_on
from domain.tables import (
    Catalog,
    Operation,
    Order,
    OrderLine,
    PaymentPledge,
    Settlement,
    Subscription,
    ValidationRecord,
    ValidationUse,
)

CONSUMER = "payments"  # its name in validation_use
LOCK_SPACE = 1 << 62  # advisory lock keys of accounts: (group << 31 | user) in this space


# ---- accounts, locked ------------------------------------------------------------------


def account_key(group_id: int, user_id: int) -> int:
    """The advisory lock key of a (group, user) account (PostgreSQL)."""
    return LOCK_SPACE | (group_id << 31) | user_id


async def lock_accounts(accounts: Iterable[tuple[int, int]]) -> None:
    """(group, user) accounts locked until the transaction ends, in one order (no
    deadlock between two writers taking several)."""
    if is_sqlite():
        return
    for group_id, user_id in sorted(set(accounts)):
        await Operation.raw("SELECT pg_advisory_xact_lock({})", account_key(group_id, user_id))


async def claim_key(key: str | None, user_id: int | None) -> bool:
    """True the first time a form's key is seen (inside the write's transaction)."""
    try:
        return await idempotency.claim(key, user_id)
    except idempotency.BadKey as error:
        raise FieldErrors({"form": "Formulaire invalide : rechargez la page."}) from error


async def _insert(rows: list[Operation]) -> list[int]:
    if not rows:
        return []
    found = await Operation.insert(*rows).returning(Operation.id)
    return [r["id"] for r in found]


# ---- debts that follow what they are the debts of ----------------------------------------


@dataclass
class Target:
    """What a debt should be now (cents owed, >= 0), and where it belongs."""

    group: int
    user: int
    cents: int
    label: str  # the debt's name: « Commande du samedi 5 décembre »
    distribution: int | None = None


def day_of(moment: datetime) -> str:
    """ "samedi 5 décembre": a distribution's day, as a debt is named."""
    return moment_label(moment).split(" à ")[0]


async def _order_rows(order_ids: list[int]) -> list[dict]:
    if not order_ids:
        return []
    return await Order.select(
        Order.id,
        Order.user,
        Order.state,
        Order.distribution,
        Order.distribution.group.as_alias("group"),
        Order.distribution.starts_at.as_alias("starts_at"),
    ).where(Order.id.is_in(order_ids))


async def _lines_of(order_ids: list[int]) -> list[dict]:
    if not order_ids:
        return []
    return await OrderLine.select(
        OrderLine.order,
        OrderLine.quantity,
        OrderLine.unit_price_cents,
        OrderLine.subscription,
        OrderLine.product.catalog.kind.as_alias("kind"),
    ).where(OrderLine.order.is_in(order_ids))


def _is_basket_line(line: dict) -> bool:
    """A line of a fixed contract's basket: the subscription's debt, not the order's."""
    return line["subscription"] is not None and line["kind"] == "fixed"


async def _subscription_targets(subscription_ids: list[int]) -> dict[str, Target]:
    """A subscription's debt: its basket's lines over every validated order it made."""
    if not subscription_ids:
        return {}
    subs = await Subscription.select(
        Subscription.id,
        Subscription.user,
        Subscription.catalog.group.as_alias("group"),
        Subscription.catalog.name.as_alias("catalog_name"),
        Subscription.catalog.vendor.name.as_alias("vendor_name"),
    ).where(Subscription.id.is_in(subscription_ids))
    lines = await OrderLine.select(
        OrderLine.subscription, OrderLine.quantity, OrderLine.unit_price_cents
    ).where(
        OrderLine.subscription.is_in(subscription_ids)
        & (OrderLine.product.catalog.kind == "fixed")
        & (OrderLine.order.state == "validated")
    )
    cents: dict[int, int] = {}
    for line in lines:
        cents[line["subscription"]] = (
            cents.get(line["subscription"], 0) + line["quantity"] * line["unit_price_cents"]
        )
    return {
        subscription_subject(s["id"]): Target(
            group=s["group"],
            user=s["user"],
            cents=cents.get(s["id"], 0),
            label=f"Souscription : {s['catalog_name']} ({s['vendor_name']})",
        )
        for s in subs
    }


async def _chains(subjects: list[str]) -> dict[str, dict]:
    """{subject: {group, user, distribution, label, cents}} of the debts that exist: what
    their following lines add up to (an admin's corrections apart), as owed cents; `label`
    is the debt's name (its first line's)."""
    if not subjects:
        return {}
    rows = (
        await Operation.select(
            Operation.id,
            Operation.subject,
            Operation.group,
            Operation.user,
            Operation.distribution,
            Operation.label,
            Operation.amount_cents,
        )
        .where(Operation.subject.is_in(subjects) & Operation.kind.is_in(list(FOLLOWING_KINDS)))
        .order_by(Operation.id)
    )
    chains: dict[str, dict] = {}
    for row in rows:
        chain = chains.setdefault(row["subject"], row | {"cents": 0})
        chain["cents"] -= row["amount_cents"]
    return chains


async def _apply(
    targets: dict[str, Target], *, gone: Iterable[str], by: int | None, why: str, create: bool
) -> list[int]:
    """Each debt brought to its target by one new operation (none if it is already there);
    `gone`: subjects whose order no longer exists (their debt goes to zero); `create`: a
    debt that does not exist yet arises (the ledger being on), else only existing ones
    follow. Returns the new operations' ids."""
    subjects = sorted(set(targets) | set(gone))
    if not subjects:
        return []
    before = await _chains(subjects)
    for subject in gone:
        chain = before.get(subject)
        if chain is not None and subject not in targets:
            targets[subject] = Target(chain["group"], chain["user"], 0, "", chain["distribution"])
    await lock_accounts((t.group, t.user) for t in targets.values())
    chains = before if is_sqlite() else await _chains(subjects)
    on = await ledgers_on(t.group for t in targets.values()) if create else {}
    rows = []
    for subject in subjects:
        target = targets.get(subject)
        if target is None:
            continue
        chain = chains.get(subject)
        kind = subject.partition(":")[0]
        kind = "order" if kind == "order" else "subscription"
        if chain is None:
            if not create or not on.get(target.group) or target.cents <= 0:
                continue
            amount, text = -target.cents, target.label
        else:
            amount = chain["cents"] - target.cents
            if amount == 0:
                continue
            text = f"{chain['label']} – {why}"
        rows.append(
            Operation(
                group=target.group,
                user=target.user,
                kind=kind,
                amount_cents=amount,
                subject=subject,
                label=text[:300],
                distribution=target.distribution,
                recorded_by=by,
            )
        )
    return await _insert(rows)


async def follow(
    order_ids: Iterable[int] = (),
    subscription_ids: Iterable[int] = (),
    *,
    by: int | None = None,
    why: str = "modifiée",
    create: bool = False,
) -> list[int]:
    """Inside the change's transaction: the debts of these orders, and of the
    subscriptions whose baskets their lines are, follow them as the database has them now
    (an order no longer validated, or deleted, owes nothing). `create`: the moment a debt
    arises (a member validates their order, subscribes). `by`: who changed it."""
    ids = sorted(set(order_ids))
    orders = {o["id"]: o for o in await _order_rows(ids)}
    lines = await _lines_of(sorted(orders))
    owed = {oid: 0 for oid in orders}
    subscriptions = set(subscription_ids)
    for line in lines:
        if _is_basket_line(line):
            subscriptions.add(line["subscription"])
        elif orders[line["order"]]["state"] == "validated":
            owed[line["order"]] += line["quantity"] * line["unit_price_cents"]
    targets = {
        order_subject(o["id"]): Target(
            group=o["group"],
            user=o["user"],
            cents=owed[o["id"]],
            label=f"Commande du {day_of(o['starts_at'])}",
            distribution=o["distribution"],
        )
        for o in orders.values()
    }
    targets |= await _subscription_targets(sorted(subscriptions))
    gone = [order_subject(i) for i in ids if i not in orders]
    return await _apply(targets, gone=gone, by=by, why=why, create=create)


# ---- the validation record of a distribution, used once ----------------------------------


async def use_validation(record: dict) -> bool:
    """Inside a transaction: the debts of the distribution's orders become what was handed
    over (the record's delivered lines), once: the record is claimed for this consumer in
    the same transaction (unique (record, consumer)), so a second call, a crash half-way
    or the periodic sweep can never apply it twice. Only debts that exist follow: orders
    validated before the ledger, or in a group without it, had none. False: used already."""
    claimed = (
        await ValidationUse.insert(ValidationUse(record=record["id"], consumer=CONSUMER))
        .on_conflict(action="DO NOTHING")
        .returning(ValidationUse.id)
    )
    if not claimed:
        return False
    orders = record["content"].get("orders", [])
    catalog_ids = sorted({line["catalog"] for o in orders for line in o["lines"]})
    kinds = {
        c["id"]: c["kind"]
        for c in (
            await Catalog.select(Catalog.id, Catalog.kind).where(Catalog.id.is_in(catalog_ids))
            if catalog_ids
            else []
        )
    }
    rows = {o["id"]: o for o in await _order_rows(sorted(o["order"] for o in orders))}
    targets: dict[str, Target] = {}
    subscriptions: set[int] = set()
    for delivered in orders:
        cents = 0
        for line in delivered["lines"]:
            sub = line.get("subscription")
            if sub is not None and kinds.get(line["catalog"]) == "fixed":
                subscriptions.add(sub)
            else:
                cents += line["quantity"] * line["unit_price_cents"]
        row = rows.get(delivered["order"])
        if row is None:
            continue
        targets[order_subject(row["id"])] = Target(
            group=row["group"],
            user=row["user"],
            cents=cents,
            label=f"Commande du {day_of(row['starts_at'])}",
            distribution=row["distribution"],
        )
    targets |= await _subscription_targets(sorted(subscriptions))
    await _apply(
        targets, gone=(), by=record.get("validated_by"), why="quantités remises", create=False
    )
    return True


async def sweep_validations(limit: int = 100) -> int:
    """The records no call used yet (the periodic safety net): each in its own
    transaction. Returns how many were used."""
    used = ValidationUse.select(ValidationUse.record).where(ValidationUse.consumer == CONSUMER)
    rows = (
        await ValidationRecord.select()
        .where(ValidationRecord.id.not_in(used))
        .order_by(ValidationRecord.id)
        .limit(limit)
    )
    count = 0
    for row in rows:
        async with transaction():
            if await use_validation(row | {"content": json.loads(row["content"])}):
                count += 1
    return count


# ---- adhésions -----------------------------------------------------------------------------


async def fee_recorded(
    *,
    fee_id: int,
    group_id: int,
    user_id: int,
    year: int,
    amount_cents: int,
    paid_on: date,
    means: str,
    by_user_id: int | None,
) -> None:
    """An adhésion recorded (members.fees): its debt and its payment, the payment settling
    the debt, in the fee's transaction. The migration m0022 did the same for the older ones."""
    subject = fee_subject(fee_id)
    await lock_accounts([(group_id, user_id)])
    common = {"group": group_id, "user": user_id, "subject": subject, "recorded_by": by_user_id}
    await _insert(
        [
            Operation(
                kind="membership",
                amount_cents=-amount_cents,
                label=f"Adhésion {year}",
                paid_on=paid_on,
                **common,
            )
        ]
    )
    [payment] = await _insert(
        [
            Operation(
                kind="payment",
                amount_cents=amount_cents,
                means=means,
                paid_on=paid_on,
                label=f"Paiement de l'adhésion {year}",
                **common,
            )
        ]
    )
    await Settlement.insert(Settlement(payment=payment, subject=subject))


# ---- what admins and members record ----------------------------------------------------


async def add_payment(
    *,
    group_id: int,
    user_id: int,
    amount_cents: int,
    means: str,
    paid_on: date,
    label: str,
    by_user_id: int | None,
    reference: str = "",
    settles: Iterable[str] = (),
    distribution_id: int | None = None,
    kind: str = "payment",
) -> int:
    """A payment (or, `kind="refund"`, money given back: `amount_cents` > 0 either way),
    inside the caller's transaction, with the debts it settles (in order)."""
    signed = amount_cents if kind == "payment" else -amount_cents
    subjects = list(dict.fromkeys(settles)) if kind == "payment" else []
    [payment] = await _insert(
        [
            Operation(
                group=group_id,
                user=user_id,
                kind=kind,
                amount_cents=signed,
                subject=subjects[0] if subjects else "",
                label=label[:300],
                means=means,
                reference=reference[:100],
                paid_on=paid_on,
                distribution=distribution_id,
                recorded_by=by_user_id,
            )
        ]
    )
    if subjects:
        await Settlement.insert(*[Settlement(payment=payment, subject=s) for s in subjects])
    return payment


async def add_adjustment(
    *, group_id: int, user_id: int, subject: str, amount_cents: int, label: str, by_user_id: int
) -> int:
    """An admin's correction of a debt: `amount_cents` added to what the debt asks
    (negative: the debt asks less)."""
    [op] = await _insert(
        [
            Operation(
                group=group_id,
                user=user_id,
                kind="adjustment",
                amount_cents=-amount_cents,
                subject=subject,
                label=label[:300],
                recorded_by=by_user_id,
            )
        ]
    )
    return op


async def set_pledge(group_id: int, user_id: int, subject: str, means: str) -> None:
    """How the member says they will pay this debt (one statement: their latest word)."""
    await PaymentPledge.insert(
        PaymentPledge(group=group_id, user=user_id, subject=subject, means=means)
    ).on_conflict(
        target=PaymentPledge.subject,
        action="DO UPDATE",
        values=[PaymentPledge.means, PaymentPledge.created_at],
    )
