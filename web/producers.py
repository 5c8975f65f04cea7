"""PRODUCTEURS: the group's producers; admins add and edit them, and link their account."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body

from domain import catalogs
from domain.accounts import FieldErrors
from web.access import Policy, policy
from web.groups import group_context
from web.pages import flash, form_status, pop_flash, redirect, render

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class VendorForm(msgspec.Struct):
    name: str = ""
    description: str = ""
    email: str = ""
    phone: str = ""
    address: str = ""
    login_email: str = ""


def _list_url(request: Request) -> str:
    return f"/g/{request.state.group['slug']}/producteurs"


async def _vendor_or_404(request: Request, vendor_id: int) -> dict:
    vendor = await catalogs.vendor(request.state.group["id"], vendor_id)
    if vendor is None:
        raise NotFoundException("Ce producteur n'existe pas dans ce groupe.")
    return vendor


def _form_page(request: Request, form: dict, errors: dict, vendor_id: int | None, status=200):
    return render(
        request,
        "producers/form.html",
        group_context(request, active="producteurs", form=form, errors=errors, vendor_id=vendor_id),
        fragment="producers/_form.html",
        status_code=status,
    )


@get("/g/{slug:str}/producteurs", opt=policy(Policy.MEMBER), name="group_producteurs")
async def producers_page(request: Request, slug: str) -> object:
    vendors = await catalogs.vendors_of(request.state.group["id"])
    return render(
        request,
        "producers/list.html",
        group_context(request, active="producteurs", vendors=vendors, flash=pop_flash(request)),
    )


@get("/g/{slug:str}/producteurs/nouveau", opt=policy(Policy.ADMIN))
async def new_producer_page(request: Request, slug: str) -> object:
    return _form_page(request, {}, {}, None)


@get("/g/{slug:str}/producteurs/{vendor_id:int}", opt=policy(Policy.ADMIN))
async def edit_producer_page(request: Request, slug: str, vendor_id: int) -> object:
    vendor = await _vendor_or_404(request, vendor_id)
    return _form_page(request, vendor | {"login_email": vendor["user_email"] or ""}, {}, vendor_id)


async def _save(request: Request, data: VendorForm, vendor_id: int | None) -> object:
    try:
        vendor = await catalogs.save_vendor(
            request.state.group["id"],
            name=data.name,
            description=data.description,
            email=data.email,
            phone=data.phone,
            address=data.address,
            login_email=data.login_email,
            vendor_id=vendor_id,
        )
    except FieldErrors as error:
        form = msgspec.structs.asdict(data)
        return _form_page(request, form, error.errors, vendor_id, form_status(request))
    flash(request, f"Producteur « {vendor['name']} » enregistré.")
    return redirect(request, _list_url(request))


@post("/g/{slug:str}/producteurs/nouveau", opt=policy(Policy.ADMIN))
async def create_producer(request: Request, slug: str, data: Annotated[VendorForm, Form]) -> object:
    return await _save(request, data, None)


@post("/g/{slug:str}/producteurs/{vendor_id:int}", opt=policy(Policy.ADMIN))
async def update_producer(
    request: Request, slug: str, vendor_id: int, data: Annotated[VendorForm, Form]
) -> object:
    await _vendor_or_404(request, vendor_id)
    return await _save(request, data, vendor_id)


handlers = [
    producers_page,
    new_producer_page,
    edit_producer_page,
    create_producer,
    update_producer,
]
