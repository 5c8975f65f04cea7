"""PRODUCTEURS: the group's producers; admins add and edit them, and link their account."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.exceptions import NotFoundException

from domain import producers
from domain.kernel.errors import FieldErrors
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.accounts import mail_context
from web.forms import Form
from web.groups import group_context
from web.pages import flash, form_status, pop_flash, redirect, render


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
    vendor = await producers.vendor(request.state.group["id"], vendor_id)
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
    vendors = await producers.vendors_of(request.state.group["id"])
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
        vendor = await producers.save_vendor(
            request.state.group["id"],
            name=data.name,
            description=data.description,
            email=data.email,
            phone=data.phone,
            address=data.address,
            login_email=data.login_email,
            vendor_id=vendor_id,
            ctx=mail_context(request),
        )
    except FieldErrors as error:
        form = msgspec.structs.asdict(data)
        return _form_page(request, form, error.errors, vendor_id, form_status(request))
    mail_jobs.enqueue(vendor["mail_ids"])
    text = f"Producteur « {vendor['name']} » enregistré."
    if vendor["user_email"]:
        # The same whether the address has an account or not: that is not the group's.
        text += (
            f" {vendor['user_email']} pourra se connecter pour consulter ses catalogues ; "
            "s'il n'a pas encore de compte, un e-mail l'invite à le créer."
        )
    flash(request, text)
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
