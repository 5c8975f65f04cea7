"""Catalogs: a producer's offer in a group (a contract in an AMAP), with the dates it
delivers at; the parts are `products`, `product_files` (CSV), `deliveries`, `documents`
and `statistics`."""

from __future__ import annotations

from datetime import date

from domain.database import transaction
from domain.kernel import forms
from domain.kernel.errors import FieldErrors
from domain.members import consent
from domain.tables import (
    Catalog,
    CatalogDistribution,
    Distribution,
    Vendor,
)

CATALOG_KINDS = {
    "variable": "Commande variable",
    "fixed": "Commande fixe (même panier à chaque distribution)",
}


# ---- catalogs --------------------------------------------------------------------------


def catalogs_query(group_id: int):
    return (
        Catalog.select(
            *Catalog.all_columns(),
            Catalog.vendor.name.as_alias("vendor_name"),
            Catalog.vendor.user.as_alias("vendor_user"),
            Catalog.coordinator.first_name.as_alias("coordinator_first_name"),
            Catalog.coordinator.last_name.as_alias("coordinator_last_name"),
        )
        .where(Catalog.group == group_id)
        .order_by(Catalog.name)
    )


async def _coordinators_shown(group_id: int, rows: list[dict]) -> list[dict]:
    """A coordinator not accepted yet shows as the admin typed them (consent.py)."""
    typed = await consent.typed_for(group_id, [r["coordinator"] for r in rows])
    for row in rows:
        if row["coordinator"] in typed:
            row["coordinator_first_name"] = typed[row["coordinator"]]["first_name"]
            row["coordinator_last_name"] = typed[row["coordinator"]]["last_name"]
    return rows


async def catalogs_of(group_id: int) -> list[dict]:
    return await _coordinators_shown(group_id, await catalogs_query(group_id))


async def catalog(group_id: int, catalog_id: int) -> dict | None:
    row = await catalogs_query(group_id).where(Catalog.id == catalog_id).first()
    return (await _coordinators_shown(group_id, [row]))[0] if row else None


async def save_catalog(
    group_id: int,
    group_kind: str,
    *,
    name: str,
    vendor_id: str,
    kind: str,
    starts_on: str,
    ends_on: str,
    coordinator_id: str = "",
    description: str = "",
    catalog_id: int | None = None,
    distribution_ids: list[int] | None = None,
    offered: list[int] | None = None,
) -> dict:
    """The catalog form: the catalog and, with `distribution_ids`, the distributions it
    delivers at (`offered`: those the form showed, see `set_deliveries`), in one
    transaction: nothing is saved when a part fails."""
    from domain.tables import Membership

    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = "Indiquez le nom du catalogue."
    elif len(name) > 120:
        errors["name"] = "Le nom ne doit pas dépasser 120 caractères."
    forms.check_length(errors, "description", description, forms.LONG_TEXT)
    vid = forms.an_id(vendor_id)
    if vid is None or not await Vendor.exists().where(
        (Vendor.id == vid) & (Vendor.group == group_id)
    ):
        errors["vendor_id"] = "Choisissez un producteur de ce groupe."
    if group_kind != "amap":
        kind = "variable"  # markets take variable orders only
    if kind not in CATALOG_KINDS:
        errors["kind"] = "Choisissez commande fixe ou variable."
    period: list[date | None] = []
    for field, value in (("starts_on", starts_on), ("ends_on", ends_on)):
        try:
            period.append(date.fromisoformat(value.strip()) if value.strip() else None)
        except ValueError:
            errors[field] = "Indiquez une date valide."
            period.append(None)
    if group_kind == "amap" and not errors and (period[0] is None or period[1] is None):
        errors["ends_on" if period[0] else "starts_on"] = "Un contrat d'AMAP a une période."
    if period[0] and period[1] and period[1] < period[0]:
        errors["ends_on"] = "La fin de la période doit être après son début."
    cid = forms.an_id(coordinator_id)
    if cid is not None and not await Membership.exists().where(
        (Membership.user == cid) & (Membership.group == group_id)
    ):
        errors["coordinator_id"] = "Le coordinateur doit être membre du groupe."
    if errors:
        raise FieldErrors(errors)
    values = {
        Catalog.name: name,
        Catalog.vendor: vid,
        Catalog.kind: kind,
        Catalog.starts_on: period[0],
        Catalog.ends_on: period[1],
        Catalog.coordinator: cid,
        Catalog.description: description.strip(),
    }
    async with transaction():
        if catalog_id:
            await Catalog.update(values).where(
                (Catalog.id == catalog_id) & (Catalog.group == group_id)
            )
        else:
            rows = await Catalog.insert(
                Catalog(group=group_id, **{col._meta.name: v for col, v in values.items()})
            ).returning(Catalog.id)
            catalog_id = rows[0]["id"]
        if distribution_ids is not None:
            await set_deliveries(group_id, catalog_id, distribution_ids, among=offered)
    return await catalog(group_id, catalog_id)


async def coordinator_choices(group_id: int) -> list[dict]:
    """The group's members, who may coordinate a catalog."""
    from domain.tables import Membership

    return (
        await Membership.select(
            Membership.user.id.as_alias("id"),
            consent.shown("first_name"),
            consent.shown("last_name"),
            Membership.user.email.as_alias("email"),
        )
        .where(Membership.group == group_id)
        .order_by(consent.shown("last_name"))
        .order_by(consent.shown("first_name"))
    )


async def delivery_ids(catalog_id: int) -> set[int]:
    rows = await CatalogDistribution.select(CatalogDistribution.distribution).where(
        CatalogDistribution.catalog == catalog_id
    )
    return {row["distribution"] for row in rows}


async def set_deliveries(
    group_id: int,
    catalog_id: int,
    distribution_ids: list[int],
    *,
    among: list[int] | None = None,
) -> None:
    """Which distributions the catalog delivers at (only this group's).

    `among`: the distributions the form offered (the coming ones); deliveries at any
    other distribution (past ones, with their orders) are kept as they are.
    """
    valid = {
        row["id"]
        for row in await Distribution.select(Distribution.id).where(
            (Distribution.group == group_id) & Distribution.id.is_in(distribution_ids or [-1])
        )
    }
    async with transaction():
        current = await delivery_ids(catalog_id)
        if among is not None:
            offered = set(among)
            valid = (valid & offered) | (current - offered)
        removed = current - valid
        if removed:
            await CatalogDistribution.delete().where(
                (CatalogDistribution.catalog == catalog_id)
                & CatalogDistribution.distribution.is_in(list(removed))
            )
        added = valid - current
        if added:
            await CatalogDistribution.insert(
                *[CatalogDistribution(catalog=catalog_id, distribution=d) for d in sorted(added)]
            )


# ---- RÉCAPITULATIF -----------------------------------------------------------------------


async def summary(catalog_id: int) -> dict:
    """The figures of the recap page in one query: distributions, validated orders,
    subscriptions running, and the total of this catalog's lines in validated orders."""
    rows = await Catalog.raw(
        "SELECT "
        "(SELECT COUNT(*) FROM catalog_distribution WHERE catalog = {}) AS distributions, "
        "(SELECT COUNT(*) FROM subscription WHERE catalog = {} AND ended_at IS NULL) "
        " AS subscriptions, "
        "s.orders AS orders, s.sales_cents AS sales_cents FROM ("
        ' SELECT COUNT(DISTINCT ol."order") AS orders, '
        " COALESCE(SUM(ol.quantity * CAST(ol.unit_price_cents AS BIGINT)), 0) AS sales_cents "
        ' FROM order_line ol JOIN member_order o ON o.id = ol."order" '
        " WHERE o.state = 'validated' "
        " AND ol.product IN (SELECT id FROM product WHERE catalog = {})) s",
        catalog_id,
        catalog_id,
        catalog_id,
    )
    return {key: int(value or 0) for key, value in rows[0].items()}
