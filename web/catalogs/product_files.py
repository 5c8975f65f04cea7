"""PRODUITS → export and import of the products as a CSV file, with a preview first."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile

from domain.catalogs import product_files, products
from domain.kernel.errors import FieldErrors
from domain.kernel.wording import plural
from jobs import escarcelle as escarcelle_jobs
from web.access import Policy, policy
from web.catalogs.menu import catalog_context, managed_catalog, products_url
from web.downloads import attachment
from web.forms import Form, Multipart
from web.pages import flash, redirect, render


def _file_slug(text: str) -> str:
    from domain.groups import slugify

    return slugify(text) or "catalogue"


@get(
    "/g/{slug:str}/catalogues/{catalog_id:int}/produits/export.csv",
    opt=policy(Policy.CATALOGS),
)
async def export_products(request: Request, slug: str, catalog_id: int) -> Response:
    """The products as a CSV that opens in a French spreadsheet and re-imports unchanged."""
    catalog = await managed_catalog(request, catalog_id, edit=False)
    data = product_files.export_csv(await products.products_of(catalog_id))
    name = f"produits-{_file_slug(catalog['name'])}.csv"
    return Response(
        content=data,
        media_type="text/csv",  # Litestar adds "; charset=utf-8"
        headers={
            "Content-Disposition": attachment(name),
            "Cache-Control": "private, no-store",
        },
    )


class ImportUpload(msgspec.Struct):
    file: UploadFile | None = None


class ImportConfirm(msgspec.Struct):
    token: str = ""


def _import_page(
    request: Request,
    catalog: dict,
    *,
    rows: list | None = None,
    error: str | None = None,
    token: str = "",
    status: int = 200,
) -> object:
    rows = rows or []
    counts = {key: sum(1 for r in rows if r.status == key) for key in product_files.STATUS_LABELS}
    return render(
        request,
        "catalogs/import.html",
        catalog_context(
            request,
            catalog,
            "produits",
            rows=rows,
            counts=counts,
            problems=product_files.error_lines(rows),
            file_error=error,
            token=token,
            headers=product_files.HEADERS,
            fields=product_files.FIELDS,
        ),
        status_code=status,
    )


@get(
    "/g/{slug:str}/catalogues/{catalog_id:int}/produits/import",
    opt=policy(Policy.COORDINATOR),
)
async def import_page(request: Request, slug: str, catalog_id: int) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=True)
    return _import_page(request, catalog)


@post(
    "/g/{slug:str}/catalogues/{catalog_id:int}/produits/import",
    opt=policy(Policy.COORDINATOR),
)
async def import_preview(
    request: Request, slug: str, catalog_id: int, data: Annotated[ImportUpload, Multipart]
) -> object:
    """The preview: every row with its status; the good ones signed for the confirmation."""
    catalog = await managed_catalog(request, catalog_id, edit=True)
    content = await data.file.read() if data.file is not None else b""
    if not content:
        return _import_page(request, catalog, error="Choisissez un fichier CSV.", status=422)
    try:
        rows = product_files.parse_import(content, await products.products_of(catalog_id))
    except product_files.ImportFileError as error:
        return _import_page(request, catalog, error=error.message, status=422)
    await escarcelle_jobs.check_import_rows(await products.producer_of_catalog(catalog_id), rows)
    token = ""
    if not any(row.errors for row in rows):
        changes = product_files.changes(rows)
        if changes:
            secret = request.app.state.settings.secret_key
            token = product_files.sign_preview(changes, secret, catalog_id)
    bad = any(row.errors for row in rows)
    return _import_page(request, catalog, rows=rows, token=token, status=422 if bad else 200)


@post(
    "/g/{slug:str}/catalogues/{catalog_id:int}/produits/import/confirmer",
    opt=policy(Policy.COORDINATOR),
)
async def import_confirm(
    request: Request, slug: str, catalog_id: int, data: Annotated[ImportConfirm, Form]
) -> object:
    """Imports what the preview showed, all in one transaction or nothing."""
    catalog = await managed_catalog(request, catalog_id, edit=True)
    secret = request.app.state.settings.secret_key
    items = product_files.read_preview(data.token, secret, catalog_id)
    if not isinstance(items, list):
        message = "L'aperçu a expiré ou a été modifié : envoyez le fichier à nouveau."
        return _import_page(request, catalog, error=message, status=422)
    try:
        created, updated = await products.import_products(catalog_id, items)
    except FieldErrors as error:
        message = f"Rien n'a été importé. {error.errors['file']}"
        return _import_page(request, catalog, error=message, status=422)
    flash(
        request,
        f"Import terminé : {plural(created, 'produit créé', 'produits créés')}, "
        f"{plural(updated, 'mis à jour', 'mis à jour')}.",
    )
    return redirect(request, products_url(request, catalog_id))


handlers = [
    export_products,
    import_page,
    import_preview,
    import_confirm,
]
