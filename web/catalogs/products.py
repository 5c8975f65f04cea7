"""PRODUITS: the list with inline editing (htmx), bulk activation, the full product form
(also the way without JavaScript), and product photos."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException

from domain.catalogs import offers, products
from domain.catalogs.products import VAT_RATES
from domain.kernel import forms
from domain.kernel.errors import FieldErrors
from jobs import escarcelle as escarcelle_jobs
from web.access import Policy, policy
from web.catalogs.menu import catalog_context, catalog_for_products, managed_catalog, products_url
from web.forms import Form, Multipart
from web.groups import group_context
from web.pages import flash, form_status, pop_flash, redirect, render

VAT_CHOICES = {str(rate): text for rate, text in VAT_RATES.items()}
PHOTO_NAME = re.compile(r"([0-9a-f]{12,16})\.jpg")  # a content hash


FIELD_LABELS = {"name": "Nom", "price": "Prix TTC (€)", "stock": "Stock", "active": "Actif"}


class ProductForm(msgspec.Struct):
    name: str = ""
    unit: str = ""
    price: str = ""
    vat_rate: str = ""
    stock: str = ""
    max_per_order: str = ""
    reference: str = ""
    active: str = ""
    photo: UploadFile | None = None


# ---- PRODUITS ----------------------------------------------------------------------------


@get("/g/{slug:str}/catalogues/{catalog_id:int}/produits", opt=policy(Policy.CATALOGS))
async def products_page(request: Request, slug: str, catalog_id: int) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=False)
    return render(
        request,
        "catalogs/products.html",
        catalog_context(
            request,
            catalog,
            "produits",
            products=await products.products_of(catalog_id),
            taken=await offers.taken_products(catalog_id),
            vat_rates=VAT_RATES,
            flash=pop_flash(request),
        ),
    )


def _row(
    request: Request,
    catalog: dict,
    product: dict,
    *,
    editing: str | None = None,
    value: str | None = None,
    error: str | None = None,
) -> object:
    """One row of the product list, shown or with one cell being edited (htmx answers)."""
    return render(
        request,
        "catalogs/_product_row.html",
        {
            "group": request.state.group,
            "catalog": catalog,
            "p": product,
            "vat_rates": VAT_RATES,
            "editing": editing,
            "value": value,
            "error": error,
            "field_labels": FIELD_LABELS,
        },
    )


def _cell_value(product: dict, field: str) -> str:
    return products.form_fields(product).get(field, "")


@get(
    "/g/{slug:str}/catalogues/{catalog_id:int}/produits/{product_id:int}/ligne",
    opt=policy(Policy.COORDINATOR),
)
async def product_row(request: Request, slug: str, catalog_id: int, product_id: int) -> object:
    """The row as shown: what Escape and "Annuler" swap back."""
    catalog = await managed_catalog(request, catalog_id, edit=True)
    return _row(request, catalog, await _product_or_404(catalog_id, product_id))


@get(
    "/g/{slug:str}/catalogues/{catalog_id:int}/produits/{product_id:int}/ligne/{field:str}",
    opt=policy(Policy.COORDINATOR),
)
async def product_cell_editor(
    request: Request, slug: str, catalog_id: int, product_id: int, field: str
) -> object:
    """The row with one cell as a small form: Enter saves, Escape cancels."""
    catalog = await managed_catalog(request, catalog_id, edit=True)
    product = await _product_or_404(catalog_id, product_id)
    if field not in ("name", "price", "stock"):
        raise NotFoundException("Ce champ ne se modifie pas ainsi.")
    return _row(request, catalog, product, editing=field, value=_cell_value(product, field))


class CellForm(msgspec.Struct):
    field: str = ""
    value: str = ""


@post(
    "/g/{slug:str}/catalogues/{catalog_id:int}/produits/{product_id:int}/ligne",
    opt=policy(Policy.COORDINATOR),
)
async def save_product_cell(
    request: Request,
    slug: str,
    catalog_id: int,
    product_id: int,
    data: Annotated[CellForm, Form],
) -> object:
    """One cell saved: the row comes back; a bad value comes back in the editor with its
    error, and nothing is saved. Without htmx: back to the list."""
    catalog = await managed_catalog(request, catalog_id, edit=True)
    product = await _product_or_404(catalog_id, product_id)
    if data.field not in products.INLINE_FIELDS:
        raise NotFoundException("Ce champ ne se modifie pas ainsi.")
    try:
        product = await products.update_product_field(
            catalog_id, product_id, data.field, data.value
        )
    except FieldErrors as error:
        if not request.htmx:
            flash(request, f"Rien n'a été enregistré : {error.errors[data.field]}")
            return redirect(request, products_url(request, catalog_id))
        return _row(
            request,
            catalog,
            product,
            editing=data.field,
            value=data.value,
            error=error.errors[data.field],
        )
    if not request.htmx:
        flash(request, f"Produit « {product['name']} » enregistré.")
        return redirect(request, products_url(request, catalog_id))
    return _row(request, catalog, product)


class BulkForm(msgspec.Struct):
    action: str = ""
    # Checkboxes name="ids" value="{id}": one checked box arrives as a string.
    ids: list[str] | str = []


@post(
    "/g/{slug:str}/catalogues/{catalog_id:int}/produits/actifs",
    opt=policy(Policy.COORDINATOR),
)
async def bulk_activate(
    request: Request, slug: str, catalog_id: int, data: Annotated[BulkForm, Form]
) -> object:
    """ "Activer" / "Désactiver" the products ticked in the list."""
    await managed_catalog(request, catalog_id, edit=True)
    if data.action not in ("activer", "desactiver"):
        flash(request, "Choisissez « Activer » ou « Désactiver ».")
        return redirect(request, products_url(request, catalog_id))
    active = data.action == "activer"
    try:
        count = await products.set_products_active(catalog_id, forms.ids(data.ids), active)
    except FieldErrors as error:
        flash(request, error.errors["ids"])
        return redirect(request, products_url(request, catalog_id))
    done = "activé" if active else "désactivé"
    flash(request, f"{count} produit{'s' if count > 1 else ''} {done}{'s' if count > 1 else ''}.")
    return redirect(request, products_url(request, catalog_id))


# CSV export and import ----------------------------------------------------------------------


# The full product form (also the way without JavaScript) ------------------------------------


def _product_page(
    request: Request,
    catalog: dict,
    form: dict,
    errors: dict,
    product: dict | None,
    status: int = 200,
) -> object:
    return render(
        request,
        "catalogs/product.html",
        group_context(
            request,
            active="catalogues",
            catalog=catalog,
            product=product,
            form=form,
            errors=errors,
            vat_choices=VAT_CHOICES,
        ),
        status_code=status,
    )


def _product_form(product: dict) -> dict:
    return product | products.form_fields(product) | {"active": "1" if product["active"] else ""}


async def _product_or_404(catalog_id: int, product_id: int) -> dict:
    found = await products.product(catalog_id, product_id)
    if found is None:
        raise NotFoundException("Ce produit n'existe pas dans ce catalogue.")
    return found


@get("/g/{slug:str}/catalogues/{catalog_id:int}/produits/nouveau", opt=policy(Policy.COORDINATOR))
async def new_product_page(request: Request, slug: str, catalog_id: int) -> object:
    catalog = await catalog_for_products(request, catalog_id, edit=True)
    form = {"unit": "pièce", "vat_rate": "550", "active": "1"}
    return _product_page(request, catalog, form, {}, None)


@get(
    "/g/{slug:str}/catalogues/{catalog_id:int}/produits/{product_id:int}",
    opt=policy(Policy.COORDINATOR),
)
async def edit_product_page(
    request: Request, slug: str, catalog_id: int, product_id: int
) -> object:
    catalog = await catalog_for_products(request, catalog_id, edit=True)
    product = await _product_or_404(catalog_id, product_id)
    return _product_page(request, catalog, _product_form(product), {}, product)


async def _save_product(
    request: Request, catalog: dict, data: ProductForm, product: dict | None
) -> object:
    photo = await data.photo.read() if data.photo is not None else None
    fields = msgspec.structs.asdict(data)
    del fields["photo"], fields["active"]
    try:
        extra: dict = {}
        if product is None:  # a grocery linked to Escarcelle: its barcode, which links it
            owner = await products.producer_of_catalog(catalog["id"])
            extra, refused = await escarcelle_jobs.check_new_product(owner, data.reference)
            if refused:
                raise FieldErrors({"reference": refused})
        await products.save_product(
            catalog["id"],
            fields=fields,
            active=bool(data.active),
            photo=photo or None,
            product_id=product["id"] if product else None,
            extra=extra,
        )
    except FieldErrors as error:
        form = fields | {"active": data.active}
        return _product_page(request, catalog, form, error.errors, product, form_status(request))
    flash(request, f"Produit « {data.name.strip()} » enregistré.")
    return redirect(request, products_url(request, catalog["id"]))


@post("/g/{slug:str}/catalogues/{catalog_id:int}/produits/nouveau", opt=policy(Policy.COORDINATOR))
async def create_product(
    request: Request, slug: str, catalog_id: int, data: Annotated[ProductForm, Multipart]
) -> object:
    catalog = await catalog_for_products(request, catalog_id, edit=True)
    return await _save_product(request, catalog, data, None)


@post(
    "/g/{slug:str}/catalogues/{catalog_id:int}/produits/{product_id:int}",
    opt=policy(Policy.COORDINATOR),
)
async def update_product(
    request: Request,
    slug: str,
    catalog_id: int,
    product_id: int,
    data: Annotated[ProductForm, Multipart],
) -> object:
    catalog = await catalog_for_products(request, catalog_id, edit=True)
    product = await _product_or_404(catalog_id, product_id)
    return await _save_product(request, catalog, data, product)


@get("/photos/{name:str}", opt=policy(Policy.ANONYMOUS))
async def product_photo(name: str) -> Response:
    """`/photos/<content hash>.jpg`: a new photo gets a new address, so cache it for a year;
    the hash is the address, not a counted id."""
    match = PHOTO_NAME.fullmatch(name)
    data = await products.photo(match.group(1)) if match else None
    if not data:
        raise NotFoundException("Pas de photo.")
    return Response(
        content=data,
        media_type="image/jpeg",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


handlers = [
    products_page,
    product_row,
    product_cell_editor,
    save_product_cell,
    bulk_activate,
    new_product_page,
    edit_product_page,
    create_product,
    update_product,
    product_photo,
]
