"""The member's side of a contract: the absences page of MES CONTRATS (declare, cancel)."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.exceptions import NotFoundException

from domain.contracts import absences
from domain.idempotency import new_key
from domain.kernel import forms
from domain.kernel.errors import FieldErrors
from web.access import Policy, policy
from web.catalogs.menu import catalog_of_group
from web.forms import Form
from web.groups import group_context
from web.pages import flash, form_status, redirect, render

ABSENCES = "/g/{slug:str}/contrats/{catalog_id:int}/absences"


def _amap_only(request: Request) -> None:
    if request.state.group["kind"] != "amap":
        raise NotFoundException("Les contrats n'existent que dans les AMAP.")


async def _page(request: Request, catalog_id: int, errors=None, chosen=()) -> object:
    catalog = await catalog_of_group(request, catalog_id)
    found = await absences.absence_page(catalog_id, request.state.user["id"])
    if found["subscription"] is None:
        raise NotFoundException("Vous n'avez pas souscrit à ce contrat.")
    return render(
        request,
        "contracts/absences.html",
        group_context(
            request,
            active="contrats",
            catalog=catalog,
            page=found,
            errors=errors or {},
            chosen=set(chosen),
            new_key=new_key,
        ),
        status_code=form_status(request) if errors else 200,
    )


@get(ABSENCES, opt=policy(Policy.MEMBER), name="contract_absences")
async def absences_page(request: Request, slug: str, catalog_id: int) -> object:
    _amap_only(request)
    return await _page(request, catalog_id)


@post(ABSENCES, opt=policy(Policy.MEMBER))
async def declare_absences(
    request: Request, slug: str, catalog_id: int, data: Annotated[dict[str, str], Form]
) -> object:
    _amap_only(request)
    await catalog_of_group(request, catalog_id)
    chosen = [d for d in forms.prefixed(data, "d")]
    try:
        added = await absences.declare(
            catalog_id=catalog_id,
            user_id=request.state.user["id"],
            distribution_ids=chosen,
            key=data.get("key"),
        )
    except FieldErrors as error:
        return await _page(request, catalog_id, error.errors, chosen)
    if added:
        flash(
            request,
            f"{added} absence{'s' if added > 1 else ''} enregistrée{'s' if added > 1 else ''} : "
            "vos paniers de ces distributions sont retirés.",
        )
    return redirect(request, f"/g/{slug}/contrats")


@post(ABSENCES + "/annuler", opt=policy(Policy.MEMBER))
async def cancel_absence(
    request: Request, slug: str, catalog_id: int, data: Annotated[dict[str, str], Form]
) -> object:
    """« Annuler cette absence »: the basket comes back, until the same deadline."""
    _amap_only(request)
    await catalog_of_group(request, catalog_id)
    try:
        done = await absences.cancel(
            catalog_id=catalog_id,
            user_id=request.state.user["id"],
            distribution_id=forms.an_id(data.get("d", "")),
            key=data.get("key"),
        )
    except FieldErrors as error:
        return await _page(request, catalog_id, error.errors)
    if done is not None:
        flash(
            request,
            "Absence annulée : votre panier de cette distribution est rétabli."
            if done
            else "Absence annulée : commandez pour cette distribution depuis COMMANDES.",
        )
    return redirect(request, f"/g/{slug}/contrats")


handlers = [absences_page, declare_absences, cancel_absence]
