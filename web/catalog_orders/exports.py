"""The CSV of each COMMANDES view, streamed."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Stream

from domain.catalog_orders import exports
from web.access import Policy, policy
from web.catalog_orders.common import BASE, DATE, date_of
from web.catalogs.menu import managed_catalog
from web.downloads import csv_file

# ---- exports and print ------------------------------------------------------------------


def _file_name(kind: str, catalog: dict, dist: dict) -> str:
    return f"{kind} - {catalog['name']} - {exports.file_day(dist)}.csv"


@get(DATE + "/produits.csv", opt=policy(Policy.CATALOGS))
async def products_csv(
    request: Request, slug: str, catalog_id: int, distribution_id: int
) -> Stream:
    catalog = await managed_catalog(request, catalog_id, edit=False)
    dist = await date_of(catalog_id, distribution_id)
    rows = exports.product_rows(catalog_id, distribution_id)
    return csv_file(rows, _file_name("Commandes par produit", catalog, dist))


@get(DATE + "/adherents.csv", opt=policy(Policy.CATALOGS))
async def members_csv(request: Request, slug: str, catalog_id: int, distribution_id: int) -> Stream:
    catalog = await managed_catalog(request, catalog_id, edit=False)
    dist = await date_of(catalog_id, distribution_id)
    rows = exports.member_rows(catalog_id, distribution_id)
    return csv_file(rows, _file_name("Commandes par adhérent", catalog, dist))


@get(BASE + "/commande-en-gros.csv", opt=policy(Policy.CATALOGS))
async def bulk_csv(request: Request, slug: str, catalog_id: int, distribution: int) -> Stream:
    catalog = await managed_catalog(request, catalog_id, edit=False)
    dist = await date_of(catalog_id, distribution)
    rows = exports.bulk_rows(catalog_id, dist["id"])
    return csv_file(rows, _file_name("Commande en gros", catalog, dist))


handlers = [
    products_csv,
    members_csv,
    bulk_csv,
]
