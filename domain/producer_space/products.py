"""The producer space's PRODUITS: the producer's product list (its own catalogs' products and
those of its list), the product form (the catalogs' rules, plus a category), the CSV
import, and adding products to a catalog of a group where the producer sells.

A product added to a catalog is one row with one stock, whatever the number of catalogs
that offer it (domain/catalogs/offers.py); one catalog per group may offer it. A product
still owned by one catalog (made in that catalog) becomes a product of the list when it is
added to a second one: its first catalog keeps offering it, its orders untouched.
"""

from __future__ import annotations

import hashlib

from domain import idempotency
from domain.catalogs.product_files import PREVIEW_MAX_AGE
from domain.catalogs.products import check_product, escarcelle_locked, resize_photo
from domain.database import transaction
from domain.kernel import cpu, tokens
from domain.kernel.errors import FieldErrors
from domain.tables import Catalog, CatalogOffer, Order, OrderLine, Product

COLUMNS = (
    Product.id,
    Product.catalog,
    Product.name,
    Product.category,
    Product.unit,
    Product.price_cents,
    Product.vat_rate,
    Product.stock,
    Product.max_per_order,
    Product.reference,
    Product.active,
    Product.photo_version,
    Product.position,
    Product.escarcelle_id,
    Product.escarcelle_stock,
    Product.escarcelle_synced_at,
)
CATEGORY_MAX = 60


async def products_of(producer_id: int) -> list[dict]:
    """The producer's products by name, each with the catalogs offering it ("catalogs":
    [{id, name, group_name}]). Two queries."""
    rows = (
        await Product.select(
            *COLUMNS,
            Product.catalog.name.as_alias("catalog_name"),
            Product.catalog.group.name.as_alias("catalog_group"),
        )
        .where(Product.producer == producer_id)
        .order_by(Product.name)
        .order_by(Product.id)
    )
    offered = await CatalogOffer.select(
        CatalogOffer.product,
        CatalogOffer.catalog.id.as_alias("id"),
        CatalogOffer.catalog.name.as_alias("name"),
        CatalogOffer.catalog.group.name.as_alias("group_name"),
    ).where(
        CatalogOffer.product.is_in(
            Product.select(Product.id).where(Product.producer == producer_id)
        )
    )
    by_product: dict[int, list[dict]] = {}
    for offer in offered:
        by_product.setdefault(offer.pop("product"), []).append(offer)
    for row in rows:
        own = row.pop("catalog_name"), row.pop("catalog_group")
        row["catalogs"] = (
            [{"id": row["catalog"], "name": own[0], "group_name": own[1]}]
            if row["catalog"] is not None
            else sorted(by_product.get(row["id"], []), key=lambda c: (c["group_name"], c["name"]))
        )
    return rows


async def product(producer_id: int, product_id: int) -> dict | None:
    return (
        await Product.select(*COLUMNS)
        .where((Product.id == product_id) & (Product.producer == producer_id))
        .first()
    )


def check(fields: dict[str, str], category: str) -> tuple[dict, dict[str, str]]:
    """The catalogs' product rules (check_product), and a category of 60 characters at most
    (empty: none)."""
    values, errors = check_product(**fields)
    category = category.strip()
    if len(category) > CATEGORY_MAX:
        errors["category"] = f"La catégorie ne doit pas dépasser {CATEGORY_MAX} caractères."
    values["category"] = category or None
    return values, errors


async def save_product(
    producer_id: int,
    *,
    fields: dict[str, str],
    category: str = "",
    active: bool,
    photo: bytes | None = None,
    product_id: int | None = None,
    locked: tuple[str, ...] = (),
    extra: dict | None = None,
) -> dict:
    """A product of the list, new or changed (one statement). `locked`: columns kept as they
    are whatever the form sends; an Escarcelle product's référence and stock always are
    while its producer is linked. `extra`: more columns (a new product's Escarcelle id)."""
    values, errors = check(fields, category)
    if errors:
        raise FieldErrors(errors)
    values["active"] = active
    values |= extra or {}
    if product_id and await escarcelle_locked([product_id]):
        locked = ("reference", "stock")
    for column in locked:
        values.pop(column, None)
    if photo:
        values["photo"] = await cpu.run(resize_photo, photo)
        values["photo_version"] = hashlib.sha256(values["photo"]).hexdigest()[:16]
    if product_id:
        await Product.update({getattr(Product, k): v for k, v in values.items()}).where(
            (Product.id == product_id) & (Product.producer == producer_id)
        )
    else:
        rows = await Product.insert(
            Product(catalog=None, producer=producer_id, **values)
        ).returning(Product.id)
        product_id = rows[0]["id"]
    return await product(producer_id, product_id)


class ImportedAlready(Exception):
    """This preview was confirmed already (a double click, a reload)."""


async def import_products(
    producer_id: int, items: list[dict], *, once: str | None = None
) -> tuple[int, int]:
    """The confirmed rows of a CSV import into the list, all in one transaction or none
    (the items of domain.catalogs.product_files, checked again). Returns (created, updated).
    `once`: the preview's key; a second confirmation of it raises ImportedAlready."""
    created: list[Product] = []
    updated = 0
    async with transaction():
        if not await idempotency.claim(once, None):
            raise ImportedAlready()
        held = await escarcelle_locked([i["product_id"] for i in items if i["product_id"]])
        for item in items:
            values, errors = check_product(**item["fields"])
            if errors:
                raise FieldErrors({"file": f"Ligne {item['line']} : {next(iter(errors.values()))}"})
            values["active"] = bool(item["active"])
            if item["product_id"] is None:
                created.append(Product(catalog=None, producer=producer_id, **values))
                continue
            if item["product_id"] in held:
                values.pop("stock"), values.pop("reference")
            done = (
                await Product.update({getattr(Product, k): v for k, v in values.items()})
                .where((Product.id == item["product_id"]) & (Product.producer == producer_id))
                .returning(Product.id)
            )
            if not done:
                raise FieldErrors({"file": f"Ligne {item['line']} : ce produit n'existe plus."})
            updated += 1
        for start in range(0, len(created), 500):
            await Product.insert(*created[start : start + 500])
    return len(created), updated


# ---- catalogs ----------------------------------------------------------------------------


async def _catalog(producer_id: int, catalog_id: int) -> dict | None:
    return (
        await Catalog.select(Catalog.id, Catalog.name, Catalog.kind, Catalog.group)
        .where((Catalog.id == catalog_id) & (Catalog.vendor.producer == producer_id))
        .first()
    )


async def add_to_catalog(producer_id: int, product_ids: list[int], catalog_id: int | None) -> int:
    """The ticked products offered by one of the producer's catalogs, all or none (one
    transaction). Returns how many the catalog offers now that it did not before."""
    if not product_ids:
        raise FieldErrors({"ids": "Cochez au moins un produit."})
    catalog = await _catalog(producer_id, catalog_id) if catalog_id else None
    if catalog is None:
        raise FieldErrors({"catalog": "Choisissez un de vos catalogues."})
    if catalog["kind"] != "variable":
        raise FieldErrors(
            {"catalog": "Un contrat à commande fixe garde ses propres produits : choisissez "
             "un catalogue à commande variable."}
        )  # fmt: skip
    async with transaction():
        rows = await Product.select(
            Product.id,
            Product.name,
            Product.catalog,
            Product.catalog.kind.as_alias("own_kind"),
            Product.catalog.group.as_alias("own_group"),
        ).where(Product.id.is_in(sorted(set(product_ids))) & (Product.producer == producer_id))
        taken = {
            row["product"]: row
            for row in await CatalogOffer.select(
                CatalogOffer.product,
                CatalogOffer.catalog,
                CatalogOffer.catalog.name.as_alias("name"),
            ).where(
                CatalogOffer.product.is_in([r["id"] for r in rows] or [0])
                & (CatalogOffer.group == catalog["group"])
            )
        }
        errors: list[str] = []
        offers: list[CatalogOffer] = []
        for row in rows:
            if (
                row["catalog"] == catalog["id"]
                or taken.get(row["id"], {}).get("catalog") == (catalog["id"])
            ):
                continue  # offered already
            if row["id"] in taken:
                errors.append(
                    f"« {row['name']} » est déjà proposé dans ce groupe par le catalogue "
                    f"« {taken[row['id']]['name']} »."
                )
                continue
            if row["catalog"] is not None:
                if row["own_kind"] != "variable":
                    errors.append(f"« {row['name']} » appartient à un contrat à commande fixe.")
                    continue
                if row["own_group"] == catalog["group"]:
                    errors.append(f"« {row['name']} » est déjà proposé dans ce groupe.")
                    continue
                # Its own catalog keeps offering it, now from the list.
                offers.append(
                    CatalogOffer(catalog=row["catalog"], product=row["id"], group=row["own_group"])
                )
                await Product.update({Product.catalog: None}).where(Product.id == row["id"])
            offers.append(
                CatalogOffer(catalog=catalog["id"], product=row["id"], group=catalog["group"])
            )
        if len(rows) != len(set(product_ids)):
            errors.append("Certains produits cochés ne sont pas les vôtres.")
        if errors:
            raise FieldErrors({"ids": " ".join(errors)})
        if offers:
            await CatalogOffer.insert(*offers)
    return sum(1 for offer in offers if offer.catalog == catalog["id"])


async def remove_from_catalog(producer_id: int, product_id: int, catalog_id: int) -> None:
    """The catalog no longer takes the product of the list; refused while orders of its
    group hold it (their recaps would lose it): deactivate it instead."""
    offer = (
        await CatalogOffer.select(CatalogOffer.id, CatalogOffer.group)
        .where(
            (CatalogOffer.product == product_id)
            & (CatalogOffer.catalog == catalog_id)
            & (CatalogOffer.product.producer == producer_id)
        )
        .first()
    )
    if offer is None:
        raise FieldErrors({"catalog": "Ce catalogue ne propose pas ce produit."})
    async with transaction():
        ordered = await OrderLine.exists().where(
            (OrderLine.product == product_id)
            & OrderLine.order.is_in(
                Order.select(Order.id).where(Order.distribution.group == offer["group"])
            )
        )
        if ordered:
            raise FieldErrors(
                {"catalog": "Des commandes de ce groupe contiennent ce produit : il reste "
                 "dans le catalogue. Désactivez-le pour ne plus le proposer."}
            )  # fmt: skip
        await CatalogOffer.delete().where(CatalogOffer.id == offer["id"])


# ---- the CSV import's signed preview ---------------------------------------------------


def preview_key(token: str) -> str:
    """The key that lets a preview be confirmed once."""
    return "import-liste:" + tokens.digest(token)[:40]


def sign_import(items: list[dict], secret: str, producer_id: int) -> str:
    """The rows of a previewed CSV import, signed for this producer's confirmation."""
    return tokens.sign(items, secret, f"import-liste:{producer_id}")


def read_import(token: str, secret: str, producer_id: int) -> list | None:
    """The signed rows, or None if altered, for another producer, or older than an hour."""
    try:
        items = tokens.unsign(token, secret, f"import-liste:{producer_id}", PREVIEW_MAX_AGE)
    except tokens.Expired:
        return None
    return items if isinstance(items, list) else None
