"""STATISTIQUES of a catalog: sales per distribution over time and the top products.

Aggregated in SQL, so the number of queries does not grow with distributions or orders.
Only validated orders count as sales.
"""

from __future__ import annotations

from domain.catalogs.offers import LINE_SQL
from domain.kernel.dates import label, local
from domain.tables import CatalogDistribution, Distribution, OrderLine

TOP_PRODUCTS = 10

_SALES_BY_DISTRIBUTION = (
    "SELECT o.distribution AS distribution, COUNT(DISTINCT o.id) AS orders, "  # noqa: S608
    "SUM(ol.quantity) AS quantity, "
    "SUM(ol.quantity * CAST(ol.unit_price_cents AS BIGINT)) AS amount_cents "
    'FROM order_line ol JOIN member_order o ON o.id = ol."order" '
    "JOIN product p ON p.id = ol.product "
    f"WHERE {LINE_SQL} AND o.state = 'validated' GROUP BY o.distribution"
)
_TOP_PRODUCTS = (
    "SELECT p.id AS id, p.name AS name, p.unit AS unit, SUM(ol.quantity) AS quantity, "  # noqa: S608
    "SUM(ol.quantity * CAST(ol.unit_price_cents AS BIGINT)) AS amount_cents "
    'FROM order_line ol JOIN member_order o ON o.id = ol."order" '
    "JOIN product p ON p.id = ol.product "
    f"WHERE {LINE_SQL} AND o.state = 'validated' "
    "GROUP BY p.id, p.name, p.unit ORDER BY amount_cents DESC, p.name LIMIT {}"
)


async def sales_by_distribution(catalog_id: int) -> list[dict]:
    """Every distribution of the catalog, by date, with its orders, quantity and amount
    (zero where nothing was sold). Two queries (three if sales remain at a distribution the
    catalog no longer delivers at)."""
    dists = (
        await CatalogDistribution.select(
            CatalogDistribution.distribution.id.as_alias("id"),
            CatalogDistribution.distribution.starts_at.as_alias("starts_at"),
            CatalogDistribution.distribution.cancelled_at.as_alias("cancelled_at"),
        )
        .where(CatalogDistribution.catalog == catalog_id)
        .order_by(CatalogDistribution.distribution.starts_at)
    )
    rows = await OrderLine.raw(_SALES_BY_DISTRIBUTION, catalog_id, catalog_id)
    sales = {row["distribution"]: row for row in rows}
    missing = set(sales) - {d["id"] for d in dists}
    if missing:
        dists += await Distribution.select(
            Distribution.id, Distribution.starts_at, Distribution.cancelled_at
        ).where(Distribution.id.is_in(sorted(missing)))
        dists.sort(key=lambda d: d["starts_at"])
    return [
        {
            "id": d["id"],
            "starts_at": d["starts_at"],
            "label": label(d["starts_at"]),
            "short": f"{local(d['starts_at']):%d/%m}",
            "cancelled": d["cancelled_at"] is not None,
            "orders": int(sales.get(d["id"], {}).get("orders") or 0),
            "quantity": int(sales.get(d["id"], {}).get("quantity") or 0),
            "amount_cents": int(sales.get(d["id"], {}).get("amount_cents") or 0),
        }
        for d in dists
    ]


async def top_products(catalog_id: int, limit: int = TOP_PRODUCTS) -> list[dict]:
    rows = await OrderLine.raw(_TOP_PRODUCTS, catalog_id, catalog_id, limit)
    return [
        row | {"quantity": int(row["quantity"] or 0), "amount_cents": int(row["amount_cents"] or 0)}
        for row in rows
    ]
