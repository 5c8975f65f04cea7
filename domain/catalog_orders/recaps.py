"""COMMANDES of a catalog: its distributions, the orders of one date by product and by
member, and the bulk order to the producer (the sign-off sheet: sign_off.py).

Only validated orders count (a draft is a basket the member never submitted), and only the
lines of the catalog's own products. Every page runs a fixed number of queries whatever the
number of members."""

from __future__ import annotations

from array import array
from collections.abc import AsyncIterator
from dataclasses import dataclass

from piccolo.columns.combination import WhereRaw

from domain.catalogs import offers
from domain.kernel.clock import now
from domain.kernel.dates import label
from domain.members import consent
from domain.tables import Catalog, CatalogDistribution, Distribution, Order, OrderLine, Product

PAST_PER_PAGE = 20  # "Commandes anciennes", per page
MEMBERS_PER_PAGE = 50  # the by-member recap, per page (a light page on a cheap phone)
EXPORT_BATCH = 500  # members read per query by the exports
MAX_PAGE = 10_000


# ---- distributions of a catalog ---------------------------------------------------------


def _dist_view(d: dict) -> dict:
    return d | {"label": label(d["starts_at"])}


def _distribution_query(distribution_id: int):
    return Distribution.select(
        *Distribution.all_columns(),
        Distribution.place.name.as_alias("place_name"),
        Distribution.validated_by.first_name.as_alias("validator_first_name"),
        Distribution.validated_by.last_name.as_alias("validator_last_name"),
    ).where(Distribution.id == distribution_id)


async def distribution(group_id: int, distribution_id: int) -> dict | None:
    """One distribution of the group, with its place and who validated it."""
    row = await _distribution_query(distribution_id).where(Distribution.group == group_id).first()
    return _with_validation(row)


# The catalog has lines at the distribution (orders kept after its delivery was unticked).
_HAS_LINES = (
    'EXISTS (SELECT 1 FROM member_order o JOIN order_line l ON l."order" = o.id '
    "JOIN product p ON p.id = l.product "
    'WHERE o.distribution = "distribution".id AND (p.catalog = {} OR p.id IN '
    "(SELECT co.product FROM catalog_offer co WHERE co.catalog = {})))"
)


async def distribution_of_catalog(catalog_id: int, distribution_id: int) -> dict | None:
    """A distribution of the catalog's COMMANDES: one of its group's that the catalog
    delivers at (or has orders at). Any other id is None, so that a URL pairing a catalog
    with another catalog's date (or another group's) is not found."""
    has_lines = WhereRaw(_HAS_LINES, catalog_id, catalog_id)
    row = (
        await _distribution_query(distribution_id)
        .where(
            Distribution.group.is_in(Catalog.select(Catalog.group).where(Catalog.id == catalog_id))
            & (Distribution.id.is_in(_delivering(catalog_id)) | has_lines)
        )
        .first()
    )
    return _with_validation(row)


def _with_validation(row: dict | None) -> dict | None:
    if row is None:
        return None
    moment = now()
    validator = f"{row['validator_first_name'] or ''} {row['validator_last_name'] or ''}"
    return _dist_view(row) | {
        "started": row["starts_at"] <= moment,
        "validator": validator.strip(),
        "validated_label": label(row["validated_at"]) if row["validated_at"] else "",
    }


def _delivering(catalog_id: int):
    return CatalogDistribution.select(CatalogDistribution.distribution).where(
        CatalogDistribution.catalog == catalog_id
    )


def _catalog_dates(catalog_id: int):
    return Distribution.select(
        Distribution.id,
        Distribution.starts_at,
        Distribution.ends_at,
        Distribution.cancelled_at,
        Distribution.validated_at,
        Distribution.place.name.as_alias("place_name"),
    ).where(Distribution.id.is_in(_delivering(catalog_id)))


async def coming_distributions(catalog_id: int, limit: int = 100) -> list[dict]:
    """The catalog's distributions not over yet, the next first."""
    rows = (
        await _catalog_dates(catalog_id)
        .where(Distribution.ends_at >= now())
        .order_by(Distribution.starts_at)
        .limit(limit)
    )
    return [_dist_view(r) for r in rows]


async def past_distributions(catalog_id: int, page: int = 1) -> tuple[list[dict], bool]:
    """One page of the catalog's past distributions, the latest first, and whether more follow."""
    page = min(max(page, 1), MAX_PAGE)
    rows = (
        await _catalog_dates(catalog_id)
        .where(Distribution.ends_at < now())
        .order_by(Distribution.starts_at, ascending=False)
        .offset((page - 1) * PAST_PER_PAGE)
        .limit(PAST_PER_PAGE + 1)
    )
    return [_dist_view(r) for r in rows[:PAST_PER_PAGE]], len(rows) > PAST_PER_PAGE


async def bulk_choices(catalog_id: int) -> tuple[list[dict], int | None]:
    """COMMANDE EN GROS: the dates to choose from (coming ones, then the ten latest past) and
    the default one: the next distribution, or else the latest."""
    coming = await coming_distributions(catalog_id)
    past, _ = await past_distributions(catalog_id)
    past = past[:10]
    default = coming[0]["id"] if coming else past[0]["id"] if past else None
    return coming + past, default


# ---- by product -------------------------------------------------------------------------

# One row per product and price paid (a price changed between two orders gives two rows).
_BY_PRODUCT = """
SELECT p.id AS product_id, p.name AS name, p.unit AS unit, p.reference AS reference,
       l.unit_price_cents AS unit_price_cents, SUM(l.quantity) AS quantity
FROM order_line l
JOIN member_order o ON o.id = l."order"
JOIN product p ON p.id = l.product
WHERE o.distribution = {} AND o.state = 'validated' AND (p.catalog = {} OR p.id IN (
    SELECT co.product FROM catalog_offer co WHERE co.catalog = {}))
GROUP BY p.id, p.name, p.unit, p.reference, p.position, l.unit_price_cents
ORDER BY p.position, p.name, p.id, l.unit_price_cents
"""

_TOTALS = """
SELECT COUNT(DISTINCT l."order") AS members, COALESCE(SUM(l.quantity), 0) AS quantity,
       COALESCE(SUM(l.quantity * CAST(l.unit_price_cents AS BIGINT)), 0) AS total_cents
FROM order_line l
JOIN member_order o ON o.id = l."order"
JOIN product p ON p.id = l.product
WHERE o.distribution = {} AND o.state = 'validated' AND (p.catalog = {} OR p.id IN (
    SELECT co.product FROM catalog_offer co WHERE co.catalog = {}))
"""


@dataclass
class ProductRecap:
    rows: list[dict]  # product_id, name, unit, reference, unit_price_cents, quantity, total_cents
    quantity: int
    total_cents: int


async def by_product(catalog_id: int, distribution_id: int) -> ProductRecap:
    """Quantity, unit price and total per product, and the grand total. One query."""
    rows = await OrderLine.raw(_BY_PRODUCT, distribution_id, catalog_id, catalog_id)
    for row in rows:
        row["quantity"] = int(row["quantity"])
        row["total_cents"] = row["quantity"] * row["unit_price_cents"]
    return ProductRecap(
        rows=rows,
        quantity=sum(r["quantity"] for r in rows),
        total_cents=sum(r["total_cents"] for r in rows),
    )


async def bulk_order(catalog_id: int, distribution_id: int) -> ProductRecap:
    """COMMANDE EN GROS: the total quantity per product to order from the producer (the
    prices paid are merged: one row per product)."""
    recap = await by_product(catalog_id, distribution_id)
    merged: dict[int, dict] = {}
    for row in recap.rows:
        if row["product_id"] in merged:
            kept = merged[row["product_id"]]
            kept["quantity"] += row["quantity"]
            kept["total_cents"] += row["total_cents"]
        else:
            merged[row["product_id"]] = dict(row)
    return ProductRecap(list(merged.values()), recap.quantity, recap.total_cents)


# ---- by member --------------------------------------------------------------------------


def _lines_query(catalog_id: int):
    return (
        OrderLine.select(
            OrderLine.id,
            OrderLine.order,
            OrderLine.quantity,
            OrderLine.unit_price_cents,
            OrderLine.product.id.as_alias("product_id"),
            OrderLine.product.name.as_alias("name"),
            OrderLine.product.unit.as_alias("unit"),
        )
        .where(offers.line_offered(catalog_id))
        .order_by(OrderLine.product.position, OrderLine.product.name, OrderLine.id)
    )


async def _lines_of(catalog_id: int, order_ids: list[int]) -> list[dict]:
    if not order_ids:
        return []
    return await _lines_query(catalog_id).where(OrderLine.order.is_in(order_ids))


def member_name(member: dict) -> str:
    """ "DURAND Alice": the family name first, as sign-off sheets are sorted."""
    return f"{member['last_name'].upper()} {member['first_name']}".strip()


def _assemble(members: list[dict], lines: list[dict]) -> list[dict]:
    by_order: dict[int, list[dict]] = {}
    for line in lines:
        line["total_cents"] = line["quantity"] * line["unit_price_cents"]
        by_order.setdefault(line["order"], []).append(line)
    out = []
    for member in members:
        mine = by_order.get(member["order_id"], [])
        out.append(
            member
            | {
                "name": member_name(member),
                "lines": mine,
                "total_cents": sum(line["total_cents"] for line in mine),
            }
        )
    return out


@dataclass
class MemberRecap:
    members: list[dict]  # order_id, user_id, name, phone, absent, lines, total_cents
    count: int  # members in all pages
    quantity: int
    total_cents: int  # of all pages
    page: int = 1
    pages: int = 1


async def totals(catalog_id: int, distribution_id: int) -> dict:
    rows = await OrderLine.raw(_TOTALS, distribution_id, catalog_id, catalog_id)
    row = rows[0]
    return {k: int(row[k] or 0) for k in ("members", "quantity", "total_cents")}


# The validated orders of the date holding a line of the catalog, sorted by the names shown
# to the group's admins (consent.py). Parameters: catalog, distribution, catalog, catalog.
# "Holds a line" is a scalar subquery, not EXISTS: PostgreSQL turns an EXISTS into a semi
# join that reads every line of the catalog, of all its dates (158,800 lines for 5,000
# members in the benchmark: 140 ms), where a subquery per order looks up that order's lines
# in the (order, product) index (20 ms), a cost that follows the date, not the history.
_SHOWN_ORDERS = f"""
FROM member_order o
JOIN app_user u ON u.id = o."user"
LEFT JOIN membership m ON m."user" = o."user"
     AND m."group" = (SELECT c."group" FROM catalog c WHERE c.id = {{}})
WHERE o.distribution = {{}} AND o.state = 'validated' AND (
    SELECT 1 FROM order_line l JOIN product p ON p.id = l.product
    WHERE l."order" = o.id AND (p.catalog = {{}} OR p.id IN (
        SELECT co.product FROM catalog_offer co WHERE co.catalog = {{}})) LIMIT 1) = 1
ORDER BY {consent.shown_sql("last_name")}, {consent.shown_sql("first_name")}, o.id
"""  # noqa: S608 - the SQL is fixed, the values are parameters

# Their ids (the export reads them first, then its batches).
_BY_SHOWN_NAME = "SELECT o.id AS id" + _SHOWN_ORDERS

# With their names and phone as shown.
_SHOWN = f"""
SELECT o.id AS order_id, o.absent AS absent, u.id AS user_id,
       {consent.shown_sql("first_name")} AS first_name,
       {consent.shown_sql("last_name")} AS last_name,
       {consent.shown_sql("phone")} AS phone
{_SHOWN_ORDERS}"""  # noqa: S608 - the SQL is fixed, the values are parameters

# One page of them (LIMIT / OFFSET in the database: only the page's members are read, and
# only their lines are joined), one row a line of the catalog, a member's lines together
# in the catalog's product order.
_PAGE = f"""
WITH page AS ({_SHOWN} LIMIT {{}} OFFSET {{}})
SELECT page.order_id AS order_id, page.absent AS absent, page.user_id AS user_id,
       page.first_name AS first_name, page.last_name AS last_name, page.phone AS phone,
       l.id AS id, l.quantity AS quantity, l.unit_price_cents AS unit_price_cents,
       p.id AS product_id, p.name AS name, p.unit AS unit
FROM page
JOIN order_line l ON l."order" = page.order_id
JOIN product p ON p.id = l.product
WHERE (p.catalog = {{}} OR p.id IN (
        SELECT co.product FROM catalog_offer co WHERE co.catalog = {{}}))
ORDER BY page.last_name, page.first_name, page.order_id, p.position, p.name, l.id
"""  # noqa: S608 - the SQL is fixed, the values are parameters

_MEMBER_KEYS = ("order_id", "absent", "user_id", "first_name", "last_name", "phone")


def _members_of_lines(rows: list[dict]) -> list[dict]:
    """Rows of lines, a member's together, to members with their lines and total: one pass."""
    members: list[dict] = []
    lines: list[dict] = []
    current = None
    total = 0
    for row in rows:
        if row["order_id"] != current:
            if members:
                members[-1]["total_cents"] = total
            current, total, lines = row["order_id"], 0, []
            member = {k: row[k] for k in _MEMBER_KEYS}
            member["name"] = member_name(member)
            member["lines"] = lines
            members.append(member)
        cents = row["quantity"] * row["unit_price_cents"]
        total += cents
        lines.append(
            {
                "id": row["id"],
                "order": current,
                "quantity": row["quantity"],
                "unit_price_cents": row["unit_price_cents"],
                "product_id": row["product_id"],
                "name": row["name"],
                "unit": row["unit"],
                "total_cents": cents,
            }
        )
    if members:
        members[-1]["total_cents"] = total
    return members


async def by_member(catalog_id: int, distribution_id: int, page: int = 1) -> MemberRecap:
    """One page of members with their phone, lines and total, and the totals of all pages.
    Two queries, whatever the number of members: the totals (and so the number of pages),
    then the page's members with their lines."""
    summary = await totals(catalog_id, distribution_id)
    pages = max(1, -(-summary["members"] // MEMBERS_PER_PAGE))
    page = min(max(page, 1), pages)
    rows = await Order.raw(
        _PAGE,
        catalog_id,
        distribution_id,
        catalog_id,
        catalog_id,
        MEMBERS_PER_PAGE,
        (page - 1) * MEMBERS_PER_PAGE,
        catalog_id,
        catalog_id,
    )
    return MemberRecap(
        members=_members_of_lines(rows),
        count=summary["members"],
        quantity=summary["quantity"],
        total_cents=summary["total_cents"],
        page=page,
        pages=pages,
    )


async def member_order(catalog_id: int, distribution_id: int, order_id: int) -> dict | None:
    """One member's block of the recap (after a change of one of its lines); None if the
    order has no line of the catalog (any more). Two indexed queries."""
    member = (
        await Order.select(
            Order.id.as_alias("order_id"),
            Order.absent,
            Order.user.id.as_alias("user_id"),
            Order.user.first_name.as_alias("first_name"),
            Order.user.last_name.as_alias("last_name"),
            Order.user.phone.as_alias("phone"),
            Order.distribution.group.as_alias("group_id"),
        )
        .where(
            (Order.id == order_id)
            & (Order.distribution == distribution_id)
            & (Order.state == "validated")
        )
        .first()
    )
    lines = await _lines_of(catalog_id, [order_id]) if member else []
    if not lines:
        return None
    await consent.mask(member.pop("group_id"), [member])
    return _assemble([member], lines)[0]


async def order_of_line(catalog_id: int, distribution_id: int, line_id: int) -> int | None:
    row = (
        await OrderLine.select(OrderLine.order)
        .where(
            (OrderLine.id == line_id)
            & (OrderLine.order.distribution == distribution_id)
            & offers.line_offered(catalog_id)
        )
        .first()
    )
    return row["order"] if row else None


async def member_batches(
    catalog_id: int, distribution_id: int, batch: int = EXPORT_BATCH
) -> AsyncIterator[list[dict]]:
    """The date's members with their lines of the catalog, `batch` members at a time, in
    name order: [{order_id, first_name, last_name, phone, absent, lines: [{product, quantity,
    unit_price_cents, name, unit}]}] (the lines in the catalog's product order).

    The order ids are read first, in name order (8 bytes a member); then each batch is three
    short queries on a pooled connection: memory does not grow with the number of lines, and
    a slow download holds no connection or transaction open. Names and phones are those the
    group's admins may see, and sorted as shown (consent.py)."""
    ids = array(
        "q",
        [
            row["id"]
            for row in await Order.raw(
                _BY_SHOWN_NAME, catalog_id, distribution_id, catalog_id, catalog_id
            )
        ],
    )
    group = await Catalog.select(Catalog.group).where(Catalog.id == catalog_id).first()
    group_id = group["group"] if group else None
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch].tolist()
        members = await Order.select(
            Order.id.as_alias("order_id"),
            Order.absent,
            Order.user.id.as_alias("user_id"),
            Order.user.first_name.as_alias("first_name"),
            Order.user.last_name.as_alias("last_name"),
            Order.user.phone.as_alias("phone"),
        ).where(Order.id.is_in(chunk))
        await consent.mask(group_id, members)
        lines = (
            await OrderLine.select(
                OrderLine.order,
                OrderLine.product,
                OrderLine.quantity,
                OrderLine.unit_price_cents,
                OrderLine.product.id.as_alias("product_id"),
                OrderLine.product.name.as_alias("name"),
                OrderLine.product.unit.as_alias("unit"),
            )
            .where(OrderLine.order.is_in(chunk) & offers.line_offered(catalog_id))
            .order_by(OrderLine.product.position, OrderLine.product.name, OrderLine.id)
        )
        by_order = {m["order_id"]: m | {"lines": []} for m in members}
        for line in lines:
            by_order[line["order"]]["lines"].append(line)
        yield [by_order[order_id] for order_id in chunk if order_id in by_order]


async def all_members(catalog_id: int, distribution_id: int) -> list[dict]:
    """Every member of the date with their lines (name, unit, totals) in the names' order,
    for the producer's order form: a few queries per EXPORT_BATCH members."""
    out: list[dict] = []
    async for batch in member_batches(catalog_id, distribution_id):
        lines = [line for member in batch for line in member["lines"]]
        out += _assemble([{k: v for k, v in m.items() if k != "lines"} for m in batch], lines)
    return out


async def orderable_products(catalog_id: int) -> list[dict]:
    """What a manager may add to a member's order: the catalog's active products."""
    return (
        await Product.select(Product.id, Product.name, Product.unit, Product.price_cents)
        .where(offers.offered(catalog_id) & (Product.active == True))  # noqa: E712
        .order_by(Product.position, Product.name)
    )
