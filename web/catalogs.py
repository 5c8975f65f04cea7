"""CATALOGUES: the group's catalogs and their products; product photos.

Admins create and edit catalogs and choose the distributions they deliver at; a
catalog's coordinator edits its products; its producer sees them.
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body

from domain import catalogs, distributions
from domain.accounts import FieldErrors, display_name
from domain.catalogs import CATALOG_KINDS, VAT_RATES
from web.access import Policy, policy
from web.distributions import view as distribution_view
from web.groups import group_context
from web.pages import flash, form_status, pop_flash, redirect, render

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
Multipart = Body(media_type=RequestEncodingType.MULTI_PART)
SHORT_KINDS = {"variable": "Commande variable", "fixed": "Commande fixe"}
VAT_CHOICES = {str(rate): text for rate, text in VAT_RATES.items()}
PHOTO_NAME = re.compile(r"(\d{1,9})\.jpg")  # ids fit in 32 bits


class CatalogForm(msgspec.Struct):
    name: str = ""
    vendor_id: str = ""
    kind: str = "variable"
    starts_on: str = ""
    ends_on: str = ""
    coordinator_id: str = ""
    description: str = ""
    # Checkboxes name="distribution_ids" value="{id}": one checked box arrives as a string.
    distribution_ids: list[str] | str = []


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


# ---- who may see and change a catalog --------------------------------------------------


async def catalog_of_group(request: Request, catalog_id: int) -> dict:
    """The catalog, if it belongs to the request's group; 404 otherwise."""
    found = await catalogs.catalog(request.state.group["id"], catalog_id)
    if found is None:
        raise NotFoundException("Ce catalogue n'existe pas dans ce groupe.")
    return found


def may_edit_products(request: Request, catalog: dict) -> bool:
    """Admins, and the catalog's own coordinator."""
    return request.state.roles.admin or catalog["coordinator"] == request.state.user["id"]


def may_see_products(request: Request, catalog: dict) -> bool:
    """Those who may edit them, and the catalog's producer."""
    return may_edit_products(request, catalog) or catalog["vendor_user"] == request.state.user["id"]


async def catalog_for_products(request: Request, catalog_id: int, *, edit: bool) -> dict:
    catalog = await catalog_of_group(request, catalog_id)
    allowed = may_edit_products(request, catalog) if edit else may_see_products(request, catalog)
    if not allowed:
        raise PermissionDeniedException("Vous ne gérez pas ce catalogue.")
    return catalog


async def managed_catalog(request: Request, catalog_id: int, *, edit: bool) -> dict:
    """The catalog of a "Gérer" page, or 404/403: its producer reads (`edit=False`); admins
    and its coordinator change. The view has what the menu needs."""
    return _catalog_view(request, await catalog_for_products(request, catalog_id, edit=edit))


# The left menu after "Gérer", in the seed's order: (key, label, path, who may see it).
# "edit": admins and the catalog's coordinator; "read": also the catalog's producer;
# "admin": group admins only.
CATALOG_MENU = (
    ("recap", "RÉCAPITULATIF", "gerer", "read"),
    ("modifier", "MODIFIER LE CATALOGUE", "", "admin"),
    ("produits", "PRODUITS", "produits", "read"),
    ("distributions", "DISTRIBUTIONS", "distributions", "edit"),
    ("commandes", "COMMANDES", "commandes", "read"),
    ("souscriptions", "SOUSCRIPTIONS", "souscriptions", "edit"),
    ("documents", "DOCUMENTS", "documents", "edit"),
    ("statistiques", "STATISTIQUES", "statistiques", "read"),
    ("gros", "COMMANDE EN GROS", "commande-en-gros", "read"),
)


def catalog_menu(request: Request, catalog: dict) -> list[dict]:
    """The menu items this user may use for this catalog (SOUSCRIPTIONS: AMAP contracts)."""
    base = f"/g/{request.state.group['slug']}/catalogues/{catalog['id']}"
    allowed = {
        "read": may_see_products(request, catalog),
        "edit": may_edit_products(request, catalog),
        "admin": request.state.roles.admin,
    }
    return [
        {"key": key, "label": label, "url": f"{base}/{path}".rstrip("/")}
        for key, label, path, who in CATALOG_MENU
        if allowed[who] and (key != "souscriptions" or request.state.group["kind"] == "amap")
    ]


def catalog_context(request: Request, catalog: dict, menu: str, **extra) -> dict:
    """The context of a page of the catalog menu (templates extend catalogs/manage.html)."""
    return group_context(
        request,
        active="catalogues",
        catalog=catalog,
        menu=catalog_menu(request, catalog),
        menu_active=menu,
        **extra,
    )


# ---- catalogs --------------------------------------------------------------------------


def _period(catalog: dict) -> str:
    start, end = catalog["starts_on"], catalog["ends_on"]
    if start and end:
        return f"du {start:%d/%m/%Y} au {end:%d/%m/%Y}"
    if start:
        return f"à partir du {start:%d/%m/%Y}"
    if end:
        return f"jusqu'au {end:%d/%m/%Y}"
    return ""


def _catalog_view(request: Request, catalog: dict) -> dict:
    first, last = catalog["coordinator_first_name"], catalog["coordinator_last_name"]
    coordinator = f"{first or ''} {last or ''}"
    return catalog | {
        "kind_label": SHORT_KINDS.get(catalog["kind"], catalog["kind"]),
        "period": _period(catalog),
        "coordinator_name": coordinator.strip() if catalog["coordinator"] else "",
        "may_edit_products": may_edit_products(request, catalog),
        "may_manage": may_see_products(request, catalog),
    }


@get("/g/{slug:str}/catalogues", opt=policy(Policy.CATALOGS), name="group_catalogues")
async def catalogs_page(request: Request, slug: str) -> object:
    found = await catalogs.catalogs_of(request.state.group["id"])
    shown = [
        _catalog_view(request, c)
        for c in found
        if request.state.roles.admin or may_see_products(request, c)
    ]
    return render(
        request,
        "catalogs/list.html",
        group_context(request, active="catalogues", catalogs=shown, flash=pop_flash(request)),
    )


async def _coming(group_id: int) -> list[dict]:
    """The distributions a catalog can be set to deliver at: the coming, not cancelled ones."""
    coming = await distributions.distributions_of(group_id)
    return [distribution_view(d) for d in coming if d["cancelled_at"] is None]


async def _catalog_page(
    request: Request, form: dict, errors: dict, catalog_id: int | None, status: int = 200
) -> object:
    group_id = request.state.group["id"]
    vendors = await catalogs.vendors_of(group_id)
    members = await catalogs.coordinator_choices(group_id)
    return render(
        request,
        "catalogs/form.html",
        group_context(
            request,
            active="catalogues",
            form=form,
            errors=errors,
            catalog_id=catalog_id,
            vendors={"": "Choisissez un producteur"} | {str(v["id"]): v["name"] for v in vendors},
            coordinators={"": "Aucun"} | {str(m["id"]): display_name(m) for m in members},
            catalog_kinds=CATALOG_KINDS,
            coming=await _coming(group_id),
        ),
        fragment="catalogs/_form.html",
        status_code=status,
    )


def _ids(values: list[str] | str) -> list[int]:
    values = [values] if isinstance(values, str) else values
    return [int(v) for v in values if v.strip().isdigit()]


@get("/g/{slug:str}/catalogues/nouveau", opt=policy(Policy.ADMIN))
async def new_catalog_page(request: Request, slug: str) -> object:
    form = {"kind": "variable", "distribution_ids": []}
    return await _catalog_page(request, form, {}, None)


@get("/g/{slug:str}/catalogues/{catalog_id:int}", opt=policy(Policy.ADMIN))
async def edit_catalog_page(request: Request, slug: str, catalog_id: int) -> object:
    catalog = await catalog_of_group(request, catalog_id)
    form = catalog | {
        "vendor_id": str(catalog["vendor"]),
        "coordinator_id": str(catalog["coordinator"] or ""),
        "starts_on": catalog["starts_on"].isoformat() if catalog["starts_on"] else "",
        "ends_on": catalog["ends_on"].isoformat() if catalog["ends_on"] else "",
        "distribution_ids": [str(i) for i in await catalogs.delivery_ids(catalog_id)],
    }
    return await _catalog_page(request, form, {}, catalog_id)


async def _save_catalog(request: Request, data: CatalogForm, catalog_id: int | None) -> object:
    group = request.state.group
    try:
        saved = await catalogs.save_catalog(
            group["id"],
            group["kind"],
            name=data.name,
            vendor_id=data.vendor_id,
            kind=data.kind,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            coordinator_id=data.coordinator_id,
            description=data.description,
            catalog_id=catalog_id,
        )
    except FieldErrors as error:
        form = msgspec.structs.asdict(data)
        form["distribution_ids"] = [str(i) for i in _ids(data.distribution_ids)]
        return await _catalog_page(request, form, error.errors, catalog_id, form_status(request))
    offered = [d["id"] for d in await _coming(group["id"])]
    await catalogs.set_deliveries(
        group["id"], saved["id"], _ids(data.distribution_ids), among=offered
    )
    flash(request, f"Catalogue « {saved['name']} » enregistré.")
    return redirect(request, f"/g/{group['slug']}/catalogues")


@post("/g/{slug:str}/catalogues/nouveau", opt=policy(Policy.ADMIN))
async def create_catalog(request: Request, slug: str, data: Annotated[CatalogForm, Form]) -> object:
    return await _save_catalog(request, data, None)


@post("/g/{slug:str}/catalogues/{catalog_id:int}", opt=policy(Policy.ADMIN))
async def update_catalog(
    request: Request, slug: str, catalog_id: int, data: Annotated[CatalogForm, Form]
) -> object:
    await catalog_of_group(request, catalog_id)
    return await _save_catalog(request, data, catalog_id)


# ---- products --------------------------------------------------------------------------


def _products_url(request: Request, catalog_id: int) -> str:
    return f"/g/{request.state.group['slug']}/catalogues/{catalog_id}/produits"


@get("/g/{slug:str}/catalogues/{catalog_id:int}/produits", opt=policy(Policy.CATALOGS))
async def products_page(request: Request, slug: str, catalog_id: int) -> object:
    catalog = await catalog_for_products(request, catalog_id, edit=False)
    return render(
        request,
        "catalogs/products.html",
        group_context(
            request,
            active="catalogues",
            catalog=_catalog_view(request, catalog),
            products=await catalogs.products_of(catalog_id),
            vat_rates=VAT_RATES,
            flash=pop_flash(request),
        ),
    )


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
    price = f"{product['price_cents'] // 100},{product['price_cents'] % 100:02d}"
    return product | {
        "price": price,
        "vat_rate": str(product["vat_rate"]),
        "stock": "" if product["stock"] is None else str(product["stock"]),
        "max_per_order": "" if product["max_per_order"] is None else str(product["max_per_order"]),
        "active": "1" if product["active"] else "",
    }


async def _product_or_404(catalog_id: int, product_id: int) -> dict:
    found = await catalogs.product(catalog_id, product_id)
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
        await catalogs.save_product(
            catalog["id"],
            fields=fields,
            active=bool(data.active),
            photo=photo or None,
            product_id=product["id"] if product else None,
        )
    except FieldErrors as error:
        form = fields | {"active": data.active}
        return _product_page(request, catalog, form, error.errors, product, form_status(request))
    flash(request, f"Produit « {data.name.strip()} » enregistré.")
    return redirect(request, _products_url(request, catalog["id"]))


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
    """`/photos/12.jpg?v=<photo_version>`: a new photo gets a new URL, so cache it for a year."""
    match = PHOTO_NAME.fullmatch(name)
    data = await catalogs.photo(int(match.group(1))) if match else None
    if not data:
        raise NotFoundException("Pas de photo.")
    return Response(
        content=data,
        media_type="image/jpeg",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


handlers = [
    catalogs_page,
    new_catalog_page,
    edit_catalog_page,
    create_catalog,
    update_catalog,
    products_page,
    new_product_page,
    edit_product_page,
    create_product,
    update_product,
    product_photo,
]
