"""Joining from the group's home page, and the waiting list that admins answer."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException

from domain.kernel.errors import FieldErrors
from domain.members import (
    NotAMember,
    RegistrationClosed,
    joining,
)
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.accounts import mail_context
from web.forms import Form
from web.groups import group_context, group_home_context
from web.members.common import members_url
from web.pages import flash, form_status, redirect, render

# ---- the waiting list -------------------------------------------------------------------


class AnswerForm(msgspec.Struct):
    answer: str = ""


@post("/g/{slug:str}/membres/attente/{request_id:int}/accepter", opt=policy(Policy.MEMBERS))
async def accept_request(request: Request, slug: str, request_id: int) -> object:
    try:
        mail_ids = await joining.accept_request(
            request.state.group["id"], request_id, request.state.user["id"], mail_context(request)
        )
    except NotAMember as error:
        raise NotFoundException("Cette demande n'existe pas ou a déjà reçu une réponse.") from error
    await mail_jobs.hand_over(mail_ids)
    flash(request, "Demande acceptée : la personne est membre et reçoit l'e-mail de bienvenue.")
    return redirect(request, f"{members_url(request)}?filtre=attente")


@post("/g/{slug:str}/membres/attente/{request_id:int}/refuser", opt=policy(Policy.MEMBERS))
async def refuse_request(
    request: Request, slug: str, request_id: int, data: Annotated[AnswerForm, Form]
) -> object:
    try:
        mail_ids = await joining.refuse_request(
            request.state.group["id"],
            request_id,
            request.state.user["id"],
            data.answer,
            mail_context(request),
        )
    except NotAMember as error:
        raise NotFoundException("Cette demande n'existe pas ou a déjà reçu une réponse.") from error
    except FieldErrors as error:
        flash(request, error.errors["answer"])
        return redirect(request, f"{members_url(request)}?filtre=attente")
    await mail_jobs.hand_over(mail_ids)
    flash(request, "Demande refusée : la personne en est informée par e-mail.")
    return redirect(request, f"{members_url(request)}?filtre=attente")


# ---- joining from the group's home page -------------------------------------------------


@get("/g/{slug:str}/suivre", opt=policy(Policy.GROUP_PUBLIC))
async def follow_page(request: Request, slug: str) -> object:
    """ "Suivre ce marché" for a visitor: an account first (created or logged into), then
    back here to confirm; a member goes to the group."""
    group = request.state.group
    if request.state.roles.member or group["registration"] != "open":
        return redirect(request, f"/g/{slug}")
    return render(request, "members/follow.html", group_context(request, active="accueil"))


class JoinForm(msgspec.Struct):
    message: str = ""


@post("/g/{slug:str}/rejoindre", opt=policy(Policy.USER))
async def ask_to_join(request: Request, slug: str, data: Annotated[JoinForm, Form]) -> object:
    """Liste d'attente: a request with an optional message; the admins get a mail."""
    group = request.state.group
    if request.state.roles.member:
        return redirect(request, f"/g/{slug}")
    try:
        mail_ids = await joining.ask_to_join(
            request.state.user["id"], group["id"], data.message, mail_context(request)
        )
    except RegistrationClosed as error:
        raise PermissionDeniedException(
            error.message or "Ce groupe ne prend pas de demandes d'inscription."
        ) from error
    except FieldErrors as error:
        return render(
            request,
            "groups/home_group.html",
            await group_home_context(
                request, join_form=msgspec.structs.asdict(data), errors=error.errors
            ),
            status_code=form_status(request),
        )
    await mail_jobs.hand_over(mail_ids)
    flash(
        request,
        f"Votre demande est envoyée aux administrateurs de {group['name']}. "
        "Vous recevrez un e-mail dès qu'ils y auront répondu.",
    )
    return redirect(request, f"/g/{slug}")


handlers = [
    accept_request,
    refuse_request,
    follow_page,
    ask_to_join,
]
