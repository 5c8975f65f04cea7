"""Gestion adhérents: who is up to date for a year, and recording a payment."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec
from litestar import Request, get, post

from domain import members
from domain.kernel.errors import FieldErrors
from domain.members import (
    fees,
)
from web.access import Policy, policy
from web.forms import Form
from web.members.common import int_or, members_context, members_url, new_key
from web.pages import flash, form_status, pop_flash, redirect, render

# ---- Gestion adhérents ------------------------------------------------------------------


class FeeForm(msgspec.Struct):
    user_id: str = ""
    year: str = ""
    amount: str = ""
    paid_on: str = ""
    means: str = ""
    key: str = ""


async def _fees_page(
    request: Request, year: int, form: dict | None = None, errors: dict | None = None
) -> object:
    overview = await fees.fees_overview(request.state.group["id"], year)
    choices = {"": "Choisissez un membre"} | {
        str(m["id"]): f"{m['name']} ({m['email']})" if m["name"] != m["email"] else m["email"]
        for m in overview["members"]
    }
    return render(
        request,
        "members/fees.html",
        members_context(
            request,
            year=year,
            overview=overview,
            choices=choices,
            means={"": "Choisissez"} | members.MEANS,
            form=form or {"year": str(year), "paid_on": str(date.today())},
            errors=errors or {},
            key=new_key(),
            flash=pop_flash(request),
        ),
        status_code=form_status(request) if errors else 200,
    )


@get("/g/{slug:str}/membres/adhesions", opt=policy(Policy.MEMBERS))
async def fees_page(request: Request, slug: str, annee: str = "") -> object:
    year = int_or(annee, members.this_year())
    return await _fees_page(request, year if 2000 <= year <= 2100 else members.this_year())


@post("/g/{slug:str}/membres/adhesions", opt=policy(Policy.MEMBERS))
async def record_fee(request: Request, slug: str, data: Annotated[FeeForm, Form]) -> object:
    fee, errors = fees.check_fee(data.year, data.amount, data.paid_on, data.means)
    try:
        await fees.record_fee(
            request.state.group["id"],
            user_id=data.user_id,
            fee=fee,
            errors=errors,
            by_user_id=request.state.user["id"],
            key=data.key,
        )
    except FieldErrors as error:
        year = int_or(data.year, members.this_year())
        year = year if 2000 <= year <= 2100 else members.this_year()
        return await _fees_page(request, year, msgspec.structs.asdict(data), error.errors)
    flash(request, "Adhésion enregistrée.")
    return redirect(request, f"{members_url(request)}/adhesions?annee={fee.year}")


handlers = [
    fees_page,
    record_fee,
]
