"""A market's statement per producer over a period: for each producer, at each distribution
of the period, what members ordered from its catalogs (validated orders, as handed over
once the distribution is validated), how much of it is paid and what is still to be paid,
so that the manager can pay the producers. A page and an Excel-ready CSV.

« Payé »: an order's debt is shared between its producers in proportion to what each one
sold in it, and so is what was paid of it (status.settle); an order with no debt in the
ledger (validated before it) counts as ordered, not as paid."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from domain.database import fetch
from domain.kernel.dates import label, paris_midnight
from domain.kernel.money import decimal
from domain.payments import PAYMENT_KINDS, order_subject
from domain.payments.account import settlements_of
from domain.payments.status import settle
from domain.tables import Distribution, Operation, OrderLine

MAX_DAYS = 366
# The validated lines of the distributions, each with the catalog it was ordered in: a
# product's own catalog, or for a product of a producer's list the catalog of the order's
# group that offers it (catalogs/offers.py: one per group), so that a product offered in
# several groups counts, in each, for the catalog (and vendor) it was ordered from.
_LINES = (
    'SELECT l."order" AS "order", l.quantity, l.unit_price_cents, l.subscription,'
    ' o."user" AS "user", o.distribution, c.kind, c.vendor, v.name AS vendor_name'
    ' FROM order_line l JOIN member_order o ON o.id = l."order"'
    " JOIN distribution d ON d.id = o.distribution"
    " JOIN product p ON p.id = l.product"
    ' LEFT JOIN catalog_offer co ON co.product = p.id AND co."group" = d."group"'
    " JOIN catalog c ON c.id = COALESCE(p.catalog, co.catalog)"
    " JOIN vendor v ON v.id = c.vendor"
    " WHERE o.distribution IN ({marks}) AND o.state = 'validated'"
)
HEADER = ["Producteur", "Distribution", "Commandes", "Commandé", "Payé", "Reste à payer"]


@dataclass
class Row:
    distribution: int
    label: str
    orders: int = 0
    ordered_cents: int = 0
    paid_cents: int = 0

    @property
    def left_cents(self) -> int:
        return self.ordered_cents - self.paid_cents


@dataclass
class Producer:
    id: int
    name: str
    rows: list[Row] = field(default_factory=list)

    @property
    def ordered_cents(self) -> int:
        return sum(r.ordered_cents for r in self.rows)

    @property
    def paid_cents(self) -> int:
        return sum(r.paid_cents for r in self.rows)

    @property
    def left_cents(self) -> int:
        return self.ordered_cents - self.paid_cents


def period(start: str, end: str, today: date) -> tuple[date, date, dict[str, str]]:
    """?du=…&au=… read; by default the current month up to today."""
    errors: dict[str, str] = {}
    first, last = today.replace(day=1), today
    try:
        first = date.fromisoformat(start.strip()) if start.strip() else first
    except ValueError:
        errors["du"] = "Indiquez la date de début, par exemple 01/12/2026."
    try:
        last = date.fromisoformat(end.strip()) if end.strip() else last
    except ValueError:
        errors["au"] = "Indiquez la date de fin, par exemple 31/12/2026."
    if not errors and last < first:
        errors["au"] = "La fin de la période doit venir après son début."
    elif not errors and (last - first).days > MAX_DAYS:
        errors["au"] = "Choisissez une période d'un an au plus."
    return first, last, errors


async def statement(group_id: int, first: date, last: date) -> list[Producer]:
    """Five queries whatever the period: distributions, lines, operations of the members
    concerned, their settlements (and nothing per producer or per member)."""
    dists = (
        await Distribution.select(Distribution.id, Distribution.starts_at)
        .where(
            (Distribution.group == group_id)
            & Distribution.cancelled_at.is_null()
            & (Distribution.starts_at >= paris_midnight(first))
            & (Distribution.starts_at < paris_midnight(last + timedelta(days=1)))
        )
        .order_by(Distribution.starts_at)
    )
    if not dists:
        return []
    ids = [d["id"] for d in dists]
    marks = ", ".join("{}" for _ in ids)  # only "{}" go into the text; ids are parameters
    lines = await fetch(OrderLine, _LINES.format(marks=marks), *ids)
    users = sorted({line["user"] for line in lines})
    ops = (
        await Operation.select(
            Operation.id,
            Operation.user,
            Operation.kind,
            Operation.amount_cents,
            Operation.subject,
            Operation.label,
        )
        .where((Operation.group == group_id) & Operation.user.is_in(users))
        .order_by(Operation.id)
        if users
        else []
    )
    links = await settlements_of([o["id"] for o in ops if o["kind"] in PAYMENT_KINDS])
    by_user: dict[int, list[dict]] = {}
    for op in ops:
        by_user.setdefault(op["user"], []).append(op)
    debts = {}
    for user in users:
        debts |= settle(by_user.get(user, []), links).debts
    # What each order's debt sells of each producer (the order's lines outside baskets).
    share: dict[tuple[int, int], int] = {}
    order_total: dict[int, int] = {}
    for line in lines:
        if line["subscription"] is not None and line["kind"] == "fixed":
            continue  # a contract's basket: the subscription's debt, not this statement's
        cents = line["quantity"] * line["unit_price_cents"]
        share[(line["order"], line["vendor"])] = (
            share.get((line["order"], line["vendor"]), 0) + cents
        )
        order_total[line["order"]] = order_total.get(line["order"], 0) + cents
    where = {line["order"]: line["distribution"] for line in lines}
    names = {line["vendor"]: line["vendor_name"] for line in lines}
    labels = {d["id"]: label(d["starts_at"]) for d in dists}
    rank = {d["id"]: n for n, d in enumerate(dists)}
    cells: dict[tuple[int, int], Row] = {}
    for (order_id, vendor), cents in sorted(share.items()):
        dist = where[order_id]
        row = cells.setdefault((vendor, dist), Row(dist, labels[dist]))
        row.orders += 1
        row.ordered_cents += cents
        debt = debts.get(order_subject(order_id))
        if debt is not None and debt.due_cents > 0 and order_total[order_id]:
            paid = min(debt.paid_cents, debt.due_cents)
            row.paid_cents += cents * paid // debt.due_cents
    producers: dict[int, Producer] = {}
    for (vendor, _), row in sorted(
        cells.items(), key=lambda x: (names[x[0][0]], x[0][0], rank[x[0][1]])
    ):
        producers.setdefault(vendor, Producer(vendor, names[vendor])).rows.append(row)
    return list(producers.values())


async def csv_rows(group_id: int, first: date, last: date) -> AsyncIterator[list[list]]:
    yield [HEADER]
    for producer in await statement(group_id, first, last):
        yield [
            [
                producer.name,
                row.label,
                row.orders,
                decimal(row.ordered_cents),
                decimal(row.paid_cents),
                decimal(row.left_cents),
            ]
            for row in producer.rows
        ] + [
            [
                producer.name,
                "Total",
                sum(r.orders for r in producer.rows),
                decimal(producer.ordered_cents),
                decimal(producer.paid_cents),
                decimal(producer.left_cents),
            ]
        ]
