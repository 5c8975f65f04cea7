"""A variable contract's minimums (ContractTerms, set by its coordinator in domain/contracts),
read from the table here so that ordering needs nothing of the contracts area (which builds
on ordering):

- **per distribution** (`minimum_order_cents`): « Valider ma commande » is refused while the
  order's lines of that contract are above zero and below it, and so is a change (a − tap,
  a typed quantity, the page without JavaScript) that takes a validated order below it;
- **over the contract** (`minimum_total_cents`), as CAMAP enforces it: pro-rated to the
  member's distributions (those of their subscription's period, absences left out, over the
  contract's), it is what their validated orders must reach by the last of them. Once the
  orders of that last distribution are open, the member cannot validate an order there
  that leaves the total below it, nor lower a validated order of the contract (at any of
  its dates) below it: the member orders more instead. Before that, they have dates left
  to order at, and MES CONTRATS shows what is left to order.

Every check runs inside the change's transaction, after the change: a refusal raises
OrderingError and rolls the change back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.database import fetch
from domain.kernel.clock import now
from domain.kernel.dates import label
from domain.kernel.money import euros
from domain.ordering import OrderingError
from domain.tables import (
    Absence,
    CatalogDistribution,
    ContractTerms,
    Order,
    OrderLine,
    Subscription,
)


def prorated(minimum_cents: int, member_dates: int, contract_dates: int) -> int:
    """The contract's minimum for a member who collects at `member_dates` of its
    `contract_dates` distributions (rounded down to the cent, as CAMAP rounds down)."""
    if contract_dates <= 0 or member_dates >= contract_dates:
        return minimum_cents
    return minimum_cents * max(0, member_dates) // contract_dates


@dataclass
class ContractMinimum:
    """Where a subscription stands against its contract's minimum."""

    minimum_cents: int  # pro-rated
    member_dates: int
    contract_dates: int
    last: dict | None  # the member's last distribution: {id, starts_at, opens_at}

    def is_final(self, moment: datetime) -> bool:
        """The orders of the member's last distribution are open (or closed): no date is
        left to make up for an order lowered now."""
        return self.last is not None and moment >= self.last["opens_at"]


async def _dates(catalog_id: int) -> list[dict]:
    """The contract's distributions not cancelled, oldest first, with the moment their
    orders open for it (the catalog's own window narrows the distribution's)."""
    rows = (
        await CatalogDistribution.select(
            CatalogDistribution.distribution.as_alias("id"),
            CatalogDistribution.distribution.starts_at.as_alias("starts_at"),
            CatalogDistribution.distribution.orders_open_at.as_alias("dist_open"),
            CatalogDistribution.orders_open_at,
        )
        .where(
            (CatalogDistribution.catalog == catalog_id)
            & CatalogDistribution.distribution.cancelled_at.is_null()
        )
        .order_by(CatalogDistribution.distribution.starts_at)
        .order_by(CatalogDistribution.distribution.id)
    )
    for row in rows:
        row["opens_at"] = max(row["dist_open"], row["orders_open_at"] or row["dist_open"])
    return rows


def standing(
    minimum_cents: int, dates: list[dict], subscription: dict, absent: set[int]
) -> ContractMinimum:
    """`dates`: the contract's distributions (`_dates`, or contracts.catalog_dates)."""
    mine = [
        d
        for d in dates
        if subscription["starts_on"]
        <= d["starts_at"].astimezone(UTC).date()
        <= subscription["ends_on"]
        and d["id"] not in absent
    ]
    return ContractMinimum(
        prorated(minimum_cents, len(mine), len(dates)),
        len(mine),
        len(dates),
        mine[-1] if mine else None,
    )


async def _subscription(user_id: int, catalog_id: int) -> dict | None:
    return (
        await Subscription.select(Subscription.id, Subscription.starts_on, Subscription.ends_on)
        .where(
            (Subscription.user == user_id)
            & (Subscription.catalog == catalog_id)
            & Subscription.ended_at.is_null()
        )
        .first()
    )


async def _validated_elsewhere(subscription_id: int, order_id: int) -> int:
    """What the subscription's validated orders other than this one add up to."""
    lines = await OrderLine.select(OrderLine.quantity, OrderLine.unit_price_cents).where(
        (OrderLine.subscription == subscription_id)
        & (OrderLine.order != order_id)
        & (OrderLine.order.state == "validated")
    )
    return sum(line["quantity"] * line["unit_price_cents"] for line in lines)


async def _check_contract(
    row: dict, order: dict, total: int, lowered: bool, moment: datetime, product_id
) -> None:
    sub = await _subscription(order["user"], row["catalog"])
    if sub is None:
        return
    absent = {
        a["distribution"]
        for a in await Absence.select(Absence.distribution).where(Absence.subscription == sub["id"])
    }
    where = standing(row["minimum_total_cents"], await _dates(row["catalog"]), sub, absent)
    if where.last is None or not where.is_final(moment):
        return
    if not (lowered or where.last["id"] == order["distribution"]):
        return  # validating an earlier date adds to the total: never refused for it
    whole = await _validated_elsewhere(sub["id"], order["id"]) + total
    if whole < where.minimum_cents:
        raise OrderingError(
            f"Le contrat « {row['name']} » demande au moins {euros(where.minimum_cents)} de "
            f"commandes sur sa durée (dernière distribution le {label(where.last['starts_at'])}) "
            f": avec ce changement, vos commandes feraient {euros(whole)}. Commandez davantage.",
            product_id=product_id,
        )


# The order's lines with the catalog each was ordered in: a product's own catalog, or for a
# product of a producer's list the catalog of the order's group that offers it
# (catalogs/offers.py). Parameter: the order.
_LINES = (
    "SELECT l.product, l.quantity, l.unit_price_cents, COALESCE(p.catalog, co.catalog) AS catalog"
    ' FROM order_line l JOIN member_order o ON o.id = l."order"'
    " JOIN distribution d ON d.id = o.distribution JOIN product p ON p.id = l.product"
    ' LEFT JOIN catalog_offer co ON co.product = p.id AND co."group" = d."group"'
    ' WHERE l."order" = {}'
)


async def lines_of(order_id: int) -> list[dict]:
    """The order's lines with their contract (what `check` compares a change with)."""
    return await fetch(OrderLine, _LINES, order_id)


def totals_of(lines: list[dict]) -> dict[int, int]:
    """{contract: what the lines of it add up to}."""
    totals: dict[int, int] = {}
    for line in lines:
        totals[line["catalog"]] = (
            totals.get(line["catalog"], 0) + line["quantity"] * line["unit_price_cents"]
        )
    return totals


async def check(
    order_id: int,
    *,
    validating: bool = False,
    before: dict[int, int] | None = None,
    lowered: Iterable[int] = (),
    moment: datetime | None = None,
    product_id: int | None = None,
) -> None:
    """After a change of the order, inside its transaction. `validating`: « Valider ma
    commande » (every contract of the order is checked); the contracts a change lowered in
    a validated order: `lowered`, or those whose total went down from `before` ({contract:
    total} of the validated order before the change). Two queries when no contract of the
    order has a minimum; `product_id`: the line a refusal is shown at."""
    moment = moment or now()
    totals = totals_of(await lines_of(order_id))
    down = set(lowered) | {c for c, t in (before or {}).items() if totals.get(c, 0) < t}
    for catalog in down:
        totals.setdefault(catalog, 0)
    checked = sorted(totals) if validating else sorted(down)
    if not checked:
        return
    terms = await ContractTerms.select(
        ContractTerms.catalog,
        ContractTerms.minimum_order_cents,
        ContractTerms.minimum_total_cents,
        ContractTerms.catalog.name.as_alias("name"),
        ContractTerms.catalog.kind.as_alias("kind"),
        ContractTerms.catalog.group.kind.as_alias("group_kind"),
    ).where(
        ContractTerms.catalog.is_in(checked)
        & ((ContractTerms.minimum_order_cents > 0) | (ContractTerms.minimum_total_cents > 0))
    )
    terms = [t for t in terms if t["kind"] == "variable" and t["group_kind"] == "amap"]
    if not terms:
        return
    order = (
        await Order.select(Order.id, Order.user, Order.distribution)
        .where(Order.id == order_id)
        .first()
    )
    for row in sorted(terms, key=lambda t: t["catalog"]):
        total = totals[row["catalog"]]
        minimum = row["minimum_order_cents"]
        if minimum and 0 < total < minimum:
            raise OrderingError(
                f"Le contrat « {row['name']} » demande une commande d'au moins "
                f"{euros(minimum)} par distribution (votre commande : {euros(total)}).",
                product_id=product_id,
            )
        if row["minimum_total_cents"] and order is not None:
            await _check_contract(row, order, total, row["catalog"] in down, moment, product_id)
