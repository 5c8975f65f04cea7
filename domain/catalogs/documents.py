"""DOCUMENTS of a catalog: PDF files (the contract to sign...) shown to members, to the
contract's subscribers, or to admins only.

A file is a PDF if it says so and starts like one; its name is kept, made safe for a
download header and a file system.
"""

from __future__ import annotations

import re
import unicodedata

from domain.kernel.errors import FieldErrors
from domain.tables import CatalogDocument, Subscription

MAX_BYTES = 5 * 1024 * 1024
PDF_TYPES = ("application/pdf", "application/x-pdf")
VISIBILITIES = {
    "members": "Membres du groupe",
    "subscribers": "Souscripteurs de ce contrat",
    "admins": "Administrateurs seulement",
}
LIST_COLUMNS = (
    CatalogDocument.id,
    CatalogDocument.catalog,
    CatalogDocument.name,
    CatalogDocument.visibility,
    CatalogDocument.size,
    CatalogDocument.uploaded_at,
)


def clean_name(filename: str) -> str:
    """'../../Contrat été 2027?.PDF' -> 'Contrat été 2027.pdf': no folders, no control or
    shell characters, one .pdf at the end, 120 characters at most."""
    base = re.split(r"[/\\]", filename or "")[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    base = re.sub(r"[^\w\s.,()'’+-]", "", base)
    base = re.sub(r"\s+", " ", base).strip(" .")
    stem = re.sub(r"\.pdf$", "", base, flags=re.IGNORECASE).strip(" .")
    return (stem[:116].strip(" .") or "document") + ".pdf"


def check_pdf(filename: str, content_type: str, data: bytes) -> None:
    """Raises FieldErrors({"file": ...}) unless it is a PDF of at most 5 MB."""
    if not data:
        raise FieldErrors({"file": "Choisissez un fichier PDF."})
    if len(data) > MAX_BYTES:
        raise FieldErrors({"file": "Le fichier ne doit pas dépasser 5 Mo."})
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in PDF_TYPES or not data.startswith(b"%PDF-"):
        raise FieldErrors({"file": "Ce fichier n'est pas un PDF."})


async def save_document(
    catalog_id: int,
    *,
    filename: str,
    content_type: str,
    data: bytes,
    visibility: str,
    user_id: int,
) -> dict:
    errors: dict[str, str] = {}
    if visibility not in VISIBILITIES:
        errors["visibility"] = "Choisissez qui peut voir ce document."
    try:
        check_pdf(filename, content_type, data)
    except FieldErrors as error:
        errors |= error.errors
    if errors:
        raise FieldErrors(errors)
    rows = await CatalogDocument.insert(
        CatalogDocument(
            catalog=catalog_id,
            name=clean_name(filename),
            visibility=visibility,
            content=data,
            size=len(data),
            uploaded_by=user_id,
        )
    ).returning(*LIST_COLUMNS)
    return rows[0]


async def documents_of(catalog_id: int) -> list[dict]:
    """The catalog's documents, without their content."""
    return (
        await CatalogDocument.select(*LIST_COLUMNS)
        .where(CatalogDocument.catalog == catalog_id)
        .order_by(CatalogDocument.uploaded_at, ascending=False)
    )


async def delete_document(catalog_id: int, document_id: int) -> bool:
    rows = (
        await CatalogDocument.delete()
        .where((CatalogDocument.id == document_id) & (CatalogDocument.catalog == catalog_id))
        .returning(CatalogDocument.id)
    )
    return bool(rows)


async def document(group_id: int, document_id: int) -> dict | None:
    """A document of this group, with its content and who manages its catalog."""
    return (
        await CatalogDocument.select(
            *LIST_COLUMNS,
            CatalogDocument.content,
            CatalogDocument.catalog.coordinator.as_alias("coordinator"),
            CatalogDocument.catalog.vendor.user.as_alias("vendor_user"),
        )
        .where((CatalogDocument.id == document_id) & (CatalogDocument.catalog.group == group_id))
        .first()
    )


def _subscribed_query(user_id: int):
    return Subscription.select(Subscription.catalog).where(
        (Subscription.user == user_id) & Subscription.ended_at.is_null()
    )


async def may_read(doc: dict, user_id: int, *, admin: bool, member: bool) -> bool:
    """Admins and those who manage the catalog see all its documents; members see the
    "members" ones; subscribers of the catalog the "subscribers" ones too."""
    if admin or user_id in (doc["coordinator"], doc["vendor_user"]):
        return True
    if not member:
        return False
    if doc["visibility"] == "members":
        return True
    if doc["visibility"] == "subscribers":
        return await Subscription.exists().where(
            (Subscription.user == user_id)
            & (Subscription.catalog == doc["catalog"])
            & Subscription.ended_at.is_null()
        )
    return False


async def visible_documents(group_id: int, user_id: int, *, admin: bool) -> dict[int, list[dict]]:
    """MES CONTRATS: the documents a member may read, by catalog. Two queries."""
    rows = (
        await CatalogDocument.select(
            *LIST_COLUMNS, CatalogDocument.catalog.coordinator.as_alias("coordinator")
        )
        .where(CatalogDocument.catalog.group == group_id)
        .order_by(CatalogDocument.name)
    )
    if not rows:
        return {}
    subscribed = {row["catalog"] for row in await _subscribed_query(user_id)}
    found: dict[int, list[dict]] = {}
    for row in rows:
        visible = (
            admin
            or row["coordinator"] == user_id
            or row["visibility"] == "members"
            or (row["visibility"] == "subscribers" and row["catalog"] in subscribed)
        )
        if visible:
            found.setdefault(row["catalog"], []).append(row)
    return found
