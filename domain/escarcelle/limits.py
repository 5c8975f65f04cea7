"""Step 7 of seed 002, what connecting to Escarcelle limits (the seed's list is cut off;
this is what its purpose implies: « empêcher que de nouveaux produits ou nouveaux clients
puissent être créés sur Epiclic sans qu'ils soient d'abord référencés sur Escarcelle »):

- no product made by hand or by a product CSV import unless its « référence » is an
  Escarcelle barcode (typing the barcode stays possible, as the seed's NB asks, and links
  the product made by hand);
- a product with an Escarcelle id keeps the référence and stock Escarcelle gives it
  (domain/catalogs/products.escarcelle_locked);
- no member added but by « Import Escarcelle » (domain/members.escarcelle_only).

Removing the key lifts them all. The barcodes are checked by jobs/escarcelle.py (GET
/products?barcode=); these functions judge its answers.
"""

from __future__ import annotations

from domain.escarcelle import normalise_barcode
from domain.tables import Catalog, EscarcelleLink

NEED_BARCODE = (
    "Votre compte est lié à Escarcelle : un nouveau produit doit avoir pour « référence » "
    "son code-barres Escarcelle (le produit s'y lie). Créez d'abord le produit dans "
    "Escarcelle, ou faites un Import Escarcelle."
)
UNKNOWN_BARCODE = "Ce code-barres n'est pas celui d'un produit de votre épicerie dans Escarcelle."


async def linked_producer(producer_id: int | None) -> int | None:
    if producer_id is None:
        return None
    found = await EscarcelleLink.exists().where(EscarcelleLink.producer == producer_id)
    return producer_id if found else None


async def linked_producer_of_catalog(catalog_id: int) -> int | None:
    row = await Catalog.select(Catalog.vendor.producer).where(Catalog.id == catalog_id).first()
    return await linked_producer(row["vendor.producer"] if row else None)


def refusal(reference: str, known: dict[str, dict]) -> str | None:
    """Why a new product of a linked grocery is refused, or None. `known`: Escarcelle's
    products by normalised barcode."""
    code = normalise_barcode(reference)
    if not code:
        return NEED_BARCODE
    if code not in known:
        return UNKNOWN_BARCODE
    return None


def link_values(reference: str, known: dict[str, dict]) -> dict:
    """The Escarcelle columns a new product made by hand gets from its barcode."""
    item = known[normalise_barcode(reference)]
    stock = max(0, int(item.get("stock") or 0))
    return {"escarcelle_id": str(item["id"])[:40], "escarcelle_stock": stock, "stock": stock}
