"""BON DE COMMANDE in a catalog's menu: where the order form goes when orders close, the
forms sent, and the choice to send a copy to the catalog's coordinator."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post

from domain.order_forms import QUIET, status
from web.access import Policy, policy
from web.catalogs.menu import catalog_context, managed_catalog
from web.forms import Form
from web.pages import flash, pop_flash, redirect, render

BASE = "/g/{slug:str}/catalogues/{catalog_id:int}/bon-de-commande"


class CopyForm(msgspec.Struct):
    copy: str = ""  # a checked box sends "1"


@get(BASE, opt=policy(Policy.CATALOGS), name="order_form")
async def order_form_page(request: Request, slug: str, catalog_id: int) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=False)
    return render(
        request,
        "order_forms/page.html",
        catalog_context(
            request,
            catalog,
            "bon",
            addresses=await status.addresses(catalog_id),
            forms=await status.sent_forms(catalog_id),
            quiet_minutes=int(QUIET.total_seconds() // 60),
            flash=pop_flash(request),
        ),
    )


@post(BASE, opt=policy(Policy.CATALOGS))
async def save_copy(
    request: Request, slug: str, catalog_id: int, data: Annotated[CopyForm, Form]
) -> object:
    await managed_catalog(request, catalog_id, edit=True)
    await status.set_copy(catalog_id, data.copy == "1")
    flash(request, "C'est enregistré.")
    return redirect(
        request, f"/g/{request.state.group['slug']}/catalogues/{catalog_id}/bon-de-commande"
    )


handlers = [order_form_page, save_copy]
