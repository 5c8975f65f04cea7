"""The CSV of each COMMANDES view, for a French spreadsheet; members are read in batches so
the memory stays flat whatever their number."""

from __future__ import annotations

from collections.abc import AsyncIterator

from domain.catalog_orders.recaps import (
    EXPORT_BATCH,
    bulk_order,
    by_product,
    member_batches,
)
from domain.catalogs import offers
from domain.kernel.csvio import cell
from domain.kernel.dates import local
from domain.kernel.money import decimal
from domain.tables import Product


async def product_texts(catalog_id: int) -> tuple[dict[int, int], dict[int, list[str]]]:
    """The catalog's products: their rank (its product order) and neutralised name, unit."""
    products = (
        await Product.select(Product.id, Product.name, Product.unit)
        .where(offers.offered(catalog_id))
        .order_by(Product.position, Product.name, Product.id)
    )
    rank = {p["id"]: n for n, p in enumerate(products)}
    return rank, {p["id"]: [cell(p["name"]), cell(p["unit"])] for p in products}


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
    rank, product_cells = await product_texts(catalog_id)
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
