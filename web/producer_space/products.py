"""PRODUITS of the producer space: the producer's list, the product form, Import/Export
(CSV), and adding products to a catalog of a group where the producer sells."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException

from domain.catalogs import product_files
from domain.catalogs.products import VAT_RATES
from domain.kernel import forms
from domain.kernel.errors import FieldErrors
from domain.kernel.wording import plural
from domain.producer_space import producers
from domain.producer_space import products as space_products
from jobs import escarcelle as escarcelle_jobs
from web.access import Policy, policy
from web.downloads import attachment
from web.forms import Form, Multipart
from web.pages import flash, form_status, pop_flash, redirect, render
from web.producer_space.common import base_url, producer_or_404, space_context

VAT_CHOICES = {str(rate): text for rate, text in VAT_RATES.items()}


class ProductForm(msgspec.Struct):
    name: str = ""
    category: str = ""
    unit: str = ""
    price: str = ""
    vat_rate: str = ""
    stock: str = ""
    max_per_order: str = ""
    reference: str = ""
    active: str = ""
    photo: UploadFile | None = None


class CatalogForm(msgspec.Struct):
    catalog: str = ""
    # Checkboxes name="ids" value="{id}": one checked box arrives as a string.
    ids: list[str] | str = []


class ImportUpload(msgspec.Struct):
    file: UploadFile | None = None


class ImportConfirm(msgspec.Struct):
    token: str = ""


def _list_url(producer: dict) -> str:
    return f"{base_url(producer)}/produits"


@get("/espace-producteur/{producer_id:int}/produits", opt=policy(Policy.USER))
async def products_page(request: Request, producer_id: int) -> object:
    producer = await producer_or_404(request, producer_id)
    return render(
        request,
        "producer_space/products.html",
        space_context(
            producer,
            "produits",
            products=await space_products.products_of(producer_id),
            catalogs=[
                c for c in await producers.catalogs_of(producer_id) if c["kind"] == "variable"
            ],
            vat_rates=VAT_RATES,
            flash=pop_flash(request),
            linked=await producers.is_linked(producer_id),
        ),
    )


@post("/espace-producteur/{producer_id:int}/produits/catalogue", opt=policy(Policy.USER))
async def add_to_catalog(
    request: Request, producer_id: int, data: Annotated[CatalogForm, Form]
) -> object:
    """The ticked products offered by the chosen catalog (all or none)."""
    producer = await producer_or_404(request, producer_id)
    try:
        count = await space_products.add_to_catalog(
            producer_id, forms.ids(data.ids), forms.an_id(data.catalog)
        )
    except FieldErrors as error:
        flash(request, "Rien n'a été ajouté : " + " ".join(error.errors.values()))
        return redirect(request, _list_url(producer))
    flash(request, f"{plural(count, 'produit ajouté', 'produits ajoutés')} au catalogue.")
    return redirect(request, _list_url(producer))


@post(
    "/espace-producteur/{producer_id:int}/produits/{product_id:int}/retirer",
    opt=policy(Policy.USER),
)
async def remove_from_catalog(
    request: Request, producer_id: int, product_id: int, data: Annotated[CatalogForm, Form]
) -> object:
    producer = await producer_or_404(request, producer_id)
    catalog_id = forms.an_id(data.catalog) or 0
    try:
        await space_products.remove_from_catalog(producer_id, product_id, catalog_id)
    except FieldErrors as error:
        flash(request, error.errors["catalog"])
        return redirect(request, _list_url(producer))
    flash(request, "Produit retiré du catalogue.")
    return redirect(request, _list_url(producer))


# ---- the product form --------------------------------------------------------------------


async def _product_page(
    request: Request, producer: dict, form: dict, errors: dict, product: dict | None, status=200
) -> object:
    linked = await producers.is_linked(producer["id"])
    return render(
        request,
        "producer_space/product.html",
        space_context(
            producer,
            "produits",
            product=product,
            form=form,
            errors=errors,
            vat_choices=VAT_CHOICES,
            locked=bool(product and product["escarcelle_id"] and linked),
        ),
        status_code=status,
    )


async def _product_or_404(producer_id: int, product_id: int) -> dict:
    found = await space_products.product(producer_id, product_id)
    if found is None:
        raise NotFoundException("Ce produit n'existe pas dans votre liste.")
    return found


def _form_of(product: dict) -> dict:
    from domain.catalogs.products import form_fields

    return (
        product
        | form_fields(product)
        | {"category": product["category"] or "", "active": "1" if product["active"] else ""}
    )


@get("/espace-producteur/{producer_id:int}/produits/nouveau", opt=policy(Policy.USER))
async def new_product_page(request: Request, producer_id: int) -> object:
    producer = await producer_or_404(request, producer_id)
    form = {"unit": "pièce", "vat_rate": "550", "active": "1"}
    return await _product_page(request, producer, form, {}, None)


@get("/espace-producteur/{producer_id:int}/produits/{product_id:int}", opt=policy(Policy.USER))
async def edit_product_page(request: Request, producer_id: int, product_id: int) -> object:
    producer = await producer_or_404(request, producer_id)
    product = await _product_or_404(producer_id, product_id)
    return await _product_page(request, producer, _form_of(product), {}, product)


async def _save(request: Request, producer: dict, data: ProductForm, product: dict | None):
    photo = await data.photo.read() if data.photo is not None else None
    fields = msgspec.structs.asdict(data)
    category = fields.pop("category")
    del fields["photo"], fields["active"]
    extra: dict = {}
    try:
        if product is None:  # linked to Escarcelle: its barcode, which links it
            extra, refused = await escarcelle_jobs.check_new_product(producer["id"], data.reference)
            if refused:
                raise FieldErrors({"reference": refused})
        elif product["escarcelle_id"]:
            # Kept by the domain while linked; what the form shows when the fields are hidden.
            fields |= {"reference": product["reference"], "stock": str(product["stock"] or 0)}
        await space_products.save_product(
            producer["id"],
            fields=fields,
            category=category,
            active=bool(data.active),
            photo=photo or None,
            product_id=product["id"] if product else None,
            extra=extra,
        )
    except FieldErrors as error:
        form = fields | {"active": data.active, "category": category}
        return await _product_page(
            request, producer, form, error.errors, product, form_status(request)
        )
    flash(request, f"Produit « {data.name.strip()} » enregistré.")
    return redirect(request, _list_url(producer))


@post("/espace-producteur/{producer_id:int}/produits/nouveau", opt=policy(Policy.USER))
async def create_product(
    request: Request, producer_id: int, data: Annotated[ProductForm, Multipart]
) -> object:
    producer = await producer_or_404(request, producer_id)
    return await _save(request, producer, data, None)


@post("/espace-producteur/{producer_id:int}/produits/{product_id:int}", opt=policy(Policy.USER))
async def update_product(
    request: Request, producer_id: int, product_id: int, data: Annotated[ProductForm, Multipart]
) -> object:
    producer = await producer_or_404(request, producer_id)
    product = await _product_or_404(producer_id, product_id)
    return await _save(request, producer, data, product)


# ---- Import/Export (CSV) -----------------------------------------------------------------


@get("/espace-producteur/{producer_id:int}/produits/export.csv", opt=policy(Policy.USER))
async def export_products(request: Request, producer_id: int) -> Response:
    """The list as the catalogs' CSV (it re-imports unchanged)."""
    await producer_or_404(request, producer_id)
    data = product_files.export_csv(await space_products.products_of(producer_id))
    return Response(
        content=data,
        media_type="text/csv",
        headers={
            "Content-Disposition": attachment("produits.csv"),
            "Cache-Control": "private, no-store",
        },
    )


def _import_page(
    request: Request, producer: dict, *, rows=None, error=None, token="", status=200
) -> object:
    rows = rows or []
    counts = {key: sum(1 for r in rows if r.status == key) for key in product_files.STATUS_LABELS}
    return render(
        request,
        "producer_space/import.html",
        space_context(
            producer,
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


@get("/espace-producteur/{producer_id:int}/produits/import", opt=policy(Policy.USER))
async def import_page(request: Request, producer_id: int) -> object:
    return _import_page(request, await producer_or_404(request, producer_id))


@post("/espace-producteur/{producer_id:int}/produits/import", opt=policy(Policy.USER))
async def import_preview(
    request: Request, producer_id: int, data: Annotated[ImportUpload, Multipart]
) -> object:
    producer = await producer_or_404(request, producer_id)
    content = await data.file.read() if data.file is not None else b""
    if not content:
        return _import_page(request, producer, error="Choisissez un fichier CSV.", status=422)
    try:
        rows = product_files.parse_import(content, await space_products.products_of(producer_id))
    except product_files.ImportFileError as error:
        return _import_page(request, producer, error=error.message, status=422)
    await escarcelle_jobs.check_import_rows(producer_id, rows)
    bad = any(row.errors for row in rows)
    token = ""
    if not bad and (changes := product_files.changes(rows)):
        token = space_products.sign_import(
            changes, request.app.state.settings.secret_key, producer_id
        )
    return _import_page(request, producer, rows=rows, token=token, status=422 if bad else 200)


@post("/espace-producteur/{producer_id:int}/produits/import/confirmer", opt=policy(Policy.USER))
async def import_confirm(
    request: Request, producer_id: int, data: Annotated[ImportConfirm, Form]
) -> object:
    producer = await producer_or_404(request, producer_id)
    items = space_products.read_import(
        data.token, request.app.state.settings.secret_key, producer_id
    )
    if items is None:
        message = "L'aperçu a expiré ou a été modifié : envoyez le fichier à nouveau."
        return _import_page(request, producer, error=message, status=422)
    try:
        created, updated = await space_products.import_products(
            producer_id, items, once=space_products.preview_key(data.token)
        )
    except space_products.ImportedAlready:
        flash(request, "Cet import a déjà été fait.")
        return redirect(request, _list_url(producer))
    except FieldErrors as error:
        message = f"Rien n'a été importé. {error.errors['file']}"
        return _import_page(request, producer, error=message, status=422)
    flash(
        request,
        f"Import terminé : {plural(created, 'produit créé', 'produits créés')}, "
        f"{plural(updated, 'mis à jour', 'mis à jour')}.",
    )
    return redirect(request, _list_url(producer))


handlers = [
    products_page,
    add_to_catalog,
    remove_from_catalog,
    new_product_page,
    export_products,
    import_page,
    import_preview,
    import_confirm,
    edit_product_page,
    create_product,
    update_product,
]
