"""The liste d'émargement of a catalog at a date: every member who ordered from it, their
lines and total, and room to sign. Built in one pass over a row a member, whatever their
number: two queries (the members with their lines, the catalog's products)."""

from __future__ import annotations

from dataclasses import dataclass

from domain.catalog_orders.recaps import member_name
from domain.catalogs import offers
from domain.contracts import sharing
from domain.database import is_sqlite
from domain.members import consent
from domain.tables import Order, Product

# A row a member, with their total and their lines of the catalog as "product:quantity,…"
# in the catalog's product order, so that the rows fetched and the Python work per member
# stay small (no object a line: a line is its text, which equal lines share). PostgreSQL
# orders the aggregate itself; SQLite (3.40: no ORDER BY in an aggregate) concatenates in the
# order of a sorted subquery, which its planner keeps for group_concat (a subquery with ORDER
# BY under an aggregate is never flattened, and its GROUP BY sorter is stable).
# Parameters: catalog, distribution, catalog, catalog.
_FROM = """
FROM member_order o
JOIN order_line l ON l."order" = o.id
JOIN product p ON p.id = l.product
JOIN app_user u ON u.id = o."user"
LEFT JOIN membership m ON m."user" = o."user"
     AND m."group" = (SELECT c."group" FROM catalog c WHERE c.id = {})
WHERE o.distribution = {} AND o.state = 'validated' AND (p.catalog = {} OR p.id IN (
    SELECT co.product FROM catalog_offer co WHERE co.catalog = {}))
"""
_MEMBER = f"""o.id AS order_id, o.absent AS absent,
       {consent.shown_sql("first_name")} AS first_name,
       {consent.shown_sql("last_name")} AS last_name,
       {consent.shown_sql("phone")} AS phone"""
_ITEM = "CAST(l.product AS TEXT) || ':' || CAST(l.quantity AS TEXT)"
_CENTS = "l.quantity * CAST(l.unit_price_cents AS BIGINT)"
_POSTGRES = f"""
SELECT {_MEMBER}, SUM({_CENTS}) AS total_cents,
       string_agg({_ITEM}, ',' ORDER BY p.position, p.name, l.id) AS items
{_FROM}
GROUP BY o.id, u.id, m.id
ORDER BY {consent.shown_sql("last_name")}, {consent.shown_sql("first_name")}, o.id
"""  # noqa: S608 - the SQL is fixed, the values are parameters
_SQLITE = f"""
SELECT order_id, absent, first_name, last_name, phone, SUM(cents) AS total_cents,
       group_concat(item, ',') AS items
FROM (
    SELECT {_MEMBER}, {_CENTS} AS cents, {_ITEM} AS item
    {_FROM}
    ORDER BY last_name, first_name, order_id, p.position, p.name, l.id
)
GROUP BY last_name, first_name, order_id
ORDER BY last_name, first_name, order_id
"""  # noqa: S608 - the SQL is fixed, the values are parameters


@dataclass
class Sheet:
    # order_id, name, phone, absent, collector (a shared basket's: who collects it that
    # day), total_cents, lines: their keys "product:quantity" in
    # the catalog's product order (`line_of` reads one)
    members: list[dict]
    products: dict[int, dict]  # id: {name, unit}, of the catalog
    total_cents: int


async def sheet(catalog_id: int, distribution_id: int) -> Sheet:
    """Every member of the date with their lines and total (the liste d'émargement), and the
        grand total. Two queries (a row a member, the catalog's products) and one pass; one more
    for the shared baskets (two more when there are some)."""
    sql = _SQLITE if is_sqlite() else _POSTGRES
    rows = await Order.raw(sql, catalog_id, distribution_id, catalog_id, catalog_id)
    products = await Product.select(Product.id, Product.name, Product.unit).where(
        offers.offered(catalog_id)
    )
    collectors = await sharing.collectors(catalog_id, distribution_id)  # shared baskets
    total = 0
    for row in rows:
        row["collector"] = collectors.get(row["order_id"], "")
        row["name"] = member_name(row)
        row["total_cents"] = cents = int(row["total_cents"])
        total += cents
        row["lines"] = row.pop("items").split(",")
    return Sheet(rows, {p["id"]: p for p in products}, total)


def line_of(key: str) -> tuple[int, int]:
    """A line of the sign-off sheet: (product id, quantity) of its key "product:quantity"."""
    product, _, quantity = key.partition(":")
    return int(product), int(quantity)
