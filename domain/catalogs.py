"""Producers (vendors), catalogs and their products."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import date

from domain.accounts import EMAIL_RE, FieldErrors, normalize_email
from domain.database import transaction
from domain.tables import Catalog, CatalogDistribution, Distribution, Product, User, Vendor

CATALOG_KINDS = {
    "variable": "Commande variable",
    "fixed": "Commande fixe (même panier à chaque distribution)",
}
VAT_RATES = {0: "0 %", 210: "2,1 %", 550: "5,5 %", 1000: "10 %", 2000: "20 %"}
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_SIZE = 240  # px, the longest side


def parse_euros(value: str) -> int | None:
    """'12,50' or '12.5' or '12 €' -> 1250 cents; None if it is not an amount."""
    text = value.strip().replace("€", "").replace("\u00a0", "").replace(" ", "")
    text = text.replace(",", ".")
    if not re.fullmatch(r"\d{1,7}(\.\d{1,2})?", text):
        return None
    euros, _, cents = text.partition(".")
    return int(euros) * 100 + int((cents + "00")[:2])


def parse_whole(value: str, field: str, errors: dict[str, str], *, optional: bool) -> int | None:
    text = value.strip()
    if not text:
        if not optional:
            errors[field] = "Indiquez un nombre."
        return None
    if not text.isdigit() or len(text) > 9:
        errors[field] = "Indiquez un nombre entier positif ou zéro."
        return None
    return int(text)


# ---- vendors ---------------------------------------------------------------------------


async def vendors_of(group_id: int) -> list[dict]:
    return (
        await Vendor.select(*Vendor.all_columns(), Vendor.user.email.as_alias("user_email"))
        .where(Vendor.group == group_id)
        .order_by(Vendor.name)
    )


async def vendor(group_id: int, vendor_id: int) -> dict | None:
    return (
        await Vendor.select(*Vendor.all_columns(), Vendor.user.email.as_alias("user_email"))
        .where((Vendor.id == vendor_id) & (Vendor.group == group_id))
        .first()
    )


async def save_vendor(
    group_id: int,
    *,
    name: str,
    description: str = "",
    email: str = "",
    phone: str = "",
    address: str = "",
    login_email: str = "",
    vendor_id: int | None = None,
) -> dict:
    """`login_email` links the producer to an existing account so they can log in."""
    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = "Indiquez le nom du producteur."
    elif len(name) > 120:
        errors["name"] = "Le nom ne doit pas dépasser 120 caractères."
    email = normalize_email(email)
    if email and (len(email) > 254 or not EMAIL_RE.match(email)):
        errors["email"] = "Cette adresse e-mail n'est pas valide."
    if len(phone.strip()) > 40:
        errors["phone"] = "Le numéro ne doit pas dépasser 40 caractères."
    user_id = None
    login_email = normalize_email(login_email)
    if login_email:
        user = await User.select(User.id).where(User.email == login_email).first()
        if not user:
            errors["login_email"] = "Aucun compte n'existe avec cette adresse."
        else:
            user_id = user["id"]
    if errors:
        raise FieldErrors(errors)
    values = {
        Vendor.name: name,
        Vendor.description: description.strip(),
        Vendor.email: email,
        Vendor.phone: phone.strip(),
        Vendor.address: address.strip(),
        Vendor.user: user_id,
    }
    if vendor_id:
        await Vendor.update(values).where((Vendor.id == vendor_id) & (Vendor.group == group_id))
    else:
        rows = await Vendor.insert(
            Vendor(group=group_id, **{col._meta.name: v for col, v in values.items()})
        ).returning(Vendor.id)
        vendor_id = rows[0]["id"]
    return await vendor(group_id, vendor_id)


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


async def catalogs_of(group_id: int) -> list[dict]:
    return await catalogs_query(group_id)


async def catalog(group_id: int, catalog_id: int) -> dict | None:
    return await catalogs_query(group_id).where(Catalog.id == catalog_id).first()


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
) -> dict:
    from domain.tables import Membership

    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = "Indiquez le nom du catalogue."
    elif len(name) > 120:
        errors["name"] = "Le nom ne doit pas dépasser 120 caractères."
    vid = int(vendor_id) if vendor_id.isdigit() else None
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
    cid = int(coordinator_id) if coordinator_id.isdigit() else None
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
    if catalog_id:
        await Catalog.update(values).where((Catalog.id == catalog_id) & (Catalog.group == group_id))
    else:
        rows = await Catalog.insert(
            Catalog(group=group_id, **{col._meta.name: v for col, v in values.items()})
        ).returning(Catalog.id)
        catalog_id = rows[0]["id"]
    return await catalog(group_id, catalog_id)


async def coordinator_choices(group_id: int) -> list[dict]:
    """The group's members, who may coordinate a catalog."""
    from domain.tables import Membership

    return (
        await Membership.select(
            Membership.user.id.as_alias("id"),
            Membership.user.first_name.as_alias("first_name"),
            Membership.user.last_name.as_alias("last_name"),
            Membership.user.email.as_alias("email"),
        )
        .where(Membership.group == group_id)
        .order_by(Membership.user.last_name)
        .order_by(Membership.user.first_name)
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
    """A small JPEG (a few KB) whatever the phone sent; raises FieldErrors if not an image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > PHOTO_MAX_BYTES:
        raise FieldErrors({"photo": "La photo ne doit pas dépasser 5 Mo."})
    try:
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)
            image.thumbnail((PHOTO_SIZE, PHOTO_SIZE))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=70, optimize=True, progressive=True)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise FieldErrors({"photo": "Ce fichier n'est pas une image (JPEG, PNG, WebP)."}) from error
    return out.getvalue()


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
    vat = int(vat_rate) if vat_rate.strip().isdigit() else None
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
) -> dict:
    values, errors = check_product(**fields)
    if errors:
        raise FieldErrors(errors)
    values["active"] = active
    if photo:
        values["photo"] = resize_photo(photo)
        values["photo_version"] = hashlib.sha256(values["photo"]).hexdigest()[:12]
    if product_id:
        await Product.update({getattr(Product, k): v for k, v in values.items()}).where(
            (Product.id == product_id) & (Product.catalog == catalog_id)
        )
    else:
        rows = await Product.insert(Product(catalog=catalog_id, **values)).returning(Product.id)
        product_id = rows[0]["id"]
    return await product(catalog_id, product_id)


async def photo(product_id: int) -> bytes | None:
    row = await Product.select(Product.photo).where(Product.id == product_id).first()
    return row["photo"] if row else None
