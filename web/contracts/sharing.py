"""« Partager mon panier » in MES CONTRATS: the holder of a subscription names its second
holder (alternance) by the e-mail of a member of the group, chooses who starts, or stops
sharing. Only the holder: anyone else finds no such page."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.exceptions import NotFoundException

from domain.contracts import sharing
from domain.kernel.errors import FieldErrors
from web.access import Policy, policy
from web.catalogs.menu import catalog_of_group
from web.forms import Form
from web.groups import group_context
from web.pages import flash, form_status, redirect, render

SHARE = "/g/{slug:str}/contrats/{catalog_id:int}/partage"


class ShareForm(msgspec.Struct):
    email: str = ""
    partner_first: str = ""  # a checked box sends "1"


def _amap_only(request: Request) -> None:
    if request.state.group["kind"] != "amap":
        raise NotFoundException("Les contrats n'existent que dans les AMAP.")


async def _page(request: Request, catalog_id: int, errors=None, form=None) -> object:
    catalog = await catalog_of_group(request, catalog_id)
    try:
        found = await sharing.holder_page(
            request.state.group["id"], catalog_id, request.state.user["id"]
        )
    except sharing.NotFound as error:
        raise NotFoundException(str(error)) from error
    share = found["share"]
    return render(
        request,
        "contracts/share.html",
        group_context(
            request,
            active="contrats",
            catalog=catalog,
            share=share,
            partner=sharing.name(share) if share else "",
            errors=errors or {},
            form=form or {"partner_first": bool(share and share["partner_first"])},
        ),
        status_code=form_status(request) if errors else 200,
    )


@get(SHARE, opt=policy(Policy.MEMBER), name="contract_share")
async def share_page(request: Request, slug: str, catalog_id: int) -> object:
    _amap_only(request)
    return await _page(request, catalog_id)


@post(SHARE, opt=policy(Policy.MEMBER))
async def share_basket(
    request: Request, slug: str, catalog_id: int, data: Annotated[ShareForm, Form]
) -> object:
    _amap_only(request)
    await catalog_of_group(request, catalog_id)
    try:
        share = await sharing.share_as_holder(
            group_id=request.state.group["id"],
            catalog_id=catalog_id,
            user_id=request.state.user["id"],
            email=data.email,
            partner_first=data.partner_first == "1",
        )
    except sharing.NotFound as error:
        raise NotFoundException(str(error)) from error
    except FieldErrors as error:
        form = {"email": data.email[:254], "partner_first": data.partner_first == "1"}
        return await _page(request, catalog_id, error.errors, form)
    flash(request, f"Votre panier est partagé avec {sharing.name(share)}.")
    return redirect(request, f"/g/{slug}/contrats")


@post(SHARE + "/retirer", opt=policy(Policy.MEMBER))
async def stop_sharing(request: Request, slug: str, catalog_id: int) -> object:
    _amap_only(request)
    await catalog_of_group(request, catalog_id)
    try:
        gone = await sharing.unshare_as_holder(
            group_id=request.state.group["id"],
            catalog_id=catalog_id,
            user_id=request.state.user["id"],
        )
    except sharing.NotFound as error:
        raise NotFoundException(str(error)) from error
    if gone:
        flash(request, "Votre panier n'est plus partagé.")
    return redirect(request, f"/g/{slug}/contrats")


handlers = [share_page, share_basket, stop_sharing]
