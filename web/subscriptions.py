"""AMAP contracts: MES CONTRATS (member side) and a catalog's SOUSCRIPTIONS (admin side)."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body

from domain import catalogs, subscriptions
from domain.catalogs import documents, products
from domain.contracts import mine, sharing
from domain.kernel import forms
from domain.kernel.errors import FieldErrors
from web import contracts as contract_pages
from web.access import Policy, policy
from web.accounts import names_needed, names_url
from web.catalogs.menu import (
    catalog_context,
    catalog_for_products,
    catalog_of_group,
    managed_catalog,
)
from web.groups import group_context
from web.pages import flash, pop_flash, redirect, render

RawForm = Body(media_type=RequestEncodingType.URL_ENCODED)


def _amap_only(request: Request) -> None:
    if request.state.group["kind"] != "amap":
        raise NotFoundException("Les contrats n'existent que dans les AMAP.")


@get("/g/{slug:str}/contrats", opt=policy(Policy.MEMBER), name="group_contrats")
async def contracts_tab(request: Request, slug: str) -> object:
    _amap_only(request)
    contracts = await mine.my_contracts(request.state.group["id"], request.state.user["id"])
    notice = pop_flash(request)
    docs = await documents.visible_documents(
        request.state.group["id"], request.state.user["id"], admin=request.state.roles.admin
    )
    return render(
        request,
        "subscriptions/tab.html",
        group_context(
            request,
            active="contrats",
            contracts=contracts,
            kinds=catalogs.CATALOG_KINDS,
            documents=docs,
            flash=notice,
        ),
    )


async def _contract_page(request: Request, catalog_id: int, errors: dict, values: dict) -> object:
    catalog = await catalog_of_group(request, catalog_id)
    offered = [p for p in await products.products_of(catalog_id) if p["active"]]
    current = next(
        (
            c["subscription"]
            for c in await subscriptions.contracts_of(
                request.state.group["id"], request.state.user["id"]
            )
            if c["id"] == catalog_id
        ),
        None,
    )
    basket = await subscriptions.basket_of(current["id"]) if current else {}
    return render(
        request,
        "subscriptions/subscribe.html",
        group_context(
            request,
            active="contrats",
            catalog=catalog,
            products=offered,
            subscription=current,
            basket={**basket, **values},
            errors=errors,
        ),
        status_code=422 if errors else 200,
    )


@get("/g/{slug:str}/contrats/{catalog_id:int}", opt=policy(Policy.MEMBER))
async def contract_page(request: Request, slug: str, catalog_id: int) -> object:
    _amap_only(request)
    if names_needed(request):  # an address an admin added: the names before a first contract
        return redirect(request, names_url(f"/g/{slug}/contrats/{catalog_id}"))
    return await _contract_page(request, catalog_id, {}, {})


@post("/g/{slug:str}/contrats/{catalog_id:int}", opt=policy(Policy.MEMBER))
async def subscribe(
    request: Request, slug: str, catalog_id: int, data: Annotated[dict[str, str], RawForm]
) -> object:
    _amap_only(request)
    quantities = forms.prefixed(data, "q")
    try:
        await subscriptions.subscribe(
            group_id=request.state.group["id"],
            catalog_id=catalog_id,
            user_id=request.state.user["id"],
            quantities=quantities,
            own=True,
        )
    except FieldErrors as error:
        return await _contract_page(request, catalog_id, error.errors, quantities)
    request.session["flash"] = "Votre souscription est enregistrée."
    return redirect(request, f"/g/{slug}/contrats")


async def _subscriptions_page(
    request: Request, catalog_id: int, errors: dict | None = None, form: dict | None = None
) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=False)
    members = await catalogs.coordinator_choices(request.state.group["id"])
    shares = await sharing.shares_of_catalog(catalog_id)
    return render(
        request,
        "subscriptions/subscriptions.html",
        catalog_context(
            request,
            catalog,
            "souscriptions",
            subscriptions=await subscriptions.subscriptions_of_catalog(catalog_id),
            products=[p for p in await products.products_of(catalog_id) if p["active"]],
            members=members,
            shares=shares,
            share_name=sharing.name,
            flash=pop_flash(request),
            errors=errors or {},
            form=form or {},
        ),
        status_code=422 if errors else 200,
    )


@get(
    "/g/{slug:str}/catalogues/{catalog_id:int}/souscriptions",
    opt=policy(Policy.CATALOGS),
    name="catalog_subscriptions",
)
async def subscriptions_page(request: Request, slug: str, catalog_id: int) -> object:
    _amap_only(request)
    return await _subscriptions_page(request, catalog_id)


@post("/g/{slug:str}/catalogues/{catalog_id:int}/souscriptions", opt=policy(Policy.COORDINATOR))
async def subscribe_member(
    request: Request, slug: str, catalog_id: int, data: Annotated[dict[str, str], RawForm]
) -> object:
    """An admin (or the coordinator) subscribes a member, or changes their basket."""
    await catalog_for_products(request, catalog_id, edit=True)
    user_id = forms.an_id(data.get("user_id", "")) or -1
    try:
        await subscriptions.subscribe(
            group_id=request.state.group["id"],
            catalog_id=catalog_id,
            user_id=user_id,
            quantities=forms.prefixed(data, "q"),
        )
    except FieldErrors as error:
        return await _subscriptions_page(request, catalog_id, error.errors, data)
    return redirect(request, f"/g/{slug}/catalogues/{catalog_id}/souscriptions")


@post(
    "/g/{slug:str}/catalogues/{catalog_id:int}/souscriptions/{subscription_id:int}/terminer",
    opt=policy(Policy.COORDINATOR),
)
async def end_subscription(
    request: Request, slug: str, catalog_id: int, subscription_id: int
) -> object:
    await catalog_for_products(request, catalog_id, edit=True)
    if await subscriptions.subscription_of_catalog(catalog_id, subscription_id) is None:
        raise NotFoundException("Cette souscription n'existe pas dans ce catalogue.")
    try:
        await subscriptions.end_subscription(catalog_id, subscription_id)
    except FieldErrors as error:
        raise NotFoundException("Souscription introuvable.") from error
    return redirect(request, f"/g/{slug}/catalogues/{catalog_id}/souscriptions")


@post(
    "/g/{slug:str}/catalogues/{catalog_id:int}/souscriptions/{subscription_id:int}/partage",
    opt=policy(Policy.COORDINATOR),
)
async def share_basket(
    request: Request,
    slug: str,
    catalog_id: int,
    subscription_id: int,
    data: Annotated[dict[str, str], RawForm],
) -> object:
    """« Panier partagé »: the subscription's second holder (alternance), and who starts."""
    _amap_only(request)
    await catalog_for_products(request, catalog_id, edit=True)
    raw = (data.get("partner_id") or "").strip()
    partner = forms.an_id(raw) if raw else None
    try:
        if raw and partner is None:
            raise FieldErrors({"partner": "Choisissez le second titulaire dans la liste."})
        await sharing.set_partner(
            group_id=request.state.group["id"],
            catalog_id=catalog_id,
            subscription_id=subscription_id,
            partner_id=partner,
            partner_first=data.get("partner_first") == "1",
            by_user_id=request.state.user["id"],
        )
    except sharing.NotFound as error:
        raise NotFoundException("Cette souscription n'existe pas dans ce catalogue.") from error
    except FieldErrors as error:
        return await _subscriptions_page(
            request, catalog_id, error.errors, {"share": str(subscription_id)}
        )
    flash(request, "Panier partagé enregistré." if partner else "Le panier n'est plus partagé.")
    return redirect(request, f"/g/{slug}/catalogues/{catalog_id}/souscriptions#s{subscription_id}")


handlers = [
    contracts_tab,
    contract_page,
    subscribe,
    subscriptions_page,
    subscribe_member,
    end_subscription,
    share_basket,
    *contract_pages.handlers,
]
