"""COMMANDES of a catalog (recaps by product and by member, CSV, émargement), COMMANDE EN GROS,
and the validation of a distribution.

The catalog's producer reads these pages; admins and the catalog's coordinator may also
correct a member's order in place (htmx swaps the member's rows). "Valider la distribution"
is for the group's admins, over all the catalogs of the date.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated
from urllib.parse import quote

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.response import Stream

from domain import recaps, validation
from domain.accounts import FieldErrors
from web.access import MAX_ID, Policy, policy
from web.catalogs import catalog_context, managed_catalog
from web.groups import group_context
from web.pages import flash, form_status, pop_flash, redirect, render

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
BASE = "/g/{slug:str}/catalogues/{catalog_id:int}"
DATE = BASE + "/commandes/{distribution_id:int}"
VIEWS = ("produits", "adherents")


class LineForm(msgspec.Struct):
    quantite: str = ""
    supprimer: str = ""
    page: str = "1"


class AddForm(msgspec.Struct):
    produit: str = ""
    quantite: str = ""
    page: str = "1"


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _page_number(value: str | int) -> int:
    text = str(value).strip()
    return min(int(text), recaps.MAX_PAGE) if text.isdigit() and len(text) < 7 else 1


def _catalog_url(request: Request, catalog_id: int) -> str:
    return f"/g/{request.state.group['slug']}/catalogues/{catalog_id}"


def _date_url(request: Request, catalog_id: int, distribution_id: int) -> str:
    return f"{_catalog_url(request, catalog_id)}/commandes/{distribution_id}"


async def _date(request: Request, distribution_id: int) -> dict:
    dist = await recaps.distribution(request.state.group["id"], distribution_id)
    if dist is None:
        raise NotFoundException("Cette distribution n'existe pas dans ce groupe.")
    return dist


def _editable(catalog: dict, dist: dict) -> bool:
    """Admins and the catalog's coordinator, until the distribution is validated."""
    return (
        catalog["may_edit_products"]
        and dist["validated_at"] is None
        and dist["cancelled_at"] is None
    )


def _summary(recap) -> dict:
    return {"members": recap.count, "quantity": recap.quantity, "total_cents": recap.total_cents}


def _attachment(name: str) -> str:
    """Content-Disposition with the French name (RFC 6266) and a plain ASCII fallback."""
    name = re.sub(r'[\x00-\x1f\\/:*?"<>|]+', " ", name).strip()
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "-", fallback).strip("-") or "export.csv"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


def _csv(rows, name: str) -> Stream:
    return Stream(
        recaps.csv_stream(rows),
        media_type="text/csv",  # Litestar adds "; charset=utf-8"
        headers={"Content-Disposition": _attachment(name), "Cache-Control": "no-store"},
    )


# ---- COMMANDES: the catalog's distributions ---------------------------------------------


@get(BASE + "/commandes", opt=policy(Policy.CATALOGS))
async def dates_page(request: Request, slug: str, catalog_id: int, page: str = "1") -> object:
    """The coming dates, then "Commandes anciennes" page by page (htmx: "Voir plus")."""
    catalog = await managed_catalog(request, catalog_id, edit=False)
    number = _page_number(page)
    past, more = await recaps.past_distributions(catalog_id, number)
    coming = await recaps.coming_distributions(catalog_id) if number == 1 else []
    return render(
        request,
        "catalog_orders/dates.html",
        catalog_context(
            request,
            catalog,
            "commandes",
            coming=coming,
            past=past,
            more=more,
            page=number,
            base=_catalog_url(request, catalog_id),
        ),
        fragment="catalog_orders/_past.html",
    )


# ---- the orders of one date -------------------------------------------------------------


async def _orders_page(
    request: Request,
    catalog: dict,
    dist: dict,
    *,
    vue: str,
    page: int = 1,
    editing: int | None = None,
    error_line: int | None = None,
    errors: dict | None = None,
    form: dict | None = None,
    status: int = 200,
) -> object:
    """The page of one date; `editing`: the order open for corrections (by member)."""
    editable = _editable(catalog, dist)
    if vue == "adherents":
        recap = await recaps.by_member(catalog["id"], dist["id"], page)
        summary = _summary(recap)
        page = recap.page
    else:
        recap, summary = await recaps.by_product(catalog["id"], dist["id"]), {}
    products = await recaps.orderable_products(catalog["id"]) if editable and editing else []
    context = catalog_context(
        request,
        catalog,
        "commandes",
        d=dist,
        vue=vue,
        recap=recap,
        summary=summary,
        page=page,
        editable=editable,
        editing=editing,
        error_line=error_line,
        errors=errors or {},
        form=form or {},
        products=products,
        date_url=_date_url(request, catalog["id"], dist["id"]),
        base=_catalog_url(request, catalog["id"]),
        flash=pop_flash(request),
    )
    response = render(
        request,
        "catalog_orders/orders.html",
        context,
        fragment="catalog_orders/_recap.html",
        status_code=status,
    )
    if request.headers.get("hx-history-restore-request") == "true":
        # htmx restoring a page it no longer has in its cache wants the whole page.
        response.template_name = "catalog_orders/orders.html"
    return response


def _id(value: str) -> int | None:
    return int(value) if value.isdigit() and int(value) <= MAX_ID else None


@get(DATE, opt=policy(Policy.CATALOGS))
async def orders_page(
    request: Request,
    slug: str,
    catalog_id: int,
    distribution_id: int,
    vue: str = "produits",
    page: str = "1",
    modifier: str = "",
) -> object:
    """ "Par produit" / "Par adhérent" (htmx tabs swap #recap; `?vue=` works without htmx).
    `modifier=<order id>` opens a member's order for corrections without JavaScript."""
    catalog = await managed_catalog(request, catalog_id, edit=False)
    dist = await _date(request, distribution_id)
    vue = vue if vue in VIEWS else "produits"
    return await _orders_page(
        request, catalog, dist, vue=vue, page=_page_number(page), editing=_id(modifier)
    )


def _member_page_url(request: Request, catalog_id: int, dist_id: int, page: int, anchor: str):
    return f"{_date_url(request, catalog_id, dist_id)}?vue=adherents&page={page}#{anchor}"


async def _member_block(
    request: Request,
    catalog: dict,
    dist: dict,
    order_id: int,
    *,
    page: int,
    opened: bool = False,
    error_line: int | None = None,
    errors: dict | None = None,
    form: dict | None = None,
    oob: bool = False,
) -> object:
    """The rows of one member (a <tbody>), open for corrections or not, and after a change
    the recap's totals (out of band)."""
    editable = _editable(catalog, dist)
    member = await recaps.member_order(catalog["id"], dist["id"], order_id)
    summary = await recaps.totals(catalog["id"], dist["id"]) if oob else {}
    products = await recaps.orderable_products(catalog["id"]) if editable and opened else []
    context = {
        "group": request.state.group,
        "m": member,
        "order_id": order_id,
        "editable": editable,
        "editing": order_id if opened else None,
        "error_line": error_line,
        "errors": errors or {},
        "form": form or {},
        "products": products,
        "page": page,
        "date_url": _date_url(request, catalog["id"], dist["id"]),
        "summary": summary,
        "oob": oob,
    }
    return render(request, "catalog_orders/_member.html", context)


@get(DATE + "/adherents/{order_id:int}", opt=policy(Policy.CATALOGS))
async def member_rows(
    request: Request,
    slug: str,
    catalog_id: int,
    distribution_id: int,
    order_id: int,
    page: str = "1",
    modifier: str = "",
) -> object:
    """htmx: one member's rows, open for corrections with `modifier`, closed without."""
    catalog = await managed_catalog(request, catalog_id, edit=True)
    dist = await _date(request, distribution_id)
    number = _page_number(page)
    if not _htmx(request):
        extra = f"&modifier={order_id}" if modifier else ""
        url = f"{_date_url(request, catalog_id, distribution_id)}?vue=adherents&page={number}"
        return redirect(request, f"{url}{extra}#o{order_id}")
    if await recaps.member_order(catalog_id, distribution_id, order_id) is None:
        raise NotFoundException("Cette commande n'existe pas pour ce catalogue à cette date.")
    return await _member_block(request, catalog, dist, order_id, page=number, opened=bool(modifier))


async def _refused(
    request: Request,
    catalog: dict,
    dist: dict,
    order_id: int,
    page: int,
    error: FieldErrors,
    form: dict,
    error_line: int | None = None,
) -> object:
    """A refused correction: the member's order stays open with the message at the field
    (htmx: the member's rows, 200; a plain post: the page, 422)."""
    if _htmx(request):
        return await _member_block(
            request,
            catalog,
            dist,
            order_id,
            page=page,
            opened=True,
            error_line=error_line,
            errors=error.errors,
            form=form,
        )
    return await _orders_page(
        request,
        catalog,
        dist,
        vue="adherents",
        page=page,
        editing=order_id,
        error_line=error_line,
        errors=error.errors,
        form=form,
        status=form_status(request),
    )


@post(DATE + "/lignes/{line_id:int}", opt=policy(Policy.CATALOGS))
async def change_line(
    request: Request,
    slug: str,
    catalog_id: int,
    distribution_id: int,
    line_id: int,
    data: Annotated[LineForm, Form],
) -> object:
    """Change (or with "Retirer", remove) one line of a member's order."""
    catalog = await managed_catalog(request, catalog_id, edit=True)
    dist = await _date(request, distribution_id)
    number = _page_number(data.page)
    order_id = await recaps.order_of_line(catalog_id, distribution_id, line_id)
    if order_id is None:
        raise NotFoundException("Cette ligne n'existe pas pour ce catalogue à cette date.")
    try:
        await validation.change_line(
            group_id=request.state.group["id"],
            catalog_id=catalog_id,
            distribution_id=distribution_id,
            line_id=line_id,
            quantity="0" if data.supprimer else data.quantite,
        )
    except validation.NotFound as missing:
        raise NotFoundException("Cette ligne n'existe pas.") from missing
    except FieldErrors as error:
        form = {"quantite": data.quantite}
        return await _refused(request, catalog, dist, order_id, number, error, form, line_id)
    if _htmx(request):
        return await _member_block(request, catalog, dist, order_id, page=number, oob=True)
    flash(request, "Commande modifiée.")
    return redirect(
        request, _member_page_url(request, catalog_id, distribution_id, number, f"o{order_id}")
    )


@post(DATE + "/adherents/{order_id:int}/lignes", opt=policy(Policy.CATALOGS))
async def add_line(
    request: Request,
    slug: str,
    catalog_id: int,
    distribution_id: int,
    order_id: int,
    data: Annotated[AddForm, Form],
) -> object:
    """Add a product of the catalog to a member's order."""
    catalog = await managed_catalog(request, catalog_id, edit=True)
    dist = await _date(request, distribution_id)
    number = _page_number(data.page)
    if await recaps.member_order(catalog_id, distribution_id, order_id) is None:
        raise NotFoundException("Cette commande n'existe pas pour ce catalogue à cette date.")
    try:
        await validation.add_line(
            group_id=request.state.group["id"],
            catalog_id=catalog_id,
            distribution_id=distribution_id,
            order_id=order_id,
            product_id=data.produit,
            quantity=data.quantite,
        )
    except validation.NotFound as missing:
        raise NotFoundException("Cette commande n'existe pas.") from missing
    except FieldErrors as error:
        form = {"produit": data.produit, "quantite": data.quantite}
        return await _refused(request, catalog, dist, order_id, number, error, form)
    if _htmx(request):
        return await _member_block(request, catalog, dist, order_id, page=number, oob=True)
    flash(request, "Produit ajouté à la commande.")
    return redirect(
        request, _member_page_url(request, catalog_id, distribution_id, number, f"o{order_id}")
    )


# ---- exports and print ------------------------------------------------------------------


def _file_name(kind: str, catalog: dict, dist: dict) -> str:
    return f"{kind} - {catalog['name']} - {recaps.file_day(dist)}.csv"


@get(DATE + "/produits.csv", opt=policy(Policy.CATALOGS))
async def products_csv(
    request: Request, slug: str, catalog_id: int, distribution_id: int
) -> Stream:
    catalog = await managed_catalog(request, catalog_id, edit=False)
    dist = await _date(request, distribution_id)
    rows = recaps.product_rows(catalog_id, distribution_id)
    return _csv(rows, _file_name("Commandes par produit", catalog, dist))


@get(DATE + "/adherents.csv", opt=policy(Policy.CATALOGS))
async def members_csv(request: Request, slug: str, catalog_id: int, distribution_id: int) -> Stream:
    catalog = await managed_catalog(request, catalog_id, edit=False)
    dist = await _date(request, distribution_id)
    rows = recaps.member_rows(catalog_id, distribution_id)
    return _csv(rows, _file_name("Commandes par adhérent", catalog, dist))


@get(DATE + "/emargement", opt=policy(Policy.CATALOGS))
async def sign_off_sheet(
    request: Request, slug: str, catalog_id: int, distribution_id: int
) -> object:
    """The liste d'émargement, laid out for A4."""
    catalog = await managed_catalog(request, catalog_id, edit=False)
    dist = await _date(request, distribution_id)
    members = await recaps.all_members(catalog_id, distribution_id)
    return render(
        request,
        "catalog_orders/emargement.html",
        catalog_context(
            request,
            catalog,
            "commandes",
            d=dist,
            members=members,
            total_cents=sum(m["total_cents"] for m in members),
            date_url=_date_url(request, catalog_id, distribution_id),
        ),
    )


# ---- COMMANDE EN GROS -------------------------------------------------------------------


@get(BASE + "/commande-en-gros", opt=policy(Policy.CATALOGS))
async def bulk_page(request: Request, slug: str, catalog_id: int, distribution: str = "") -> object:
    """The total per product to order from the producer; the next distribution by default."""
    catalog = await managed_catalog(request, catalog_id, edit=False)
    choices, default = await recaps.bulk_choices(catalog_id)
    chosen = int(distribution) if distribution.isdigit() and int(distribution) <= MAX_ID else None
    dist = await _date(request, chosen or default) if (chosen or default) else None
    if dist and all(c["id"] != dist["id"] for c in choices):
        choices = [dist, *choices]
    recap = await recaps.bulk_order(catalog_id, dist["id"]) if dist else None
    return render(
        request,
        "catalog_orders/bulk.html",
        catalog_context(
            request,
            catalog,
            "gros",
            d=dist,
            choices=choices,
            recap=recap,
            base=_catalog_url(request, catalog_id),
        ),
    )


@get(BASE + "/commande-en-gros.csv", opt=policy(Policy.CATALOGS))
async def bulk_csv(request: Request, slug: str, catalog_id: int, distribution: int) -> Stream:
    catalog = await managed_catalog(request, catalog_id, edit=False)
    dist = await _date(request, distribution)
    rows = recaps.bulk_rows(catalog_id, dist["id"])
    return _csv(rows, _file_name("Commande en gros", catalog, dist))


# ---- "Valider la distribution" (admins) -------------------------------------------------

VALIDATE = "/g/{slug:str}/distributions/{distribution_id:int}/valider"


async def _validation_page(
    request: Request, distribution_id: int, errors: dict, form: dict, status: int = 200
) -> object:
    sheet = await validation.sheet(request.state.group["id"], distribution_id)
    if sheet is None:
        raise NotFoundException("Cette distribution n'existe pas dans ce groupe.")
    return render(
        request,
        "catalog_orders/validate.html",
        group_context(
            request,
            active="distributions",
            sheet=sheet,
            d=sheet.distribution,
            message=validation.state_message(sheet.distribution),
            errors=errors,
            form=form,
            flash=pop_flash(request),
        ),
        status_code=status,
    )


@get(VALIDATE, opt=policy(Policy.ADMIN))
async def validation_page(request: Request, slug: str, distribution_id: int) -> object:
    return await _validation_page(request, distribution_id, {}, {})


@post(VALIDATE, opt=policy(Policy.ADMIN))
async def validate_distribution(
    request: Request,
    slug: str,
    distribution_id: int,
    data: Annotated[dict[str, str], Form],
) -> object:
    """Save the delivered quantities and absences; with "Valider", validate the date."""
    validate = data.get("action") == "valider"
    try:
        await validation.save(
            group_id=request.state.group["id"],
            distribution_id=distribution_id,
            user_id=request.state.user["id"],
            values=data,
            validate=validate,
        )
    except validation.NotFound as missing:
        raise NotFoundException("Cette distribution n'existe pas dans ce groupe.") from missing
    except FieldErrors as error:
        return await _validation_page(
            request, distribution_id, error.errors, data, form_status(request)
        )
    flash(request, "Distribution validée." if validate else "Corrections enregistrées.")
    return redirect(request, f"/g/{slug}/distributions/{distribution_id}/valider")


handlers = [
    dates_page,
    orders_page,
    member_rows,
    change_line,
    add_line,
    products_csv,
    members_csv,
    sign_off_sheet,
    bulk_page,
    bulk_csv,
    validation_page,
    validate_distribution,
]
