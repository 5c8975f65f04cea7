"""The distributions a catalog delivers at, and its own order window at each."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.catalogs.offers import LINE_SQL
from domain.database import transaction
from domain.kernel import clock
from domain.kernel.dates import PARIS, label
from domain.kernel.errors import FieldErrors
from domain.tables import (
    CatalogDistribution,
    Distribution,
    OrderLine,
)

# ---- the distributions of a catalog -----------------------------------------------------


class DeliveryError(Exception):
    """A change of the catalog's distributions was refused; `message` is in French."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


async def order_counts(catalog_id: int) -> dict[int, int]:
    """{distribution: number of orders (draft or validated) with a line of this catalog}."""
    rows = await OrderLine.raw(
        "SELECT o.distribution AS distribution, COUNT(DISTINCT o.id) AS orders "  # noqa: S608
        'FROM order_line ol JOIN member_order o ON o.id = ol."order" '
        f"JOIN product p ON p.id = ol.product WHERE {LINE_SQL} GROUP BY o.distribution",
        catalog_id,
        catalog_id,
    )
    return {row["distribution"]: row["orders"] for row in rows}


async def deliveries(catalog_id: int) -> list[dict]:
    """The distributions the catalog delivers at, by date, with this catalog's own window
    (`opens`/`closes`: its dates, else the distribution's) and its number of orders."""
    rows = (
        await CatalogDistribution.select(
            CatalogDistribution.orders_open_at,
            CatalogDistribution.orders_close_at,
            CatalogDistribution.distribution.id.as_alias("id"),
            CatalogDistribution.distribution.starts_at.as_alias("starts_at"),
            CatalogDistribution.distribution.ends_at.as_alias("ends_at"),
            CatalogDistribution.distribution.orders_open_at.as_alias("dist_open_at"),
            CatalogDistribution.distribution.orders_close_at.as_alias("dist_close_at"),
            CatalogDistribution.distribution.cancelled_at.as_alias("cancelled_at"),
            CatalogDistribution.distribution.place.name.as_alias("place_name"),
        )
        .where(CatalogDistribution.catalog == catalog_id)
        .order_by(CatalogDistribution.distribution.starts_at)
    )
    counts = await order_counts(catalog_id)
    for row in rows:
        row["opens"] = row["orders_open_at"] or row["dist_open_at"]
        row["closes"] = row["orders_close_at"] or row["dist_close_at"]
        row["own_window"] = bool(row["orders_open_at"] or row["orders_close_at"])
        row["orders"] = counts.get(row["id"], 0)
    return rows


async def addable_distributions(group_id: int, catalog_id: int) -> list[dict]:
    """The group's coming distributions (not cancelled) the catalog does not deliver at yet."""
    delivered = CatalogDistribution.select(CatalogDistribution.distribution).where(
        CatalogDistribution.catalog == catalog_id
    )
    return (
        await Distribution.select(
            Distribution.id,
            Distribution.starts_at,
            Distribution.place.name.as_alias("place_name"),
        )
        .where(
            (Distribution.group == group_id)
            & Distribution.cancelled_at.is_null()
            & (Distribution.ends_at >= clock.now())
            & Distribution.id.not_in(delivered)
        )
        .order_by(Distribution.starts_at)
        .limit(200)
    )


async def add_delivery(group_id: int, catalog_id: int, distribution_id: int) -> None:
    offered = {d["id"] for d in await addable_distributions(group_id, catalog_id)}
    if distribution_id not in offered:
        raise DeliveryError("Choisissez une distribution à venir de ce groupe.")
    await CatalogDistribution.insert(
        CatalogDistribution(catalog=catalog_id, distribution=distribution_id)
    ).on_conflict(action="DO NOTHING")


async def remove_delivery(catalog_id: int, distribution_id: int) -> None:
    """Refused while members have orders of this catalog at that date."""
    async with transaction():
        orders = (await order_counts(catalog_id)).get(distribution_id, 0)
        if orders:
            raise DeliveryError(
                f"Cette distribution a {orders} commande{'s' if orders > 1 else ''} de ce "
                "catalogue : elle ne peut pas être retirée. Les commandes doivent d'abord "
                "être supprimées."
            )
        await CatalogDistribution.delete().where(
            (CatalogDistribution.catalog == catalog_id)
            & (CatalogDistribution.distribution == distribution_id)
        )


def _paris_moment(value: str, field: str, errors: dict[str, str]) -> datetime | None:
    """A datetime-local input, in Paris time; empty: None."""
    if not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=PARIS).astimezone(UTC)
    except ValueError:
        errors[field] = "Indiquez une date et une heure valides."
        return None


async def set_delivery_window(
    catalog_id: int, distribution_id: int, *, opens: str, closes: str
) -> None:
    """This catalog's own order dates at one distribution; empty: the distribution's. They
    stay inside the distribution's window (the catalog closes earlier, or opens later)."""
    link = (
        await CatalogDistribution.select(
            CatalogDistribution.id,
            CatalogDistribution.distribution.orders_open_at.as_alias("dist_open_at"),
            CatalogDistribution.distribution.orders_close_at.as_alias("dist_close_at"),
        )
        .where(
            (CatalogDistribution.catalog == catalog_id)
            & (CatalogDistribution.distribution == distribution_id)
        )
        .first()
    )
    if link is None:
        raise FieldErrors({"opens": "Ce catalogue n'est pas livré à cette distribution."})
    errors: dict[str, str] = {}
    own_open = _paris_moment(opens, "opens", errors)
    own_close = _paris_moment(closes, "closes", errors)
    dist_open, dist_close = link["dist_open_at"], link["dist_close_at"]
    start, end = own_open or dist_open, own_close or dist_close
    if not errors:
        if start < dist_open:
            errors["opens"] = (
                "Les commandes de ce catalogue ne peuvent pas ouvrir avant celles de la "
                f"distribution ({label(dist_open)})."
            )
        if end > dist_close:
            errors["closes"] = (
                "Les commandes de ce catalogue ne peuvent pas fermer après celles de la "
                f"distribution ({label(dist_close)})."
            )
        if "closes" not in errors and end <= start:
            errors["closes"] = "La fermeture des commandes doit être après leur ouverture."
    if errors:
        raise FieldErrors(errors)
    await CatalogDistribution.update(
        {
            CatalogDistribution.orders_open_at: None if start == dist_open else start,
            CatalogDistribution.orders_close_at: None if end == dist_close else end,
        }
    ).where(CatalogDistribution.id == link["id"])
