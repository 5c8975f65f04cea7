"""Step 3 of seed 002: Produits → Import/Export → Import Escarcelle.

The grocery's products with stock > 0 (every page, fetched by jobs/escarcelle.py) are
compared with the producer's list and shown first: new, updated, unchanged, conflicts (two
products with one barcode), without photo, without weight or volume in the name (« Pâtes
100G », « Farine 1KG »). More than 600 in stock: refused. A product is matched by its
Escarcelle id, then by its barcode in « référence » (digits only, an EAN-13 with or without
its leading zero), else created with its category; Escarcelle's data (name, price, VAT,
category, barcode, stock) is the reference, the photo is the platform's. Nothing is
deleted: a linked product Escarcelle no longer has in stock gets stock 0. The confirmation
imports what the preview showed, in one transaction, once (a double click imports once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from domain import idempotency
from domain.catalogs.products import VAT_RATES
from domain.database import transaction
from domain.escarcelle import normalise_barcode
from domain.escarcelle.stocks import RESERVED_SQL
from domain.kernel import clock, tokens
from domain.kernel.errors import FieldErrors
from domain.tables import Product

MAX_PRODUCTS = 600
PREVIEW_MAX_AGE = 3600
# A weight or a volume in the name, as the seed writes them: 100G, 1KG, 75ML, 1L, 25CL.
MEASURE = re.compile(r"\d+(?:[.,]\d+)?\s*(?:MG|G|KG|ML|CL|L)\b", re.IGNORECASE)
STATUS_LABELS = {
    "new": "Nouveau",
    "update": "Mis à jour",
    "same": "Inchangé",
    "conflict": "Conflit",
    "out": "Plus en stock dans Escarcelle",
}
COMPARED = ("name", "unit", "price_cents", "vat_rate", "category", "reference", "escarcelle_id")


class TooMany(Exception):
    def __init__(self, count: int):
        super().__init__(count)
        self.message = (
            f"Escarcelle compte {count} produits en stock pour votre épicerie : la plateforme "
            f"en importe {MAX_PRODUCTS} au plus. Mettez à zéro dans Escarcelle le stock des "
            "produits que vous ne vendez pas en ligne, puis refaites l'import."
        )


@dataclass
class Row:
    escarcelle_id: str
    values: dict  # what the product gets
    status: str
    product_id: int | None = None
    problems: list[str] = field(default_factory=list)  # a conflict's reasons
    notes: list[str] = field(default_factory=list)  # sold by weight…
    no_photo: bool = False
    no_measure: bool = False
    barcodes: list[str] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass
class Preview:
    rows: list[Row]
    counts: dict[str, int]
    no_photo: int
    no_measure: int


def _vat(rate: float) -> int | None:
    hundredths = round(float(rate) * 100)
    return hundredths if hundredths in VAT_RATES else None


def values_of(item: dict) -> tuple[dict, list[str], list[str]]:
    """The product's values from Escarcelle's item; (values, problems, notes). A product
    sold by weight gets « 1KG » in its name, the kg as unit, and is ordered by whole kg."""
    name = " ".join(str(item["name"]).split())[:150]
    notes, problems = [], []
    unit = "pièce"
    if item.get("sold_by_weight"):
        unit = "kg"
        if not MEASURE.search(name):
            name = f"{name} 1KG"[:150]
        notes.append("vendu au poids : commandé par kg entier, prix au kg")
    vat = _vat(item.get("vat_rate", 5.5))
    if vat is None:
        problems.append(f"taux de TVA inconnu ({item.get('vat_rate')} %)")
    barcodes = [b for b in item.get("barcodes") or [] if normalise_barcode(b)]
    price = int(item.get("price_cents") or 0)
    if not 0 <= price <= 999_999_999:
        problems.append("prix invalide")
    category = (item.get("category") or "").strip()[:60] or None
    values = {
        "name": name,
        "unit": unit,
        "price_cents": price,
        "vat_rate": vat if vat is not None else 550,
        "category": category,
        "reference": barcodes[0][:64] if barcodes else "",
        "escarcelle_id": str(item["id"])[:40],
        "escarcelle_stock": max(0, int(item.get("stock") or 0)),
    }
    return values, problems, notes


def preview(items: list[dict], existing: list[dict]) -> Preview:
    """Escarcelle's products (dicts of connectors.escarcelle.Product) against the producer's
    list (id, name, unit, price_cents, vat_rate, category, reference, escarcelle_id,
    photo_version). Pure; raises TooMany."""
    if len(items) > MAX_PRODUCTS:
        raise TooMany(len(items))
    by_id = {p["escarcelle_id"]: p for p in existing if p["escarcelle_id"]}
    by_code: dict[str, list[dict]] = {}
    for product in existing:
        code = normalise_barcode(product["reference"])
        if code and not product["escarcelle_id"]:
            by_code.setdefault(code, []).append(product)
    # Escarcelle's barcodes seen twice (two products of one code) are conflicts.
    seen: dict[str, list[str]] = {}
    for item in items:
        for code in {normalise_barcode(b) for b in item.get("barcodes") or []} - {""}:
            seen.setdefault(code, []).append(str(item["id"]))
    rows: list[Row] = []
    claimed: dict[int, str] = {}
    for item in items:
        values, problems, notes = values_of(item)
        codes = sorted({normalise_barcode(b) for b in item.get("barcodes") or []} - {""})
        row = Row(values["escarcelle_id"], values, "new", problems=problems, notes=notes,
                  barcodes=list(item.get("barcodes") or []))  # fmt: skip
        for code in codes:
            if len(seen[code]) > 1:
                others = ", ".join(i for i in seen[code] if i != row.escarcelle_id)
                row.problems.append(f"code-barres {code} partagé avec le produit {others}")
        product = by_id.get(row.escarcelle_id)
        if product is None:
            matches = {p["id"]: p for code in codes for p in by_code.get(code, [])}
            if len(matches) > 1:
                names = ", ".join(sorted(p["name"] for p in matches.values()))
                row.problems.append(f"plusieurs de vos produits ont ce code-barres ({names})")
            elif matches:
                product = next(iter(matches.values()))
        if product is not None:
            if product["id"] in claimed:
                row.problems.append(
                    f"« {product['name']} » correspond aussi au produit {claimed[product['id']]}"
                )
            claimed.setdefault(product["id"], row.escarcelle_id)
            row.product_id = product["id"]
            current = {k: product.get(k) for k in COMPARED}
            row.status = "same" if all(current[k] == row.values[k] for k in COMPARED) else "update"
            row.no_photo = not product.get("photo_version")
        else:
            row.no_photo = True
        row.no_measure = not MEASURE.search(row.values["name"])
        if row.problems:
            row.status = "conflict"
        rows.append(row)
    listed = {row.escarcelle_id for row in rows}
    for product in existing:
        if product["escarcelle_id"] and product["escarcelle_id"] not in listed:
            out = Row(product["escarcelle_id"], {"name": product["name"], "escarcelle_stock": 0},
                      "out", product_id=product["id"])  # fmt: skip
            out.notes.append("plus en stock dans Escarcelle : son stock passe à 0")
            rows.append(out)
    counts = {key: sum(1 for r in rows if r.status == key) for key in STATUS_LABELS}
    shown = [r for r in rows if r.status not in ("conflict", "out")]
    return Preview(
        rows=rows,
        counts=counts,
        no_photo=sum(1 for r in shown if r.no_photo),
        no_measure=sum(1 for r in shown if r.no_measure),
    )


def items_to_import(result: Preview) -> list[dict]:
    """What the confirmation writes: the new and updated rows (conflicts are left out) and
    the linked products no longer in stock."""
    return [
        {"product_id": r.product_id, "values": r.values, "status": r.status}
        for r in result.rows
        if r.status in ("new", "update", "out")
    ]


def sign(items: list[dict], secret: str, producer_id: int) -> str:
    return tokens.sign(items, secret, f"import-escarcelle:{producer_id}")


def read(token: str, secret: str, producer_id: int) -> list | None:
    try:
        items = tokens.unsign(token, secret, f"import-escarcelle:{producer_id}", PREVIEW_MAX_AGE)
    except tokens.Expired:
        return None
    return items if isinstance(items, list) else None


def once_key(token: str) -> str:
    return "import-escarcelle:" + tokens.digest(token)[:40]


class ImportedAlready(Exception):
    """The preview was confirmed already (a double click)."""


async def confirm(producer_id: int, items: list[dict], *, once: str) -> dict[str, int]:
    """Writes the previewed rows in one transaction, once: new products (in the list, no
    catalog), updates of matched ones, stock 0 for the ones no longer in stock. The stock
    of each is Escarcelle's minus what is reserved here (as the hourly sync computes it).
    Returns the counts. FieldErrors if the list changed since the preview."""
    moment = clock.now()
    counts = {"new": 0, "update": 0, "out": 0}
    async with transaction():
        if not await idempotency.claim(once, None):
            raise ImportedAlready()
        reserved = {
            r["product"]: int(r["quantity"] or 0)
            for r in await Product.raw(RESERVED_SQL, producer_id, producer_id)
        }
        new: list[Product] = []
        for item in items:
            values = dict(item["values"])
            esc_stock = int(values.pop("escarcelle_stock"))
            if item["status"] == "new":
                new.append(
                    Product(
                        catalog=None,
                        producer=producer_id,
                        stock=esc_stock,
                        escarcelle_stock=esc_stock,
                        escarcelle_synced_at=moment,
                        **values,
                    )
                )
                continue
            available = max(0, esc_stock - reserved.get(item["product_id"], 0))
            change = {
                Product.escarcelle_stock: esc_stock,
                Product.stock: available,
                Product.escarcelle_synced_at: moment,
            }
            if item["status"] == "update":
                change |= {getattr(Product, k): v for k, v in values.items()}
            done = (
                await Product.update(change)
                .where((Product.id == item["product_id"]) & (Product.producer == producer_id))
                .returning(Product.id)
            )
            if not done:
                raise FieldErrors(
                    {"token": "Vos produits ont changé depuis l'aperçu : refaites l'import."}
                )
            counts[item["status"]] += 1
        taken = {v.escarcelle_id for v in new}
        if taken and await Product.exists().where(
            (Product.producer == producer_id) & Product.escarcelle_id.is_in(sorted(taken))
        ):
            raise FieldErrors(
                {"token": "Vos produits ont changé depuis l'aperçu : refaites l'import."}
            )
        for start in range(0, len(new), 200):
            await Product.insert(*new[start : start + 200])
        counts["new"] = len(new)
    return counts


async def existing(producer_id: int) -> list[dict]:
    """The producer's list as the preview compares it."""
    return await Product.select(
        Product.id,
        Product.name,
        Product.unit,
        Product.price_cents,
        Product.vat_rate,
        Product.category,
        Product.reference,
        Product.escarcelle_id,
        Product.photo_version,
    ).where(Product.producer == producer_id)
