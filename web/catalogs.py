"""CATALOGUES: the group's catalogs, the catalog menu after "Gérer", product photos.

Admins create and edit catalogs; a catalog's coordinator manages its products (inline
editing, CSV import and export), its distributions and documents; its producer reads
its pages. Member-side: downloading a document the member may see.
"""

from __future__ import annotations

import math
import re
from typing import Annotated
from urllib.parse import quote

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body

from domain import catalogs, distributions, documents, product_import, statistics
from domain.accounts import FieldErrors, display_name
from domain.catalogs import CATALOG_KINDS, VAT_RATES, DeliveryError
from domain.distributions import label, local
from web.access import Policy, policy
from web.distributions import view as distribution_view
from web.groups import group_context
from web.pages import flash, form_status, pop_flash, redirect, render

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
Multipart = Body(media_type=RequestEncodingType.MULTI_PART)
SHORT_KINDS = {"variable": "Commande variable", "fixed": "Commande fixe"}
VAT_CHOICES = {str(rate): text for rate, text in VAT_RATES.items()}
PHOTO_NAME = re.compile(r"(\d{1,9})\.jpg")  # ids fit in 32 bits
DOCUMENT_NAME = re.compile(r"(\d{1,9})\.pdf")
FIELD_LABELS = {"name": "Nom", "price": "Prix TTC (€)", "stock": "Stock", "active": "Actif"}


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
    ("souscriptions", "SOUSCRIPTIONS", "souscriptions", "read"),
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
    """The new-catalog page (outside the menu), or MODIFIER LE CATALOGUE (inside it)."""
    group_id = request.state.group["id"]
    vendors = await catalogs.vendors_of(group_id)
    members = await catalogs.coordinator_choices(group_id)
    fields = {
        "form": form,
        "errors": errors,
        "catalog_id": catalog_id,
        "vendors": {"": "Choisissez un producteur"} | {str(v["id"]): v["name"] for v in vendors},
        "coordinators": {"": "Aucun"} | {str(m["id"]): display_name(m) for m in members},
        "catalog_kinds": CATALOG_KINDS,
        "coming": await _coming(group_id),
    }
    if catalog_id is None:
        template, context = "catalogs/form.html", group_context(request, active="catalogues")
    else:
        catalog = _catalog_view(request, await catalog_of_group(request, catalog_id))
        template, context = "catalogs/edit.html", catalog_context(request, catalog, "modifier")
    return render(
        request,
        template,
        context | fields,
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


# ---- RÉCAPITULATIF -----------------------------------------------------------------------


@get("/g/{slug:str}/catalogues/{catalog_id:int}/gerer", opt=policy(Policy.CATALOGS))
async def recap_page(request: Request, slug: str, catalog_id: int) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=False)
    return render(
        request,
        "catalogs/recap.html",
        catalog_context(
            request,
            catalog,
            "recap",
            figures=await catalogs.summary(catalog_id),
            flash=pop_flash(request),
        ),
    )


# ---- PRODUITS ----------------------------------------------------------------------------


def _products_url(request: Request, catalog_id: int) -> str:
    return f"/g/{request.state.group['slug']}/catalogues/{catalog_id}/produits"


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
            products=await catalogs.products_of(catalog_id),
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
    return catalogs.form_fields(product).get(field, "")


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
    if data.field not in catalogs.INLINE_FIELDS:
        raise NotFoundException("Ce champ ne se modifie pas ainsi.")
    try:
        product = await catalogs.update_product_field(
            catalog_id, product_id, data.field, data.value
        )
    except FieldErrors as error:
        if request.headers.get("hx-request") != "true":
            flash(request, f"Rien n'a été enregistré : {error.errors[data.field]}")
            return redirect(request, _products_url(request, catalog_id))
        return _row(
            request,
            catalog,
            product,
            editing=data.field,
            value=data.value,
            error=error.errors[data.field],
        )
    if request.headers.get("hx-request") != "true":
        flash(request, f"Produit « {product['name']} » enregistré.")
        return redirect(request, _products_url(request, catalog_id))
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
        return redirect(request, _products_url(request, catalog_id))
    active = data.action == "activer"
    try:
        count = await catalogs.set_products_active(catalog_id, _ids(data.ids), active)
    except FieldErrors as error:
        flash(request, error.errors["ids"])
        return redirect(request, _products_url(request, catalog_id))
    done = "activé" if active else "désactivé"
    flash(request, f"{count} produit{'s' if count > 1 else ''} {done}{'s' if count > 1 else ''}.")
    return redirect(request, _products_url(request, catalog_id))


# CSV export and import ----------------------------------------------------------------------


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
    data = product_import.export_csv(await catalogs.products_of(catalog_id))
    name = f"produits-{_file_slug(catalog['name'])}.csv"
    return Response(
        content=data,
        media_type="text/csv",  # Litestar adds "; charset=utf-8"
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


class ImportUpload(msgspec.Struct):
    file: UploadFile | None = None


class ImportConfirm(msgspec.Struct):
    token: str = ""


def _import_purpose(catalog_id: int) -> str:
    return f"import-produits:{catalog_id}"


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
    counts = {key: sum(1 for r in rows if r.status == key) for key in product_import.STATUS_LABELS}
    return render(
        request,
        "catalogs/import.html",
        catalog_context(
            request,
            catalog,
            "produits",
            rows=rows,
            counts=counts,
            problems=product_import.error_lines(rows),
            file_error=error,
            token=token,
            headers=product_import.HEADERS,
            fields=product_import.FIELDS,
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
        rows = product_import.parse_import(content, await catalogs.products_of(catalog_id))
    except product_import.ImportFileError as error:
        return _import_page(request, catalog, error=error.message, status=422)
    token = ""
    if not any(row.errors for row in rows):
        changes = product_import.changes(rows)
        if changes:
            secret = request.app.state.settings.secret_key
            token = product_import.sign(changes, secret, _import_purpose(catalog_id))
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
    items = product_import.unsign(data.token, secret, _import_purpose(catalog_id))
    if not isinstance(items, list):
        message = "L'aperçu a expiré ou a été modifié : envoyez le fichier à nouveau."
        return _import_page(request, catalog, error=message, status=422)
    try:
        created, updated = await catalogs.import_products(catalog_id, items)
    except FieldErrors as error:
        message = f"Rien n'a été importé. {error.errors['file']}"
        return _import_page(request, catalog, error=message, status=422)
    flash(request, f"Import terminé : {created} produit(s) créé(s), {updated} mis à jour.")
    return redirect(request, _products_url(request, catalog_id))


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
    return product | catalogs.form_fields(product) | {"active": "1" if product["active"] else ""}


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


# ---- DISTRIBUTIONS -----------------------------------------------------------------------


def _deliveries_url(request: Request, catalog_id: int) -> str:
    return f"/g/{request.state.group['slug']}/catalogues/{catalog_id}/distributions"


def _moment_input(moment) -> str:
    """A datetime-local input's value, in Paris time."""
    return f"{local(moment):%Y-%m-%dT%H:%M}" if moment else ""


async def _deliveries_page(
    request: Request,
    catalog: dict,
    *,
    errors: dict | None = None,
    error_for: int | None = None,
    form: dict | None = None,
    status: int = 200,
) -> object:
    rows = await catalogs.deliveries(catalog["id"])
    moment = distributions.now()
    for row in rows:
        row["when"] = label(row["starts_at"])
        row["opens_label"] = label(row["opens"])
        row["closes_label"] = label(row["closes"])
        row["dist_opens_label"] = label(row["dist_open_at"])
        row["dist_closes_label"] = label(row["dist_close_at"])
        row["opens_input"] = _moment_input(row["orders_open_at"])
        row["closes_input"] = _moment_input(row["orders_close_at"])
        if form and row["id"] == error_for:
            row["opens_input"], row["closes_input"] = form["opens"], form["closes"]
    addable = await catalogs.addable_distributions(request.state.group["id"], catalog["id"])
    return render(
        request,
        "catalogs/distributions.html",
        catalog_context(
            request,
            catalog,
            "distributions",
            coming=[r for r in rows if r["ends_at"] >= moment],
            past=[r for r in reversed(rows) if r["ends_at"] < moment],
            addable=[d | {"when": label(d["starts_at"])} for d in addable],
            errors=errors or {},
            error_for=error_for,
            flash=pop_flash(request),
        ),
        status_code=status,
    )


@get(
    "/g/{slug:str}/catalogues/{catalog_id:int}/distributions",
    opt=policy(Policy.COORDINATOR),
)
async def deliveries_page(request: Request, slug: str, catalog_id: int) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=True)
    return await _deliveries_page(request, catalog)


class DeliveryForm(msgspec.Struct):
    distribution_id: str = ""


class WindowForm(msgspec.Struct):
    opens: str = ""
    closes: str = ""


@post(
    "/g/{slug:str}/catalogues/{catalog_id:int}/distributions",
    opt=policy(Policy.COORDINATOR),
)
async def add_delivery(
    request: Request, slug: str, catalog_id: int, data: Annotated[DeliveryForm, Form]
) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=True)
    ids = _ids(data.distribution_id)
    try:
        await catalogs.add_delivery(request.state.group["id"], catalog_id, ids[0] if ids else -1)
    except DeliveryError as error:
        return await _deliveries_page(
            request, catalog, errors={"add": error.message}, status=form_status(request)
        )
    flash(request, "Distribution ajoutée.")
    return redirect(request, _deliveries_url(request, catalog_id))


async def _delivery_or_404(catalog_id: int, distribution_id: int) -> None:
    if distribution_id not in await catalogs.delivery_ids(catalog_id):
        raise NotFoundException("Ce catalogue n'est pas livré à cette distribution.")


@post(
    "/g/{slug:str}/catalogues/{catalog_id:int}/distributions/{distribution_id:int}/retirer",
    opt=policy(Policy.COORDINATOR),
)
async def remove_delivery(
    request: Request, slug: str, catalog_id: int, distribution_id: int
) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=True)
    await _delivery_or_404(catalog_id, distribution_id)
    try:
        await catalogs.remove_delivery(catalog_id, distribution_id)
    except DeliveryError as error:
        return await _deliveries_page(
            request,
            catalog,
            errors={"remove": error.message},
            error_for=distribution_id,
            status=form_status(request),
        )
    flash(request, "Distribution retirée de ce catalogue.")
    return redirect(request, _deliveries_url(request, catalog_id))


@post(
    "/g/{slug:str}/catalogues/{catalog_id:int}/distributions/{distribution_id:int}/dates",
    opt=policy(Policy.COORDINATOR),
)
async def delivery_window(
    request: Request,
    slug: str,
    catalog_id: int,
    distribution_id: int,
    data: Annotated[WindowForm, Form],
) -> object:
    """This catalog's own order dates at one distribution (empty: the distribution's)."""
    catalog = await managed_catalog(request, catalog_id, edit=True)
    await _delivery_or_404(catalog_id, distribution_id)
    try:
        await catalogs.set_delivery_window(
            catalog_id, distribution_id, opens=data.opens, closes=data.closes
        )
    except FieldErrors as error:
        return await _deliveries_page(
            request,
            catalog,
            errors=error.errors,
            error_for=distribution_id,
            form=msgspec.structs.asdict(data),
            status=form_status(request),
        )
    flash(request, "Dates de commande enregistrées.")
    return redirect(request, _deliveries_url(request, catalog_id))


# ---- DOCUMENTS ---------------------------------------------------------------------------


class DocumentForm(msgspec.Struct):
    visibility: str = "members"
    file: UploadFile | None = None


def _documents_url(request: Request, catalog_id: int) -> str:
    return f"/g/{request.state.group['slug']}/catalogues/{catalog_id}/documents"


async def _documents_page(
    request: Request,
    catalog: dict,
    *,
    errors: dict | None = None,
    form: dict | None = None,
    status: int = 200,
) -> object:
    return render(
        request,
        "catalogs/documents.html",
        catalog_context(
            request,
            catalog,
            "documents",
            documents=await documents.documents_of(catalog["id"]),
            visibilities=documents.VISIBILITIES,
            errors=errors or {},
            form=form or {"visibility": "members"},
            flash=pop_flash(request),
        ),
        status_code=status,
    )


@get("/g/{slug:str}/catalogues/{catalog_id:int}/documents", opt=policy(Policy.COORDINATOR))
async def documents_page(request: Request, slug: str, catalog_id: int) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=True)
    return await _documents_page(request, catalog)


@post("/g/{slug:str}/catalogues/{catalog_id:int}/documents", opt=policy(Policy.COORDINATOR))
async def upload_document(
    request: Request, slug: str, catalog_id: int, data: Annotated[DocumentForm, Multipart]
) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=True)
    upload = data.file
    content = await upload.read(documents.MAX_BYTES + 1) if upload is not None else b""
    try:
        saved = await documents.save_document(
            catalog_id,
            filename=upload.filename if upload is not None else "",
            content_type=upload.content_type if upload is not None else "",
            data=content,
            visibility=data.visibility,
            user_id=request.state.user["id"],
        )
    except FieldErrors as error:
        return await _documents_page(
            request,
            catalog,
            errors=error.errors,
            form={"visibility": data.visibility},
            status=form_status(request),
        )
    flash(request, f"Document « {saved['name']} » ajouté.")
    return redirect(request, _documents_url(request, catalog_id))


@post(
    "/g/{slug:str}/catalogues/{catalog_id:int}/documents/{document_id:int}/supprimer",
    opt=policy(Policy.COORDINATOR),
)
async def delete_document(request: Request, slug: str, catalog_id: int, document_id: int) -> object:
    await managed_catalog(request, catalog_id, edit=True)
    if not await documents.delete_document(catalog_id, document_id):
        raise NotFoundException("Ce document n'existe pas dans ce catalogue.")
    flash(request, "Document supprimé.")
    return redirect(request, _documents_url(request, catalog_id))


def _disposition(name: str) -> str:
    """attachment, with an ASCII name for old clients and the real one (RFC 6266)."""
    ascii_name = name.encode("ascii", "ignore").decode().replace('"', "") or "document.pdf"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


@get("/g/{slug:str}/documents/{name:str}", opt=policy(Policy.USER))
async def download_document(request: Request, slug: str, name: str) -> Response:
    """`/g/<slug>/documents/12.pdf`, for those the document's visibility lets in; never
    kept in a cache (it is private)."""
    match = DOCUMENT_NAME.fullmatch(name)
    doc = (
        await documents.document(request.state.group["id"], int(match.group(1))) if match else None
    )
    if doc is None:
        raise NotFoundException("Ce document n'existe pas.")
    roles = request.state.roles
    if not await documents.may_read(
        doc, request.state.user["id"], admin=roles.admin, member=roles.member
    ):
        raise PermissionDeniedException("Ce document ne vous est pas destiné.")
    return Response(
        content=doc["content"],
        media_type="application/pdf",
        headers={
            "Content-Disposition": _disposition(doc["name"]),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


# ---- STATISTIQUES ------------------------------------------------------------------------

CHART = {"width": 480, "height": 220, "left": 72, "right": 8, "top": 12, "bottom": 28}


def _nice_ceiling(value: int) -> int:
    """A round top for the chart's scale: 1, 2 or 5 times a power of ten (in cents)."""
    if value <= 0:
        return 100
    power = 10 ** int(math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def sales_chart(points: list[dict]) -> dict:
    """The geometry of a small bar chart of the amounts, drawn as inline SVG by the page."""
    c = CHART
    plot_w = c["width"] - c["left"] - c["right"]
    plot_h = c["height"] - c["top"] - c["bottom"]
    top = _nice_ceiling(max((p["amount_cents"] for p in points), default=0))
    step = plot_w / max(len(points), 1)
    every = max(1, math.ceil(len(points) / 8))  # at most 8 dates written under the bars
    bars = []
    for i, point in enumerate(points):
        height = round(point["amount_cents"] / top * plot_h, 1)
        bars.append(
            {
                "x": round(c["left"] + i * step + step * 0.15, 1),
                "y": round(c["top"] + plot_h - height, 1),
                "w": round(max(step * 0.7, 1), 1),
                "h": height,
                "label_x": round(c["left"] + i * step + step / 2, 1),
                "show_label": i % every == 0,
                **point,
            }
        )
    ticks = [
        {"y": round(c["top"] + plot_h - plot_h * f, 1), "cents": int(top * f)} for f in (0, 0.5, 1)
    ]
    return c | {"bars": bars, "ticks": ticks, "base_y": c["top"] + plot_h}


@get("/g/{slug:str}/catalogues/{catalog_id:int}/statistiques", opt=policy(Policy.CATALOGS))
async def statistics_page(request: Request, slug: str, catalog_id: int) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=False)
    points = await statistics.sales_by_distribution(catalog_id)
    return render(
        request,
        "catalogs/statistics.html",
        catalog_context(
            request,
            catalog,
            "statistiques",
            points=points,
            chart=sales_chart(points),
            total_cents=sum(p["amount_cents"] for p in points),
            top=await statistics.top_products(catalog_id),
        ),
    )


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
    recap_page,
    products_page,
    product_row,
    product_cell_editor,
    save_product_cell,
    bulk_activate,
    export_products,
    import_page,
    import_preview,
    import_confirm,
    new_product_page,
    edit_product_page,
    create_product,
    update_product,
    deliveries_page,
    add_delivery,
    remove_delivery,
    delivery_window,
    documents_page,
    upload_document,
    delete_document,
    download_document,
    statistics_page,
    product_photo,
]
