"""Step 4 of seed 002: each linked product's stock becomes Escarcelle's stock minus what
members ordered here and that Escarcelle has not been told yet; orders over what Escarcelle
has (sales at its till) are reported to the grocery's admins, not silently kept.

Ordered here and not pushed back: every line of an order at a distribution not cancelled
and not validated, and at a validated one the lines of the baskets whose sale is not in
Escarcelle yet (pending, failed, abandoned; not sent, not skipped, not an absent member's).

One UPDATE sets every product's stock. On PostgreSQL the products are locked first (in id
order, as orders lock them), so that the UPDATE's snapshot sees every order committed
before it and an order after it waits and re-checks its `stock >= quantity` against the
new value; on SQLite the write lock serialises them. Members never order more than the
stock column allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.database import is_sqlite, transaction
from domain.kernel import clock
from domain.outbox import MailContext, queue
from domain.producer_space import producers
from domain.tables import EscarcelleLink, Product

# The quantity reserved for product `p` (the row being updated, or one named): the lines
# Escarcelle does not know of yet. Used inside the statements below.
_RESERVED_WHERE = """
    d.cancelled_at IS NULL
    AND (d.validated_at IS NULL OR NOT (o.absent OR EXISTS (
        SELECT 1 FROM escarcelle_sale s WHERE s."order" = o.id AND s.producer = {producer}
        AND s.state IN ('sent', 'skipped'))))
"""
_RESERVED_LINES = f"""
FROM order_line l
JOIN member_order o ON o.id = l."order"
JOIN distribution d ON d.id = o.distribution
WHERE {_RESERVED_WHERE}
"""  # noqa: S608 - fixed SQL

# One row per product of the producer: the Stocks page's « réservé ». Parameters: the
# producer twice.
RESERVED_SQL = (
    "SELECT l.product AS product, SUM(l.quantity) AS quantity "  # noqa: S608 - fixed SQL
    + _RESERVED_LINES.format(producer="{}")
    + " AND l.product IN (SELECT id FROM product WHERE producer = {}) GROUP BY l.product"
)


def _values(levels: dict[int, int]) -> tuple[str, list[int]]:
    marks = ", ".join("(CAST({} AS INTEGER), CAST({} AS INTEGER))" for _ in levels)
    return marks, [value for pair in sorted(levels.items()) for value in pair]


@dataclass
class Over:
    """A product whose Escarcelle stock fell below what members ordered here."""

    product_id: int
    name: str
    escarcelle: int
    reserved: int
    orders: list[dict] = field(default_factory=list)  # the orders over it, latest first


@dataclass
class SyncResult:
    updated: int
    over: list[Over]
    moment: datetime


async def apply(
    producer_id: int, levels: dict[int, int], moment: datetime | None = None
) -> SyncResult:
    """`levels` {product id: Escarcelle's stock} for the producer's linked products (a
    product Escarcelle no longer lists: 0). One transaction: the lock (PostgreSQL), the
    orders over Escarcelle's stock, one UPDATE."""
    moment = moment or clock.now()
    if not levels:
        return SyncResult(0, [], moment)
    marks, params = _values(levels)
    reserved = _RESERVED_LINES.format(producer="{}") + " AND l.product = v.id"
    cte = (
        f"WITH v(id, qty) AS (VALUES {marks}), "  # noqa: S608 - fixed SQL, values bound
        "r AS MATERIALIZED (SELECT v.id AS id, v.qty AS qty, "
        f"v.qty - COALESCE((SELECT SUM(l.quantity) {reserved}), 0) AS available FROM v)"
    )
    async with transaction():
        if not is_sqlite():
            await Product.raw(
                "SELECT id FROM product WHERE producer = {} AND escarcelle_id IS NOT NULL "
                "ORDER BY id FOR UPDATE",
                producer_id,
            )
        short = await Product.raw(
            cte + " SELECT r.id AS id, r.qty AS qty, r.qty - r.available AS reserved "
            "FROM r WHERE r.available < 0",
            *params,
            producer_id,
        )
        rows = await Product.raw(
            cte  # noqa: S608 - fixed SQL, the values are parameters
            + " UPDATE product SET escarcelle_stock = r.qty, "
            "stock = CASE WHEN r.available < 0 THEN 0 ELSE r.available END, "
            "escarcelle_synced_at = {} FROM r WHERE r.id = product.id AND product.producer = {} "
            "RETURNING product.id",
            *params,
            producer_id,
            moment,
            producer_id,
        )
        await EscarcelleLink.update(
            {EscarcelleLink.last_sync_at: moment, EscarcelleLink.last_error: ""}
        ).where(EscarcelleLink.producer == producer_id)
        over = await _over(producer_id, short) if short else []
    return SyncResult(len(rows), over, moment)


async def _over(producer_id: int, short: list[dict]) -> list[Over]:
    """The orders beyond Escarcelle's stock for each product short of it: the reserved lines
    from the latest order back, until what remains fits."""
    ids = [row["id"] for row in short]
    marks = ", ".join("{}" for _ in ids)
    where = _RESERVED_WHERE.format(producer="{}")
    lines = await Product.raw(
        "SELECT l.product AS product, l.quantity AS quantity, o.id AS order_id, "  # noqa: S608
        "o.updated_at AS updated_at, d.starts_at AS starts_at, g.name AS group_name, "
        "u.first_name AS first_name, u.last_name AS last_name, u.email AS email "
        'FROM order_line l JOIN member_order o ON o.id = l."order" '
        "JOIN distribution d ON d.id = o.distribution "
        'JOIN app_user u ON u.id = o."user" JOIN app_group g ON g.id = d."group" '
        f"WHERE {where} AND l.product IN ({marks})",
        producer_id,
        *ids,
    )
    names = {
        p["id"]: p["name"]
        for p in await Product.select(Product.id, Product.name).where(Product.id.is_in(ids))
    }
    found = []
    for row in short:
        mine = sorted(
            (line for line in lines if line["product"] == row["id"]),
            key=lambda x: (x["updated_at"], x["order_id"]),
            reverse=True,
        )
        excess = int(row["reserved"]) - int(row["qty"])
        over = Over(row["id"], names.get(row["id"], ""), int(row["qty"]), int(row["reserved"]))
        for line in mine:
            if excess <= 0:
                break
            over.orders.append(line)
            excess -= line["quantity"]
        found.append(over)
    return found


async def report_over(producer_id: int, over: list[Over], ctx: MailContext, url: str) -> list[int]:
    """One mail per admin for these figures (the same shortage reported once)."""
    if not over:
        return []
    key = ";".join(f"{o.product_id}:{o.escarcelle}:{o.reserved}" for o in over)
    ids = []
    async with transaction():
        for admin in await producers.admins_of(producer_id):
            ids.append(
                await queue(
                    key=f"escarcelle_over:{producer_id}:{admin['id']}:{key}"[:300],
                    kind="escarcelle_over",
                    to=admin["email"],
                    template="escarcelle_over",
                    context={"first_name": admin["first_name"], "over": over, "url": url},
                    ctx=ctx,
                    user=admin["id"],
                )
            )
    return [i for i in ids if i]


# ---- the sync's claim: one at a time per grocery, once per hour ------------------------

LEASE_SECONDS = 300  # a sync not finished after this is a dead worker's


def hour_of(moment: datetime) -> int:
    return int(moment.timestamp()) // 3600


async def due_this_hour(moment: datetime) -> list[int]:
    """The producers whose hourly sync is due at `moment`, each returned by one caller only
    (a conditional UPDATE per link: two schedulers ticking at once enqueue it once)."""
    hour = hour_of(moment)
    rows = (
        await EscarcelleLink.update({EscarcelleLink.sync_hour: hour})
        .where((EscarcelleLink.state == "ok") & (EscarcelleLink.sync_hour < hour))
        .returning(EscarcelleLink.producer)
    )
    return sorted(row["producer"] for row in rows)


async def claim(producer_id: int, moment: datetime | None = None) -> bool:
    """Takes the grocery's sync; False while another one runs (its lease not over)."""
    moment = moment or clock.now()
    rows = (
        await EscarcelleLink.update({EscarcelleLink.sync_claimed_at: moment})
        .where(
            (EscarcelleLink.producer == producer_id)
            & (EscarcelleLink.state == "ok")
            & (
                EscarcelleLink.sync_claimed_at.is_null()
                | (EscarcelleLink.sync_claimed_at < moment - timedelta(seconds=LEASE_SECONDS))
            )
        )
        .returning(EscarcelleLink.id)
    )
    return bool(rows)


async def release(producer_id: int) -> None:
    await EscarcelleLink.update({EscarcelleLink.sync_claimed_at: None}).where(
        EscarcelleLink.producer == producer_id
    )


async def linked_products(producer_id: int) -> dict[str, int]:
    """{Escarcelle id: product id} of the producer's linked products."""
    rows = await Product.select(Product.id, Product.escarcelle_id).where(
        (Product.producer == producer_id) & Product.escarcelle_id.is_not_null()
    )
    return {row["escarcelle_id"]: row["id"] for row in rows}
