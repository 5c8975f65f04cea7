"""Products to and from a CSV file, as producers keep them in a spreadsheet.

Pure functions (no database): reading a file whatever the spreadsheet saved (`;` or `,`,
UTF-8 with or without BOM, or Windows-1252), checking every row with the product form's
rules (`products.check_product`, the single source of truth), writing the export that
opens in Excel and LibreOffice in French and re-imports unchanged, and signing the
previewed rows so that the confirmation imports exactly what was shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.catalogs.products import VAT_RATES, check_product
from domain.kernel import csvio, tokens
from domain.kernel.money import decimal

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
PREVIEW_MAX_AGE = 3600  # seconds a preview may be confirmed
FIELDS = ("name", "price", "unit", "vat_rate", "stock", "max_per_order", "reference", "active")
HEADERS = {
    "name": "nom",
    "price": "prix",
    "unit": "unité",
    "vat_rate": "TVA",
    "stock": "stock",
    "max_per_order": "max par commande",
    "reference": "référence",
    "active": "actif",
}
# Headers as people write them, once lowercased without accents or punctuation.
ALIASES = {
    "nom": "name",
    "produit": "name",
    "nom du produit": "name",
    "prix": "price",
    "prix ttc": "price",
    "prix eur": "price",
    "prix ttc eur": "price",
    "unite": "unit",
    "tva": "vat_rate",
    "taux de tva": "vat_rate",
    "stock": "stock",
    "max par commande": "max_per_order",
    "maximum par commande": "max_per_order",
    "max": "max_per_order",
    "reference": "reference",
    "ref": "reference",
    "code barres": "reference",
    "code barre": "reference",
    "actif": "active",
}
YES = {"oui", "o", "1", "vrai", "true", "x", "yes", ""}
NO = {"non", "n", "0", "faux", "false", "no"}
STATUS_LABELS = {
    "new": "Nouveau",
    "update": "Mis à jour",
    "same": "Inchangé",
    "error": "Erreur",
}


class ImportFileError(Exception):
    """The file as a whole cannot be read; `message` is in French."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class ImportRow:
    line: int  # the line of the file (the header is line 1)
    cells: dict[str, str]  # the file's cells by field, only the columns present
    fields: dict[str, str] = field(default_factory=dict)  # complete, as cells of the file
    form: dict[str, str] = field(default_factory=dict)  # the product form's (check_product's)
    values: dict | None = None  # checked values, when the row is good
    errors: list[str] = field(default_factory=list)
    status: str = "error"  # new | update | same | error
    product_id: int | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def item(self) -> dict:
        """What the confirmation imports (products.import_products checks it again)."""
        return {
            "line": self.line,
            "product_id": self.product_id,
            "fields": self.form,
            "active": bool(self.values and self.values["active"]),
        }


# ---- cells -------------------------------------------------------------------------------


def vat_cell(rate: int) -> str:
    """550 -> '5,5'; 2000 -> '20'."""
    text = f"{rate / 100:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def vat_from_cell(text: str) -> str:
    """'5,5' or '5.5 %' -> '550' (the form's value); anything else is kept for the check."""
    cleaned = text.replace("%", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if not re.fullmatch(r"\d{1,2}(\.\d{1,2})?", cleaned):
        return text
    whole, _, decimals = cleaned.partition(".")
    return str(int(whole) * 100 + int((decimals + "00")[:2]))


def product_fields(product: dict) -> dict[str, str]:
    """A product as the cells of the file (and of the product form)."""
    return {
        "name": product["name"],
        "price": decimal(product["price_cents"]),
        "unit": product["unit"],
        "vat_rate": vat_cell(product["vat_rate"]),
        "stock": "" if product["stock"] is None else str(product["stock"]),
        "max_per_order": "" if product["max_per_order"] is None else str(product["max_per_order"]),
        "reference": product["reference"],
        "active": "oui" if product["active"] else "non",
    }


# ---- reading -----------------------------------------------------------------------------


def read_csv(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The columns (field keys) and the rows with their line numbers; raises ImportFileError."""
    if len(data) > MAX_BYTES:
        raise ImportFileError("Le fichier ne doit pas dépasser 2 Mo.")
    try:
        text, _ = csvio.decode(data)
    except csvio.NotText as error:
        raise ImportFileError(error.message) from error
    if not text.strip():
        raise ImportFileError("Le fichier est vide.")
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for start, cells in csvio.records(text, csvio.sniff_delimiter(csvio.first_line(text))):
            if header is None:
                header, header_line = cells, start
                continue
            rows.append((start, cells))
            if len(rows) > MAX_ROWS:
                raise ImportFileError(f"Le fichier ne doit pas dépasser {MAX_ROWS} produits.")
    except csvio.BadSyntax as error:
        raise ImportFileError(
            f"Ligne {error.line} : le fichier CSV est mal formé ({error.detail})."
        ) from error
    if header is None:
        raise ImportFileError("Le fichier est vide.")
    columns: list[str] = []
    for cell in header:
        key = ALIASES.get(csvio.normalize_header(cell))
        if key is None:
            expected = ", ".join(HEADERS.values())
            raise ImportFileError(
                f"Ligne {header_line} : colonne « {cell.strip()} » inconnue "
                f"(colonnes possibles : {expected})."
            )
        if key in columns:
            raise ImportFileError(
                f"Ligne {header_line} : la colonne « {HEADERS[key]} » apparaît deux fois."
            )
        columns.append(key)
    if "name" not in columns and "reference" not in columns:
        raise ImportFileError(
            f"Ligne {header_line} : il faut au moins une colonne « nom » ou « référence »."
        )
    if not rows:
        raise ImportFileError("Le fichier ne contient aucun produit (seulement les en-têtes).")
    return columns, rows


def _match(cells: dict[str, str], by_reference: dict, by_name: dict) -> tuple[dict | None, str]:
    """The existing product a row updates: same reference; or, for a row without one, the only
    product without reference of the same name. Returns (product, error)."""
    reference = cells.get("reference", "").strip()
    if reference:
        found = by_reference.get(reference, [])
    elif "name" in cells:
        found = by_name.get(cells["name"].strip().casefold(), [])
    else:
        return None, "indiquez la référence du produit à mettre à jour."
    if len(found) > 1:
        return None, "plusieurs produits du catalogue correspondent à cette ligne."
    return (found[0] if found else None), ""


def check_rows(
    columns: list[str], rows: list[tuple[int, list[str]]], existing: Iterable[dict]
) -> list[ImportRow]:
    """Every row checked against the product rules, matched with the catalog's products.

    A column absent from the file keeps the product's value (an update) or takes the product
    form's default (a new product)."""
    existing = list(existing)
    by_reference: dict[str, list[dict]] = {}
    by_name: dict[str, list[dict]] = {}
    for product in existing:
        if product["reference"]:
            by_reference.setdefault(product["reference"], []).append(product)
        else:
            by_name.setdefault(product["name"].strip().casefold(), []).append(product)
    defaults = {"unit": "pièce", "vat_rate": "5,5", "active": "oui"}
    seen_products: dict[int, int] = {}
    seen_references: dict[str, int] = {}
    checked: list[ImportRow] = []
    for line, raw in rows:
        row = ImportRow(line=line, cells={})
        checked.append(row)
        if len(raw) > len(columns):
            row.errors.append(f"{len(raw)} colonnes au lieu de {len(columns)}.")
        for index, key in enumerate(columns):
            cell = raw[index] if index < len(raw) else ""
            row.cells[key] = csvio.unneutralise(cell.strip())
        product, problem = _match(row.cells, by_reference, by_name)
        if problem:
            row.errors.append(problem)
        base = product_fields(product) if product else {f: defaults.get(f, "") for f in FIELDS}
        row.fields = base | row.cells
        row.product_id = product["id"] if product else None
        if product:
            if product["id"] in seen_products:
                row.errors.append(
                    f"même produit que la ligne {seen_products[product['id']]} "
                    f"(« {product['name']} »)."
                )
            seen_products.setdefault(product["id"], line)
        reference = row.fields["reference"].strip()
        if reference:
            if reference in seen_references:
                row.errors.append(
                    f"la référence {reference} est déjà à la ligne {seen_references[reference]}."
                )
            seen_references.setdefault(reference, line)
        row.form = {f: row.fields[f] for f in FIELDS if f != "active"}
        row.form["vat_rate"] = vat_from_cell(row.fields["vat_rate"])
        values, errors = check_product(**row.form)
        for key, message in errors.items():
            if key == "vat_rate":
                rates = " ; ".join(vat_cell(r) for r in VAT_RATES)
                message = f"{message} ({rates} %)"
            row.errors.append(f"{HEADERS[key]} : {message}")
        active = csvio.normalize_header(row.fields["active"])
        if active not in YES | NO:
            row.errors.append("actif : indiquez oui ou non.")
        if row.errors:
            continue
        row.values = values | {"active": active in YES}
        if product is None:
            row.status = "new"
        elif all(row.values[k] == product[k] for k in row.values):
            row.status = "same"
        else:
            row.status = "update"
    return checked


def parse_import(data: bytes, existing: Iterable[dict]) -> list[ImportRow]:
    """The preview of a file: every row with its status; raises ImportFileError."""
    columns, rows = read_csv(data)
    return check_rows(columns, rows, existing)


def error_lines(rows: list[ImportRow]) -> list[str]:
    """Every bad row named by its line and reason."""
    return [f"Ligne {row.line} : {' '.join(row.errors)}" for row in rows if row.errors]


def changes(rows: list[ImportRow]) -> list[dict]:
    """The rows to import (new or changed products), for the signed confirmation."""
    return [row.item() for row in rows if row.status in ("new", "update")]


# ---- writing -----------------------------------------------------------------------------


def export_csv(products: Iterable[dict]) -> bytes:
    """UTF-8 with BOM, ';', decimal comma: opens straight in a French spreadsheet."""
    header = [HEADERS[f] for f in FIELDS]
    rows = ([product_fields(product)[f] for f in FIELDS] for product in products)
    return csvio.file_bytes([header, *rows])


# ---- the previewed rows, signed ----------------------------------------------------------


def sign_preview(items: list[dict], secret: str, catalog_id: int) -> str:
    """The rows to import, signed for this catalog's confirmation (valid for an hour)."""
    return tokens.sign(items, secret, f"import-produits:{catalog_id}")


def read_preview(token: str, secret: str, catalog_id: int) -> list | None:
    """The signed rows, or None if altered, for another catalog, or older than an hour."""
    try:
        items = tokens.unsign(token, secret, f"import-produits:{catalog_id}", PREVIEW_MAX_AGE)
    except tokens.Expired:
        return None
    return items if isinstance(items, list) else None
