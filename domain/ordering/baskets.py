"""What the ordering page shows: the open distributions, and a member's (or a visitor's)
basket with the products offered, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date

from domain.database import fetch
from domain.kernel.clock import now
from domain.kernel.dates import label
from domain.members import access_ended_on
from domain.ordering import catalog_window_state, sections, window_state
from domain.tables import (
    CatalogDistribution,
    Distribution,
    Order,
    Product,
)


async def closed_catalogs(distribution_id: int) -> dict[int, str]:
    """The catalogs of this date whose own window is not open: {catalog: state}. One query."""
    moment = now()
    links = await CatalogDistribution.select(
        CatalogDistribution.catalog,
        CatalogDistribution.orders_open_at,
        CatalogDistribution.orders_close_at,
    ).where(
        (CatalogDistribution.distribution == distribution_id)
        & (
            CatalogDistribution.orders_open_at.is_not_null()
            | CatalogDistribution.orders_close_at.is_not_null()
        )
    )
    states = {link["catalog"]: catalog_window_state(link, moment) for link in links}
    return {catalog: state for catalog, state in states.items() if state != "open"}


# ---- reading ---------------------------------------------------------------------------


async def open_distributions(group_id: int, user_id: int | None) -> list[dict]:
    """COMMANDES tab: coming distributions whose orders are open, with their catalogs.

    Three queries whatever the number of distributions, catalogs or orders.
    """
    moment = now()
    dists = (
        await Distribution.select(
            *Distribution.all_columns(), Distribution.place.name.as_alias("place_name")
        )
        .where(
            (Distribution.group == group_id)
            & Distribution.cancelled_at.is_null()
            & (Distribution.orders_open_at <= moment)
            & (Distribution.orders_close_at > moment)
        )
        .order_by(Distribution.starts_at)
        .limit(100)
    )
    if not dists:
        return []
    ids = [d["id"] for d in dists]
    links = await CatalogDistribution.select(
        CatalogDistribution.distribution,
        CatalogDistribution.orders_open_at,
        CatalogDistribution.orders_close_at,
        CatalogDistribution.catalog.name.as_alias("catalog_name"),
        CatalogDistribution.catalog.vendor.name.as_alias("vendor_name"),
    ).where(CatalogDistribution.distribution.is_in(ids))
    links = [link for link in links if catalog_window_state(link, moment) == "open"]
    orders = []
    if user_id:
        orders = await Order.select(Order.distribution, Order.state, Order.total_cents).where(
            (Order.user == user_id) & Order.distribution.is_in(ids)
        )
    by_dist: dict[int, list[str]] = {}
    for link in links:
        by_dist.setdefault(link["distribution"], []).append(
            f"{link['vendor_name']} – {link['catalog_name']}"
        )
    order_of = {o["distribution"]: o for o in orders}
    return [
        {
            **d,
            "label": label(d["starts_at"]),
            "closes_label": label(d["orders_close_at"]),
            "catalogs": sorted(by_dist.get(d["id"], [])),
            "order": order_of.get(d["id"]),
        }
        for d in dists
        if by_dist.get(d["id"])
    ]


async def next_opening(group_id: int) -> dict | None:
    """When orders open next, when none is open now: the first coming distribution whose
    window is ahead, with its catalogs (two queries)."""
    moment = now()
    dist = (
        await Distribution.select(
            *Distribution.all_columns(), Distribution.place.name.as_alias("place_name")
        )
        .where(
            (Distribution.group == group_id)
            & Distribution.cancelled_at.is_null()
            & (Distribution.orders_open_at > moment)
        )
        .order_by(Distribution.orders_open_at)
        .first()
    )
    if dist is None:
        return None
    links = await CatalogDistribution.select(
        CatalogDistribution.catalog.name.as_alias("catalog_name"),
        CatalogDistribution.catalog.vendor.name.as_alias("vendor_name"),
    ).where(CatalogDistribution.distribution == dist["id"])
    return dist | {
        "label": label(dist["starts_at"]),
        "opens_label": label(dist["orders_open_at"]),
        "catalogs": sorted(f"{x['vendor_name']} – {x['catalog_name']}" for x in links),
    }


@dataclass
class Basket:
    distribution: dict
    state: str  # window state
    vendors: list[dict]  # [{name, products: [...]}]
    quantities: dict[int, int]
    order: dict | None
    total_cents: int
    products: dict[int, dict] = field(default_factory=dict)
    closed_catalogs: dict[int, str] = field(default_factory=dict)  # their own window is not open
    # The last day of the member's access to a solidarity grocery, when it is over.
    access_ended_on: date | None = None
    # A large shop read as its shelves (`basket(whole=False)`): the offered products counted
    # by catalog and category (`n`), and the basket's products of a closed catalog; then
    # `products` holds the basket's and the open section's only. None: every product read.
    shelves: list[dict] | None = None


# The page's reads as fixed SQL strings (Piccolo would build the same joins again on every
# request: milliseconds for the product list); `{}` are parameters. Both engines.
# With the end of the member's access to a solidarity grocery (None: no end, or no member).
# Parameters: user, distribution, group.
_DISTRIBUTION = (
    "SELECT d.*, pl.name AS place_name, pl.address AS place_address, g.kind AS group_kind, "
    "m.escarcelle_access_until AS access_until "
    'FROM distribution d JOIN app_group g ON g.id = d."group" '
    "LEFT JOIN place pl ON pl.id = d.place "
    'LEFT JOIN membership m ON m."user" = {} AND m."group" = d."group" '
    'WHERE d.id = {} AND d."group" = {}'
)
# Products a member may order at a distribution: active, from a catalog that delivers
# there, variable orders only (fixed contracts are subscribed, not ordered); with their
# catalog's own order window at that date. A product of a producer's list (no catalog of
# its own) is the offering catalog's (catalog_offer, one per group: catalogs/offers.py).
# Parameters: the distribution, True.
PRODUCT_COLUMNS = (
    ("p.id", "id"),
    ("c.id", "catalog"),
    ("p.name", "name"),
    ("p.category", "category"),
    ("c.name", "catalog_name"),
    ("p.unit", "unit"),
    ("p.price_cents", "price_cents"),
    ("p.stock", "stock"),
    ("p.max_per_order", "max_per_order"),
    ("c.starts_on", "starts_on"),
    ("c.ends_on", "ends_on"),
    ("v.id", "vendor_id"),
    ("v.name", "vendor_name"),
    ("cd.orders_open_at", "catalog_opens_at"),
    ("cd.orders_close_at", "catalog_closes_at"),
)
ORDERABLE_FROM = (
    "FROM product p LEFT JOIN catalog_offer co ON co.product = p.id AND p.catalog IS NULL "
    "JOIN catalog c ON c.id = COALESCE(p.catalog, co.catalog) "
    "JOIN catalog_distribution cd ON cd.catalog = c.id AND cd.distribution = {} "
    "LEFT JOIN vendor v ON v.id = c.vendor "
    "WHERE p.active = {} AND c.kind = 'variable'"
)


def orderable_sql(prefix: str = "") -> str:
    columns = ", ".join(f"{column} AS {prefix}{name}" for column, name in PRODUCT_COLUMNS)
    return f"SELECT {columns} {ORDERABLE_FROM}"


_ORDERABLE = orderable_sql()
_ONE_PRODUCT = _ORDERABLE + " AND p.id = {}"
# The page: the distribution with the member's order (its columns as "order__…"; the
# member: None for a visitor) and the end of their access to a solidarity grocery, then
# the products with the member's quantity of each (the order: None, no quantities).
# Parameters: user, user, distribution, group; distribution, order, True.
_ORDER_COLUMNS = "".join(
    f', o."{c._meta.db_column_name}" AS order__{c._meta.db_column_name}'
    for c in Order._meta.columns
)
_PAGE_DISTRIBUTION = (  # column names from the table's definition, values parameters
    "SELECT d.*, pl.name AS place_name, pl.address AS place_address, g.kind AS group_kind, "  # noqa: S608
    f"m.escarcelle_access_until AS access_until{_ORDER_COLUMNS} "
    'FROM distribution d JOIN app_group g ON g.id = d."group" '
    "LEFT JOIN place pl ON pl.id = d.place "
    'LEFT JOIN member_order o ON o.distribution = d.id AND o."user" = {} '
    'LEFT JOIN membership m ON m."user" = {} AND m."group" = d."group" '
    'WHERE d.id = {} AND d."group" = {}'
)
_PAGE_ROWS = (
    orderable_sql()
    .replace(" FROM product p ", ", l.quantity AS line_quantity FROM product p ")
    .replace(" WHERE ", ' LEFT JOIN order_line l ON l.product = p.id AND l."order" = {} WHERE ')
)
_PAGE_ORDER = " ORDER BY v.name, p.position, p.name, p.id"
_PAGE_PRODUCTS = _PAGE_ROWS + _PAGE_ORDER
# A large shop's shelves: its products counted by catalog and category, with what decides
# whether the catalog is offered at this date. A few rows, however many products.
# Parameters: the distribution, True.
_SHELF_COLUMNS = (
    "c.id AS catalog, p.category AS category, v.id AS vendor_id, v.name AS vendor_name, "
    "c.name AS catalog_name, c.starts_on AS starts_on, c.ends_on AS ends_on, "
    "cd.orders_open_at AS catalog_opens_at, cd.orders_close_at AS catalog_closes_at"
)
_SHELVES = (
    f"SELECT {_SHELF_COLUMNS}, COUNT(*) AS n {ORDERABLE_FROM} GROUP BY c.id, p.category, "
    "v.id, v.name, c.name, c.starts_on, c.ends_on, cd.orders_open_at, cd.orders_close_at"
)
_SHELF = "(c.id = {} AND COALESCE(p.category, '') = {})"


def _some_products_sql(guests: int, shelves: int) -> str:
    """The page's products among the basket's (the order's lines, or `guests` ids of a
    visitor's basket) and `shelves` shelves (an open section's). Parameters: those of
    `_PAGE_PRODUCTS`, the ids, then (catalog, category) of each shelf."""
    basket = "l.quantity IS NOT NULL" if not guests else f"p.id IN ({', '.join(['{}'] * guests)})"
    opened = " OR ".join([_SHELF] * shelves) or "1 = 0"
    return f"{_PAGE_ROWS} AND ({basket} OR {opened}){_PAGE_ORDER}"


async def distribution_of(
    group_id: int, distribution_id: int, user_id: int | None = None
) -> dict | None:
    """The distribution, with `access_until` of the user's membership (None without)."""
    rows = await fetch(Distribution, _DISTRIBUTION, user_id, distribution_id, group_id)
    return rows[0] if rows else None


async def orderable(distribution_id: int, product_id: int) -> dict | None:
    """One product as the page offers it (see `_ORDERABLE`), or None."""
    rows = await fetch(Product, _ONE_PRODUCT, distribution_id, True, product_id)
    return rows[0] if rows else None


def catalog_window(product: dict, moment) -> str:
    return catalog_window_state(
        {
            "orders_open_at": product["catalog_opens_at"],
            "orders_close_at": product["catalog_closes_at"],
        },
        moment,
    )


def in_period(product: dict, dist: dict, day: date | None = None) -> bool:
    """The product's catalog delivers on the distribution's day (`day`: that day, worked
    out once for a page of many products)."""
    day = day or dist["starts_at"].astimezone(UTC).date()
    if product["starts_on"] and day < product["starts_on"]:
        return False
    return not (product["ends_on"] and day > product["ends_on"])


def _offered(rows: list[dict], dist: dict, moment) -> tuple[dict[int, bool], dict[int, str]]:
    """Per catalog of the rows (products or shelves): whether it is offered (it delivers that
    day and its own window is open), and the state of the windows not open. Both are the
    catalog's: decided once per catalog."""
    closed: dict[int, str] = {}
    offered: dict[int, bool] = {}
    day = dist["starts_at"].astimezone(UTC).date()
    for p in rows:
        if p["catalog"] not in offered:
            if p["catalog_opens_at"] or p["catalog_closes_at"]:
                state = catalog_window(p, moment)
                if state != "open":
                    closed[p["catalog"]] = state
            offered[p["catalog"]] = p["catalog"] not in closed and in_period(p, dist, day)
    return offered, closed


async def _shelves(distribution_id: int, dist: dict, moment) -> tuple[list | None, dict]:
    """The offered shelves of a shop large enough for sections read apart (None: a small
    shop, or one whose sections are runs of names: every product is read), and the
    catalogs whose window is not open."""
    rows = await fetch(Product, _SHELVES, distribution_id, True)
    offered, closed = _offered(rows, dist, moment)
    rows = [r for r in rows if offered[r["catalog"]]]
    if sum(r["n"] for r in rows) <= sections.SECTIONED_ABOVE or sections.in_runs(rows):
        return None, {}
    return rows, closed


async def basket(
    group_id: int,
    distribution_id: int,
    user_id: int | None,
    guest: dict[int, int] | None = None,
    *,
    whole: bool = True,
    section: str | None = None,
) -> Basket | None:
    """The ordering page: two queries, however many products. `whole=False`: a large shop
    may be read as its shelves (one query more) with only the basket's products and those
    of `section` (a section's key): what its first load and a section show."""
    found = await fetch(
        Distribution, _PAGE_DISTRIBUTION, user_id, user_id, distribution_id, group_id
    )
    if not found:
        return None
    dist, order = {}, {}
    for key, value in found[0].items():
        if key.startswith("order__"):
            order[key[7:]] = value
        else:
            dist[key] = value
    order = order if order["id"] is not None else None
    order_id = order["id"] if order else None
    moment = now()
    shelves, closed_shelves = (None, {}) if whole else await _shelves(distribution_id, dist, moment)
    if shelves is None:
        rows = await fetch(Product, _PAGE_PRODUCTS, distribution_id, order_id, True)
    else:
        ids = [] if order or not guest else sorted(guest)
        opened = [
            (s["catalog"], s["category"] or "")
            for s in shelves
            if section and sections.key_of(s) == section
        ]
        rows = await fetch(
            Product,
            _some_products_sql(len(ids), len(opened)),
            *(distribution_id, order_id, True, *ids),
            *(value for shelf in opened for value in shelf),
        )
    in_order = {p["id"]: p.pop("line_quantity") for p in rows}  # not a column of the line
    quantities: dict[int, int] = {}
    if order:
        quantities = {pid: q for pid, q in in_order.items() if q}
    elif guest:
        quantities = dict(guest)
    # A catalog whose own window is not open at this date is not offered; lines already in
    # the basket stay shown (and counted), but cannot change.
    offered, closed = _offered(rows, dist, moment)
    day = dist["starts_at"].astimezone(UTC).date()
    products = [
        p
        for p in rows
        if offered[p["catalog"]]
        or (quantities.get(p["id"]) and p["catalog"] in closed and in_period(p, dist, day))
    ]
    if shelves is not None:
        # the basket's products of a closed catalog count in their section, as on the page
        # of every product
        closed = closed_shelves
        shelves += [p for p in products if not offered[p["catalog"]]]
    vendors: list[dict] = []
    by_id: dict[int, dict] = {}
    for product in products:
        by_id[product["id"]] = product
        if not vendors or vendors[-1]["id"] != product["vendor_id"]:
            vendors.append(
                {"id": product["vendor_id"], "name": product["vendor_name"], "products": []}
            )
        vendors[-1]["products"].append(product)
    total = sum(by_id[pid]["price_cents"] * q for pid, q in quantities.items() if pid in by_id)
    return Basket(
        distribution=dist,
        state=window_state(dist),
        vendors=vendors,
        quantities=quantities,
        order=order,
        total_cents=total,
        products=by_id,
        closed_catalogs=closed,
        access_ended_on=access_ended_on(dist.pop("access_until"), moment),
        shelves=shelves,
    )
