"""A member's rights (granted inline), and removing a member."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException

from domain.kernel.errors import FieldErrors
from domain.members import (
    NotAMember,
    rights,
)
from web.access import Policy, policy
from web.forms import Form
from web.members.common import _member_context, _member_or_404, int_or, members_url
from web.pages import flash, form_status, redirect, render


class RightsForm(msgspec.Struct):
    is_admin: str = ""
    can_messages: str = ""
    can_members: str = ""
    catalog_ids: list[str] | str = []


@post("/g/{slug:str}/membres/{user_id:int}/droits", opt=policy(Policy.ADMIN))
async def save_rights(
    request: Request, slug: str, user_id: int, data: Annotated[RightsForm, Form]
) -> object:
    """Rights granted inline: each tick sends the form (htmx), or "Enregistrer" without JS."""
    ids = [data.catalog_ids] if isinstance(data.catalog_ids, str) else data.catalog_ids
    errors: dict[str, str] = {}
    try:
        await rights.set_rights(
            request.state.group["id"],
            user_id,
            is_admin=bool(data.is_admin),
            can_messages=bool(data.can_messages),
            can_members=bool(data.can_members),
            catalog_ids=[int_or(i) for i in ids if int_or(i)],
        )
    except NotAMember as error:
        raise NotFoundException("Cette personne n'est pas membre de ce groupe.") from error
    except FieldErrors as error:
        errors = error.errors
    person = await _member_or_404(request, user_id)
    if not errors and not request.htmx:
        flash(request, "Droits enregistrés.")
        return redirect(request, f"{members_url(request)}/{user_id}")
    return render(
        request,
        "members/member.html",
        _member_context(request, person, errors=errors, saved=not errors, may_order=False),
        fragment="members/_rights.html",
        status_code=form_status(request) if errors else 200,
    )


@get("/g/{slug:str}/membres/{user_id:int}/retirer", opt=policy(Policy.MEMBERS))
async def remove_page(request: Request, slug: str, user_id: int) -> object:
    person = await _member_or_404(request, user_id)
    return render(request, "members/remove.html", _member_context(request, person))


@post("/g/{slug:str}/membres/{user_id:int}/retirer", opt=policy(Policy.MEMBERS))
async def remove_member(request: Request, slug: str, user_id: int) -> object:
    person = await _member_or_404(request, user_id)
    try:
        await rights.remove_member(
            request.state.group["id"], user_id, by_admin=request.state.roles.admin
        )
    except PermissionError as error:
        raise PermissionDeniedException(str(error)) from error
    except FieldErrors as error:
        return render(
            request,
            "members/remove.html",
            _member_context(request, person, errors=error.errors),
            status_code=422,
        )
    flash(request, f"{person['name']} ne fait plus partie du groupe.")
    return redirect(request, members_url(request))


handlers = [
    save_rights,
    remove_page,
    remove_member,
]
