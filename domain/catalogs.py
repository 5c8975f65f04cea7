"""Producers (vendors), catalogs and their products."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, date, datetime

from domain.accounts import EMAIL_RE, FieldErrors, normalize_email
from domain.database import transaction
from domain.distributions import PARIS, label
from domain.tables import (
    Catalog,
    CatalogDistribution,
    Distribution,
    OrderLine,
    Product,
    User,
    Vendor,
)

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
        for item in items:
            values, errors = check_product(**item["fields"])
            if errors:
                raise FieldErrors({"file": f"Ligne {item['line']} : {next(iter(errors.values()))}"})
            values["active"] = bool(item["active"])
            if item["product_id"] is None:
                created.append(Product(catalog=catalog_id, **values))
                continue
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


# ---- the distributions of a catalog -----------------------------------------------------


class DeliveryError(Exception):
    """A change of the catalog's distributions was refused; `message` is in French."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


async def order_counts(catalog_id: int) -> dict[int, int]:
    """{distribution: number of orders (draft or validated) with a line of this catalog}."""
    rows = await OrderLine.raw(
        "SELECT o.distribution AS distribution, COUNT(DISTINCT o.id) AS orders "
        'FROM order_line ol JOIN member_order o ON o.id = ol."order" '
        "JOIN product p ON p.id = ol.product WHERE p.catalog = {} GROUP BY o.distribution",
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
            & (Distribution.ends_at >= datetime.now(UTC))
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
        " COALESCE(SUM(ol.quantity * ol.unit_price_cents), 0) AS sales_cents "
        ' FROM order_line ol JOIN member_order o ON o.id = ol."order" '
        " WHERE o.state = 'validated' "
        " AND ol.product IN (SELECT id FROM product WHERE catalog = {})) s",
        catalog_id,
        catalog_id,
        catalog_id,
    )
    return {key: int(value or 0) for key, value in rows[0].items()}
