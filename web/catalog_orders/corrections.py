"""A member's lines corrected in place by the catalog's managers (htmx, or a plain form)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, post
from litestar.exceptions import NotFoundException

from domain.catalog_orders import NotFound, corrections, recaps
from domain.kernel import forms
from domain.kernel.errors import FieldErrors
from web.access import Policy, policy
from web.catalog_orders.common import DATE, date_of, member_block, member_page_url
from web.catalog_orders.recaps import _orders_page
from web.catalogs.menu import managed_catalog
from web.forms import Form
from web.pages import flash, form_status, redirect


class LineForm(msgspec.Struct):
    quantite: str = ""
    supprimer: str = ""
    page: str = "1"


class AddForm(msgspec.Struct):
    produit: str = ""
    quantite: str = ""
    page: str = "1"


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
    if bool(request.htmx):
        return await member_block(
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
    dist = await date_of(catalog_id, distribution_id)
    number = forms.page_number(data.page)
    order_id = await recaps.order_of_line(catalog_id, distribution_id, line_id)
    if order_id is None:
        raise NotFoundException("Cette ligne n'existe pas pour ce catalogue à cette date.")
    try:
        await corrections.change_line(
            catalog_id=catalog_id,
            distribution_id=distribution_id,
            line_id=line_id,
            quantity="0" if data.supprimer else data.quantite,
            by_user_id=request.state.user["id"],
        )
    except NotFound as missing:
        raise NotFoundException("Cette ligne n'existe pas.") from missing
    except FieldErrors as error:
        form = {"quantite": data.quantite}
        return await _refused(request, catalog, dist, order_id, number, error, form, line_id)
    if bool(request.htmx):
        return await member_block(request, catalog, dist, order_id, page=number, oob=True)
    flash(request, "Commande modifiée.")
    return redirect(
        request, member_page_url(request, catalog_id, distribution_id, number, f"o{order_id}")
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
    dist = await date_of(catalog_id, distribution_id)
    number = forms.page_number(data.page)
    if await recaps.member_order(catalog_id, distribution_id, order_id) is None:
        raise NotFoundException("Cette commande n'existe pas pour ce catalogue à cette date.")
    try:
        await corrections.add_line(
            catalog_id=catalog_id,
            distribution_id=distribution_id,
            order_id=order_id,
            product_id=data.produit,
            quantity=data.quantite,
            by_user_id=request.state.user["id"],
        )
    except NotFound as missing:
        raise NotFoundException("Cette commande n'existe pas.") from missing
    except FieldErrors as error:
        form = {"produit": data.produit, "quantite": data.quantite}
        return await _refused(request, catalog, dist, order_id, number, error, form)
    if bool(request.htmx):
        return await member_block(request, catalog, dist, order_id, page=number, oob=True)
    flash(request, "Produit ajouté à la commande.")
    return redirect(
        request, member_page_url(request, catalog_id, distribution_id, number, f"o{order_id}")
    )


handlers = [
    change_line,
    add_line,
]
