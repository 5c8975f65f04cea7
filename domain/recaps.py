"""COMMANDES of a catalog: its distributions, the orders of one date by product and by member,
the sign-off sheet, the bulk order to the producer, and their CSV exports.

Only validated orders count (a draft is a basket the member never submitted), and only the
lines of the catalog's own products. Every page runs a fixed number of queries whatever the
number of members; exports read members in batches so their memory stays flat.
"""

from __future__ import annotations

import csv
import io
from array import array
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.distributions import label, local
from domain.tables import CatalogDistribution, Distribution, Order, OrderLine, Product

PAST_PER_PAGE = 20  # "Commandes anciennes", per page
MEMBERS_PER_PAGE = 50  # the by-member recap, per page (a light page on a cheap phone)
EXPORT_BATCH = 500  # members read per query by the exports
MAX_PAGE = 10_000
BOM = "\ufeff"
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def now() -> datetime:
    return datetime.now(UTC)


# ---- distributions of a catalog ---------------------------------------------------------


def _dist_view(d: dict) -> dict:
    return d | {"label": label(d["starts_at"])}


async def distribution(group_id: int, distribution_id: int) -> dict | None:
    """One distribution of the group, with its place and who validated it."""
    row = (
        await Distribution.select(
            *Distribution.all_columns(),
            Distribution.place.name.as_alias("place_name"),
            Distribution.validated_by.first_name.as_alias("validator_first_name"),
            Distribution.validated_by.last_name.as_alias("validator_last_name"),
        )
        .where((Distribution.id == distribution_id) & (Distribution.group == group_id))
        .first()
    )
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
WHERE o.distribution = {} AND o.state = 'validated' AND p.catalog = {}
GROUP BY p.id, p.name, p.unit, p.reference, p.position, l.unit_price_cents
ORDER BY p.position, p.name, p.id, l.unit_price_cents
"""

_TOTALS = """
SELECT COUNT(DISTINCT l."order") AS members, COALESCE(SUM(l.quantity), 0) AS quantity,
       COALESCE(SUM(l.quantity * l.unit_price_cents), 0) AS total_cents
FROM order_line l
JOIN member_order o ON o.id = l."order"
JOIN product p ON p.id = l.product
WHERE o.distribution = {} AND o.state = 'validated' AND p.catalog = {}
"""


@dataclass
class ProductRecap:
    rows: list[dict]  # product_id, name, unit, reference, unit_price_cents, quantity, total_cents
    quantity: int
    total_cents: int


async def by_product(catalog_id: int, distribution_id: int) -> ProductRecap:
    """Quantity, unit price and total per product, and the grand total. One query."""
    rows = await OrderLine.raw(_BY_PRODUCT, distribution_id, catalog_id)
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


def _members_where(catalog_id: int, distribution_id: int):
    """The validated orders of the date holding at least one line of the catalog (the
    export reads their ids, by name: BY_NAME)."""
    with_lines = OrderLine.select(OrderLine.order).where(
        (OrderLine.product.catalog == catalog_id)
        & (OrderLine.order.distribution == distribution_id)
    )
    return (
        (Order.distribution == distribution_id)
        & (Order.state == "validated")
        & Order.id.is_in(with_lines)
    )


BY_NAME = (Order.user.last_name, Order.user.first_name, Order.id)


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
        .where(OrderLine.product.catalog == catalog_id)
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
    rows = await OrderLine.raw(_TOTALS, distribution_id, catalog_id)
    row = rows[0]
    return {k: int(row[k] or 0) for k in ("members", "quantity", "total_cents")}


# Every member of the date with their total for the catalog, by name: one pass over the
# date's lines for the count, the totals and the page (rows: one a member, not a line).
_MEMBER_TOTALS = """
SELECT o.id AS order_id, o.absent AS absent, u.id AS user_id, u.first_name AS first_name,
       u.last_name AS last_name, u.phone AS phone, SUM(l.quantity) AS quantity,
       SUM(l.quantity * l.unit_price_cents) AS total_cents
FROM member_order o
JOIN app_user u ON u.id = o."user"
JOIN order_line l ON l."order" = o.id
JOIN product p ON p.id = l.product
WHERE o.distribution = {} AND o.state = 'validated' AND p.catalog = {}
GROUP BY o.id, o.absent, u.id, u.first_name, u.last_name, u.phone
ORDER BY u.last_name, u.first_name, o.id
"""


async def by_member(catalog_id: int, distribution_id: int, page: int = 1) -> MemberRecap:
    """One page of members with their phone, lines and total, and the totals of all pages.
    Two queries."""
    everyone = await Order.raw(_MEMBER_TOTALS, distribution_id, catalog_id)
    pages = max(1, -(-len(everyone) // MEMBERS_PER_PAGE))
    page = min(max(page, 1), pages)
    members = everyone[(page - 1) * MEMBERS_PER_PAGE : page * MEMBERS_PER_PAGE]
    lines = await _lines_of(catalog_id, [m["order_id"] for m in members])
    return MemberRecap(
        members=_assemble(members, lines),
        count=len(everyone),
        quantity=sum(int(m["quantity"]) for m in everyone),
        total_cents=sum(int(m["total_cents"]) for m in everyone),
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
        )
        .where(
            (Order.id == order_id)
            & (Order.distribution == distribution_id)
            & (Order.state == "validated")
        )
        .first()
    )
    lines = await _lines_of(catalog_id, [order_id]) if member else []
    return _assemble([member], lines)[0] if lines else None


async def order_of_line(catalog_id: int, distribution_id: int, line_id: int) -> int | None:
    row = (
        await OrderLine.select(OrderLine.order)
        .where(
            (OrderLine.id == line_id)
            & (OrderLine.order.distribution == distribution_id)
            & (OrderLine.product.catalog == catalog_id)
        )
        .first()
    )
    return row["order"] if row else None


async def all_members(catalog_id: int, distribution_id: int) -> list[dict]:
    """Every member of the date with their lines (the sign-off sheet). Two queries."""
    members = await Order.raw(_MEMBER_TOTALS, distribution_id, catalog_id)
    lines = await _lines_query(catalog_id).where(
        (OrderLine.order.distribution == distribution_id) & (OrderLine.order.state == "validated")
    )
    return _assemble(members, lines)


async def member_batches(
    catalog_id: int, distribution_id: int, batch: int = EXPORT_BATCH
) -> AsyncIterator[list[dict]]:
    """The date's members with their lines of the catalog, `batch` members at a time, in
    name order: [{order_id, first_name, last_name, phone, absent, lines: [{product, quantity,
    unit_price_cents}]}] (the lines in no particular order).

    The order ids are read first, in name order (8 bytes a member); then each batch is two
    short queries on a pooled connection: memory does not grow with the number of lines, and
    a slow download holds no connection or transaction open."""
    ids = array(
        "q",
        await Order.select(Order.id)
        .where(_members_where(catalog_id, distribution_id))
        .order_by(*BY_NAME)
        .output(as_list=True),
    )
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch].tolist()
        members = await Order.select(
            Order.id.as_alias("order_id"),
            Order.absent,
            Order.user.first_name.as_alias("first_name"),
            Order.user.last_name.as_alias("last_name"),
            Order.user.phone.as_alias("phone"),
        ).where(Order.id.is_in(chunk))
        lines = await OrderLine.select(
            OrderLine.order, OrderLine.product, OrderLine.quantity, OrderLine.unit_price_cents
        ).where(OrderLine.order.is_in(chunk) & (OrderLine.product.catalog == catalog_id))
        by_order = {m["order_id"]: m | {"lines": []} for m in members}
        for line in lines:
            by_order[line["order"]]["lines"].append(line)
        yield [by_order[order_id] for order_id in chunk if order_id in by_order]


async def _product_texts(catalog_id: int) -> tuple[dict[int, int], dict[int, list[str]]]:
    """The catalog's products: their rank (its product order) and neutralised name, unit."""
    products = (
        await Product.select(Product.id, Product.name, Product.unit)
        .where(Product.catalog == catalog_id)
        .order_by(Product.position, Product.name, Product.id)
    )
    rank = {p["id"]: n for n, p in enumerate(products)}
    return rank, {p["id"]: [cell(p["name"]), cell(p["unit"])] for p in products}


async def orderable_products(catalog_id: int) -> list[dict]:
    """What a manager may add to a member's order: the catalog's active products."""
    return (
        await Product.select(Product.id, Product.name, Product.unit, Product.price_cents)
        .where((Product.catalog == catalog_id) & (Product.active == True))  # noqa: E712
        .order_by(Product.position, Product.name)
    )


# ---- CSV --------------------------------------------------------------------------------


def cell(value: object) -> str:
    """A CSV cell as French spreadsheets read it: text that would start a formula gets a
    leading apostrophe (shown as text, never run)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def decimal(cents: int) -> str:
    """1234 -> '12,34' (decimal comma, no currency sign: a number for the spreadsheet)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100},{cents % 100:02d}"


def csv_text(rows: Iterable[list[object]]) -> str:
    """Rows whose text cells went through `cell` (each producer of rows does it)."""
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    return out.getvalue()


async def csv_stream(batches: AsyncIterator[list[list[object]]]) -> AsyncIterator[bytes]:
    """UTF-8 with a byte order mark (Excel then reads the accents right), `;` between cells."""
    yield BOM.encode()
    async for rows in batches:
        if rows:
            yield csv_text(rows).encode()


PRODUCT_HEADER = ["Produit", "Référence", "Unité", "Quantité", "Prix unitaire", "Total"]
MEMBER_HEADER = [
    "Nom",
    "Prénom",
    "Téléphone",
    "Produit",
    "Unité",
    "Quantité",
    "Prix unitaire",
    "Total",
    "Absent",
]
BULK_HEADER = ["Produit", "Référence", "Unité", "Quantité", "Montant"]


async def product_rows(catalog_id: int, distribution_id: int) -> AsyncIterator[list[list]]:
    recap = await by_product(catalog_id, distribution_id)
    rows: list[list] = [PRODUCT_HEADER]
    for r in recap.rows:
        rows.append(
            [
                cell(r["name"]),
                cell(r["reference"]),
                cell(r["unit"]),
                r["quantity"],
                decimal(r["unit_price_cents"]),
                decimal(r["total_cents"]),
            ]
        )
    rows.append(["Total", "", "", recap.quantity, "", decimal(recap.total_cents)])
    yield rows


async def member_rows(
    catalog_id: int, distribution_id: int, batch: int = EXPORT_BATCH
) -> AsyncIterator[list[list]]:
    """One CSV row per line, members in name order, then the grand total. Text cells are
    neutralised once per member and per product, amounts formatted once per value: the
    100,000-line export spends its time writing, not re-checking the same names."""
    yield [MEMBER_HEADER]
    rank, product_cells = await _product_texts(catalog_id)
    amounts: dict[int, str] = {}
    quantity = total = 0

    def amount(cents: int) -> str:
        found = amounts.get(cents)
        if found is None:
            found = amounts[cents] = decimal(cents)
        return found

    async for members in member_batches(catalog_id, distribution_id, batch):
        rows = []
        for m in members:
            who = [cell(m["last_name"]), cell(m["first_name"]), cell(m["phone"])]
            absent = "oui" if m["absent"] else ""
            for line in sorted(m["lines"], key=lambda x: rank[x["product"]]):
                q, price = line["quantity"], line["unit_price_cents"]
                quantity += q
                total += q * price
                rows.append(
                    [
                        *who,
                        *product_cells[line["product"]],
                        q,
                        amount(price),
                        amount(q * price),
                        absent,
                    ]
                )
        yield rows
    yield [["Total", "", "", "", "", quantity, "", decimal(total), ""]]


async def bulk_rows(catalog_id: int, distribution_id: int) -> AsyncIterator[list[list]]:
    recap = await bulk_order(catalog_id, distribution_id)
    rows: list[list] = [BULK_HEADER]
    for r in recap.rows:
        rows.append(
            [
                cell(r["name"]),
                cell(r["reference"]),
                cell(r["unit"]),
                r["quantity"],
                decimal(r["total_cents"]),
            ]
        )
    rows.append(["Total", "", "", recap.quantity, decimal(recap.total_cents)])
    yield rows


def file_day(dist: dict) -> str:
    """The distribution's day for a file name: 2023-04-04 (sorts well in a folder)."""
    return f"{local(dist['starts_at']):%Y-%m-%d}"
