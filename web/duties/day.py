"""The admins' page of one distribution's permanences: who holds which role, the empty
places, assigning a member and removing a volunteer; printed (« Imprimer ») for the day."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.exceptions import NotFoundException

from domain.duties import NotFound, Refused, signups
from domain.duties import calendar as duty_calendar
from domain.kernel import forms
from web.access import Policy, policy
from web.duties.calendar import ROLE
from web.forms import Form
from web.groups import group_context
from web.pages import flash, pop_flash, redirect, render

DAY = "/g/{slug:str}/permanences/{distribution_id:int}"


class PersonForm(msgspec.Struct):
    user_id: str = ""


def day_url(request: Request, distribution_id: int) -> str:
    return f"/g/{request.state.group['slug']}/permanences/{distribution_id}"


async def _page(
    request: Request, distribution_id: int, *, message: str = "", at: int | None = None, status=200
):
    found = await duty_calendar.day(request.state.group["id"], distribution_id)
    if found is None:
        raise NotFoundException("Cette distribution n'existe pas dans ce groupe.")
    return render(
        request,
        "duties/day.html",
        group_context(
            request,
            active="distributions",
            d=found,
            message=message,
            message_at=at,
            flash=pop_flash(request),
        ),
        status_code=status,
    )


@get(DAY, opt=policy(Policy.ADMIN), name="duty_day")
async def day_page(request: Request, slug: str, distribution_id: int) -> object:
    return await _page(request, distribution_id)


@post(ROLE + "/affecter", opt=policy(Policy.ADMIN))
async def assign(
    request: Request,
    slug: str,
    distribution_id: int,
    role_id: int,
    data: Annotated[PersonForm, Form],
) -> object:
    try:
        done = await signups.assign(
            request.state.group["id"],
            distribution_id,
            role_id,
            forms.an_id(data.user_id),
            request.state.user["id"],
        )
    except NotFound:
        raise NotFoundException("Ce rôle n'existe pas à cette distribution.") from None
    except Refused as refusal:
        return await _page(
            request, distribution_id, message=refusal.message, at=role_id, status=422
        )
    flash(
        request,
        "Bénévole inscrit." if done == signups.SIGNED else "Cette personne avait déjà ce rôle.",
    )
    return redirect(request, f"{day_url(request, distribution_id)}#r{role_id}")


@post(ROLE + "/retirer", opt=policy(Policy.ADMIN))
async def remove(
    request: Request,
    slug: str,
    distribution_id: int,
    role_id: int,
    data: Annotated[PersonForm, Form],
) -> object:
    try:
        removed = await signups.remove(
            request.state.group["id"], distribution_id, role_id, forms.an_id(data.user_id)
        )
    except NotFound:
        raise NotFoundException("Ce rôle n'existe pas à cette distribution.") from None
    except Refused as refusal:
        return await _page(
            request, distribution_id, message=refusal.message, at=role_id, status=422
        )
    flash(
        request, "Bénévole retiré de ce rôle." if removed else "Cette personne n'avait pas ce rôle."
    )
    return redirect(request, f"{day_url(request, distribution_id)}#r{role_id}")


handlers = [day_page, assign, remove]
