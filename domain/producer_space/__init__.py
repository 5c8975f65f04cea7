"""The producer space: a producer's sales across the groups of one instance, in three
queries whatever the number of groups, catalogs and distributions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.instances import serving_instance
from domain.kernel.clock import now
from domain.kernel.dates import label
from domain.tables import CatalogDistribution, Vendor

RECENT = timedelta(days=56)  # the past distributions shown: the last eight weeks
COMING = timedelta(days=84)  # and the next twelve


async def selling_groups(user_id: int) -> list[dict]:
    """The groups where this user sells (a Vendor linked to their account), every instance,
    with the instance that serves each group now."""
    rows = await Vendor.select(
        Vendor.id.as_alias("vendor_id"),
        Vendor.name.as_alias("vendor_name"),
        Vendor.group.id.as_alias("id"),
        Vendor.group.name.as_alias("name"),
        Vendor.group.slug.as_alias("slug"),
        Vendor.group.kind.as_alias("kind"),
        Vendor.group.instance.as_alias("instance"),
        Vendor.group.previous_instance.as_alias("previous_instance"),
        Vendor.group.migrated_at.as_alias("migrated_at"),
    ).where(Vendor.user == user_id)
    for row in rows:
        row["serving"] = serving_instance(row)
    return sorted(rows, key=lambda r: (r["name"].lower(), r["vendor_name"].lower()))


@dataclass
class DistributionSales:
    id: int
    starts_at: datetime
    label: str
    place: str
    orders: int
    total_cents: int
    past: bool


@dataclass
class CatalogSales:
    id: int
    name: str
    group_name: str
    group_slug: str
    vendor_name: str
    coming: list[DistributionSales] = field(default_factory=list)
    recent: list[DistributionSales] = field(default_factory=list)

    @property
    def recent_orders(self) -> int:
        return sum(d.orders for d in self.recent)

    @property
    def recent_cents(self) -> int:
        return sum(d.total_cents for d in self.recent)

    @property
    def coming_orders(self) -> int:
        return sum(d.orders for d in self.coming)

    @property
    def coming_cents(self) -> int:
        return sum(d.total_cents for d in self.coming)


async def _totals(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], tuple[int, int]]:
    """(catalog, distribution) -> (orders, total in cents), over validated orders only (a
    draft is a basket never submitted): one aggregate query."""
    if not pairs:
        return {}
    catalogs = sorted({c for c, _ in pairs})
    distributions = sorted({d for _, d in pairs})
    # Only "{}" placeholders are inserted into the text; the ids are bound parameters.
    marks_c, marks_d = ", ".join("{}" for _ in catalogs), ", ".join("{}" for _ in distributions)
    # A product of a producer's list counts for the catalog of the order's group that
    # offers it (catalogs/offers.py); an own product has no offer.
    catalog = "COALESCE(p.catalog, co.catalog)"
    where = f"WHERE {catalog} IN ({marks_c}) AND o.distribution IN ({marks_d}) "  # noqa: S608
    sql = (
        f"SELECT {catalog} AS catalog, o.distribution AS distribution, "  # noqa: S608
        "COUNT(DISTINCT o.id) AS orders, "
        "SUM(l.quantity * CAST(l.unit_price_cents AS BIGINT)) AS total "
        'FROM order_line l JOIN member_order o ON o.id = l."order" '
        "JOIN product p ON p.id = l.product "
        "JOIN distribution d ON d.id = o.distribution "
        'LEFT JOIN catalog_offer co ON co.product = p.id AND co."group" = d."group" '
        + where
        + f"AND o.state = 'validated' AND l.quantity > 0 GROUP BY {catalog}, o.distribution"
    )
    rows = await Vendor.raw(sql, *catalogs, *distributions)
    return {
        # A SUM of BIGINT is NUMERIC on PostgreSQL (a Decimal): back to int.
        (row["catalog"], row["distribution"]): (row["orders"], int(row["total"] or 0))
        for row in rows
    }


async def sales(
    user_id: int, instance: str, groups: list[dict] | None = None
) -> list[CatalogSales]:
    """Per catalog of this producer in the groups this instance serves: the coming and the
    recent distributions with their number of orders and total sales."""
    groups = await selling_groups(user_id) if groups is None else groups
    vendor_ids = [g["vendor_id"] for g in groups if g["serving"] == instance]
    if not vendor_ids:
        return []
    moment = now()
    rows = (
        await CatalogDistribution.select(
            CatalogDistribution.catalog.id.as_alias("catalog_id"),
            CatalogDistribution.catalog.name.as_alias("catalog_name"),
            CatalogDistribution.catalog.vendor.name.as_alias("vendor_name"),
            CatalogDistribution.catalog.group.name.as_alias("group_name"),
            CatalogDistribution.catalog.group.slug.as_alias("group_slug"),
            CatalogDistribution.distribution.id.as_alias("distribution_id"),
            CatalogDistribution.distribution.starts_at.as_alias("starts_at"),
            CatalogDistribution.distribution.place.name.as_alias("place"),
        )
        .where(
            CatalogDistribution.catalog.vendor.is_in(vendor_ids)
            & (CatalogDistribution.distribution.starts_at >= moment - RECENT)
            & (CatalogDistribution.distribution.starts_at <= moment + COMING)
            & CatalogDistribution.distribution.cancelled_at.is_null()
        )
        .order_by(CatalogDistribution.distribution.starts_at)
    )
    totals = await _totals({(r["catalog_id"], r["distribution_id"]) for r in rows})
    catalogs: dict[int, CatalogSales] = {}
    for row in rows:
        catalog = catalogs.get(row["catalog_id"])
        if catalog is None:
            catalog = catalogs[row["catalog_id"]] = CatalogSales(
                id=row["catalog_id"],
                name=row["catalog_name"],
                group_name=row["group_name"],
                group_slug=row["group_slug"],
                vendor_name=row["vendor_name"],
            )
        orders, total = totals.get((row["catalog_id"], row["distribution_id"]), (0, 0))
        past = row["starts_at"] < moment
        sold = DistributionSales(
            id=row["distribution_id"],
            starts_at=row["starts_at"],
            label=label(row["starts_at"]),
            place=row["place"],
            orders=orders,
            total_cents=total,
            past=past,
        )
        (catalog.recent if past else catalog.coming).append(sold)
    for catalog in catalogs.values():
        catalog.recent.reverse()  # the latest first
    return sorted(catalogs.values(), key=lambda c: (c.group_name.lower(), c.name.lower()))
