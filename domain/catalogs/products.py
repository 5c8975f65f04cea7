"""The products of a catalog: the form's rules (the single source of truth, which the CSV
import applies too), photos resized on the server, inline edits."""

from __future__ import annotations

import hashlib

from domain.database import transaction
from domain.kernel import cpu, forms, images
from domain.kernel.errors import FieldErrors
from domain.kernel.forms import parse_whole
from domain.kernel.money import parse_euros
from domain.tables import (
    Catalog,
    EscarcelleLink,
    Product,
)

VAT_RATES = {0: "0 %", 210: "2,1 %", 550: "5,5 %", 1000: "10 %", 2000: "20 %"}
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_MAX_PIXELS = images.MAX_PIXELS  # the kernel's budget (domain/kernel/images.py)
PHOTO_SIZE = 240  # px, the longest side


# ---- products --------------------------------------------------------------------------

PRODUCT_COLUMNS = (
    Product.id,
    Product.catalog,
    Product.name,
    Product.unit,
    Product.price_cents,
    Product.vat_rate,
    Product.stock,
    Product.max_per_order,
    Product.reference,
    Product.active,
    Product.photo_version,
    Product.position,
)


async def products_of(catalog_id: int) -> list[dict]:
    return (
        await Product.select(*PRODUCT_COLUMNS)
        .where(Product.catalog == catalog_id)
        .order_by(Product.position)
        .order_by(Product.name)
    )


async def product(catalog_id: int, product_id: int) -> dict | None:
    return (
        await Product.select(*PRODUCT_COLUMNS)
        .where((Product.id == product_id) & (Product.catalog == catalog_id))
        .first()
    )


def resize_photo(data: bytes) -> bytes:
    """A small JPEG (a few KB) whatever the phone sent; raises FieldErrors if not an image
    or too large. CPU-heavy: from async code, through `cpu.run` (as `save_product` does)."""
    if len(data) > PHOTO_MAX_BYTES:
        raise FieldErrors({"photo": "La photo ne doit pas dépasser 5 Mo."})
    try:
        return images.reencode(data, longest=PHOTO_SIZE, quality=70)
    except images.TooManyPixels as error:
        raise FieldErrors({"photo": images.too_large("La photo", error)}) from error
    except images.NotAnImage as error:
        raise FieldErrors({"photo": "Ce fichier n'est pas une image (JPEG, PNG, WebP)."}) from error


def check_product(
    *,
    name: str,
    unit: str,
    price: str,
    vat_rate: str,
    stock: str,
    max_per_order: str,
    reference: str,
) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = "Indiquez le nom du produit."
    elif len(name) > 150:
        errors["name"] = "Le nom ne doit pas dépasser 150 caractères."
    price_cents = parse_euros(price)
    if price_cents is None:
        errors["price"] = "Indiquez un prix en euros, par exemple 3,50."
    vat = forms.whole(vat_rate)
    if vat not in VAT_RATES:
        errors["vat_rate"] = "Choisissez un taux de TVA."
    values = {
        "name": name,
        "unit": unit.strip()[:30] or "pièce",
        "price_cents": price_cents,
        "vat_rate": vat,
        "stock": parse_whole(stock, "stock", errors, optional=True),
        "max_per_order": parse_whole(max_per_order, "max_per_order", errors, optional=True),
        "reference": reference.strip()[:64],
    }
    if values["max_per_order"] == 0:
        errors["max_per_order"] = "Le maximum par commande doit être d'au moins 1."
    return values, errors


async def save_product(
    catalog_id: int,
    *,
    fields: dict[str, str],
    active: bool,
    photo: bytes | None = None,
    product_id: int | None = None,
    extra: dict | None = None,
) -> dict:
    """`extra`: more columns for the product (an Escarcelle product's id and stock); the
    référence and stock of a product Escarcelle holds are kept as they are."""
    values, errors = check_product(**fields)
    if errors:
        raise FieldErrors(errors)
    values["active"] = active
    values |= extra or {}
    if photo:
        values["photo"] = await cpu.run(resize_photo, photo)
        values["photo_version"] = hashlib.sha256(values["photo"]).hexdigest()[:16]
    if product_id:
        if await escarcelle_locked([product_id]):
            values.pop("stock"), values.pop("reference")
        await Product.update({getattr(Product, k): v for k, v in values.items()}).where(
            (Product.id == product_id) & (Product.catalog == catalog_id)
        )
    else:
        owner = await producer_of_catalog(catalog_id)
        rows = await Product.insert(
            Product(catalog=catalog_id, producer=owner, **values)
        ).returning(Product.id)
        product_id = rows[0]["id"]
    return await product(catalog_id, product_id)


async def escarcelle_locked(product_ids: list[int]) -> set[int]:
    """Of these products, those whose référence and stock Escarcelle holds: they have an
    Escarcelle id and their producer is linked to Escarcelle (removing the key frees them)."""
    if not product_ids:
        return set()
    linked = EscarcelleLink.select(EscarcelleLink.producer)
    rows = await Product.select(Product.id).where(
        Product.id.is_in(sorted(set(product_ids)))
        & Product.escarcelle_id.is_not_null()
        & Product.producer.is_in(linked)
    )
    return {row["id"] for row in rows}


ESCARCELLE_STOCK = "Stock tenu par Escarcelle : il se synchronise toutes les heures."


async def producer_of_catalog(catalog_id: int) -> int | None:
    """The producer space owning the catalog's products (its vendor's)."""
    row = await Catalog.select(Catalog.vendor.producer).where(Catalog.id == catalog_id).first()
    return row["vendor.producer"] if row else None


async def photo(version: str) -> bytes | None:
    """A photo by its content hash (its address: nobody finds it by counting ids)."""
    row = (
        await Product.select(Product.photo)
        .where((Product.photo_version == version) & Product.photo.is_not_null())
        .first()
    )
    return row["photo"] if row else None


# ---- inline editing, several at once, import -------------------------------------------

INLINE_FIELDS = ("name", "price", "stock", "active")
_INLINE_COLUMNS = {"name": "name", "price": "price_cents", "stock": "stock"}


def form_fields(product: dict) -> dict[str, str]:
    """A product as the product form's fields (the input of check_product)."""
    cents = product["price_cents"]
    return {
        "name": product["name"],
        "unit": product["unit"],
        "price": f"{cents // 100},{cents % 100:02d}",
        "vat_rate": str(product["vat_rate"]),
        "stock": "" if product["stock"] is None else str(product["stock"]),
        "max_per_order": "" if product["max_per_order"] is None else str(product["max_per_order"]),
        "reference": product["reference"],
    }


async def update_product_field(catalog_id: int, product_id: int, field: str, value: str) -> dict:
    """One cell of the product list (name, price, stock or active), checked by the rules of
    the product form; raises FieldErrors({field: message}) and changes nothing if refused."""
    current = await product(catalog_id, product_id)
    if current is None or field not in INLINE_FIELDS:
        raise FieldErrors({field: "Ce produit ne peut pas être modifié ainsi."})
    if field == "stock" and await escarcelle_locked([product_id]):
        raise FieldErrors({field: ESCARCELLE_STOCK})
    if field == "active":
        change = {Product.active: value.strip().lower() in ("1", "oui", "on", "true")}
    else:
        values, errors = check_product(**(form_fields(current) | {field: value}))
        if field in errors:
            raise FieldErrors({field: errors[field]})
        column = _INLINE_COLUMNS[field]
        change = {getattr(Product, column): values[column]}
    await Product.update(change).where((Product.id == product_id) & (Product.catalog == catalog_id))
    return await product(catalog_id, product_id)


async def set_products_active(catalog_id: int, product_ids: list[int], active: bool) -> int:
    """Activate or deactivate several products; ids of another catalog are left alone."""
    if not product_ids:
        raise FieldErrors({"ids": "Cochez au moins un produit."})
    rows = (
        await Product.update({Product.active: active})
        .where((Product.catalog == catalog_id) & Product.id.is_in(product_ids))
        .returning(Product.id)
    )
    return len(rows)


async def import_products(catalog_id: int, items: list[dict]) -> tuple[int, int]:
    """The rows of a confirmed import, all in one transaction or none: each item is
    {line, product_id (None: a new product), fields (the product form's), active}. Every row
    is checked again by check_product. Returns (created, updated)."""
    created: list[Product] = []
    updated = 0
    async with transaction():
        owner = await producer_of_catalog(catalog_id)
        locked = await escarcelle_locked([i["product_id"] for i in items if i["product_id"]])
        for item in items:
            values, errors = check_product(**item["fields"])
            if errors:
                raise FieldErrors({"file": f"Ligne {item['line']} : {next(iter(errors.values()))}"})
            values["active"] = bool(item["active"])
            if item["product_id"] is None:
                created.append(Product(catalog=catalog_id, producer=owner, **values))
                continue
            if item["product_id"] in locked:
                values.pop("stock"), values.pop("reference")
            done = (
                await Product.update({getattr(Product, k): v for k, v in values.items()})
                .where((Product.id == item["product_id"]) & (Product.catalog == catalog_id))
                .returning(Product.id)
            )
            if not done:
                raise FieldErrors(
                    {"file": f"Ligne {item['line']} : ce produit n'existe plus dans le catalogue."}
                )
            updated += 1
        for start in range(0, len(created), 500):  # one statement per 500 new products
            await Product.insert(*created[start : start + 500])
    return len(created), updated
