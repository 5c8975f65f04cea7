"""STOCKS of the producer space: per product its stock (what members may still order), what
members ordered and has not been handed over yet, and, for a grocery linked to Escarcelle,
Escarcelle's stock and the time of the last sync (domain/escarcelle)."""

from __future__ import annotations

from domain.tables import Product

# Ordered and not handed over: the lines of every order at a distribution neither
# cancelled nor validated. One parameter: the producer.
ORDERED_SQL = """
SELECT l.product AS product, SUM(l.quantity) AS quantity
FROM order_line l
JOIN member_order o ON o.id = l."order"
JOIN distribution d ON d.id = o.distribution
JOIN product p ON p.id = l.product
WHERE p.producer = {} AND d.cancelled_at IS NULL AND d.validated_at IS NULL
GROUP BY l.product
"""


async def stocks(
    producer_id: int, reserved_sql: str = ORDERED_SQL, parameters: int = 1
) -> list[dict]:
    """The producer's products by name with `stock`, `reserved` (`reserved_sql`: one row per
    product, `parameters` times the producer) and their Escarcelle figures. Two queries."""
    rows = (
        await Product.select(
            Product.id,
            Product.name,
            Product.reference,
            Product.unit,
            Product.stock,
            Product.active,
            Product.escarcelle_id,
            Product.escarcelle_stock,
            Product.escarcelle_synced_at,
        )
        .where(Product.producer == producer_id)
        .order_by(Product.name)
        .order_by(Product.id)
    )
    found = await Product.raw(reserved_sql, *([producer_id] * parameters))
    reserved = {r["product"]: int(r["quantity"] or 0) for r in found}
    for row in rows:
        row["reserved"] = reserved.get(row["id"], 0)
    return rows
