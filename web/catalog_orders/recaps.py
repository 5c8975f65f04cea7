"""COMMANDES of a catalog: its dates, the orders of one date (« Par produit », « Par
adhérent », as htmx tabs or `?vue=` without JavaScript), the émargement and the commande
en gros."""

from __future__ import annotations

from litestar import Request, get
from litestar.exceptions import NotFoundException
from markupsafe import Markup

from domain.catalog_orders import recaps, sign_off
from domain.duties import calendar as duty_calendar
from domain.kernel import forms
from web.access import Policy, policy
from web.catalog_orders.common import (
    BASE,
    DATE,
    VIEWS,
    catalog_url,
    date_of,
    date_url,
    may_correct,
    member_block,
    totals_of,
)
from web.catalogs.menu import catalog_context, managed_catalog
from web.pages import pop_flash, redirect, render

# ---- COMMANDES: the catalog's distributions ---------------------------------------------


@get(BASE + "/commandes", opt=policy(Policy.CATALOGS))
async def dates_page(request: Request, slug: str, catalog_id: int, page: str = "1") -> object:
    """The coming dates, then "Commandes anciennes" page by page (htmx: "Voir plus")."""
    catalog = await managed_catalog(request, catalog_id, edit=False)
    number = forms.page_number(page)
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
            base=catalog_url(request, catalog_id),
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
    editable = may_correct(catalog, dist)
    if vue == "adherents":
        recap = await recaps.by_member(catalog["id"], dist["id"], page)
        summary = totals_of(recap)
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
        date_url=date_url(request, catalog["id"], dist["id"]),
        base=catalog_url(request, catalog["id"]),
        flash=pop_flash(request),
    )
    response = render(
        request,
        "catalog_orders/orders.html",
        context,
        fragment="catalog_orders/_recap.html",
        status_code=status,
    )
    if request.htmx.history_restore_request:
        # htmx restoring a page it no longer has in its cache wants the whole page.
        response.template_name = "catalog_orders/orders.html"
    return response


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
    dist = await date_of(catalog_id, distribution_id)
    vue = vue if vue in VIEWS else "produits"
    return await _orders_page(
        request, catalog, dist, vue=vue, page=forms.page_number(page), editing=forms.an_id(modifier)
    )


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
    dist = await date_of(catalog_id, distribution_id)
    number = forms.page_number(page)
    if await recaps.member_order(catalog_id, distribution_id, order_id) is None:
        raise NotFoundException("Cette commande n'existe pas pour ce catalogue à cette date.")
    if not bool(request.htmx):
        extra = f"&modifier={order_id}" if modifier else ""
        url = f"{date_url(request, catalog_id, distribution_id)}?vue=adherents&page={number}"
        return redirect(request, f"{url}{extra}#o{order_id}")
    return await member_block(request, catalog, dist, order_id, page=number, opened=bool(modifier))


class _LineHtml(dict):
    """« 2 × name <small>unit</small> » of a line key of the sheet, made once per distinct
    line (a few dozen for 8,000 lines: the same quantities of the same products)."""

    def __init__(self, products: dict[int, dict]) -> None:
        super().__init__()
        self.products = products

    def __missing__(self, key: str) -> str:
        product_id, quantity = sign_off.line_of(key)
        product = self.products[product_id]
        made = self[key] = Markup("<li>{} × {} <small>{}</small></li>").format(
            quantity, product["name"], product["unit"]
        )
        return made


def _with_lines_html(sheet: sign_off.Sheet) -> list[dict]:
    """Each member's lines as one piece of HTML, joined from the distinct lines' HTML."""
    html = _LineHtml(sheet.products)
    for m in sheet.members:
        m["lines_html"] = Markup("".join([html[key] for key in m["lines"]]))
    return sheet.members


@get(DATE + "/emargement", opt=policy(Policy.CATALOGS))
async def sign_off_sheet(
    request: Request, slug: str, catalog_id: int, distribution_id: int
) -> object:
    """The liste d'émargement, laid out for A4."""
    catalog = await managed_catalog(request, catalog_id, edit=False)
    dist = await date_of(catalog_id, distribution_id)
    sheet = await sign_off.sheet(catalog_id, distribution_id)
    volunteers = await duty_calendar.volunteers_of_day(request.state.group["id"], distribution_id)
    return render(
        request,
        "catalog_orders/emargement.html",
        catalog_context(
            request,
            catalog,
            "commandes",
            d=dist,
            members=_with_lines_html(sheet),
            total_cents=sheet.total_cents,
            duty_roles=volunteers,
            date_url=date_url(request, catalog_id, distribution_id),
        ),
    )


# ---- COMMANDE EN GROS -------------------------------------------------------------------


@get(BASE + "/commande-en-gros", opt=policy(Policy.CATALOGS))
async def bulk_page(request: Request, slug: str, catalog_id: int, distribution: str = "") -> object:
    """The total per product to order from the producer; the next distribution by default."""
    catalog = await managed_catalog(request, catalog_id, edit=False)
    choices, default = await recaps.bulk_choices(catalog_id)
    chosen = forms.an_id(distribution)
    dist = await date_of(catalog_id, chosen or default) if (chosen or default) else None
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
            base=catalog_url(request, catalog_id),
        ),
    )


handlers = [
    dates_page,
    orders_page,
    member_rows,
    sign_off_sheet,
    bulk_page,
]
